// Rotating clusterSecret through the real pulumi CLI, on lab hosts h5-h8 (3 masters, 1 agent), watched by the rollout
// monitor: a running cluster with a Marathon app takes a new clusterSecret in the two `pulumi up` the README gives
// (provisioning/rotation/README.md). The first, with previousClusterSecret set, rolls every host (the masters one at a
// time, the Mesos leader last): ZooKeeper keeps its quorum but for one election, Mesos its leader but for one, the
// agent stays registered (the readiness), and while it runs both generations are accepted: the masters list the
// agent's old and new principals, the znodes carry both digest ids. The second, without it, drops the old
// generation: the old digest cannot read Marathon's state, the old passwords are refused, the old CA no longer
// verifies the masters, the previous files are gone. Before it, while the agent presents a certificate of the old CA
// (as a group's agent not replaced yet would), it is refused before anything restarts. The app's definition survives
// both; a third `up` changes nothing.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { http, labInfo, ssh, sshOk, ZK_VERSION, type LabHost } from "../fixtures/lab";
import { destroyLabStack, labStack, steps, urnName, type PulumiWorkspace } from "../fixtures/pulumi-cli";
import { gaps, hasLeader, rolloutFigures, stopZkLoop, watchRollout } from "../fixtures/rollout-monitor";
import { deriveCredentials } from "../../provisioning/credentials";
import { caCertificate, nodeMaterial } from "../../provisioning/tls";
import { MESOS_CERT, MESOS_KEY } from "../../provisioning/steps/tls";

const NAMES = (process.env.E2E_ROTATION_HOSTS ?? "h5,h6,h7,h8").split(",");
const labSkip = inject("labSkipReason");
const available = () => { try { return NAMES.every((n) => labInfo().hosts.some((h) => h.name === n)); } catch { return false; } };
const skip = labSkip || (!available() && `needs lab hosts ${NAMES.join(",")}`);

const STACK = `e2e-rotation-${process.pid}`;
const CLUSTER = "rot";
const OLD_SECRET = `rotation-old-cluster-secret-${process.pid}-0123456789`;
const NEW_SECRET = `rotation-new-cluster-secret-${process.pid}-9876543210`;
const OLD = deriveCredentials(OLD_SECRET, CLUSTER);
const NEW = deriveCredentials(NEW_SECRET, CLUSTER);
const BOTH_CAS = `${caCertificate(NEW_SECRET, CLUSTER)}${caCertificate(OLD_SECRET, CLUSTER)}`;

/** zkCli's output on a master as the digest user given (its password on stdin, over SSH); it exits 1 on a refusal. */
const zkAs = async (m: LabHost, user: string, password: string, command: string) => (await ssh(m.name,
  `printf 'addauth digest %s:%s\\n%s\\nquit\\n' ${user} ${password} '${command}' | ` +
  `timeout 60 /opt/zookeeper-${ZK_VERSION}/bin/zkCli.sh -server 127.0.0.1:2181 2>&1`, 120_000)).stdout;

describe.skipIf(skip)("clusterSecret rotated in two `pulumi up` through the real CLI (3 masters, 1 agent)", () => {
  let ws: PulumiWorkspace;
  let masters: LabHost[];
  let agent: LabHost;
  let out: Record<string, string>;

  const apps = async (password: string) => {
    const r = await http(`${out.marathonUrl}/v2/apps`, { auth: ["admin", password], ca: BOTH_CAS });
    expect(r.status, r.body).toBe(200);
    return (JSON.parse(r.body).apps as { id: string }[]).map((a) => a.id);
  };
  const principals = async (m: LabHost) => JSON.parse(await sshOk(m.name, "cat /etc/mesos/credentials"))
    .credentials.map((c: { principal: string }) => c.principal).sort();
  const metricsAs = async (m: LabHost, user: string, password: string) =>
    (await http(`https://${m.ip}:5050/metrics/snapshot`, { auth: [user, password], ca: BOTH_CAS })).status;

  /** One `pulumi up` watched on every master and the agent; prints and returns its figures. */
  async function watchedUp(label: string) {
    const watch = await watchRollout(agent.name, masters, [agent], BOTH_CAS, [["admin", NEW.adminPassword], ["admin", OLD.adminPassword]]);
    const up = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 1_500_000 })
      .catch(async (e) => { await watch.stop(); throw e; });
    const { samples, zk } = await watch.stop();
    expect(up.code, up.output.slice(-4000)).toBe(0);
    const f = rolloutFigures(samples, zk);
    console.log(`[rotation] ${label}: pulumi up ${up.seconds.toFixed(1)} s; longest without a Mesos leader ` +
      `${(f.noLeader.longestMs / 1000).toFixed(1)} s (${f.noLeader.count} gap(s)); ZooKeeper quorum gaps ${f.quorumGaps.count} ` +
      `(longest ${f.quorumGaps.longestMs} ms), at most ${f.zkDownAtOnce} server(s) down at once; Marathon unanswered in ` +
      `${samples.filter((s) => s.marathon !== 200).length} of ${samples.length} samples`);
    return { up, samples, zk, f };
  }

  beforeAll(async () => {
    const hosts = NAMES.map((n) => labInfo().hosts.find((h) => h.name === n)!);
    [masters, agent] = [hosts.slice(0, 3), hosts[3]];
    ws = await labStack(STACK, CLUSTER, masters, [agent], OLD_SECRET);
    const up = await ws.ok(["up", "--yes", "--skip-preview"], { timeoutMs: 1_500_000 });
    console.log(`[rotation] 3 masters + 1 agent ready in ${up.seconds.toFixed(1)} s`);
    out = JSON.parse((await ws.ok(["stack", "output", "--json", "--show-secrets"])).stdout);
    expect(out.adminPassword).toBe(OLD.adminPassword);
    const created = await http(`${out.marathonUrl}/v2/apps`, { auth: ["admin", OLD.adminPassword], ca: BOTH_CAS,
      json: { id: "/kept", cmd: "sleep 3600", cpus: 0.1, mem: 32, instances: 1 } });
    expect(created.status, created.body).toBe(201);
  }, 1_800_000);

  afterAll(async () => {
    if (agent) await stopZkLoop(agent.name).catch(() => undefined);
    await destroyLabStack(ws, STACK);
  }, 1_300_000);

  it("a new clusterSecret alone is refused, touching nothing", async () => {
    await ws.ok(["config", "set", "--secret", "elastic-mesos:clusterSecret"], { input: NEW_SECRET });
    const refused = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 600_000 });
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain("elastic-mesos:previousClusterSecret");
    expect(steps(refused.events).filter((s) => s.op !== "same" && s.type.includes("Host"))).toEqual([]);
    expect(await principals(masters[0])).toEqual(["admin", "agent", "drain", "health", "marathon"]);
  }, 900_000);

  it("up 1 (previousClusterSecret set): every host rolls, both generations accepted meanwhile, the app kept", async () => {
    await ws.ok(["config", "set", "--secret", "elastic-mesos:previousClusterSecret"], { input: OLD_SECRET });
    const { up, samples, f } = await watchedUp("rotation, first up");
    const updated = steps(up.events).filter((s) => s.op === "update").map((s) => urnName(s.urn));
    expect(updated.filter((n) => n.endsWith("-bootstrap"))).toHaveLength(4);
    // Host by host: never two ZooKeeper servers down at once. Both daemons restart, and the Mesos leader goes last
    // (rollout/plan.ts rankOf): where ZooKeeper's leader is another master, ZooKeeper elects twice at most.
    expect(f.zkDownAtOnce).toBeLessThanOrEqual(1);
    expect(f.quorumGaps.count).toBeLessThanOrEqual(2);
    expect(hasLeader(samples[0])).toBe(true);
    expect(gaps(samples, (s) => !hasLeader(s)).count).toBeLessThanOrEqual(1);
    // The agent restarts once, in its turn after the masters, and is up at the end (registered: the readiness).
    expect(gaps(samples, (s) => !s.agentsUp[0]).count).toBeLessThanOrEqual(1);
    expect(samples.at(-1)!.agentsUp[0]).toBe(true);
    // Both generations of the agents' principals on every master; the agent on the new one.
    for (const m of masters) {
      expect(await principals(m)).toEqual(["admin", "agent", "agent-1", "drain", "drain-1", "health", "marathon"]);
    }
    expect(JSON.parse(await sshOk(agent.name, "cat /etc/mesos/credential")).principal).toBe("agent-1");
    // Marathon's state readable with either digest; the app there.
    for (const pw of [OLD.zkMarathonPassword, NEW.zkMarathonPassword]) {
      expect(await zkAs(masters[0], "marathon", pw, "get /marathon/state/app/kept")).toContain('"id": "/kept"');
    }
    expect(await apps(NEW.adminPassword)).toEqual(["/kept"]);
    // admin has one password per host in Mesos and Marathon: the new one now, the old refused.
    for (const m of masters) expect(await metricsAs(m, "admin", OLD.adminPassword)).toBe(401);
    const now = JSON.parse((await ws.ok(["stack", "output", "--json", "--show-secrets"])).stdout);
    expect(now.adminPassword).toBe(NEW.adminPassword);
    expect(now.caCertificate).toBe(caCertificate(NEW_SECRET, CLUSTER));
  }, 1_800_000);

  it("up 2 is refused while an agent still presents the previous CA's certificate, before anything restarts", async () => {
    await ws.ok(["config", "rm", "elastic-mesos:previousClusterSecret"]);
    // The agent as a group's agent not replaced yet would be: a certificate of the previous CA (its own address in it,
    // so the masters, trusting both CAs until up 2, keep talking to it). Its rolled files are kept aside.
    const old = nodeMaterial(OLD_SECRET, CLUSTER, { id: "stale", hostname: agent.ip, ip: agent.ip }, "agent");
    const put = (path: string, text: string) => `printf '%s' '${Buffer.from(text).toString("base64")}' | base64 -d > ${path}`;
    await sshOk(agent.name, `cp -p ${MESOS_CERT} /root/rolled-cert.pem && cp -p ${MESOS_KEY} /root/rolled-key.pem
${put(MESOS_CERT, old.cert)}; ${put(MESOS_KEY, old.key)}; systemctl restart mesos-agent`);
    const pids = () => Promise.all(masters.map((m) => sshOk(m.name, "systemctl show -p MainPID --value zookeeper mesos-master")));
    const before = await pids();
    const refused = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 900_000 });
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain("agents still present a certificate of the previous clusterSecret");
    expect(refused.output).toContain(`${agent.ip}:5051`);
    expect(await pids()).toEqual(before);
    for (const m of masters) expect(await principals(m)).toContain("agent");
    await sshOk(agent.name, `mv -f /root/rolled-cert.pem ${MESOS_CERT} && mv -f /root/rolled-key.pem ${MESOS_KEY} && systemctl restart mesos-agent`);
  }, 900_000);

  it("up 2 (previousClusterSecret removed): the old generation is refused everywhere, the app kept; then nothing to do", async () => {
    const { samples, f } = await watchedUp("rotation, second up");
    expect(f.zkDownAtOnce).toBeLessThanOrEqual(1);
    expect(f.quorumGaps.count).toBeLessThanOrEqual(2);
    expect(gaps(samples, (s) => !hasLeader(s)).count).toBeLessThanOrEqual(1);
    for (const m of masters) {
      expect(await principals(m)).toEqual(["admin", "agent-1", "drain-1", "health", "marathon"]);
      expect(await metricsAs(m, "health", OLD.healthPassword)).toBe(401);
      expect(await metricsAs(m, "health", NEW.healthPassword)).toBe(200);
      // The old CA no longer verifies a master; the new one does.
      expect((await http(`https://${m.ip}:5050/health`, { ca: caCertificate(OLD_SECRET, CLUSTER) })).status).toBe(0);
      expect((await http(`https://${m.ip}:5050/health`, { ca: caCertificate(NEW_SECRET, CLUSTER) })).status).toBe(200);
      expect(await sshOk(m.name, "ls /etc/zookeeper /etc/elastic-mesos")).not.toMatch(/previous/);
    }
    expect(await zkAs(masters[1], "marathon", OLD.zkMarathonPassword, "get /marathon/state/app/kept"))
      .toMatch(/Insufficient permission/);
    expect(await zkAs(masters[1], "mesos", OLD.zkMesosPassword, "create /mesos/em-rotation-probe x"))
      .toMatch(/Insufficient permission/);
    expect(await zkAs(masters[1], "marathon", NEW.zkMarathonPassword, "get /marathon/state/app/kept")).toContain('"id": "/kept"');
    expect(await apps(NEW.adminPassword)).toEqual(["/kept"]);
    // Converged: the next `up` changes nothing.
    const again = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 900_000 });
    expect(again.code, again.output.slice(-3000)).toBe(0);
    expect(steps(again.events).filter((s) => s.op !== "same").map((s) => urnName(s.urn))).toEqual([]);
  }, 1_800_000);
});
