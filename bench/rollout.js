// bench/rollout: rolling upgrades through the real `pulumi` CLI on lab hosts (issue 11). One stack of 3 masters and
// the other hosts as agents of two pools ("general", "batch"; rollout.maxUnavailable 1), then two rollouts, each
// with the monitors of test/fixtures/rollout-monitor.ts on (every 200 ms: ZooKeeper's mode on every master, the
// Mesos leader, Marathon, every agent's health):
//   1. ZooKeeper 3.8.6 -> 3.9.5 (versions.zookeeper and its SHA-512 from the lab mirror): the masters, one at a time.
//   2. A Mesos upgrade: versions.mesos between the lab mirror's two stand-in builds (1.11.0-0.9.0 -> 0.9.1): every
//      mesos-master and every mesos-agent restarts on the new package, masters one at a time, then each pool.
// Printed side by side for each: the whole `pulumi up` against the sum of the hosts' turns (each host's restarts
// and health gates, from the provider's "<id>: rolled in N s" lines) and against the rollout's critical path
// (masters one after another, then the slowest pool; the rest is the engine, the leadership probes, the turns'
// settling and the readiness check), seconds without a Mesos leader (no master whose own metrics say
// master/elected 1), the longest ZooKeeper quorum gap, and the most ZooKeeper servers down at once (kept at 1).
//
//   sudo npm run bench:rollout
//   BENCH_HOSTS=h5,...  hosts (default h5..h13: 3 masters + 6 agents, 3 per pool, the size; 5 at least).
//                       The first 3 are the masters. Not while lab tests run: it uses the e2e's hosts.
// The stack is created first (its time printed, not measured further) and destroyed at the end, failed or not;
// the hosts are then wiped as bench/baremetal.js's CLEAN does.
"use strict";
const bm = require("./baremetal.js");

const DEFAULT_HOSTS = "h5,h6,h7,h8,h9,h10,h11,h12,h13";
const CLUSTER = "rollbench";

/** The TypeScript fixtures, loaded as bench/engine.js loads its own (Pulumi's ts-node, transpile only). */
function loadTs() {
  const { cli } = require("./engine.js").loadTs();
  return { cli, lab: require("../test/fixtures/lab.ts"), mon: require("../test/fixtures/rollout-monitor.ts") };
}

/**
 * Each host's turn from the provider's progress lines: "<id>: rolling <group>: host K of N (steps)" when it starts,
 * "<id>: rolled in S s" when its steps and gates are done.
 */
function turns(output) {
  // The CLI prints a provider's stderr as it comes and again under Diagnostics: one entry per host.
  const group = new Map(), seconds = new Map();
  for (const m of output.matchAll(/(\S+): rolling (\S+): host \d+ of \d+ \(([^)]*)\)/g)) {
    group.set(m[1], { group: m[2], steps: m[3] });
  }
  for (const m of output.matchAll(/(\S+): rolled in (\d+(?:\.\d+)?) s/g)) seconds.set(m[1], Number(m[2]));
  return [...seconds].map(([id, s]) => ({ id, seconds: s, ...(group.get(id) ?? { group: "?", steps: "?" }) }));
}

/** Sum of turns per group; the critical path with maxUnavailable 1: the masters in turn, then the slowest pool. */
function paths(ts) {
  const byGroup = {};
  for (const t of ts) byGroup[t.group] = (byGroup[t.group] ?? 0) + t.seconds;
  const pools = Object.entries(byGroup).filter(([g]) => g !== "masters").map(([, s]) => s);
  const sum = ts.reduce((a, t) => a + t.seconds, 0);
  return { sum, critical: (byGroup.masters ?? 0) + Math.max(0, ...pools), byGroup };
}

/** What `pulumi destroy` left of the cluster on the hosts (files, running daemons), or "nothing". */
async function leftovers(lab, hosts) {
  const probe = `ls -d /etc/elastic-mesos /var/lib/elastic-mesos /etc/mesos /var/lib/mesos /opt/zookeeper* 2>/dev/null
for u in zookeeper mesos-master mesos-agent marathon; do systemctl is-active -q "$u" && echo "$u running"; done
true`;
  const found = await Promise.all(hosts.map(async (h) => {
    const r = await bm.sshRun(lab, h.name, probe);
    const what = r.stdout.trim().split("\n").filter(Boolean);
    return r.code !== 0 ? `${h.name}: ssh exit ${r.code}` : what.length ? `${h.name}: ${what.join(", ")}` : "";
  }));
  return found.filter(Boolean).join("; ") || "nothing";
}

async function main() {
  const { cli, lab, mon } = loadTs();
  cli.pulumiBinDir(); // build or find the CLI before any clock starts
  const setup = await bm.labSetup();
  const names = (process.env.BENCH_HOSTS || DEFAULT_HOSTS).split(",");
  const hosts = names.map((n) => setup.lab.hosts.find((h) => h.name === n));
  const missing = names.filter((_, i) => !hosts[i]);
  if (missing.length) throw new Error(`lab hosts ${missing.join(",")} are not up (BENCH_HOSTS=${names})`);
  if (hosts.length < 5) throw new Error(`3 masters and an agent per pool: 5 hosts at least (BENCH_HOSTS=${names})`);
  const masters = hosts.slice(0, 3), agents = hosts.slice(3);
  const nGeneral = Math.ceil(agents.length / 2);
  // The ZooKeeper loop's host: a batch agent (2181 is open to cluster hosts only).
  const loopHost = agents.at(-1).name;
  console.log(`[bench] hosts ${names.join(",")}: 3 masters, ${nGeneral} agents in "general", ` +
    `${agents.length - nGeneral} in "batch"; rollout.maxUnavailable 1` +
    (process.env.BENCH_HOSTS ? "" : " (the default 9 hosts)"));

  const wipe = bm.CLEAN;
  const clean = () => Promise.all(hosts.map((h) => bm.sshRun(setup.lab, h.name, wipe)));
  await clean();
  const ws = cli.pulumiWorkspace();
  const stack = `bench-rollout-${process.pid}`;
  const rows = [];
  let failed;
  try {
    await ws.initStack(stack);
    const s = cli.labStackSettings(setup, CLUSTER, masters, agents.slice(0, nGeneral));
    agents.slice(nGeneral).forEach((h, k) => Object.assign(s, cli.hostSettings(3 + nGeneral + k, h, "agent"),
      { [`baremetal.hosts[${3 + nGeneral + k}].pool`]: "batch" }));
    Object.assign(s, {
      "agentPools[1].name": "batch",
      "agentPools[1].containerizers[0]": "mesos",
      "agentPools[1].resources.cpus": "1",
      "agentPools[1].resources.mem": "512",
      "versions.zookeeper": lab.ZK_VERSION,
      "versions.mesos": lab.STANDIN_MESOS_VERSIONS[0],
      "artifacts.zookeeper.sha512": await lab.zkSha512(lab.ZK_VERSION),
      "rollout.maxUnavailable": "1",
    });
    await cli.setConfig(ws, s);
    await cli.setSecrets(ws, `bench-rollout-cluster-secret-${process.pid}-0123456789`, setup.privateKey);
    const create = await ws.ok(["up", "--yes", "--skip-preview"], { timeoutMs: 1_800_000 });
    console.log(`[bench] created: ${create.seconds.toFixed(1)} s (not part of the figures)`);
    const out = JSON.parse((await ws.ok(["stack", "output", "--json", "--show-secrets"])).stdout);
    const auth = [out.adminUser, out.adminPassword];

    const roll = async (what, settings, expectUpdated) => {
      await cli.setConfig(ws, settings);
      const watch = await mon.watchRollout(loopHost, masters, agents, out.caCertificate, auth);
      const up = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 1_800_000 })
        .catch(async (e) => { await watch.stop(); throw e; });
      const { samples, zk } = await watch.stop();
      if (up.code !== 0) throw new Error(`pulumi up (${what}) failed:\n${up.output.slice(-4000)}`);
      const updated = cli.steps(up.events)
        .filter((x) => x.op === "update" && cli.urnName(x.urn).endsWith("-bootstrap")).length;
      const ts = turns(up.output);
      if (updated !== expectUpdated || ts.length !== expectUpdated) {
        throw new Error(`${what}: ${updated} hosts updated and ${ts.length} turns timed, ${expectUpdated} expected:\n` +
          up.output.slice(-4000));
      }
      const f = mon.rolloutFigures(samples, zk);
      const p = paths(ts);
      // Agents of one pool down at once (their /health), the most in any sample.
      const pools = [agents.slice(0, nGeneral), agents.slice(nGeneral)].map((as) => as.map((a) => agents.indexOf(a)));
      const downIn = (x) => Math.max(...pools.map((ix) => ix.filter((i) => !x.agentsUp[i]).length));
      const agentsDown = Math.max(0, ...samples.map(downIn));
      const turnList = ts.map((t) => `${t.id} ${t.seconds.toFixed(1)} s (${t.steps})`).join("; ");
      console.log(`[bench] ${what}: turns ${turnList}`);
      const row = {
        rollout: what,
        hosts: ts.length,
        "pulumi up s": +up.seconds.toFixed(1),
        "sum of turns s": +p.sum.toFixed(1),
        "masters+slowest pool s": +p.critical.toFixed(1),
        "up less path s": +(up.seconds - p.critical).toFixed(1),
        "no leader s": +(f.noLeader.totalMs / 1000).toFixed(1),
        "no-leader gaps": f.noLeader.count,
        "longest quorum gap s": +(f.quorumGaps.longestMs / 1000).toFixed(1),
        "quorum gaps": f.quorumGaps.count,
        "zk down at once": f.zkDownAtOnce,
        "pool agents down at once": agentsDown,
        "marathon misses": f.marathonMisses,
        samples: `${f.samples} http, ${f.zkSamples} zk`,
      };
      rows.push(row);
      const byGroup = Object.fromEntries(Object.entries(p.byGroup).map(([g, v]) => [g, +v.toFixed(1)]));
      console.log(JSON.stringify({ ...row, "turns by group s": byGroup }));
      return { samples };
    };

    const zkTo = lab.ZK_UPGRADE_VERSION;
    await roll(`ZooKeeper ${lab.ZK_VERSION} -> ${zkTo}`,
      { "versions.zookeeper": zkTo, "artifacts.zookeeper.sha512": await lab.zkSha512(zkTo) }, masters.length);
    const [mesosFrom, mesosTo] = lab.STANDIN_MESOS_VERSIONS;
    const { samples } = await roll(`Mesos ${mesosFrom} -> ${mesosTo}`, { "versions.mesos": mesosTo }, hosts.length);
    // The upgrade took: every daemon reports the new build (its /version, as Mesos' own does).
    const leader = samples.at(-1).leaders.find((l) => l && l !== "down");
    const versions = await Promise.all([...masters, ...agents].map(async (h, i) => {
      const port = i < masters.length ? 5050 : 5051;
      const r = await lab.http(`https://${h.ip}:${port}/version`, { ca: out.caCertificate, connectTo: h.ip });
      return r.status === 200 ? JSON.parse(r.body).git_tag : `HTTP ${r.status}`;
    }));
    const stale = versions.filter((v) => !String(v).includes(mesosTo.split("-").at(-1)));
    if (stale.length) throw new Error(`after the Mesos rollout (leader ${leader}) some daemons report ${stale.join(", ")}`);
  } catch (e) {
    failed = e;
  } finally {
    await mon.stopZkLoop(loopHost).catch(() => undefined);
    const destroy = await ws.run(["destroy", "--yes", "--skip-preview"], { timeoutMs: 1_200_000 })
      .catch((e) => ({ code: -1, output: String(e) }));
    if (destroy.code !== 0) {
      console.error(`[bench] pulumi destroy failed (hosts wiped all the same):\n${destroy.output.slice(-3000)}`);
    } else {
      const left = await leftovers(setup.lab, hosts);
      console.log(`[bench] destroyed in ${destroy.seconds.toFixed(1)} s; what the destroy left on the hosts: ${left}`);
    }
    await ws.removeStack(stack);
    ws.dispose();
    await clean();
  }
  if (failed) throw failed;
  console.table(rows);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
