// Day 2 through the real pulumi CLI on lab hosts h5-h10: 3 masters, pool "general" (2 agents) and pool "batch"
// (1 agent). A monitor (test/fixtures/rollout-monitor.ts) polls every 200 ms while each rollout runs: ZooKeeper's
// mode on every master (from a loop on the batch agent: 2181 is open to cluster hosts only), the Mesos leader (each
// master's /redirect and its own master/elected), Marathon, and every agent's health. It asserts what a user relies
// on: ZooKeeper never without a majority serving but for one election, a Mesos leader at all times but for at most
// one election, Marathon answering, and agents of a pool restarted one at a time (rollout.maxUnavailable: 1).
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ZK_UPGRADE_VERSION, ZK_VERSION, http, labInfo, sshOk, zkSha512, type LabHost } from "../fixtures/lab";
import { gaps, hasLeader, rolloutFigures, stopZkLoop, watchAgents, watchRollout } from "../fixtures/rollout-monitor";
import { hostSettings, labStackSettings, pulumiWorkspace, setConfig, setSecrets, steps, urnName, type PulumiWorkspace } from "../fixtures/pulumi-cli";

const bench = createRequire(import.meta.url)("../../bench/baremetal.js");
const NAMES = (process.env.E2E_ROLLOUT_HOSTS ?? "h5,h6,h7,h8,h9,h10").split(",");
const labSkip = inject("labSkipReason");
const available = () => { try { return NAMES.every((n) => labInfo().hosts.some((h) => h.name === n)); } catch { return false; } };
const skip = labSkip || (!available() && `needs lab hosts ${NAMES.join(",")}`);

const STACK = `rollout-${process.pid}`;
const CLUSTER = "roll";
const CLUSTER_SECRET = `rollout-cluster-secret-${process.pid}-0123456789`;

describe.skipIf(skip)("rollouts through the real pulumi CLI (3 masters, 2 pools on lab hosts)", () => {
  let ws: PulumiWorkspace;
  let hosts: LabHost[];
  let masters: LabHost[];
  let agents: LabHost[];
  let out: Record<string, string>;
  const monitorHost = () => agents[2].name; // the batch pool's agent: no flag change reaches it

  /** Runs `pulumi up` with the monitor on; returns its samples, ZooKeeper's lines and the up's result. */
  const rolled = async () => {
    const auth: [string, string] = [out.adminUser, out.adminPassword];
    const watch = await watchRollout(monitorHost(), masters, agents, out.caCertificate, auth);
    const up = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 1_500_000 })
      .catch(async (e) => { await watch.stop(); throw e; });
    return { up, ...(await watch.stop()) };
  };

  beforeAll(async () => {
    hosts = NAMES.map((n) => labInfo().hosts.find((h) => h.name === n)!);
    [masters, agents] = [hosts.slice(0, 3), hosts.slice(3)];
    const setup = await bench.labSetup();
    await Promise.all(hosts.map((h) => bench.sshRun(setup.lab, h.name, bench.CLEAN)));
    ws = pulumiWorkspace();
    await ws.initStack(STACK);
    const s = labStackSettings(setup, CLUSTER, masters, agents.slice(0, 2));
    Object.assign(s, hostSettings(5, agents[2], "agent"), {
      "baremetal.hosts[5].pool": "batch",
      "agentPools[1].name": "batch",
      "agentPools[1].containerizers[0]": "mesos",
      "agentPools[1].resources.cpus": "1",
      "agentPools[1].resources.mem": "512",
      "versions.zookeeper": ZK_VERSION,
      "artifacts.zookeeper.sha512": await zkSha512(ZK_VERSION),
      "rollout.maxUnavailable": "1",
    });
    await setConfig(ws, s);
    await setSecrets(ws, CLUSTER_SECRET, setup.privateKey);
    const up = await ws.ok(["up", "--yes", "--skip-preview"], { timeoutMs: 1_500_000 });
    console.log(`[rollout] 3 masters + 3 agents ready in ${up.seconds.toFixed(1)} s`);
    out = JSON.parse((await ws.ok(["stack", "output", "--json", "--show-secrets"])).stdout);
  }, 1_800_000);

  afterAll(async () => {
    if (!ws) return;
    await stopZkLoop(monitorHost()).catch(() => undefined);
    await ws.run(["destroy", "--yes", "--skip-preview"], { timeoutMs: 1_200_000 });
    await ws.removeStack(STACK);
    ws.dispose();
  }, 1_300_000);

  it(`a ZooKeeper upgrade ${ZK_VERSION} → ${ZK_UPGRADE_VERSION} rolls one master at a time, the leader last: quorum and the Mesos leader kept`, async () => {
    await setConfig(ws, { "versions.zookeeper": ZK_UPGRADE_VERSION, "artifacts.zookeeper.sha512": await zkSha512(ZK_UPGRADE_VERSION) });
    const { up, samples, zk } = await rolled();
    expect(up.code, up.output.slice(-4000)).toBe(0);
    // Masters only (and the readiness check): the agents run no ZooKeeper.
    const updated = steps(up.events).filter((s) => s.op === "update").map((s) => urnName(s.urn)).sort();
    expect(updated).toEqual([`${CLUSTER}-m1-bootstrap`, `${CLUSTER}-m2-bootstrap`, `${CLUSTER}-m3-bootstrap`, `${CLUSTER}-ready`]);

    // Every server runs the new release now.
    for (const m of masters) {
      expect(await sshOk(m.name, "tr '\\0' ' ' </proc/$(systemctl show -p MainPID --value zookeeper)/cmdline"))
        .toContain(`zookeeper-${ZK_UPGRADE_VERSION}`);
    }
    // One server at a time: never two masters not serving in the same sample, and the leader restarted last.
    expect(zk.length).toBeGreaterThan(50);
    const f = rolloutFigures(samples, zk);
    console.log(`[rollout] zk upgrade: ${up.seconds.toFixed(1)} s; ${zk.length} zk samples, ` +
      `quorum gaps ${f.quorumGaps.count} (longest ${f.quorumGaps.longestMs} ms); ${samples.length} http samples`);
    expect(f.zkDownAtOnce).toBeLessThanOrEqual(1);
    expect(f.quorumGaps.count).toBeLessThanOrEqual(1); // the leader's own restart: one election
    // The rollout says which host of how many it rolls.
    expect(up.output).toMatch(/m\d: rolling masters: host 1 of 3/);
    expect(up.output).toMatch(/m\d: rolling masters: host 3 of 3/);
    // And how long each host's turn took (its restart and gates).
    expect(new Set([...up.output.matchAll(/(m\d): rolled in \d+\.\d s/g)].map((m) => m[1])).size).toBe(3);
    const down = (i: number) => zk.findIndex((s) => s.modes[i] === "down");
    const leaderIdx = zk[0].modes.indexOf("leader");
    expect(leaderIdx).toBeGreaterThanOrEqual(0);
    const firstDown = masters.map((_, i) => down(i)).map((t, i) => ({ i, t })).filter((x) => x.t >= 0).sort((a, b) => a.t - b.t);
    expect(firstDown.at(-1)?.i).toBe(leaderIdx);

    // Mesos: a master that says it leads, in every sample but those of at most one election.
    expect(hasLeader(samples[0])).toBe(true);
    expect(f.noLeader.count).toBeLessThanOrEqual(1);
    expect(f.marathonMisses).toBeLessThanOrEqual(Math.ceil(samples.length * 0.1));
  }, 1_800_000);

  it("a flag change on one pool rolls its agents one at a time and touches nothing else", async () => {
    await setConfig(ws, { "agentPools[0].attributes.rack": "r1" });
    const { up, samples } = await rolled();
    expect(up.code, up.output.slice(-4000)).toBe(0);
    const updated = steps(up.events).filter((s) => s.op === "update").map((s) => urnName(s.urn)).sort();
    // The two agents of "general" (named by host or by place, whichever the release names them by), nothing else.
    const hostsUpdated = updated.filter((n) => n.endsWith("-bootstrap"));
    expect(hostsUpdated).toHaveLength(2);
    expect(hostsUpdated.filter((n) => /-m\d-bootstrap$/.test(n) || n.includes("batch") || n.includes(agents[2].name))).toEqual([]);
    // Never both agents of "general" down at once; the batch agent never down; a leader throughout.
    expect(samples.some((s) => !s.agentsUp[0] && !s.agentsUp[1])).toBe(false);
    expect(samples.every((s) => s.agentsUp[2])).toBe(true);
    expect(gaps(samples, (s) => !hasLeader(s)).count).toBe(0);
    // From the leading master (the ZooKeeper upgrade may have moved it): a standby answers /master/slaves with a redirect.
    const leader = samples.at(-1)!.leaders.find((l) => l && l !== "down");
    const slaves = await http(`https://${leader}:5050/master/slaves`, { ca: out.caCertificate, auth: [out.adminUser, out.adminPassword] });
    expect(slaves.status, slaves.body).toBe(200);
    const attrs = JSON.parse(slaves.body)
      .slaves.map((a: { hostname: string; attributes: Record<string, string> }) => `${a.hostname} ${a.attributes.rack ?? "-"}`).sort();
    console.log(`[rollout] pool flag change: ${up.seconds.toFixed(1)} s; agents ${attrs.join(", ")}`);
    expect(attrs.filter((a: string) => a.endsWith(" r1"))).toHaveLength(2);
  }, 1_800_000);

  // After the flag change above (rack r1 added: additive, Mesos recovers the agents, no drain), a new value for it
  // is a restart Mesos cannot recover: each agent comes back under a new agent id, so it must be drained first.
  // The stand-in agents run no tasks (test/fixtures/standins: no executors), so "no task killed on an agent not
  // drained first" is asserted as what it means here: no agent id replaced without being DRAINED first.
  it("an attribute value changed on one pool: each agent drained, then restarted as a new agent, one at a time",
    async () => {
    await setConfig(ws, { "agentPools[0].attributes.rack": "1" });
    const auth: [string, string] = [out.adminUser, out.adminPassword];
    const listed = watchAgents(masters, out.caCertificate, auth);
    const { up, samples } = await rolled().finally(() => listed.stop());
    expect(up.code, up.output.slice(-4000)).toBe(0);
    const hostsUpdated = steps(up.events).filter((s) => s.op === "update").map((s) => urnName(s.urn))
      .filter((n) => n.endsWith("-bootstrap"));
    expect(hostsUpdated).toHaveLength(2);
    const others = (n: string) => /-m\d-bootstrap$/.test(n) || n.includes("batch") || n.includes(agents[2].name);
    expect(hostsUpdated.filter(others)).toEqual([]);
    // The provider says why it drains, once per agent of the pool.
    const why = /(\S+): draining before a restart Mesos cannot recover \(attribute rack changed from r1 to 1\)/g;
    const said = [...up.output.matchAll(why)];
    expect(new Set(said.map((m) => m[1])).size).toBe(2);

    const seen = listed.samples;
    expect(seen.length).toBeGreaterThan(50);
    const at = (ip: string) => seen.map((s) => ({ t: s.t, a: s.agents[ip] }));
    const figures: string[] = [];
    for (const h of agents.slice(0, 2)) {
      const xs = at(h.ip);
      const before = xs.find((x) => x.a)!.a!.id;
      const after = xs.at(-1)!.a?.id;
      expect(after, `${h.name}: an agent at the end`).toBeDefined();
      expect(after, `${h.name} restarted as a new agent`).not.toBe(before);
      const drained = xs.find((x) => x.a?.id === before && x.a.drain === "DRAINED");
      const draining = xs.find((x) => x.a?.id === before && x.a.drain !== "");
      const reborn = xs.find((x) => x.a?.id === after);
      expect(drained, `${h.name}: ${before} seen DRAINED`).toBeDefined();
      // Drained (DRAINING, then DRAINED: it had no tasks) before the new agent registered.
      expect(draining!.t).toBeLessThanOrEqual(drained!.t);
      expect(drained!.t).toBeLessThan(reborn!.t);
      // Every id ever listed at this address: the old one (drained before it went) and the new one, nothing else.
      expect([...new Set(xs.filter((x) => x.a).map((x) => x.a!.id))]).toEqual([before, after]);
      // Its agent went down (the monitor's /health) only after it was drained.
      const i = agents.indexOf(h);
      const down = samples.find((s) => !s.agentsUp[i]);
      if (down) expect(down.t).toBeGreaterThan(drained!.t);
      figures.push(`${h.name} ${before} DRAINED after ${((drained!.t - draining!.t) / 1000).toFixed(1)} s, ` +
        `${after} registered ${((reborn!.t - drained!.t) / 1000).toFixed(1)} s later`);
    }
    // maxUnavailable 1: never both agents of the pool drained (or draining) at once.
    expect(seen.some((s) => agents.slice(0, 2).every((h) => s.agents[h.ip]?.drain))).toBe(false);
    // The other pool untouched: the batch agent keeps its id, never drained, always up.
    const batch = at(agents[2].ip);
    expect(new Set(batch.map((x) => x.a?.id))).toEqual(new Set([batch[0].a!.id]));
    expect(batch.every((x) => x.a!.drain === "" && !x.a!.deactivated)).toBe(true);
    expect(samples.every((s) => s.agentsUp[2])).toBe(true);
    // No agent left drained or deactivated at the end.
    expect(Object.values(seen.at(-1)!.agents).every((a) => a.drain === "" && !a.deactivated)).toBe(true);
    expect(gaps(samples, (s) => !hasLeader(s)).count).toBe(0);
    console.log(`[rollout] attribute value change: ${up.seconds.toFixed(1)} s; ${figures.join("; ")}`);
  }, 1_800_000);

  // "1" -> "1.0": the provider's rule compares values as text and drains; the step's (awk) and Mesos compare them
  // as numbers, keep the checkpointed agent and recover it under the same id, which must not stay DRAINED.
  it("drained for a restart Mesos recovers after all: the agent keeps its id and is reactivated", async () => {
    await setConfig(ws, { "agentPools[0].attributes.rack": "1.0" });
    const auth: [string, string] = [out.adminUser, out.adminPassword];
    const listed = watchAgents(masters, out.caCertificate, auth);
    const { up } = await rolled().finally(() => listed.stop());
    expect(up.code, up.output.slice(-4000)).toBe(0);
    const back = [...up.output.matchAll(/: came back as the same agent (\S+) \(Mesos recovered it\): reactivated/g)];
    expect(new Set(back.map((m) => m[1])).size).toBe(2); // each line also comes again in the diagnostics
    const seen = listed.samples;
    for (const h of agents.slice(0, 2)) {
      const xs = seen.map((s) => s.agents[h.ip]).filter((a) => a);
      // One id throughout, seen DRAINED during the rollout, active and not draining at the end.
      expect(new Set(xs.map((a) => a.id)), h.name).toEqual(new Set([xs[0].id]));
      expect(xs.some((a) => a.drain === "DRAINED"), `${h.name} drained`).toBe(true);
      expect(xs.at(-1), h.name).toMatchObject({ drain: "", deactivated: false });
    }
    // The masters agree after the rollout: every agent active, none draining.
    type Listed = { active: boolean; drain_info?: unknown };
    const leader = await (async () => {
      for (const m of masters) {
        const r = await http(`https://${m.ip}:5050/api/v1`,
          { ca: out.caCertificate, auth, json: { type: "GET_AGENTS" } });
        if (r.status === 200) return JSON.parse(r.body).get_agents.agents as Listed[];
      }
      return [];
    })();
    expect(leader).toHaveLength(3);
    expect(leader.every((a) => a.active && !a.drain_info)).toBe(true);
  }, 1_800_000);
});

