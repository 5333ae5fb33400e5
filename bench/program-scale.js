#!/usr/bin/env node
// bench/program-scale.js — evaluates the real program (index.ts) under Pulumi mocks for a bare-metal
// cluster of 100, 1,000 and 5,000 individually managed agents, each size in a fresh child process, and
// prints: agents, resources registered, wall time, peak RSS.
//
// The TypeScript program is loaded the way Pulumi's Node.js language host loads it (the vendored
// ts-node from @pulumi/pulumi/tsutils with the project's TypeScript and tsconfig.json), so no extra
// dependency is needed and what is measured is what `pulumi up` would evaluate (minus the engine).
//
// It also prints the state bytes per host: the JSON of what the engine would store for one master and one
// agent (the registered inputs, plus the outputs the real provider returns from a create against a fake
// runner), and the readiness resource's share (its inputs and outputs divided by the number of hosts).
// Secret values are counted as the engine stores them (ciphertext, base64: about 4/3 of the value + 80).
//
// Usage: npm run bench:program-scale [-- --sizes 100,1000 --compare]
//   --compare   also run every size with full promise stack traces (PULUMI_DEBUG_PROMISE_LEAKS=1 turns
//               off the program's Error.stackTraceLimit switch, see components/cluster.ts) = "before".
const { spawnSync } = require("child_process");
const path = require("path");

const ROOT = path.resolve(__dirname, "..");
const PROJECT = "elastic-mesos";

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Stack config of a bare-metal cluster: 3 masters, `agents` hosts in pools of at most 1,000. */
function bareMetalConfig(agents) {
  const hosts = [1, 2, 3].map((i) => ({ name: `m-host-${i}`, address: `10.0.0.${10 + i}`, role: "master" }));
  const pools = [];
  for (let i = 0; i < agents; i++) {
    const pool = `p${Math.floor(i / 1000) + 1}`;
    if (!pools.includes(pool)) pools.push(pool);
    const n = 256 + i; // 10.0.1.0 upwards
    hosts.push({ name: `a-host-${i + 1}`, address: `10.0.${Math.floor(n / 256)}.${n % 256}`, role: "agent", pool });
  }
  return {
    provider: "baremetal",
    cluster: { name: "bench" },
    masters: { count: 3 },
    agentPools: pools.map((name) => ({ name })),
    adminCidrs: ["203.0.113.0/24"],
    ssh: { user: "root" },
    baremetal: { hosts },
    clusterSecret: "bench-secret-bench-secret-bench-secret",
    // A throwaway key: the SSH bootstrap never runs under mocks, but the config requires a valid one.
    sshPrivateKey: require("ssh2").utils.generateKeyPairSync("ed25519").private,
  };
}

async function child(agents) {
  const t0 = process.hrtime.bigint();
  process.chdir(ROOT);
  const tsutils = require("@pulumi/pulumi/tsutils");
  const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
  const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
  // Same registration as @pulumi/pulumi/cmd/run for a CommonJS TypeScript project.
  require(tsnodeRequire).register({
    compiler: typescriptRequire,
    transpileOnly: process.env.PULUMI_NODEJS_TRANSPILE_ONLY ? process.env.PULUMI_NODEJS_TRANSPILE_ONLY === "true" : compilerOptions.noCheck,
    project: "tsconfig.json",
    skipProject: false,
    compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true", ...compilerOptions },
  });
  const pulumi = require("@pulumi/pulumi");
  let registered = 0;
  const samples = {};
  const keep = (a) => {
    if (a.type === READY_TYPE) samples.readiness = a.inputs;
    if (a.type !== HOST_TYPE) return;
    const role = reveal(a.inputs.spec).node.role;
    samples[role] = samples[role] ?? a.inputs;
  };
  await pulumi.runtime.setMocks(
    { newResource: (a) => (registered++, keep(a), { id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs },
    PROJECT,
    "bench",
    false,
  );
  const config = bareMetalConfig(agents);
  const values = Object.fromEntries(Object.entries(config).map(([k, v]) => [`${PROJECT}:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
  pulumi.runtime.setAllConfig(values, [`${PROJECT}:clusterSecret`, `${PROJECT}:sshPrivateKey`]);
  const tLoaded = process.hrtime.bigint();
  const program = require(path.join(ROOT, "index.ts"));
  let outputs;
  await pulumi.runtime.runInPulumiStack(async () => (outputs = await program()));
  await pulumi.runtime.waitForRPCs();
  const agentsOut = await new Promise((resolve) => outputs.agents.apply(resolve));
  const t1 = process.hrtime.bigint();
  const reported = Object.values(agentsOut).reduce((n, list) => n + list.length, 0);
  if (reported !== agents) throw new Error(`outputs list ${reported} agents, expected ${agents}`);
  const state = await stateBytes(samples, config, agents + 3);
  process.stdout.write(
    JSON.stringify({
      agents,
      registered,
      loadMs: Number(tLoaded - t0) / 1e6,
      programMs: Number(t1 - tLoaded) / 1e6,
      wallMs: Number(t1 - t0) / 1e6,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      state,
    }) + "\n",
  );
}

const HOST_TYPE = "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host";
const READY_TYPE = "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness";
/** Secret inputs reach the mocks wrapped in this sentinel. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const isSecret = (v) => !!v && typeof v === "object" && v[SECRET_SIG] !== undefined;
const reveal = (v) => (isSecret(v) ? reveal(v.value) : Array.isArray(v) ? v.map(reveal)
  : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)])) : v);

/** Bytes of a property map in the state file: JSON, a secret as its ciphertext would be. */
function jsonBytes(v) {
  if (isSecret(v)) return 80 + Math.ceil((JSON.stringify(reveal(v.value)).length * 4) / 3);
  if (Array.isArray(v)) return 2 + v.reduce((n, x) => n + jsonBytes(x) + 1, 0);
  if (v && typeof v === "object") return 2 + Object.entries(v).reduce((n, [k, x]) => n + JSON.stringify(k).length + 2 + jsonBytes(x), 0);
  return JSON.stringify(v ?? null).length;
}

/** A runner that answers every command with success (the outputs of a create, without a host). */
function fakeRunner() {
  const stats = { commands: 0 };
  const ok = async () => (stats.commands++, { code: 0, stdout: "", stderr: "", tail: [] });
  const hostKey = { fingerprint: "SHA256:" + "F".repeat(43), type: "ssh-ed25519", firstUse: true };
  return { stats, exec: ok, runScript: ok, connection: async () => ({ hostKey }), mapHosts: async () => [], close: async () => {} };
}

/** State bytes of one master, one agent and the readiness share per host (see the header). */
async function stateBytes(samples, config, hosts) {
  const { MesosHostProvider } = require(path.join(ROOT, "provisioning/baremetal/provider.ts"));
  const p = new MesosHostProvider({ runner: fakeRunner, log: () => {} });
  await p.configure({ config: { get: (k) => config[k], require: (k) => config[k] } });
  const out = {};
  for (const role of ["master", "agent"]) {
    const inputs = samples[role];
    const { outs } = await p.create(reveal(inputs));
    out[role] = { inputs: jsonBytes(inputs), outputs: jsonBytes({ ...outs, __provider: inputs.__provider }) };
  }
  // The readiness outputs are its inputs plus the check results (a few hundred bytes).
  out.readinessPerHost = Math.round((2 * jsonBytes(samples.readiness) + 500) / hosts);
  return out;
}

function runSize(agents, fullStacks) {
  const env = { ...process.env };
  if (fullStacks) env.PULUMI_DEBUG_PROMISE_LEAKS = "1";
  else delete env.PULUMI_DEBUG_PROMISE_LEAKS;
  const r = spawnSync(process.execPath, [__filename, "--child", String(agents)], { env, encoding: "utf8", maxBuffer: 64 << 20 });
  const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
  if (r.status !== 0 || !line) {
    throw new Error(`agents=${agents}: child exited ${r.status}\n${r.stderr.split("\n").slice(-20).join("\n")}`);
  }
  return JSON.parse(line);
}

function table(rows) {
  const head = ["stack traces", "agents", "resources registered", "wall time", "  (program)", "peak RSS"];
  const body = rows.map((r) => [
    r.mode,
    r.agents.toLocaleString("en-US"),
    r.registered.toLocaleString("en-US"),
    `${(r.wallMs / 1000).toFixed(1)} s`,
    `${(r.programMs / 1000).toFixed(1)} s`,
    `${Math.round(r.peakRssMB)} MB`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}

async function main() {
  if (process.argv.includes("--child")) return child(Number(arg("--child")));
  const sizes = arg("--sizes", "100,1000,5000").split(",").map(Number);
  const modes = process.argv.includes("--compare") ? [["full (before)", true], ["off (program default)", false]] : [["off (program default)", false]];
  const rows = [];
  for (const agents of sizes) {
    for (const [mode, full] of modes) {
      const r = { mode, ...runSize(agents, full) };
      rows.push(r);
      console.error(`done: ${mode} ${agents} agents in ${(r.wallMs / 1000).toFixed(1)} s`);
    }
  }
  console.log(`node ${process.version}, ${require("os").cpus().length} CPUs; baremetal stack, 3 masters, mocks (no engine)`);
  console.log(table(rows));
  const s = rows[rows.length - 1].state;
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  for (const role of ["master", "agent"]) {
    const r = s[role];
    console.log(`state per ${role} host: inputs ${kb(r.inputs)} + outputs ${kb(r.outputs)} = ${kb(r.inputs + r.outputs)}` +
      ` (+ ${kb(s.readinessPerHost)} readiness share)`);
  }
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
