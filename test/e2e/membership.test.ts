// Master membership through the real pulumi CLI, on lab hosts h5-h10, watched by the rollout monitor: a running
// cluster of 1 master (h5) and one agent (h8) with a Marathon app goes 1 → 3 → 5 → 3 → 1 masters, one `pulumi up`
// each (entries added to or removed from baremetal.hosts). Asserted at every step: ZooKeeper's members changed by
// reconfiguration (the servers kept never restarted, ids kept, every server lists exactly the masters), never two
// ZooKeeper leaders among the servers kept (a removed leader answers "leader" until it stops: counted, shown) and
// never two Mesos leaders in one sample, at most one Mesos election (two when the Mesos leader
// is one of the masters that go: its departure, then the restart of the masters kept), the stand-in never saw more
// log replicas than its --quorum keeps safe, every master runs the new --quorum, the app's definition survives, the
// agent stays registered (the readiness check), and the next `up` changes nothing. Mesos' order: growing, the running
// masters restart with the new quorum before a new one starts (from one master, the new ones start from a copy of its
// replicated log: the stand-in, like Mesos, leaves a new replica EMPTY forever otherwise); shrinking, the masters that go stop for good (the
// Mesos leader last) before any master kept restarts, and nothing of ours is left on them. Refused, touching nothing
// else: a removal while another master's ZooKeeper is down (by the master that would leave), and another
// clusterSecret alone (by the masters pin; rotating it: test/e2e/rotation.test.ts). `pulumi destroy` then leaves
// nothing anywhere.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createRequire } from "node:module";
import { http, inHost, labInfo, remnants, sshOk, systemdMs, type LabHost } from "../fixtures/lab";
import { destroyLabStack, hostSettings, labStackSettings, pulumiWorkspace, setConfig, setSecrets, steps, urnName,
  type PulumiWorkspace } from "../fixtures/pulumi-cli";
import { leadershipScript, parseLeadership } from "../../provisioning/rollout/leader";
import { zkMode } from "../../provisioning/render/probe-snippets";
import { gaps, hasLeader, stopZkLoop, watchRollout, type Sample, type ZkSample } from "../fixtures/rollout-monitor";

const bench = createRequire(import.meta.url)("../../bench/baremetal.js");
const NAMES = (process.env.E2E_MEMBERSHIP_HOSTS ?? "h5,h6,h7,h8,h9,h10").split(",");
const labSkip = inject("labSkipReason");
const available = () => { try { return NAMES.every((n) => labInfo().hosts.some((h) => h.name === n)); } catch { return false; } };
const skip = labSkip || (!available() && `needs lab hosts ${NAMES.join(",")}`);

const STACK = `e2e-membership-${process.pid}`;
const CLUSTER = "mem";
const CLUSTER_SECRET = `membership-cluster-secret-${process.pid}-0123456789`;
const HOST_TYPE = "baremetal:Host";

describe.skipIf(skip)("masters 1 → 3 → 5 → 3 → 1 online through the real pulumi CLI (lab hosts h5-h10)", () => {
  let ws: PulumiWorkspace;
  let hosts: LabHost[];
  let agent: LabHost;
  let out: Record<string, string>;
  const auth = (): [string, string] => [out.adminUser, out.adminPassword];
  /** Masters m1-m5 in order: h5, h6, h7, h9, h10 (m3 is h9 once it replaced lost h7). */
  let order = [0, 1, 2, 4, 5];
  const master = (k: number) => hosts[order[k - 1]];

  /** The apps Marathon knows (any master: standbys proxy to the leader). */
  const apps = async () => {
    const r = await http(`${out.marathonUrl}/v2/apps`, { auth: auth(), ca: out.caCertificate });
    expect(r.status, r.body).toBe(200);
    return (JSON.parse(r.body).apps as { id: string }[]).map((a) => a.id);
  };

  /** One `pulumi up` watched by the rollout monitor on `watched` (and the agent): prints the figures every change of the
   * masters is judged by, and returns the samples. */
  async function watchedUp(label: string, watched: LabHost[]) {
    const watch = await watchRollout(agent.name, watched, [agent], out.caCertificate, auth());
    const t0 = Date.now();
    const up = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 1_500_000 });
    const seconds = (Date.now() - t0) / 1000;
    const { samples, zk } = await watch.stop();
    expect(up.code, up.output.slice(-4000)).toBe(0);
    console.log(`[membership] ${label}: pulumi up ${seconds.toFixed(1)} s; longest without a Mesos leader ` +
      `${(gaps(samples, (s) => !hasLeader(s)).longestMs / 1000).toFixed(1)} s (without one that recovered the registry ` +
      `${(gaps(samples, (s) => !s.recovered.some(Boolean)).longestMs / 1000).toFixed(1)} s); Mesos elections ${elections(samples)}; ` +
      `ZooKeeper leaders at once at most ${mostZkLeaders(zk)}; Marathon unanswered in ` +
      `${samples.filter((s) => s.marathon !== 200).length} of ${samples.length} samples\n` +
      `  leaders: ${transitions(samples, t0)}\n` +
      `  ZooKeeper samples with more than one leader: ${JSON.stringify(zk.filter((z) => z.modes.filter((m) => m === "leader").length > 1)
        .map((z) => `${((z.t - t0) / 1000).toFixed(1)} ${z.modes.join(",")}`))}\n` +
      progress(up.output).join("\n"));
    return { up, samples, zk, t0 };
  }

  /**
   * One `pulumi up` changing the masters from `before` to `after` (counts), watched on every master either side
   * knows but the `lost` ones (cut off); asserts what every membership change must keep, prints its figures, returns
   * the engine's steps.
   */
  async function change(label: string, before: number, after: number, lost: number[] = []):
    Promise<{ ops: { op: string; name: string }[]; output: string }> {
    const kept = Math.min(before, after);
    const watched = Array.from({ length: Math.max(before, after) }, (_, i) => master(i + 1))
      .filter((_, i) => !lost.includes(i + 1));
    const leaderBefore = (await watchedLeader(watched)) ?? 0;
    const zkBefore = await Promise.all(watched.slice(0, kept).map((m) => mainPid(m, "zookeeper")));
    const { up, samples, zk, t0 } = await watchedUp(label, watched);

    // ZooKeeper: the servers kept were reconfigured, not restarted; each lists exactly the masters, ids kept.
    expect(await Promise.all(watched.slice(0, kept).map((m) => mainPid(m, "zookeeper")))).toEqual(zkBefore);
    const members = Array.from({ length: after }, (_, i) => `server.${i + 1}=${master(i + 1).ip}:2888:3888:participant;0.0.0.0:2181`);
    for (let k = 1; k <= after; k++) expect(await liveMembers(master(k)), `m${k}`).toBe(members.join("\n"));
    // Never two ZooKeeper leaders, except a server being removed that led: it says "leader" until it stops, while
    // the successor ZooKeeper handed leadership to at the reconfig leads the members (shown, never two kept leaders).
    const handoffs = zk.filter((z) => z.modes.filter((m) => m === "leader").length > 1);
    if (handoffs.length) console.log(`[membership] ${label}: a removed ZooKeeper leader still answered "leader" in ${handoffs.length} samples`);
    expect(Math.max(0, ...zk.map((z) => z.modes.slice(0, kept).filter((m) => m === "leader").length))).toBeLessThanOrEqual(1);
    expect(after < before ? mostZkLeaders(zk) <= 2 : mostZkLeaders(zk) <= 1).toBe(true);
    // Mesos: one leader at most in any sample, one election at most, never an ensemble two majorities could write.
    expect(samples.filter((s) => s.elected.filter(Boolean).length > 1)).toEqual([]);
    const leaderLeaves = leaderBefore > after;
    expect(elections(samples)).toBeLessThanOrEqual(leaderLeaves ? 2 : 1);
    if (after < before) {
      // Mesos' order for shrinking: every master that goes has left before the first master kept restarts.
      const lines = progress(up.output);
      const left = (l: string) => / m\d+: left( in |: lost: )/.test(l);
      const lastLeft = lines.map(left).lastIndexOf(true);
      const firstRoll = lines.findIndex((l) => / m\d+: rolling /.test(l));
      expect(lastLeft, lines.join("\n")).toBeGreaterThanOrEqual(0);
      expect(firstRoll, lines.join("\n")).toBeGreaterThan(lastLeft);
      expect(new Set(lines.filter(left).map((l) => / (m\d+): /.exec(l)![1])).size).toBe(before - after);
      // Never the Mesos leader first: it leaves last.
      if (leaderLeaves) {
        expect(lines.join("\n")).toContain(`m${leaderBefore}: leaving the cluster: master ${before - after} of ${before - after} to leave ` +
          "(the Mesos leader: last)");
      }
      for (let k = after + 1; k <= before; k++) if (!lost.includes(k)) expect(await remnants(master(k).name), `m${k}`).toEqual([]);
    }
    expect(Math.max(...samples.flatMap((s) => s.unsafe))).toBe(0);
    const quorum = Math.floor(after / 2) + 1;
    for (let k = 1; k <= after; k++) expect(await cmdline(master(k), "mesos-master"), `m${k}`).toContain(`--quorum=${quorum}`);
    expect(await apps()).toEqual(["/kept"]);

    // Converged: the preview changes nothing and the next `up` nothing (every master's inputs read the pin's record,
    // the readiness each host's `repairs`: an output missing from the state would be unknown in the preview, and
    // they would show as updating).
    const preview = await ws.withEvents(["preview"], { timeoutMs: 600_000 });
    expect(preview.code, preview.output.slice(-3000)).toBe(0);
    expect(steps(preview.events).filter((s) => s.op !== "same").map((s) => `${s.op} ${urnName(s.urn)}`)).toEqual([]);
    const again = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 900_000 });
    expect(again.code, again.output.slice(-3000)).toBe(0);
    expect(steps(again.events).filter((s) => s.op !== "same").map((s) => urnName(s.urn))).toEqual([]);
    const ops = steps(up.events).filter((s) => s.op !== "same" && s.type.includes(HOST_TYPE))
      .map((s) => ({ op: s.op, name: urnName(s.urn) }));
    return { ops, output: up.output };
  }

  beforeAll(async () => {
    hosts = NAMES.map((n) => labInfo().hosts.find((h) => h.name === n)!);
    agent = hosts[3];
    const setup = await bench.labSetup();
    await Promise.all(hosts.map((h) => bench.sshRun(setup.lab, h.name, bench.CLEAN)));
    ws = pulumiWorkspace();
    await ws.initStack(STACK);
    await setConfig(ws, labStackSettings(setup, CLUSTER, hosts.slice(0, 1), [agent]));
    await setSecrets(ws, CLUSTER_SECRET, setup.privateKey);
    const up = await ws.ok(["up", "--yes", "--skip-preview"], { timeoutMs: 1_500_000 });
    console.log(`[membership] 1 master + 1 agent ready in ${up.seconds.toFixed(1)} s`);
    out = JSON.parse((await ws.ok(["stack", "output", "--json", "--show-secrets"])).stdout);
    const created = await http(`${out.marathonUrl}/v2/apps`, { auth: auth(), ca: out.caCertificate,
      json: { id: "/kept", cmd: "sleep 3600", cpus: 0.1, mem: 32, instances: 1 } });
    expect(created.status, created.body).toBe(201);
  }, 1_800_000);

  afterAll(async () => {
    if (agent) await stopZkLoop(agent.name).catch(() => undefined);
    await destroyLabStack(ws, STACK);
  }, 1_300_000);

  it("1 → 3: m1 restarts with --quorum=2 having sent a copy of its log, then m2 and m3 start from it", async () => {
    // baremetal.hosts is h5 (m1) and h8 (the agent): the new masters follow, h6 and h7 become m2 and m3.
    await setConfig(ws, { ...hostSettings(2, hosts[1], "master"), ...hostSettings(3, hosts[2], "master") });
    const t0 = Date.now();
    const { ops, output } = await change("1 → 3 masters", 1, 3);
    expect(ops.map((s) => `${s.op} ${s.name}`)).toEqual(expect.arrayContaining(
      [`update ${CLUSTER}-m1-bootstrap`, `create ${CLUSTER}-m2-bootstrap`, `create ${CLUSTER}-m3-bootstrap`]));
    // Mesos' order: m1 restarted with the new quorum before either new master started, from m1's copy.
    const started = await Promise.all([1, 2, 3].map((k) => startedAt(master(k), "mesos-master")));
    expect(started[0]).toBeGreaterThan(t0);
    expect(Math.min(started[1], started[2])).toBeGreaterThan(started[0]);
    expect(output).toMatch(/elastic-mesos: m1: sent a copy of its replicated log \(\d+ bytes\) to m2, m3/);
    for (const k of [2, 3]) {
      expect(output).toContain(`elastic-mesos: m${k}: seed: replicated log unpacked from m1's copy`);
      // The copy voted at once (a new replica would have stayed EMPTY), and is gone from the new master.
      expect(await sshOk(master(k).name, "cat /var/lib/mesos/master/replicated_log/status; " +
        "ls /var/lib/elastic-mesos/log-seed.tar.gz 2>&1 || true"), `m${k}`).toMatch(/^VOTING\n.*No such file/);
    }
  }, 1_800_000);

  it("3 → 5: the running masters restart with --quorum=3 first, then m4 and m5 start and join ZooKeeper", async () => {
    // The two new masters follow the three in baremetal.hosts (the agent is entry 1): they become m4 and m5.
    await setConfig(ws, { ...hostSettings(4, hosts[4], "master"), ...hostSettings(5, hosts[5], "master") });
    const t0 = Date.now();
    const { ops } = await change("3 → 5 masters", 3, 5);
    expect(ops.map((s) => `${s.op} ${s.name}`)).toEqual(expect.arrayContaining(
      [...[1, 2, 3].map((k) => `update ${CLUSTER}-m${k}-bootstrap`), `create ${CLUSTER}-m4-bootstrap`, `create ${CLUSTER}-m5-bootstrap`]));
    // Mesos' order for growing: every running master restarted with the new quorum before either new one started.
    const started = await Promise.all([1, 2, 3, 4, 5].map((k) => startedAt(master(k), "mesos-master")));
    expect(Math.min(...started.slice(0, 3))).toBeGreaterThan(t0);
    expect(Math.min(...started.slice(3))).toBeGreaterThan(Math.max(...started.slice(0, 3)));
  }, 1_800_000);

  it("5 → 3 with m5's machine lost: m4 leaves (reconfig -remove 4 and lost 5, stopped, cleaned), m5 is recorded " +
    "as lost, then m1-m3 restart with --quorum=2", async () => {
    const gone = master(5);
    cutOff(gone);
    try {
      await oneMesosLeader([1, 2, 3, 4].map(master));
      await ws.ok(["config", "rm", "--path", "elastic-mesos:baremetal.hosts[5]"]);
      await ws.ok(["config", "rm", "--path", "elastic-mesos:baremetal.hosts[4]"]);
      await setConfig(ws, { "baremetal.lostMasters[0]": gone.ip });
      const preview = await ws.withEvents(["preview"], { timeoutMs: 600_000 });
      expect(preview.code, preview.output.slice(-3000)).toBe(0);
      console.log(`[membership] 5 → 3 preview: ${JSON.stringify(steps(preview.events).filter((x) => x.op !== "same" && x.type.includes(HOST_TYPE))
        .map((x) => `${x.op} ${urnName(x.urn)}`))}`);
      const { ops, output } = await change("5 → 3 masters (m5's machine lost)", 5, 3, [5]);
      expect(ops.map((s) => `${s.op} ${s.name}`)).toEqual(expect.arrayContaining(
        [1, 2, 3, 4, 5].map((k) => `update ${CLUSTER}-m${k}-bootstrap`)));
      expect(output).toContain(`elastic-mesos: m5: left: lost: ${gone.ip} not reached`);
      expect(output).toMatch(/elastic-mesos: m4: left in [0-9.]+ s: ZooKeeper server 4 \(and lost 5\) removed through /);
    } finally {
      await bringBack(gone);
    }
  }, 1_800_000);

  it("m3's machine (h7) lost: one `up` replaces it on h9 (reconfig -remove 3, then -add 3 at its new address), " +
    "after m1 and m2 rolled; the new replica catches up", async () => {
    const lost = hosts[2], spare = hosts[4];
    cutOff(lost);
    try {
      // The loss's own election (when h7 led) is over before the change is watched.
      await oneMesosLeader([master(1), master(2)]);
      // baremetal.hosts is h5 (m1), h8 (the agent), h6 (m2), h7 (m3). Moving m3 without `replaces` is refused.
      await setConfig(ws, hostSettings(3, spare, "master"));
      const refused = await ws.withEvents(["preview"], { timeoutMs: 600_000 });
      expect(refused.code).not.toBe(0);
      expect(refused.output).toContain(`baremetal.hosts[name=${spare.name}].address: moving master m3 from ${lost.ip} ` +
        `to ${spare.ip}`);
      expect(refused.output).toContain(`.replaces' ${lost.ip}\`, then \`pulumi up\``);
      await setConfig(ws, { "baremetal.hosts[3].replaces": lost.ip });
      const watched = [master(1), master(2), spare];
      const zkBefore = await Promise.all(watched.slice(0, 2).map((m) => mainPid(m, "zookeeper")));
      const { up, samples, zk, t0 } = await watchedUp("m3 replaced (h7 lost, h9 new)", watched);
      expect(steps(up.events).filter((x) => x.op !== "same" && x.type.includes(HOST_TYPE)).map((x) => `${x.op} ${urnName(x.urn)}`))
        .toEqual(expect.arrayContaining([1, 2, 3].map((k) => `update ${CLUSTER}-m${k}-bootstrap`)));
      expect(up.output).toContain(`elastic-mesos: m3: its lost machine ${lost.ip} does not answer`);
      order = [0, 1, 4];
      // Mesos: the quorum is the same, so m1 and m2 did not restart (their Mesos finds the masters through their own
      // ZooKeeper server); m3 started on h9 after they rolled (their firewalls admit h9 only then).
      const started = await Promise.all([1, 2, 3].map((k) => startedAt(master(k), "mesos-master")));
      expect(Math.max(started[0], started[1])).toBeLessThan(t0);
      expect(started[2]).toBeGreaterThan(t0);
      const rolled = new Set(up.output.match(/elastic-mesos: m[12]: rolled in /g));
      expect(rolled.size, up.output.slice(-4000)).toBe(2);
      // ZooKeeper: the servers kept were reconfigured, not restarted; server 3 is at its new address everywhere.
      expect(await Promise.all([1, 2].map((k) => mainPid(master(k), "zookeeper")))).toEqual(zkBefore);
      const members = [1, 2, 3].map((k) => `server.${k}=${master(k).ip}:2888:3888:participant;0.0.0.0:2181`).join("\n");
      for (const k of [1, 2, 3]) expect(await liveMembers(master(k)), `m${k}`).toBe(members);
      // The new replica caught up from the two voting ones (it started EMPTY: no copy is needed with a quorum left).
      expect(await sshOk(spare.name, "cat /var/lib/mesos/master/replicated_log/status")).toBe("VOTING\n");
      for (const k of [1, 2, 3]) expect(await cmdline(master(k), "mesos-master"), `m${k}`).toContain("--quorum=2");
      expect(Math.max(...samples.flatMap((x) => x.unsafe))).toBe(0);
      expect(elections(samples)).toBeLessThanOrEqual(1);
      expect(mostZkLeaders(zk)).toBe(1);
      expect(await apps()).toEqual(["/kept"]);
      const again = await ws.withEvents(["preview"], { timeoutMs: 600_000 });
      expect(again.code, again.output.slice(-3000)).toBe(0);
      expect(steps(again.events).filter((x) => x.op !== "same").map((x) => `${x.op} ${urnName(x.urn)}`)).toEqual([]);
    } finally {
      await bringBack(lost);
    }
  }, 1_800_000);

  it("3 → 1: refused while m1 is down; then m2 and m3 leave, m1 restarts with --quorum=1; another clusterSecret is refused; `pulumi destroy` leaves nothing", async () => {
    // baremetal.hosts is now h5 (m1), h8 (the agent), h6 and h9 (m2 and m3).
    // While a master is down (m1's ZooKeeper), a removal is refused by the master that would leave, before anything
    // changed; then it is back, and the same `up` goes through.
    await sshOk(master(1).name, "systemctl stop zookeeper");
    await ws.ok(["config", "rm", "--path", "elastic-mesos:baremetal.hosts[3]"]);
    await ws.ok(["config", "rm", "--path", "elastic-mesos:baremetal.hosts[2]"]);
    const refused = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 600_000 });
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(new RegExp(`m[23] \\(10\\.77\\.0\\.\\d+\\): leaving the cluster failed: [\\s\\S]*ZooKeeper server\\.1 ` +
      `\\(${master(1).ip.replace(/\./g, "\\.")}\\) does not serve \\(srvr: no answer\\): removing master [23] while another master ` +
      "is down could leave ZooKeeper without a quorum, so nothing was changed"));
    const touched = steps(refused.events).filter((x) => x.op !== "same" && x.type.includes(HOST_TYPE)).map((x) => `${x.op} ${urnName(x.urn)}`);
    expect(touched.filter((t) => !/^update mem-m[23]-bootstrap$/.test(t))).toEqual([]); // only the two that would leave
    for (const k of [2, 3]) {
      expect(await liveMembers(master(k)), `m${k}`).toContain(`server.${k}=${master(k).ip}:`);
      expect(await cmdline(master(k), "mesos-master"), `m${k}`).toContain("--quorum=2");
    }
    await sshOk(master(1).name, "systemctl start zookeeper; for i in $(seq 60); do " +
      `case $(${zkMode(`'${master(1).ip}'`)}) in leader|follower) exit 0 ;; esac; sleep 1; done; exit 1`);
    // Mesos on m1 was cut off from ZooKeeper meanwhile: the change below starts once one master leads again, for good.
    await oneMesosLeader([1, 2, 3].map(master));
    const { ops } = await change("3 → 1 master", 3, 1);
    expect(ops.map((s) => `${s.op} ${s.name}`)).toEqual(expect.arrayContaining(
      [1, 2, 3].map((k) => `update ${CLUSTER}-m${k}-bootstrap`)));
    // Another clusterSecret alone (no previousClusterSecret: not a rotation) is refused before anything changes; the old
    // one goes back.
    await ws.ok(["config", "set", "--secret", "elastic-mesos:clusterSecret"], { input: `${CLUSTER_SECRET}-rotated` });
    const rotated = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 600_000 });
    expect(rotated.code).not.toBe(0);
    expect(rotated.output).toContain(`clusterSecret: changed on running cluster ${CLUSTER}, refused before anything changed.`);
    expect(rotated.output).not.toContain(CLUSTER_SECRET);
    expect(steps(rotated.events).filter((x) => x.op !== "same")).toEqual([]);
    // As the refusal says: the old secret back, then an `up` (it changes nothing), or the destroy would use the other.
    await ws.ok(["config", "set", "--secret", "elastic-mesos:clusterSecret"], { input: CLUSTER_SECRET });
    const back = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 600_000 });
    expect(back.code, back.output.slice(-3000)).toBe(0);
    expect(steps(back.events).filter((x) => x.op !== "same").map((x) => urnName(x.urn))).toEqual([]);
    await ws.ok(["destroy", "--yes", "--skip-preview"], { timeoutMs: 1_200_000 });
    for (const h of hosts) expect([h.name, await remnants(h.name)]).toEqual([h.name, []]);
  }, 1_800_000);
});

/**
 * A master's machine lost, as a dead machine is: nothing answers (its daemons stopped first, so its Mesos replica's
 * znode goes now rather than a session timeout later), then every packet dropped inside it.
 */
function cutOff(h: LabHost): void {
  inHost(h, "systemctl stop marathon mesos-master zookeeper; nft add table inet em_lost; " +
    "nft add chain inet em_lost in '{ type filter hook input priority -300; policy drop; }'; " +
    "nft add chain inet em_lost out '{ type filter hook output priority -300; policy drop; }'");
}

/** The lab host back for the tests after this one; what of ours is on it goes (the stack no longer has it). */
async function bringBack(h: LabHost): Promise<void> {
  inHost(h, "nft delete table inet em_lost || true");
  await bench.sshRun((await bench.labSetup()).lab, h.name, bench.CLEAN);
}

/** The provider's progress lines about rolling and leaving, as the engine printed them. */
const progress = (output: string) =>
  output.split("\n").filter((l) => /^\s*elastic-mesos: \S+: (rolling|rolled|leads|leaving|left|replacing|its lost)[ :]/.test(l));

/** Which of `masters` say they are the elected Mesos master, asked with the rollout's own leadership probe. */
const mesosElected = (masters: LabHost[]) =>
  Promise.all(masters.map(async (m) => parseLeadership(await sshOk(m.name, leadershipScript(m.ip))).mesos));

/** The elected Mesos master among `watched` (1-based). */
async function watchedLeader(watched: LabHost[]): Promise<number | undefined> {
  const i = (await mesosElected(watched)).indexOf(true);
  return i < 0 ? undefined : i + 1;
}

/** Waits until exactly one of `masters` says it is the elected Mesos master, three looks in a row a second apart. */
async function oneMesosLeader(masters: LabHost[]): Promise<void> {
  let streak = 0;
  for (let i = 0; i < 120 && streak < 3; i++) {
    streak = (await mesosElected(masters)).filter(Boolean).length === 1 ? streak + 1 : 0;
    await new Promise((r) => setTimeout(r, 1000));
  }
  expect(streak, "one elected Mesos master, three looks in a row").toBe(3);
}

/** "<s>: m<k>" at each change of the elected Mesos master ("-" while none), seconds after t0. */
function transitions(samples: Sample[], t0: number): string {
  const out: string[] = [];
  let last = "";
  for (const s of samples) {
    const who = s.elected.map((e, i) => (e ? `m${i + 1}` : "")).filter(Boolean).join("+") || "-";
    if (who !== last) out.push(`${((s.t - t0) / 1000).toFixed(1)}: ${who}`);
    last = who;
  }
  return out.join(", ");
}

/** Changes of the elected Mesos master between samples that have one. */
function elections(samples: Sample[]): number {
  let last = -1, n = 0;
  for (const s of samples) {
    const i = s.elected.indexOf(true);
    if (i < 0) continue;
    if (last >= 0 && i !== last) n++;
    last = i;
  }
  return n;
}

const mostZkLeaders = (zk: ZkSample[]) => Math.max(0, ...zk.map((s) => s.modes.filter((x) => x === "leader").length));

const mainPid = async (h: LabHost, unit: string) => (await sshOk(h.name, `systemctl show -p MainPID --value ${unit}`)).trim();

const cmdline = (h: LabHost, unit: string) =>
  sshOk(h.name, `tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value ${unit})/cmdline`);

/** When the unit's process started, in ms since the epoch (systemd's `--timestamp=us+utc` form). */
async function startedAt(h: LabHost, unit: string): Promise<number> {
  return systemdMs(await sshOk(h.name, `systemctl show --timestamp=us+utc -p ExecMainStartTimestamp --value ${unit}`));
}

/** The server lines of the master's live ZooKeeper config, as ZooKeeper wrote them. */
async function liveMembers(h: LabHost): Promise<string> {
  return (await sshOk(h.name, "f=$(sed -n 's/^dynamicConfigFile=//p' /var/lib/zookeeper/conf/zoo.cfg | tail -n 1); " +
    "grep '^server\\.' \"$f\" | sort")).trim();
}
