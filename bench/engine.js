// bench/engine: the real `pulumi` CLI on lab hosts against the plain parallel script of bench/baremetal.js, in one
// run and alternating, for 3 masters + K agents: create from nothing to ready, a no-change `pulumi up`, growing the
// pool by one agent, and the CLI's own fixed costs (process start, and an engine run that stops at config).
//
//   sudo npm run bench:engine [-- K...]        default K = 1 3 6
//   BENCH_REPEAT=N   runs per K (default 2), alternating which of raw / pulumi goes first
//   BENCH_HOSTS=...  hosts to use (default: the lab's highest-numbered 4 + max(K) hosts; started if needed)
// `pulumi up` runs with --yes --skip-preview: one program run, as in CI (a plain `pulumi up` previews first).
"use strict";
const { performance } = require("perf_hooks");
const path = require("path");
const bm = require("./baremetal.js");

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const range = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;

/** Loads the TypeScript modules the way bench/baremetal.js does (Pulumi's ts-node, transpile only). */
function loadTs() {
  process.chdir(path.resolve(__dirname, ".."));
  require("../scripts/lib/ts.js").registerTs();
  return {
    cli: require("../test/fixtures/pulumi-cli.ts"),
    m: {
      ...require("../provisioning/artifacts.ts"), ...require("../provisioning/credentials.ts"),
      ...require("../provisioning/baremetal/bootstrap.ts"), ...require("../provisioning/baremetal/render.ts"),
    },
  };
}

/** One `pulumi` lifecycle for 3 masters + K agents: create, no-change, grow by one, destroy. */
async function pulumiRun(cli, setup, hosts, k, tag) {
  const ws = cli.pulumiWorkspace();
  const stack = `bench-${process.pid}-${tag}`;
  try {
    await ws.initStack(stack);
    await cli.setConfig(ws, cli.labStackSettings(setup, "bench", hosts.slice(0, 3), hosts.slice(3, 3 + k)));
    await cli.setSecrets(ws, "bench-engine-cluster-secret-0001", setup.privateKey);
    const up = () => ws.withEvents(["up", "--yes", "--skip-preview"]);
    const create = await up();
    if (create.code !== 0) throw new Error(`pulumi up (create, K=${k}) failed:\n${create.output.slice(-4000)}`);
    const same = await up();
    if (same.code !== 0) throw new Error(`pulumi up (no change, K=${k}) failed:\n${same.output.slice(-4000)}`);
    await cli.setConfig(ws, cli.hostSettings(3 + k, hosts[3 + k], "agent"));
    const grow = await up();
    if (grow.code !== 0) throw new Error(`pulumi up (grow, K=${k}) failed:\n${grow.output.slice(-4000)}`);
    const changed = (r) => cli.steps(r.events).filter((s) => s.op !== "same");
    const hostsTouched = (r) => changed(r).filter((s) => s.type.endsWith("baremetal:Host") &&
      cli.urnName(s.urn).endsWith("-bootstrap")).length;
    await ws.ok(["config", "set", "elastic-mesos:destroy", "true"]);
    await ws.ok(["destroy", "--yes", "--skip-preview"]);
    return {
      create: create.seconds, same: same.seconds, sameChanges: changed(same).length,
      grow: grow.seconds, growTouched: hostsTouched(grow), growChanges: changed(grow).map((s) => `${s.op} ${cli.urnName(s.urn)}`),
    };
  } finally {
    await ws.removeStack(stack);
    ws.dispose();
  }
}

/** The CLI's fixed costs: process start (`pulumi version`) and an engine run that stops at the config check. */
async function fixedCosts(cli) {
  const ws = cli.pulumiWorkspace();
  const stack = `bench-${process.pid}-startup`;
  try {
    await ws.initStack(stack);
    await ws.ok(["config", "set", "elastic-mesos:provider", "baremetal"]);
    const version = [], engine = [];
    for (let i = 0; i < 3; i++) {
      version.push((await ws.ok(["version"])).seconds);
      const r = await ws.run(["up", "--yes", "--skip-preview"]);
      if (!r.output.includes("problems in stack config")) throw new Error(`expected the config check to stop the run:\n${r.output}`);
      engine.push(r.seconds);
    }
    return { version: median(version), engine: median(engine), engineRange: range(engine) };
  } finally {
    await ws.removeStack(stack);
    ws.dispose();
  }
}

async function main() {
  const { cli, m } = loadTs();
  cli.pulumiBinDir(); // build or find the CLI before any clock starts
  const wanted = (process.argv.slice(2).length ? process.argv.slice(2) : ["1", "3", "6"]).map(Number);
  const needed = 4 + Math.max(...wanted);
  if (!process.env.BENCH_HOSTS) bm.ensureLab(needed);
  const setup = await bm.labSetup();
  const byNumber = setup.lab.hosts.map((h) => h.name).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  const names = (process.env.BENCH_HOSTS || byNumber.slice(-needed).join(",")).split(",");
  const hosts = names.map((n) => setup.lab.hosts.find((h) => h.name === n)).filter(Boolean);
  if (hosts.length < needed) throw new Error(`3 masters + ${Math.max(...wanted)} agents + 1 to grow need ${needed} lab hosts; BENCH_HOSTS has ${hosts.length}`);
  const repeat = Number(process.env.BENCH_REPEAT || 2);
  console.log(`[bench] hosts ${names.join(",")}; K = ${wanted.join(", ")}; ${repeat} runs each, raw and pulumi alternating`);

  const fixed = await fixedCosts(cli);
  console.log(`[bench] pulumi version: ${fixed.version.toFixed(2)} s; engine start-up (up that stops at config): ` +
    `${fixed.engine.toFixed(1)} s (${fixed.engineRange})`);
  const rows = [];
  for (const k of wanted) {
    const use = hosts.slice(0, 4 + k);
    const clean = () => Promise.all(use.map((h) => bm.sshRun(setup.lab, h.name, bm.CLEAN)));
    const plan = bm.clusterPlan(m, setup, use.slice(0, 3 + k));
    const raws = [], runs = [];
    for (let i = 0; i < repeat; i++) {
      for (const which of i % 2 ? ["pulumi", "raw"] : ["raw", "pulumi"]) {
        await clean();
        if (which === "raw") raws.push((await bm.rawBaseline(setup.lab, use.slice(0, 3 + k), plan)).seconds);
        else runs.push(await pulumiRun(cli, setup, use, k, `${k}-${i}`));
      }
    }
    await clean();
    const raw = median(raws), create = median(runs.map((r) => r.create));
    const row = {
      "masters+agents": `3+${k}`,
      "raw s": +raw.toFixed(1),
      "pulumi up s": +create.toFixed(1),
      ratio: +(create / raw).toFixed(2),
      "ratio less start-up": +((create - fixed.engine) / raw).toFixed(2),
      "no-change up s": +median(runs.map((r) => r.same)).toFixed(1),
      "no-change changes": Math.max(...runs.map((r) => r.sameChanges)),
      "grow +1 s": +median(runs.map((r) => r.grow)).toFixed(1),
      "grow hosts touched": Math.max(...runs.map((r) => r.growTouched)),
      "raw range": range(raws),
      "pulumi range": range(runs.map((r) => r.create)),
    };
    rows.push(row);
    console.log(JSON.stringify({ ...row, growChanges: runs[0].growChanges }));
  }
  console.log(`engine fixed start-up ${fixed.engine.toFixed(1)} s (${fixed.engineRange}), pulumi version ${fixed.version.toFixed(2)} s`);
  console.table(rows);
}

module.exports = { loadTs }; // bench/rollout.js loads its TypeScript the same way
if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
