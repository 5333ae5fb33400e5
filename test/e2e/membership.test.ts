// Master membership through the real pulumi CLI, on lab hosts h5-h10, watched by the rollout monitor: a running
// cluster of 3 masters (h5-h7) and one agent (h8) with a Marathon app grows to 5 masters in one `pulumi up` (h9, h10
// added to baremetal.hosts). Asserted: ZooKeeper's members changed by reconfiguration (the servers kept never
// restarted, ids kept, every server lists exactly the masters), never two ZooKeeper leaders and never two Mesos
// leaders in one sample, at most one Mesos election, the stand-in never saw more log replicas than its --quorum keeps
// safe (Mesos' order: the running masters restart with the new quorum before a new one starts), every master runs
// the new --quorum, the app's definition survives, the agent stays registered (the readiness check), and the next
// `up` changes nothing. Then shrinking 5 → 3 is refused before anything changes, and `pulumi destroy` leaves
// nothing on the hosts the growth added.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createRequire } from "node:module";
import { http, labInfo, remnants, sshOk, systemdMs, type LabHost } from "../fixtures/lab";
import { hostSettings, labStackSettings, pulumiWorkspace, setConfig, setSecrets, steps, urnName, type PulumiWorkspace }
  from "../fixtures/pulumi-cli";
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

describe.skipIf(skip)("masters 3 → 5 online through the real pulumi CLI (lab hosts h5-h10)", () => {
  let ws: PulumiWorkspace;
  let hosts: LabHost[];
  let agent: LabHost;
  let out: Record<string, string>;
  const auth = (): [string, string] => [out.adminUser, out.adminPassword];
  /** Masters m1-m5 in order: h5, h6, h7, h9, h10. */
  const master = (k: number) => hosts[[0, 1, 2, 4, 5][k - 1]];

  /** The apps Marathon knows (any master: standbys proxy to the leader). */
  const apps = async () => {
    const r = await http(`${out.marathonUrl}/v2/apps`, { auth: auth(), ca: out.caCertificate });
    expect(r.status, r.body).toBe(200);
    return (JSON.parse(r.body).apps as { id: string }[]).map((a) => a.id);
  };

  /**
   * One `pulumi up` changing the masters from `before` to `after` (counts), watched on every master either side
   * knows; asserts what every membership change must keep, prints its figures, returns the engine's steps.
   */
  async function change(label: string, before: number, after: number): Promise<{ op: string; name: string }[]> {
    const kept = Math.min(before, after);
    const watched = Array.from({ length: Math.max(before, after) }, (_, i) => master(i + 1));
    const zkBefore = await Promise.all(watched.slice(0, kept).map((m) => mainPid(m, "zookeeper")));
    const watch = await watchRollout(agent.name, watched, [agent], out.caCertificate, auth());
    const t0 = Date.now();
    const up = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 1_500_000 });
    const seconds = (Date.now() - t0) / 1000;
    const { samples, zk } = await watch.stop();
    expect(up.code, up.output.slice(-4000)).toBe(0);
    console.log(`[membership] ${label}: pulumi up ${seconds.toFixed(1)} s; longest without a Mesos leader ` +
      `${(gaps(samples, (s) => !hasLeader(s)).longestMs / 1000).toFixed(1)} s; Mesos elections ${elections(samples)}; ` +
      `ZooKeeper leaders at once at most ${mostZkLeaders(zk)}; Marathon unanswered in ` +
      `${samples.filter((s) => s.marathon !== 200).length} of ${samples.length} samples\n` +
      `  leaders: ${transitions(samples, t0)}\n` +
      `  ZooKeeper samples with more than one leader: ${JSON.stringify(zk.filter((z) => z.modes.filter((m) => m === "leader").length > 1)
        .map((z) => `${((z.t - t0) / 1000).toFixed(1)} ${z.modes.join(",")}`))}\n` +
      up.output.split("\n").filter((l) => /^\s*elastic-mesos: \S+: (rolling|rolled|leads) /.test(l)).join("\n"));

    // ZooKeeper: the servers kept were reconfigured, not restarted; each lists exactly the masters, ids kept.
    expect(await Promise.all(watched.slice(0, kept).map((m) => mainPid(m, "zookeeper")))).toEqual(zkBefore);
    const members = Array.from({ length: after }, (_, i) => `server.${i + 1}=${master(i + 1).ip}:2888:3888:participant;0.0.0.0:2181`);
    for (let k = 1; k <= after; k++) expect(await liveMembers(master(k)), `m${k}`).toBe(members.join("\n"));
    expect(mostZkLeaders(zk)).toBeLessThanOrEqual(1);
    // Mesos: one leader at most in any sample, one election at most, never an ensemble two majorities could write.
    expect(samples.filter((s) => s.elected.filter(Boolean).length > 1)).toEqual([]);
    expect(elections(samples)).toBeLessThanOrEqual(1);
    expect(Math.max(...samples.flatMap((s) => s.unsafe))).toBe(0);
    const quorum = Math.floor(after / 2) + 1;
    for (let k = 1; k <= after; k++) expect(await cmdline(master(k), "mesos-master"), `m${k}`).toContain(`--quorum=${quorum}`);
    expect(await apps()).toEqual(["/kept"]);

    // Converged: the next `up` changes nothing.
    const again = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 900_000 });
    expect(again.code, again.output.slice(-3000)).toBe(0);
    expect(steps(again.events).filter((s) => s.op !== "same").map((s) => urnName(s.urn))).toEqual([]);
    return steps(up.events).filter((s) => s.op !== "same" && s.type.includes(HOST_TYPE)).map((s) => ({ op: s.op, name: urnName(s.urn) }));
  }

  beforeAll(async () => {
    hosts = NAMES.map((n) => labInfo().hosts.find((h) => h.name === n)!);
    agent = hosts[3];
    const setup = await bench.labSetup();
    await Promise.all(hosts.map((h) => bench.sshRun(setup.lab, h.name, bench.CLEAN)));
    ws = pulumiWorkspace();
    await ws.initStack(STACK);
    await setConfig(ws, labStackSettings(setup, CLUSTER, hosts.slice(0, 3), [agent]));
    await setSecrets(ws, CLUSTER_SECRET, setup.privateKey);
    const up = await ws.ok(["up", "--yes", "--skip-preview"], { timeoutMs: 1_500_000 });
    console.log(`[membership] 3 masters + 1 agent ready in ${up.seconds.toFixed(1)} s`);
    out = JSON.parse((await ws.ok(["stack", "output", "--json", "--show-secrets"])).stdout);
    const created = await http(`${out.marathonUrl}/v2/apps`, { auth: auth(), ca: out.caCertificate,
      json: { id: "/kept", cmd: "sleep 3600", cpus: 0.1, mem: 32, instances: 1 } });
    expect(created.status, created.body).toBe(201);
  }, 1_800_000);

  afterAll(async () => {
    if (agent) await stopZkLoop(agent.name).catch(() => undefined);
    if (!ws) return;
    await ws.run(["destroy", "--yes", "--skip-preview"], { timeoutMs: 1_200_000 });
    await ws.removeStack(STACK);
    ws.dispose();
  }, 1_300_000);

  it("3 → 5: the running masters restart with --quorum=3 first, then m4 and m5 start and join ZooKeeper", async () => {
    // The two new masters follow the three in baremetal.hosts (the agent is entry 3): they become m4 and m5.
    await setConfig(ws, { ...hostSettings(4, hosts[4], "master"), ...hostSettings(5, hosts[5], "master") });
    const t0 = Date.now();
    const ops = await change("3 → 5 masters", 3, 5);
    expect(ops.map((s) => `${s.op} ${s.name}`)).toEqual(expect.arrayContaining(
      [...[1, 2, 3].map((k) => `update ${CLUSTER}-m${k}-bootstrap`), `create ${CLUSTER}-m4-bootstrap`, `create ${CLUSTER}-m5-bootstrap`]));
    // Mesos' order for growing: every running master restarted with the new quorum before either new one started.
    const started = await Promise.all([1, 2, 3, 4, 5].map((k) => startedAt(master(k), "mesos-master")));
    expect(Math.min(...started.slice(0, 3))).toBeGreaterThan(t0);
    expect(Math.min(...started.slice(3))).toBeGreaterThan(Math.max(...started.slice(0, 3)));
  }, 1_800_000);

  it("5 → 3 is refused before anything changes; `pulumi destroy` then leaves nothing on the added hosts", async () => {
    await ws.ok(["config", "rm", "--path", "elastic-mesos:baremetal.hosts[5]"]);
    await ws.ok(["config", "rm", "--path", "elastic-mesos:baremetal.hosts[4]"]);
    const up = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 600_000 });
    expect(up.code).not.toBe(0);
    expect(up.output).toContain(`baremetal.hosts (its master entries): changing the masters of running cluster ${CLUSTER} ` +
      "from 5 (m1-m5) to 3 (m1-m3) is refused before anything changed: this release adds masters to a running cluster " +
      "but does not remove them");
    expect(steps(up.events).filter((s) => s.op !== "same")).toEqual([]);
    expect(await apps()).toEqual(["/kept"]);
    await setConfig(ws, { ...hostSettings(4, hosts[4], "master"), ...hostSettings(5, hosts[5], "master") });
    await ws.ok(["destroy", "--yes", "--skip-preview"], { timeoutMs: 1_200_000 });
    for (const h of [hosts[4], hosts[5]]) expect(await remnants(h.name)).toEqual([]);
  }, 1_500_000);
});

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
