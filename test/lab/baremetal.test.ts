// The bare-metal provider's whole lifecycle on lab hosts, driven the way the engine drives it (configure()
// with the stack config, check/diff/create/update/delete; bench/baremetal.js createDriver; the shim that
// loads the providers in the plugin: test/unit/baremetal-langhost.test.ts), with the real bootstrap steps
// the provider renders from compact inputs, the lab mirror and the Mesos/Marathon stand-ins.
// Hosts: h5..h10 by default (h1-h4 belong to test/lab/bootstrap.test.ts); BAREMETAL_LAB_HOSTS=hA,hB,... to change.
// h14 (BAREMETAL_LAB_OUTSIDER) plays a machine on the same network that is not part of the cluster.
// Needs 6 lab hosts and h14 (the firewall test): LAB_HOSTS=14 npx vitest run --project lab test/lab/baremetal.test.ts
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { resolveArtifacts } from "../../provisioning/artifacts";
import { deriveCredentials } from "../../provisioning/credentials";
import { hostInputsFor } from "../../provisioning/baremetal/bootstrap";
import { hostTls, renderHost } from "../../provisioning/baremetal/render";
import { MesosHostProvider } from "../../provisioning/baremetal/provider";
import { ReadinessProvider } from "../../provisioning/health/readiness";
import { caCertificate } from "../../provisioning/tls";
import { http, inHost, labInfo, loginsSince, nextSecond, remnants as remnantsOn, ssh, waitFor, type LabHost, labHostKeyFingerprint as fingerprint } from "../fixtures/lab";

const bench = createRequire(import.meta.url)("../../bench/baremetal.js");
const m = { resolveArtifacts, deriveCredentials, hostInputsFor, renderHost, hostTls };
const names = (process.env.BAREMETAL_LAB_HOSTS ?? "h5,h6,h7,h8,h9,h10").split(",");
const outsiderName = process.env.BAREMETAL_LAB_OUTSIDER ?? "h14";
const labSkip = inject("labSkipReason");
const available = () => { try { return names.every((n) => labInfo().hosts.some((h) => h.name === n)); } catch { return false; } };
const skip = labSkip || (!available() && `needs lab hosts ${names.join(",")}: LAB_HOSTS=${Number(names.at(-1)!.slice(1))}`);


describe.skipIf(skip)("bare-metal lifecycle on lab hosts", () => {
  let setup: any;
  let hosts: LabHost[];
  let driver: any;
  const plan = (n: number, opts: Record<string, unknown> = {}) => bench.clusterPlan(m, setup, hosts.slice(0, n), {
    pin: (h: LabHost) => (h.name === hosts[0].name ? fingerprint(h.hostKey) : undefined), ...opts,
  });
  const masterIp = () => hosts[0].ip;
  const adminAuth = (): [string, string] => ["admin", deriveCredentials(bench.BENCH_SECRET, "bm").adminPassword];
  /** Mesos serves TLS only, with certificates from the cluster CA (derived from clusterSecret, as the provider's). */
  const ca = caCertificate(bench.BENCH_SECRET, "bm");
  const tls = (o: Parameters<typeof http>[1] = {}) => ({ ...o, ca });
  const config = () => ({ sshPrivateKey: setup.privateKey, clusterSecret: bench.BENCH_SECRET });
  /** /master/state of the leading master (non-leaders answer 307 //leader:5050). */
  const leaderState = async () => {
    const r = await http(`https://${masterIp()}:5050/master/state`, tls({ auth: adminAuth() }));
    const url = r.status === 307 ? `https:${r.headers.get("location")}` : `https://${masterIp()}:5050/master/state`;
    const s = r.status === 307 ? await http(url.replace(/\/?$/, "").replace(/:5050.*$/, ":5050/master/state"), tls({ auth: adminAuth() })) : r;
    return s.status === 200 ? JSON.parse(s.body) : undefined;
  };
  /** The operator API on the leading master. */
  const leaderApi = async (call: object) => {
    for (const h of hosts.slice(0, 3)) {
      const r = await http(`https://${h.ip}:5050/api/v1`, tls({ json: call, auth: adminAuth() }));
      if (r.status === 200) return JSON.parse(r.body);
    }
    return undefined;
  };
  const remnants = (h: LabHost) => remnantsOn(h.name);
  /** "open" when `from` can open a TCP connection to ip:port within 3 s, else "closed". */
  const probe = async (from: string, ip: string, port: number) =>
    (await ssh(from, `nc -z -w 3 ${ip} ${port} >/dev/null 2>&1 && echo open || echo closed`)).stdout.trim();

  beforeAll(async () => {
    setup = await bench.labSetup();
    hosts = names.map((n) => labInfo().hosts.find((h) => h.name === n)!);
    await Promise.all(hosts.map((h) => bench.sshRun(setup.lab, h.name, bench.CLEAN)));
    driver = bench.createDriver({ MesosHostProvider, ReadinessProvider }, config());
  });
  afterAll(async () => {
    if (driver?.state.size) await driver.destroy().catch(() => {});
  });

  it("creates 3 masters + 2 agents and reaches ready (ZooKeeper quorum, Mesos leader, agents registered, Marathon leader)", async () => {
    const r = await driver.up(plan(5).inputs, plan(5).readiness);
    console.log(`[baremetal] 3+2 ready in ${r.seconds.toFixed(1)} s (readiness ${r.readySeconds} s), ${r.commands} SSH commands, ${r.stepsRun} steps`);
    expect(r.created.sort()).toEqual(["general-1", "general-2", "m1", "m2", "m3"]);
    expect(r.stepsRun).toBe(20); // firewall, install, zookeeper, mesos on each
    const state = [...driver.state.values()];
    expect(state.find((s: any) => s.outs.node.id === "m1").outs.hostKey.source).toBe("config");
    expect(state.find((s: any) => s.outs.node.id === "general-1").outs.hostKey).toMatchObject({ source: "tofu", fingerprint: fingerprint(hosts[3].hostKey) });
    const leader = await http(`https://${masterIp()}:5050/redirect`, tls());
    expect([200, 307]).toContain(leader.status);
  });

  it("a no-change re-run executes no step and opens no SSH session", async () => {
    const since = await nextSecond();
    const r = await driver.up(plan(5).inputs, plan(5).readiness);
    expect(r).toMatchObject({ stepsRun: 0, commands: 0, created: [], updated: [], deleted: [] });
    expect(r.seconds).toBeLessThan(2);
    for (const h of hosts.slice(0, 5)) expect(loginsSince(h, since)).toBe(0);
  });

  it("the host firewall: an outsider on the same network reaches neither ZooKeeper, Mesos nor an agent; " +
    "cluster hosts do", async () => {
    const outsider = labInfo().hosts.find((h) => h.name === outsiderName);
    expect(outsider, `lab host ${outsiderName} (the outsider) is not up: LAB_HOSTS=14`).toBeDefined();
    // The runner (the lab bridge) is the only admin; the outsider is no admin and no member.
    const fw = plan(5).inputs[0].firewall;
    expect(fw.adminCidrs).toEqual([`${labInfo().gateway}/32`]);
    expect(fw.members).not.toContain(outsider!.ip);
    const [master, agent] = [hosts[0], hosts[3]];
    const chain = async (h: string, name: string) => (await ssh(h, `nft list chain inet elastic_mesos ${name}`)).stdout;
    const dropped = async () => Number(/counter packets (\d+)/.exec(await chain(master.name, "input"))?.[1] ?? -1);
    const before = await dropped();
    const attempts = [[master.ip, 2181], [master.ip, 5050], [agent.ip, 5051], [master.ip, 2888]] as const;
    for (const [ip, port] of attempts) {
      expect([ip, port, await probe(outsider!.name, ip, port)]).toEqual([ip, port, "closed"]);
    }
    expect(await dropped()).toBeGreaterThan(before); // dropped and counted, not refused by a closed port
    // The same ports from cluster hosts: an agent reaches the master's ZooKeeper and Mesos, the master the agent.
    const allowed = [[agent.name, master.ip, 2181], [agent.name, master.ip, 5050], [master.name, agent.ip, 5051]] as const;
    for (const [from, ip, port] of allowed) {
      expect([from, ip, port, await probe(from, ip, port)]).toEqual([from, ip, port, "open"]);
    }
    // ... but an agent is no master: no ZooKeeper quorum port for it.
    expect(await probe(agent.name, master.ip, 2888)).toBe("closed");
    // And the operator (this machine, in adminCidrs) reaches the UIs.
    expect((await http(`https://${master.ip}:5050/health`, tls())).status).toBe(200);
    // Tasks (any uid but root) on agents cannot reach the metadata service: rejected at once, and counted; root
    // is not (cloud-init, the cloud's agents). The lab has no route there, so the agent gets one for the test
    // (routing comes before the output hook; without a route connect() fails before any rule is asked).
    const rejected = async () => Number(/169\.254\.169\.254 meta skuid != (?:0|root) counter packets (\d+)/
      .exec(await chain(agent.name, "output"))?.[1] ?? -1); // nft lists uid 0 as root
    const curl = "curl -sS -m 4 http://169.254.169.254/ 2>&1 || true";
    await ssh(agent.name, "ip route replace 169.254.169.254/32 dev host0");
    try {
      const n0 = await rejected();
      const nobody = await ssh(agent.name, `setpriv --reuid=65534 --regid=65534 --clear-groups ${curl}`);
      expect(nobody.stdout).toMatch(/Connection refused|Couldn't connect/);
      const n1 = await rejected();
      expect(n1).toBe(n0 + 1);
      await ssh(agent.name, curl); // root: not refused by us (no answer in the lab, the attempt just times out)
      expect(await rejected()).toBe(n1);
    } finally {
      await ssh(agent.name, "ip route del 169.254.169.254/32 dev host0");
    }
  });

  it("growing the pool to 3 creates the new host and re-runs only the firewall step on the others " +
    "(no daemon restarted)", async () => {
    const started = async (h: LabHost, unit: string) =>
      (await ssh(h.name, `systemctl show -p ActiveEnterTimestampMonotonic --value ${unit}`)).stdout.trim();
    const daemons = () => Promise.all([started(hosts[0], "mesos-master"), started(hosts[3], "mesos-agent"), started(hosts[0], "zookeeper")]);
    const before = await daemons();
    const r = await driver.up(plan(6).inputs, plan(6).readiness);
    expect(r.created).toEqual(["general-3"]);
    expect(r.updated.sort()).toEqual(["general-1", "general-2", "m1", "m2", "m3"]);
    expect(r.stepsRun).toBe(4 + 5);
    for (const id of r.updated) expect([id, driver.state.get(id).outs.stepsRun]).toEqual([id, 1]);
    expect(r.checks.find((c: any) => c.name === "agents registered")).toEqual({ name: "agents registered", ok: true, detail: "3 active" });
    expect(await daemons()).toEqual(before);
    // The new agent is a member on the masters now (it registered through them).
    expect((await ssh(hosts[0].name, "nft list set inet elastic_mesos members4")).stdout).toContain(hosts[5].ip);
  });

  it("shrinking to 2: the others' firewalls drop the agent first (the engine's order), yet it is drained " +
    "and leaves nothing", async () => {
    const r = await driver.up(plan(5).inputs, plan(5).readiness);
    expect(r.deleted).toEqual(["general-3"]);
    expect(r.updated.sort()).toEqual(["general-1", "general-2", "m1", "m2", "m3"]);
    expect(r.stepsRun).toBe(5); // the firewall step on each remaining host
    expect(await remnants(hosts[5])).toEqual([]);
    // The masters admit the removed agent only for a while (it needed them to drain), then never again.
    const members = (await ssh(hosts[0].name, "nft list set inet elastic_mesos members4")).stdout;
    expect(members).toMatch(new RegExp(`${hosts[5].ip.replace(/\./g, "\\.")} timeout 30m expires`));
    // That grace is what let it drain: without it, the master drops the removed host's new connections.
    expect(await probe(hosts[5].name, hosts[0].ip, 5050)).toBe("open");
    await ssh(hosts[0].name, `nft delete element inet elastic_mesos members4 { ${hosts[5].ip} }`);
    expect(await probe(hosts[5].name, hosts[0].ip, 5050)).toBe("closed");
    // The master recorded the drain (stand-in: DRAINED once the agent's tasks are gone), or forgot the agent.
    const body = await leaderApi({ type: "GET_AGENTS" });
    const gone = body?.get_agents?.agents?.find((a: any) => JSON.stringify(a.agent_info ?? {}).includes(hosts[5].ip) || a.agent_info?.hostname === "bm-general-3");
    expect(gone?.drain_info?.state).toBe("DRAINED");
  });

  it("changing an agent attribute re-runs only the mesos step on that pool's agents, which come back as new agents", async () => {
    const agentIps = [hosts[3].ip, hosts[4].ip];
    const ours = (st: any) => (st?.slaves ?? []).filter((a: any) => agentIps.some((ip) => String(a.pid).includes(`@${ip}:`)) && a.active);
    const before = ours(await leaderState()).map((a: any) => a.id);
    expect(before).toHaveLength(2);
    const p = plan(5, { attributes: { rack: "b" } });
    const since = Math.floor(Date.now() / 1000);
    const r = await driver.up(p.inputs, p.readiness);
    expect(r.updated.sort()).toEqual(["general-1", "general-2"]);
    expect(r.unchanged.sort()).toEqual(["m1", "m2", "m3"]);
    expect(r.stepsRun).toBe(2);
    // rack a → b is not additive: Mesos (and the stand-in) refuse to recover the checkpointed agent, so the
    // step removed meta/slaves/latest before the restart and each agent registered anew, with the new attribute.
    const state = await waitFor("agents re-registered with rack b", async () => {
      const now = ours(await leaderState());
      return now.length === 2 && now.every((a: any) => a.attributes?.rack === "b") && now;
    }, 120_000, 1000);
    expect(state.map((a: any) => a.id).filter((id: string) => before.includes(id))).toEqual([]);
    for (const h of hosts.slice(3, 5)) {
      const log = (await ssh(h.name, `journalctl -u mesos-agent --since @${since} --no-pager | grep -c 'Failed to perform recovery' || true`)).stdout.trim();
      expect([h.name, log]).toEqual([h.name, "0"]); // never went through a failed recovery
    }
  });

  it("sshd stopped mid-bootstrap: the run fails naming the host; once sshd is back a re-run converges", async () => {
    const p = plan(6, { attributes: { rack: "b" } });
    const run = driver.up(p.inputs, p.readiness).then(() => undefined, (e: Error) => e);
    await waitFor("step 1 under way on the new host", async () => inHost(hosts[5], "[ -d /etc/elastic-mesos ] && echo yes || true").includes("yes"), 300_000, 200);
    inHost(hosts[5], "systemctl stop ssh.service ssh.socket >/dev/null 2>&1; pkill -KILL -x sshd; true");
    const err = await run;
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(new RegExp(`general-3 \\(${hosts[5].ip.replace(/\./g, "\\.")}:22\\): (the connection was lost while running step [1-4]/4|cannot connect)`));
    inHost(hosts[5], "systemctl start ssh.service");
    const again = await driver.up(p.inputs, p.readiness);
    expect(again.created).toEqual(["general-3"]);
    expect(again.stepsRun).toBe(4); // the others' firewall steps ran in the first attempt
    // Back to 2: drained and cleaned, including what the interrupted first attempt installed (the first
    // footprint probe is kept on the host, so our own half-done install is not taken for the user's).
    await driver.up(plan(5, { attributes: { rack: "b" } }).inputs, plan(5, { attributes: { rack: "b" } }).readiness);
    expect(await remnants(hosts[5])).toEqual([]);
  });

  it("a wrong pinned host key stops with a clear error before anything runs", async () => {
    const wrong = "SHA256:" + "A".repeat(43);
    const p = plan(5, { attributes: { rack: "b" }, pin: (h: LabHost) => (h.name === hosts[3].name ? wrong : h.name === hosts[0].name ? fingerprint(h.hostKey) : undefined) });
    const since = await nextSecond();
    const err = await driver.up(p.inputs, p.readiness).then(() => undefined, (e: Error) => e);
    expect(err?.message).toContain(`general-1 (${hosts[3].ip}:22): host key mismatch: expected ${wrong}, the host presented ${fingerprint(hosts[3].hostKey)}`);
    expect(err?.message).toContain("baremetal.hosts[3].hostKeyFingerprint");
    expect(loginsSince(hosts[3], since)).toBe(0);
  });

  it("a package source the host cannot reach fails the install step naming host, step and the URL, and records no state", async () => {
    const dead = "http://10.77.0.1:9"; // nothing listens there
    const bad = { ...setup, overrides: { ...setup.overrides, mirror: dead, mesos: { ...setup.overrides.mesos, keyUrl: `${dead}/keys/lab-archive.asc` } } };
    const p = bench.clusterPlan(m, bad, [hosts[5]]);
    const d = bench.createDriver({ MesosHostProvider, ReadinessProvider }, config());
    const err = await d.up(p.inputs, undefined).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(new RegExp(`^m1 \\(${hosts[5].ip.replace(/\./g, "\\.")}:22\\): step 2/4 install \\(.*\\) exited with code \\d+; last output:`));
    expect(err?.message).toContain("10.77.0.1:9");
    console.log(`[baremetal] unreachable source → ${err!.message.split("\n").slice(0, 6).join(" | ")}`);
    expect(d.state.size).toBe(0); // a failed create records nothing; the next run starts over
    await bench.sshRun(setup.lab, hosts[5].name, bench.CLEAN);
  });

  it("an `up` that drops a master is refused by the readiness check; destroy leaves nothing of ours on any host", async () => {
    const { ready } = await driver.providers();
    const p = plan(5, { attributes: { rack: "b" } }).readiness;
    const failures = (await ready.check(p, { ...p, masters: p.masters.slice(0, 2) })).failures;
    expect(failures.map((f: any) => f.reason)).toEqual([expect.stringMatching(/^removing master m3 .* is refused/)]);
    expect((await ssh(hosts[2].name, "systemctl is-active zookeeper")).stdout.trim()).toBe("active");
    await driver.destroy();
    for (const h of hosts) expect([h.name, await remnants(h)]).toEqual([h.name, []]);
  });
});
