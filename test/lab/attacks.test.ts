// The attacks of issue 9 on a real cluster of the rendered bootstrap (masters h1-h3, an agent on h4; Mesos and
// Marathon are the strict stand-ins, ZooKeeper, systemd and /proc are real). Each test tries one way in and
// asserts the refusal; where a refusal could pass for a broken service, the same call with the right
// credential shows that it is the credential, not the service, that makes the difference.
import { createHmac } from "node:crypto";
import { caCertificate } from "../../provisioning/tls";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { agentJwtKey, ADMIN_USER, HEALTH_USER } from "../../provisioning/credentials";
import { bringUp, ipOf, labCluster, tearDown, type LabCluster } from "../fixtures/lab-cluster";
import { http, ssh, sshOk, waitFor } from "../fixtures/lab";

const skip = inject("labSkipReason");
const AGENT = "h4";
const ZKCLI = "/opt/zookeeper/bin/zkCli.sh -server 127.0.0.1:2181";

/** The cluster's CA (set in beforeAll): every https call below trusts it and nothing else. */
let CA = "";
const AGENT_NAME = "lab-general-1"; // the agent's certificate names its hostname (address unknown at render, as on clouds)
/** A request over https verified against the cluster CA. */
const req = (url: string, o: Parameters<typeof http>[1] = {}) => http(url, { ca: CA, ...(url.includes(`//${AGENT_NAME}:`) ? { connectTo: ipOf(AGENT) } : {}), ...o });

/** A POST with any headers. */
async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: string; realm: string }> {
  const res = await req(url, { json: body, headers });
  return { status: res.status, body: res.body, realm: res.headers.get("www-authenticate") ?? "" };
}
const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });

/** An executor token as Mesos' JWT authenticator issues it: HS256 over the claims, keyed by --jwt_secret_key. */
function jwt(key: string, claims: Record<string, string>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const unsigned = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${unsigned}.${createHmac("sha256", key).update(unsigned).digest("base64url")}`;
}

describe.skipIf(!!skip)("attacks on a bootstrapped cluster are refused", () => {
  let c: LabCluster;
  let secrets: Record<string, string>;
  const agentApi = () => `https://${AGENT_NAME}:5051/api/v1`;
  const masterUrl = (h = "h1") => `https://${ipOf(h)}:5050`;

  beforeAll(async () => {
    c = await labCluster("attack", "lab-attack-test-secret-000001");
    CA = c.ca;
    secrets = { ...c.credentials, agentJwtKey: agentJwtKey(c.credentials, c.agent.input.node.id) };
    await tearDown(c); // a previous run cut off
    const t = Date.now();
    await bringUp(c);
    console.log(`[attacks] 3 masters + 1 agent bootstrapped in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }, 2_400_000);

  afterAll(async () => {
    if (c && process.env.LAB_KEEP_ATTACKS !== "1") await tearDown(c);
  }, 900_000);

  /** The leading master's host. */
  async function leader(): Promise<string> {
    return waitFor("a leading master", async () => {
      for (const h of ["h1", "h2", "h3"]) {
        const r = await req(`${masterUrl(h)}/metrics/snapshot`, { auth: [HEALTH_USER, c.credentials.healthPassword] });
        if (r.status === 200 && JSON.parse(r.body)["master/elected"] === 1) return h;
      }
      return undefined;
    }, 60_000, 500);
  }

  it("plain HTTP to 5050, 5051, 8443 and 8080 gets no HTTP answer; https verifies against the cluster CA only", async () => {
    const other = caCertificate("another-cluster-secret-00001", "attack");
    const targets = [`${ipOf("h1")}:5050`, `${ipOf("h2")}:5050`, `${ipOf(AGENT)}:5051`, `${ipOf("h1")}:8443`];
    for (const t of targets) {
      const plain = await http(`http://${t}/health`); // fetch: no CA, no TLS
      expect(plain.status, `plain http://${t}`).toBe(0);
    }
    // Marathon's plain port is closed (--disable_http): nothing listens on 8080.
    expect((await http(`http://${ipOf("h1")}:8080/ping`)).status).toBe(0);
    const refused = await ssh("h1", `exec 3<>/dev/tcp/${ipOf("h1")}/8080 && echo open || echo refused`);
    expect(refused.stdout + refused.stderr).toMatch(/refused|Connection refused/);
    // The TLS server says nothing HTTP to a plaintext request: the bytes back (if any) are a TLS alert, never "HTTP/".
    const raw = await ssh("h2", `printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 5 nc ${ipOf("h1")} 5050 | head -c 200 | od -c | head -3`);
    expect(raw.stdout).not.toContain("H   T   T   P");
    // https with the cluster CA works (by IP SAN on masters, by name on the agent) ...
    expect((await req(`${masterUrl("h1")}/health`)).status).toBe(200);
    expect((await req(`https://${AGENT_NAME}:5051/health`)).status).toBe(200);
    expect((await req(`https://${ipOf("h1")}:8443/ping`, { auth: [ADMIN_USER, c.credentials.adminPassword] })).status).toBe(200);
    // ... and against another CA it fails verification, before any HTTP.
    for (const url of [`${masterUrl("h1")}/health`, `https://${ipOf("h1")}:8443/ping`, `https://${AGENT_NAME}:5051/health`]) {
      const bad = await req(url, { ca: other });
      expect(bad.status, url).toBe(0);
      expect(bad.body, url).toMatch(/certificate|self[- ]signed|verify/i);
    }
    // The agent's certificate does not name its address: by IP the name check fails even with the right CA.
    expect((await req(`https://${ipOf(AGENT)}:5051/health`)).body).toMatch(/IP: .* is not in the cert's list|altnames/);
  });

  it("agent operator API: LAUNCH_NESTED_CONTAINER_SESSION, LAUNCH_CONTAINER, ATTACH_CONTAINER_INPUT without valid credentials: 401", async () => {
    const calls = [
      { type: "LAUNCH_NESTED_CONTAINER_SESSION", launch_nested_container_session: { container_id: { parent: { value: "c1" }, value: "x" }, command: { value: "id", shell: true } } },
      { type: "LAUNCH_CONTAINER", launch_container: { container_id: { value: "standalone-1" }, command: { value: "id", shell: true } } },
      { type: "ATTACH_CONTAINER_INPUT", attach_container_input: { type: "CONTAINER_ID", container_id: { value: "c1" } } },
    ];
    for (const call of calls) {
      const anon = await post(agentApi(), call);
      expect(anon.status, call.type).toBe(401);
      expect(anon.realm).toBe('Basic realm="mesos-agent-readwrite"');
      // The admin password is not on agents at all; a wrong password and a token from another key are no better.
      expect((await post(agentApi(), call, basic(ADMIN_USER, c.credentials.adminPassword))).status, call.type).toBe(401);
      expect((await post(agentApi(), call, basic(HEALTH_USER, "wrong"))).status, call.type).toBe(401);
      const forged = jwt("not-the-agents-key", { cid: "c1", eid: "e", fid: "f" });
      expect((await post(agentApi(), call, { Authorization: `Bearer ${forged}` })).status, call.type).toBe(401);
      // The read-only principal authenticates, and the ACLs refuse it.
      expect((await post(agentApi(), call, basic(HEALTH_USER, c.credentials.healthPassword))).status, call.type).toBe(403);
    }
    // An executor's own token acts only in its own container.
    const token = jwt(secrets.agentJwtKey, { cid: "c1", eid: "e", fid: "f" });
    const other = { ...calls[0], launch_nested_container_session: { container_id: { parent: { value: "c2" }, value: "x" } } };
    expect((await post(agentApi(), other, { Authorization: `Bearer ${token}` })).status).toBe(403);
    const own = await post(agentApi(), calls[0], { Authorization: `Bearer ${token}` });
    expect(own.status).toBe(400); // past authentication and authorization: the stand-in has no container c1
    expect(own.body).toContain("Unknown parent container c1");
  });

  it("an agent with executor authentication but no --jwt_secret_key refuses to start", async () => {
    const r = await ssh(AGENT, "/usr/sbin/mesos-agent --master=127.0.0.1:5050 --work_dir=/tmp/em-attack-agent --port=5059 " +
      "--authenticate_http_readwrite --authenticate_http_executors; echo \"rc=$?\"; rm -rf /tmp/em-attack-agent");
    expect(r.stdout).toContain("rc=1");
    expect(r.stderr).toContain("--authenticate_http_executors requires --jwt_secret_key");
  });

  it("HTTP framework SUBSCRIBE on /api/v1/scheduler: 401 without credentials; 403 for every principal but marathon", async () => {
    const subscribe = (principal?: string) => ({ type: "SUBSCRIBE", subscribe: { framework_info: { user: "mesos-task", name: "attacker", roles: ["*"], ...(principal ? { principal } : {}) } } });
    for (const h of ["h1", "h2", "h3"]) {
      const r = await post(`${masterUrl(h)}/api/v1/scheduler`, subscribe());
      expect(r.status, h).toBe(401);
      expect(r.realm).toBe('Basic realm="mesos-master-scheduler"');
    }
    const l = await leader();
    const url = `${masterUrl(l)}/api/v1/scheduler`;
    expect((await post(url, subscribe(), basic(ADMIN_USER, "wrong"))).status).toBe(401);
    expect((await post(url, subscribe("agent"), basic("agent", c.credentials.agentSecret))).status).toBe(403);
    expect((await post(url, subscribe("health"), basic(HEALTH_USER, c.credentials.healthPassword))).status).toBe(403);
    // Only marathon registers frameworks: the same call with its credential subscribes.
    const ok = await post(url, subscribe("marathon"), basic("marathon", c.credentials.marathonSecret));
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('"type": "SUBSCRIBED"');
  });

  it("ACLs: health reads but may not drain an agent; Marathon registered with the pools' task user, not root", async () => {
    const l = await leader();
    const health: [string, string] = [HEALTH_USER, c.credentials.healthPassword];
    expect((await req(`${masterUrl(l)}/metrics/snapshot`, { auth: health })).status).toBe(200);
    const state = JSON.parse((await req(`${masterUrl(l)}/master/state`, { auth: health })).body);
    const agent = state.slaves.find((a: { pid: string }) => a.pid.endsWith(`@${ipOf(AGENT)}:5051`));
    expect(agent).toBeDefined();
    const drain = { type: "DRAIN_AGENT", drain_agent: { agent_id: { value: agent.id } } };
    expect((await req(`${masterUrl(l)}/api/v1`, { auth: health, json: drain })).status).toBe(403);
    expect((await req(`${masterUrl(l)}/api/v1`, { auth: ["agent", c.credentials.agentSecret], json: drain })).status).toBe(403);
    expect((await req(`${masterUrl(l)}/api/v1`, { auth: [ADMIN_USER, c.credentials.adminPassword], json: { type: "GET_AGENTS" } })).status).toBe(200);
    const marathon = await waitFor("Marathon registered as a framework", async () =>
      JSON.parse((await req(`${masterUrl(l)}/master/state`, { auth: health })).body).frameworks.find((f: { name: string }) => f.name === "marathon"), 60_000, 1000);
    expect(marathon).toMatchObject({ principal: "marathon", user: "mesos-task" });
  });

  it("Marathon refuses requests without credentials or with wrong ones, /ping included", async () => {
    for (const h of ["h1", "h2", "h3"]) {
      for (const path of ["/ping", "/v2/apps", "/v2/info"]) {
        expect((await req(`https://${ipOf(h)}:8443${path}`)).status, `${h}${path}`).toBe(401);
        expect((await req(`https://${ipOf(h)}:8443${path}`, { auth: [ADMIN_USER, "wrong"] })).status, `${h}${path}`).toBe(401);
        expect((await req(`https://${ipOf(h)}:8443${path}`, { auth: [HEALTH_USER, c.credentials.healthPassword] })).status).toBe(401);
      }
    }
    expect((await req(`https://${ipOf("h1")}:8443/ping`, { auth: [ADMIN_USER, c.credentials.adminPassword] })).status).toBe(200);
  });

  it("ZooKeeper: writes to /mesos and /marathon without the digest are refused; /mesos stays readable", async () => {
    const out = await sshOk("h1", [
      `${ZKCLI} create /mesos/attack x 2>&1 | grep -E 'Insufficient|Created|NoAuth' || true`,
      `${ZKCLI} create /marathon/attack x 2>&1 | grep -E 'Insufficient|Created|NoAuth' || true`,
      `${ZKCLI} set /mesos x 2>&1 | grep -E 'Insufficient|NoAuth' || echo 'set /mesos: allowed'`,
      `${ZKCLI} ls /mesos 2>&1 | grep -o 'json.info_[0-9]*' | head -1`,
    ].join("\n"));
    expect(out).toContain("Insufficient permission : /mesos/attack");
    expect(out).toContain("Insufficient permission : /marathon/attack");
    expect(out).not.toContain("Created");
    expect(out).not.toContain("set /mesos: allowed");
    expect(out).toMatch(/json\.info_\d{10}/); // agents and Marathon's --master find the leader without a credential
  });

  it("ZooKeeper: reconfig without the super user, or with a wrong password, is refused; the members stay", async () => {
    const members = `printf 'config\\nquit\\n' | ${ZKCLI} 2>&1 | grep -oE 'server\\.[0-9]+=' | sort | tr -d '\\n'; echo`;
    const before = await sshOk("h1", members);
    expect(before.trim()).toBe("server.1=server.2=server.3=");
    // From another cluster host that reaches h1's client port (agents carry no ZooKeeper client: a master's is used).
    const cli = ZKCLI.replace("127.0.0.1", ipOf("h1"));
    const out = await sshOk("h2", [
      `printf 'reconfig -remove 3\\nquit\\n' | ${cli} 2>&1 | grep -E 'Insufficient|Committed' || true`,
      `printf 'addauth digest super:not-the-password\\nreconfig -remove 3\\nquit\\n' | ${cli} 2>&1 | grep -E 'Insufficient|Committed' || true`,
    ].join("\n"));
    expect(await sshOk(AGENT, "test -e /etc/zookeeper/super.password && echo held || echo absent")).toBe("absent\n");
    expect(out.match(/Insufficient permission/g)).toHaveLength(2);
    expect(out).not.toContain("Committed");
    expect(await sshOk("h1", members)).toBe(before);
    expect((await sshOk("h1", "stat -c '%a %U' /etc/zookeeper/super.password")).trim()).toBe("400 root");
  });

  /** A root script that writes the secrets to a root-only file, then prints which of them `cmd`'s output holds. */
  function leaked(cmd: string): string {
    const list = Object.entries(secrets).map(([k, v]) => `${k} ${v}`).join("\n");
    return `umask 077; f=$(mktemp); cat >"$f" <<'EM_SECRETS'\n${list}\nEM_SECRETS
out=$(${cmd} 2>/dev/null | tr '\\0' ' ')
while read -r name value; do case "$out" in *"$value"*) echo "LEAK $name" ;; esac; done <"$f"; rm -f "$f"
printf 'lines %s\\n' "$(printf '%s\\n' "$out" | wc -l)"`;
  }

  it("a master shows no credential to an unprivileged user: ps auxww, /proc/*/cmdline and /proc/*/environ (hidepid=2)", async () => {
    // Control: root sees Marathon's launcher-made flags, credentials included (so the grep below could find them).
    const root = await sshOk("h1", leaked("ps auxww"));
    expect(root).toContain("LEAK zkMarathonPassword");
    expect(root).toContain("LEAK adminPassword");
    for (const h of ["h1", "h2", "h3"]) {
      const ps = await sshOk(h, leaked("runuser -u nobody -- ps auxww"));
      expect(ps, h).not.toContain("LEAK");
      expect(ps, h).toMatch(/^lines 2$/m); // the header and nobody's own ps: nothing else is visible
      const proc = await sshOk(h, leaked(`runuser -u nobody -- sh -c 'for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do cat "$f"; echo; done'`));
      expect(proc, h).not.toContain("LEAK");
      expect(await sshOk(h, "grep -c ' /proc proc .*hidepid=invisible' /proc/mounts")).toBe("1\n");
    }
    // The agent's Mesos has no credential in its arguments either (only file paths).
    expect(await sshOk(AGENT, leaked("ps auxww"))).not.toContain("LEAK");
  });

  it("an agent holds no admin, Marathon or ZooKeeper credential, nor the JWT root", async () => {
    const grep = (value: string) => `grep -rlF -- '${value}' /etc /var/lib/elastic-mesos /var/lib/mesos /root 2>/dev/null | head -3`;
    for (const k of ["adminPassword", "marathonSecret", "zkMesosPassword", "zkMarathonPassword", "agentJwtRoot"] as const) {
      expect(await sshOk(AGENT, grep(c.credentials[k])), k).toBe("");
    }
    // What it does hold, so the grep is known to look in the right places.
    expect(await sshOk(AGENT, grep(c.credentials.agentSecret))).toContain("/etc/mesos/credential");
  });

  it("a task user reads no file under /etc/mesos, /etc/marathon or /etc/elastic-mesos, on an agent or a master", async () => {
    const check = `id -u mesos-task >/dev/null 2>&1 || { useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin mesos-task; touch /run/em-attack-user; }
find /etc/mesos /etc/marathon /etc/elastic-mesos -type f 2>/dev/null | while read -r f; do
  if err=$(runuser -u mesos-task -- cat "$f" 2>&1 >/dev/null); then echo "READ $f"; else echo "DENIED $f: $err"; fi
done
if [ -e /run/em-attack-user ]; then userdel mesos-task; rm -f /run/em-attack-user; fi`;
    for (const h of [AGENT, "h1"]) {
      const out = (await sshOk(h, check)).trim().split("\n");
      expect(out.filter((l) => l.startsWith("READ")), h).toEqual([]);
      for (const l of out) expect(l, h).toMatch(/^DENIED .*Permission denied$/);
      const files = out.map((l) => l.split(" ")[1].replace(/:$/, ""));
      expect(files, h).toContain("/etc/mesos/zk");
      expect(files, h).toContain(h === AGENT ? "/etc/mesos/jwt_secret_key" : "/etc/marathon/marathon.env");
    }
    // The agent's task user is the one the install step made: a system user without a shell or a home.
    expect(await sshOk(AGENT, "getent passwd mesos-task | cut -d: -f6,7; test -e /nonexistent || echo no-home")).toBe("/nonexistent:/usr/sbin/nologin\nno-home\n");
  });
});
