// Package version bumps through the real pulumi CLI on lab hosts h11-h13 (1 master, pool "general" of 2 agents):
// `versions.mesos` then `versions.marathon`, between the lab mirror's two stand-in builds of each
// (lab/mirror/build-standins.sh; a build reports its own version: Mesos in /version's git_tag, Marathon in
// /v2/info). Asserted from the hosts and the daemons themselves: every daemon runs the new build afterwards
// (dpkg-query and its own report), they restarted one host at a time (the agents' down windows from systemd's
// timestamps never overlap, and the monitor never saw both agents down), only the affected daemons restarted
// (ZooKeeper never; the Marathon bump restarts Marathon alone and sends nothing to the agents), the CLI says which
// host of how many it rolls, and a no-change `up` afterwards sends nothing to any host.
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  STANDIN_MARATHON_VERSIONS, STANDIN_MESOS_VERSIONS, http, labInfo, loginsSince, nextSecond, sshOk, systemdMs, type LabHost,
} from "../fixtures/lab";
import { gaps, hasLeader, monitor } from "../fixtures/rollout-monitor";
import {
  destroyLabStack, labStackSettings, pulumiWorkspace, setConfig, setSecrets, steps, urnName, type PulumiWorkspace,
} from "../fixtures/pulumi-cli";

const bench = createRequire(import.meta.url)("../../bench/baremetal.js");
const NAMES = (process.env.E2E_VERSION_HOSTS ?? "h11,h12,h13").split(",");
const labSkip = inject("labSkipReason");
const available = () => {
  try { return NAMES.every((n) => labInfo().hosts.some((h) => h.name === n)); } catch { return false; }
};
const skip = labSkip ||
  (!available() && `needs lab hosts ${NAMES.join(",")}: LAB_HOSTS=${Number(NAMES.at(-1)!.slice(1))}`);

const STACK = `versions-${process.pid}`;
const CLUSTER = "vb";
const CLUSTER_SECRET = `version-bump-cluster-secret-${process.pid}-0123456789`;
const [MESOS_FROM, MESOS_TO] = STANDIN_MESOS_VERSIONS;
const [MARATHON_FROM, MARATHON_TO] = STANDIN_MARATHON_VERSIONS;

/** A daemon as systemd sees it: main PID, when it started, and when it last left and entered "active" (ms). */
interface Daemon { pid: number; started: number; activeExit: number; activeEnter: number }

/** The daemons of one host, from systemctl (one SSH session). */
async function daemons(h: LabHost, units: string[]): Promise<Record<string, Daemon>> {
  const props = ["MainPID", "ExecMainStartTimestamp", "ActiveExitTimestamp", "ActiveEnterTimestamp"];
  const out = await sshOk(h.name, units.map((u) =>
    `echo "@@ ${u}"; systemctl show --timestamp=us+utc ${props.map((p) => `-p ${p}`).join(" ")} ${u}`).join("\n"));
  const r: Record<string, Daemon> = {};
  for (const block of out.split("@@ ").slice(1)) {
    const [unit, ...lines] = block.trim().split("\n");
    const v = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    r[unit] = { pid: Number(v.MainPID), started: systemdMs(v.ExecMainStartTimestamp), activeExit: systemdMs(v.ActiveExitTimestamp),
      activeEnter: systemdMs(v.ActiveEnterTimestamp) };
  }
  return r;
}

const installed = async (h: LabHost, pkg: string) =>
  (await sshOk(h.name, `dpkg-query -W -f='\${Version}' ${pkg}`)).trim();

describe.skipIf(skip)("package version bumps through the real pulumi CLI (1 master + 2 agents on lab hosts)", () => {
  let ws: PulumiWorkspace;
  let master: LabHost;
  let agents: LabHost[];
  let out: Record<string, string>;
  const auth = (): [string, string] => [out.adminUser, out.adminPassword];
  const bootstrap = (name: string) => `${CLUSTER}-${name}-bootstrap`;
  const updated = (events: Parameters<typeof steps>[0]) =>
    steps(events).filter((s) => s.op !== "same").map((s) => `${s.op} ${urnName(s.urn)}`).sort();
  const snapshot = async () => ({
    master: await daemons(master, ["zookeeper", "mesos-master", "marathon"]),
    agents: await Promise.all(agents.map((a) => daemons(a, ["mesos-agent"]))),
  });
  /** The daemons' own reports: the master's and each agent's /version git_tag, Marathon's /v2/info version. */
  const reports = async () => {
    const tag = async (url: string, connectTo?: string) => {
      const r = await http(url, { ca: out.caCertificate, ...(connectTo ? { connectTo } : {}) });
      return r.status === 200 ? JSON.parse(r.body).git_tag : `HTTP ${r.status}`;
    };
    const info = await http(`https://${master.ip}:8443/v2/info`, { ca: out.caCertificate, auth: auth() });
    return {
      master: await tag(`https://${master.ip}:5050/version`),
      agents: await Promise.all(agents.map((a) => tag(`https://${a.ip}:5051/version`, a.ip))),
      marathon: info.status === 200 ? JSON.parse(info.body).version : `HTTP ${info.status}`,
    };
  };
  /** `pulumi up` with the monitor (every 200 ms: the Mesos leader, Marathon, each agent's /health) on. */
  const rolled = async () => {
    const mon = monitor([master], agents, out.caCertificate, auth());
    const up = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 1_500_000 })
      .finally(() => mon.stop());
    return { up, samples: await mon.stop() };
  };

  beforeAll(async () => {
    const hosts = NAMES.map((n) => labInfo().hosts.find((h) => h.name === n)!);
    [master, ...agents] = hosts;
    const setup = await bench.labSetup();
    // The lab mirror must serve both builds of each (a mirror from before they were added: rebuild it with lab-up).
    for (const deb of [`aventer-mesos_${MESOS_TO}_all.deb`, `marathon_${MARATHON_TO}_all.deb`]) {
      const r = await http(`${setup.lab.mirror}/Debian/pool/main/${deb}`, { method: "HEAD" });
      if (r.status !== 200) {
        throw new Error(`the lab mirror does not serve ${deb} (HTTP ${r.status}): run lab-up again`);
      }
    }
    await Promise.all(hosts.map((h) => bench.sshRun(setup.lab, h.name, bench.CLEAN)));
    ws = pulumiWorkspace();
    await ws.initStack(STACK);
    await setConfig(ws, {
      ...labStackSettings(setup, CLUSTER, [master], agents),
      "versions.mesos": MESOS_FROM,
      "versions.marathon": MARATHON_FROM,
      "rollout.maxUnavailable": "1",
    });
    await setSecrets(ws, CLUSTER_SECRET, setup.privateKey);
    const up = await ws.ok(["up", "--yes", "--skip-preview"], { timeoutMs: 1_500_000 });
    console.log(`[versions] 1 master + 2 agents ready in ${up.seconds.toFixed(1)} s`);
    out = JSON.parse((await ws.ok(["stack", "output", "--json", "--show-secrets"])).stdout);
    // The first builds run everywhere.
    for (const h of [master, ...agents]) {
      expect([h.name, await installed(h, "aventer-mesos")]).toEqual([h.name, MESOS_FROM]);
    }
    expect(await installed(master, "marathon")).toBe(MARATHON_FROM);
    expect(await reports()).toEqual({ master: MESOS_FROM, agents: [MESOS_FROM, MESOS_FROM], marathon: MARATHON_FROM });
  }, 1_800_000);

  afterAll(async () => {
    await destroyLabStack(ws, STACK);
  }, 1_300_000);

  it(`versions.mesos ${MESOS_FROM} → ${MESOS_TO}: the master, then one agent at a time; ZooKeeper untouched`,
    async () => {
    const before = await snapshot();
    const t0 = Date.now();
    await setConfig(ws, { "versions.mesos": MESOS_TO });
    const { up, samples } = await rolled();
    expect(up.code, up.output.slice(-4000)).toBe(0);
    // Every host's bootstrap (and the readiness check, which records what it checked), nothing else.
    const changes = updated(up.events);
    expect(changes.filter((c) => c.endsWith("-bootstrap"))).toEqual(
      [bootstrap(agents[0].name), bootstrap(agents[1].name), bootstrap("m1")].map((n) => `update ${n}`).sort());
    expect(changes.filter((c) => !c.endsWith("-bootstrap") && c !== `update ${CLUSTER}-ready`)).toEqual([]);

    // The new build everywhere: the package and what the running daemons say they are.
    for (const h of [master, ...agents]) {
      expect([h.name, await installed(h, "aventer-mesos")]).toEqual([h.name, MESOS_TO]);
    }
    expect(await reports()).toEqual({ master: MESOS_TO, agents: [MESOS_TO, MESOS_TO], marathon: MARATHON_FROM });

    // Restarted: the master and both agents (new process, started during this up). ZooKeeper: the same process.
    const after = await snapshot();
    expect(after.master["mesos-master"].pid).not.toBe(before.master["mesos-master"].pid);
    expect(after.master["mesos-master"].started).toBeGreaterThan(t0);
    expect(after.master.zookeeper).toEqual(before.master.zookeeper);
    after.agents.forEach((a, i) => {
      expect(a["mesos-agent"].pid, agents[i].name).not.toBe(before.agents[i]["mesos-agent"].pid);
      expect(a["mesos-agent"].started, agents[i].name).toBeGreaterThan(t0);
    });
    // One agent at a time, from systemd's time stamps (lab hosts share this machine's clock) and the monitor: the
    // second agent is stopped only after the first is back and answering /health (its turn's gate), and both after
    // the master is back (agents roll after every master). The monitor never saw both agents down.
    const stops = after.agents.map((a) => a["mesos-agent"].activeExit);
    for (const t of stops) expect(t).toBeGreaterThan(after.master["mesos-master"].activeEnter);
    const first = stops[0] < stops[1] ? 0 : 1;
    const firstBack = samples.find((s) => s.t > after.agents[first]["mesos-agent"].activeEnter && s.agentsUp[first]);
    expect(firstBack, `${agents[first].name} never answered /health after its restart`).toBeDefined();
    expect(stops[1 - first], JSON.stringify({ stops, firstBack: firstBack!.t })).toBeGreaterThan(firstBack!.t);
    expect(samples.length).toBeGreaterThan(50);
    expect(samples.some((s) => !s.agentsUp[0] && !s.agentsUp[1])).toBe(false);
    // The monitor watched each agent's restart (a sample before it stopped and one after it started, none more than
    // 1.5 s apart in between). Whether a sample falls inside the stand-in's sub-second restart is chance (CI once saw
    // none), so being down is not required of the samples.
    after.agents.forEach((a, i) => {
      const around = samples.filter((s) => s.t >= a["mesos-agent"].activeExit - 1_500 && s.t <= a["mesos-agent"].activeEnter + 1_500);
      expect(around.some((s) => s.t < a["mesos-agent"].activeExit), agents[i].name).toBe(true);
      expect(around.some((s) => s.t > a["mesos-agent"].activeEnter), agents[i].name).toBe(true);
      expect(Math.max(...around.slice(1).map((s, k) => s.t - around[k].t)), agents[i].name).toBeLessThanOrEqual(1_500);
    });
    // The only master's restart: at most one stretch without a leader.
    expect(gaps(samples, (s) => !hasLeader(s)).count).toBeLessThanOrEqual(1);
    expect(hasLeader(samples.at(-1)!)).toBe(true);

    // The CLI says which host of how many it rolls.
    expect(up.output).toMatch(/m1: rolling masters: host 1 of 1/);
    expect(up.output).toMatch(/: rolling pool:general: host 1 of 2/);
    expect(up.output).toMatch(/: rolling pool:general: host 2 of 2/);
    console.log(`[versions] mesos bump: ${up.seconds.toFixed(1)} s; second agent stopped ` +
      `${((stops[1 - first] - stops[first]) / 1000).toFixed(1)} s after the first, ${samples.length} samples`);
  }, 1_800_000);

  it(`versions.marathon ${MARATHON_FROM} → ${MARATHON_TO}: Marathon alone restarts; nothing reaches the agents`,
    async () => {
    const before = await snapshot();
    const t0 = Date.now();
    await setConfig(ws, { "versions.marathon": MARATHON_TO });
    const since = await nextSecond();
    const { up, samples } = await rolled();
    expect(up.code, up.output.slice(-4000)).toBe(0);
    const changes = updated(up.events);
    expect(changes.filter((c) => c !== `update ${CLUSTER}-ready`)).toEqual([`update ${bootstrap("m1")}`]);
    for (const a of agents) expect([a.name, loginsSince(a, since)]).toEqual([a.name, 0]);

    expect(await installed(master, "marathon")).toBe(MARATHON_TO);
    expect(await reports()).toEqual({ master: MESOS_TO, agents: [MESOS_TO, MESOS_TO], marathon: MARATHON_TO });
    const after = await snapshot();
    expect(after.master.marathon.pid).not.toBe(before.master.marathon.pid);
    expect(after.master.marathon.started).toBeGreaterThan(t0);
    expect(after.master.zookeeper).toEqual(before.master.zookeeper);
    expect(after.master["mesos-master"]).toEqual(before.master["mesos-master"]);
    expect(after.agents).toEqual(before.agents);
    // The Mesos leader and the agents throughout.
    expect(gaps(samples, (s) => !hasLeader(s)).count).toBe(0);
    expect(samples.every((s) => s.agentsUp.every(Boolean))).toBe(true);
    expect(up.output).toMatch(/m1: rolling masters: host 1 of 1/);
    console.log(`[versions] marathon bump: ${up.seconds.toFixed(1)} s; ` +
      `Marathon missed ${samples.filter((s) => s.marathon !== 200).length} of ${samples.length} samples`);
  }, 1_800_000);

  it("a no-change `up` afterwards sends nothing to any host", async () => {
    const before = await snapshot();
    const since = await nextSecond();
    const up = await ws.withEvents(["up", "--yes", "--skip-preview"]);
    expect(up.code, up.output).toBe(0);
    expect(updated(up.events)).toEqual([]);
    for (const h of [master, ...agents]) expect([h.name, loginsSince(h, since)]).toEqual([h.name, 0]);
    expect(await snapshot()).toEqual(before);
  }, 600_000);
});
