// bench/local: what `npm run up` costs on this machine, for `provider: local` (systemd-nspawn machines on a bridge).
// Per size (masters+agents) and image state it runs the README's command from a fresh clone and measures:
//   - time from `npm run up` to ready (the command returns once Mesos and Marathon answer), and when all machines
//     were running (sampled, 2 s resolution);
//   - host PSS of every process of every machine (systemd-nspawn and all its descendants, from
//     /proc/<pid>/smaps_rollup), sampled every 2 s during the run and for BENCH_SETTLE seconds (default 30) after
//     ready: peak per machine, per role and of the whole cluster, and the mean of the settled window;
//   - PSS of the `npm run up` process tree itself (Pulumi CLI, language host, providers) and each machine's disk
//     (its overlay's upper layer) once ready, and the image's size;
//   - where the time went: the durations Pulumi prints per resource (image, machines, master and agent bootstrap).
// Each run's `npm run up` output is kept in $TMPDIR/em-bench-local-up-<size>-<image>.log.
// Baseline, in the same run: the same number of bare machines (image + network + machines through
// provisioning/local/sh/local.sh, no cluster), their create time and idle PSS: the difference is the cluster.
//
//   sudo npm run bench:local [-- --sizes 1+2,3+3] [--only warm|cold]
// cold: the stack's local.imageCache is a fresh empty directory (removed afterwards), so the base image is built;
// warm: the default cache /var/cache/elastic-mesos/images (never removed; filled first if it lacks the image).
// Each run: a temp `git clone` of this checkout's HEAD (node_modules symlinked), a temp HOME and PULUMI_HOME, the
// Pulumi CLI from ELASTIC_MESOS_CACHE (default /root/.cache/elastic-mesos): the developer's own stack and login are
// untouched. Runs one at a time and always ends with `npm run down`. Uses the default bridge em-local
// (10.78.0.0/24): nothing else may `npm run up` the default stack meanwhile. The baseline uses em-bench, 10.81.0.0/24.
"use strict";
const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { performance } = require("perf_hooks");

const ROOT = path.resolve(__dirname, "..");
const STATE_DIR = "/var/lib/elastic-mesos/local"; // local.stateDir's default (components/config/defaults.ts)
const DEFAULT_CACHE = "/var/cache/elastic-mesos/images"; // local.imageCache's default
const CLUSTER = "local"; // the stack `npm run up` makes; the cluster is named after it
const LAB_DIR = process.env.LAB || "/var/tmp/elastic-mesos-lab";
const SETTLE_S = Number(process.env.BENCH_SETTLE || 30);
const SAMPLE_MS = 2000;
const BASE = { bridge: "em-bench", cidr: "10.81.0.0/24", cluster: "bench" };

const mib = (kb) => Math.round(kb / 1024);
const isMaster = (name) => /(^|-)m\d+$/.test(name); // <cluster>-m<N>; agents end in -<pool>-<N>
const log = (s) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);

// ---- processes and memory -------------------------------------------------------------------------------------

/** pid → ppid of every process, and pid → argv (NUL-split cmdline), read once per sample. */
function processTable() {
  const parent = new Map();
  for (const p of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, "latin1");
      parent.set(Number(p), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch { /* exited */ }
  }
  return parent;
}

function descendants(root, parent) {
  const children = new Map();
  for (const [pid, pp] of parent) (children.get(pp) || children.set(pp, []).get(pp)).push(pid);
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) || []));
  return out;
}

/** Sum of Pss (kB) of the processes; one that exits meanwhile counts 0. */
function pssKb(pids) {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "latin1"));
      if (m) kb += Number(m[1]);
    } catch { /* exited */ }
  }
  return kb;
}

/** PSS (kB) of the processes grouped by command name (/proc/<pid>/comm), largest first. */
function pssByCommand(pids) {
  const by = {};
  for (const pid of pids) {
    let comm;
    try { comm = fs.readFileSync(`/proc/${pid}/comm`, "latin1").trim(); } catch { continue; }
    by[comm] = (by[comm] || 0) + pssKb([pid]);
  }
  return Object.entries(by).sort((a, b) => b[1] - a[1]);
}

/** The systemd-nspawn processes whose machine root lies under `dirPrefix`: name (-M) → { pid, dir }. */
function machinesUnder(dirPrefix, parent) {
  const found = new Map();
  for (const pid of parent.keys()) {
    let argv;
    try { argv = fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0"); } catch { continue; }
    if (!argv[0] || !argv[0].endsWith("systemd-nspawn")) continue;
    const root = argv[argv.indexOf("-D") + 1] || "";
    const name = argv[argv.indexOf("-M") + 1];
    if (argv.includes("-D") && name && root.startsWith(dirPrefix)) found.set(name, { pid, dir: path.dirname(root) });
  }
  return found;
}

/**
 * Samples every 2 s: PSS per machine under dirPrefix (nspawn + descendants) and of the process tree of `hostPid`
 * (when set). mark() starts the settled window; stop() returns the samples.
 */
function sampler(dirPrefix) {
  const t0 = performance.now();
  const samples = []; // { t, settled, machines: {name: kB}, host: kB }
  let hostPid, settled = false, dirs = new Map();
  const take = () => {
    const parent = processTable();
    const machines = {};
    for (const [name, m] of machinesUnder(dirPrefix, parent)) {
      machines[name] = pssKb(descendants(m.pid, parent));
      dirs.set(name, m.dir);
    }
    const host = hostPid && parent.has(hostPid) ? pssKb(descendants(hostPid, parent)) : 0;
    samples.push({ t: (performance.now() - t0) / 1000, settled, machines, host });
  };
  take();
  const timer = setInterval(take, SAMPLE_MS);
  return {
    watchHost: (pid) => { hostPid = pid; },
    mark: () => { settled = true; take(); },
    /** Stops sampling; `breakdown` = PSS by command name of each machine at that moment (what uses the memory). */
    stop: () => {
      clearInterval(timer);
      take();
      const parent = processTable(), breakdown = {};
      for (const [name, m] of machinesUnder(dirPrefix, parent)) {
        breakdown[name] = pssByCommand(descendants(m.pid, parent));
      }
      return { samples, dirs, breakdown };
    },
  };
}

/** Peak and settled figures (MiB) from the samples; `expected` = number of machines of the size. */
function memoryFigures({ samples }, expected) {
  const names = [...new Set(samples.flatMap((s) => Object.keys(s.machines)))].sort();
  const peak = (name) => Math.max(0, ...samples.map((s) => s.machines[name] || 0));
  const settledSamples = samples.filter((s) => s.settled);
  const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const settled = (name) => mean(settledSamples.map((s) => s.machines[name] || 0));
  const total = (s) => Object.values(s.machines).reduce((a, b) => a + b, 0);
  const byRole = (f, master) => names.filter((n) => isMaster(n) === master).map(f);
  const allUp = samples.find((s) => Object.keys(s.machines).length >= expected);
  return {
    machines: Object.fromEntries(names.map((n) => [n, { peak: mib(peak(n)), settled: mib(settled(n)) }])),
    masterPeak: mib(Math.max(0, ...byRole(peak, true))),
    agentPeak: mib(Math.max(0, ...byRole(peak, false))),
    masterSettled: mib(Math.max(0, ...byRole(settled, true))),
    agentSettled: mib(Math.max(0, ...byRole(settled, false))),
    totalPeak: mib(Math.max(0, ...samples.map(total))),
    totalSettled: mib(mean(settledSamples.map(total))),
    hostPeak: mib(Math.max(0, ...samples.map((s) => s.host))),
    allRunningSeconds: allUp ? +allUp.t.toFixed(0) : undefined,
    samples: samples.length,
  };
}

/**
 * Where `pulumi up` spent its time, from the durations it prints per resource ("... local-m1 created (23s)"): the
 * image, the slowest machine, the slowest master and agent bootstrap (agents start after the masters), readiness.
 */
function phases(output) {
  const re = new RegExp([/local:(Image|Network|Machine) (\S+) created \(([\d.]+)s\)/.source,
    /baremetal:Host (\S+)-bootstrap created \(([\d.]+)s\)/.source,
    /health:Readiness \S+ created \(([\d.]+)s\)/.source].join("|"), "g");
  const took = [...output.matchAll(re)];
  const max = (xs) => (xs.length ? Math.max(...xs) : undefined);
  const of = (pred) => max(took.filter(pred).map((m) => Number(m[3] || m[5] || m[6])));
  return {
    image: of((m) => m[1] === "Image"), machine: of((m) => m[1] === "Machine"),
    masterBootstrap: of((m) => m[4] && isMaster(m[4])), agentBootstrap: of((m) => m[4] && !isMaster(m[4])),
    readiness: of((m) => m[6] !== undefined),
  };
}

/** MiB of a directory (du -sm, one filesystem); undefined when it cannot be read. */
function duMib(dir) {
  try {
    return Number(execFileSync("du", ["-smx", dir], { encoding: "utf8" }).split(/\s/)[0]);
  } catch {
    return undefined;
  }
}

// ---- commands ---------------------------------------------------------------------------------------------------

/** Runs argv; resolves { code, output, seconds }. `onStart(pid)` sees the child's pid; stdin = `input`. */
function run(argv, { cwd, env, input, onStart, quiet } = {}) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    if (onStart) onStart(child.pid);
    let output = "";
    const take = (d) => { output += d; if (!quiet && process.env.BENCH_VERBOSE) process.stdout.write(d); };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.stdin.end(input || "");
    child.on("close", (code) => {
      resolve({ code: code === null ? 255 : code, output, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

/** One verb of the product shell (JSON on stdin, the result the last stdout line). */
async function localSh(clone, verb, params) {
  const argv = ["bash", path.join(clone, "provisioning/local/sh/local.sh"), verb];
  const r = await run(argv, { input: JSON.stringify(params), quiet: true });
  if (r.code !== 0) throw new Error(`local.sh ${verb} failed (exit ${r.code}):\n${r.output.slice(-2000)}`);
  return JSON.parse(r.output.trim().split("\n").filter((l) => l.startsWith("{")).at(-1));
}

// ---- a fresh clone and a newcomer's environment -----------------------------------------------------------------

function freshClone() {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "em-bench-local-"));
  const clone = path.join(home, "elastic-mesos");
  execFileSync("git", ["clone", "--quiet", ROOT, clone]);
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(clone, "node_modules"));
  const env = { ...process.env, HOME: home, PULUMI_HOME: path.join(home, ".pulumi"),
    ELASTIC_MESOS_CACHE: process.env.ELASTIC_MESOS_CACHE || "/root/.cache/elastic-mesos",
    npm_config_cache: path.join(os.homedir(), ".npm"), PULUMI_SKIP_UPDATE_CHECK: "true" };
  // Not the caller's Pulumi session, nor npm's variables of the `npm run bench:local` around us.
  for (const k of Object.keys(env)) {
    if (/^PULUMI_(BACKEND_URL|CONFIG_PASSPHRASE|CONFIG_PASSPHRASE_FILE|ACCESS_TOKEN)$/.test(k)) delete env[k];
    if (/^npm_/.test(k) && k !== "npm_config_cache") delete env[k];
  }
  delete env.INIT_CWD;
  return { home, clone, env };
}

/** stacks/Pulumi.local.yaml = the example with the size and the image cache (npm run up adds the rest). */
function writeStack(clone, size, imageCache) {
  const YAML = require("yaml");
  const doc = YAML.parseDocument(fs.readFileSync(path.join(clone, "stacks/Pulumi.local-example.yaml"), "utf8"));
  doc.setIn(["config", "elastic-mesos:masters", "count"], size.masters);
  doc.setIn(["config", "elastic-mesos:agentPools", 0, "count"], size.agents);
  doc.setIn(["config", "elastic-mesos:local"], doc.createNode({ imageCache }));
  fs.writeFileSync(path.join(clone, "stacks/Pulumi.local.yaml"), String(doc));
}

// ---- one cluster run ---------------------------------------------------------------------------------------------

async function clusterRun(size, image) {
  const { home, clone, env } = freshClone();
  const cache = image === "cold" ? fs.mkdtempSync("/var/tmp/em-bench-images-") : DEFAULT_CACHE;
  writeStack(clone, size, cache);
  log(`cluster ${size.label} ${image}: npm run up in ${clone} (local.imageCache ${cache})`);
  const s = sampler(`${STATE_DIR}/${CLUSTER}/`);
  let up, down, figures, disk = {};
  try {
    up = await run(["npm", "run", "up"], { cwd: clone, env, onStart: (pid) => s.watchHost(pid) });
    // Kept for reading where the time went (Pulumi prints each resource's duration); the home is removed below.
    const saved = path.join(os.tmpdir(), `em-bench-local-up-${size.label}-${image}.log`);
    fs.writeFileSync(saved, up.output);
    log(`cluster ${size.label} ${image}: npm run up output in ${saved}`);
    if (up.code !== 0) {
      throw new Error(`npm run up failed (exit ${up.code}) after ${up.seconds.toFixed(0)} s (all of it in ${saved}):\n` +
        up.output.slice(-5000));
    }
    if (!/cluster ready/.test(up.output)) throw new Error(`npm run up ended without "cluster ready" (see ${saved})`);
    log(`cluster ${size.label} ${image}: ready in ${up.seconds.toFixed(0)} s; sampling ${SETTLE_S} s more`);
    s.mark();
    await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
  } finally {
    const sampled = s.stop();
    figures = { ...memoryFigures(sampled, size.masters + size.agents), breakdown: sampled.breakdown };
    for (const [name, dir] of sampled.dirs) disk[name] = duMib(path.join(dir, "upper"));
    const built = (d) => d.startsWith("debian-") && !d.endsWith(".tmp");
    const imageDir = fs.existsSync(cache) ? fs.readdirSync(cache).find(built) : undefined;
    disk.image = imageDir ? duMib(path.join(cache, imageDir)) : undefined;
    down = await run(["npm", "run", "down"], { cwd: clone, env });
    if (down.code !== 0) {
      console.error(`npm run down failed (exit ${down.code}); run it by hand in ${clone}:\n` + down.output.slice(-3000));
    }
    if (image === "cold") fs.rmSync(cache, { recursive: true, force: true });
    if (down.code === 0) fs.rmSync(home, { recursive: true, force: true });
  }
  const names = Object.keys(disk).filter((n) => n !== "image");
  const diskOf = (master) => Math.max(0, ...names.filter((n) => isMaster(n) === master).map((n) => disk[n] || 0));
  return { seconds: up.seconds, downSeconds: down.seconds, phases: phases(up.output),
    standIns: /TEST STAND-INS/.test(up.output), ...figures,
    diskMaster: diskOf(true), diskAgent: diskOf(false), imageMib: disk.image };
}

// ---- the baseline: bare machines ---------------------------------------------------------------------------------

async function baselineRun(size, image, plan) {
  const { home, clone } = freshClone();
  const stateDir = path.join(home, "state");
  const cache = image === "cold" ? fs.mkdtempSync("/var/tmp/em-bench-images-") : DEFAULT_CACHE;
  const lab = JSON.parse(fs.readFileSync(`${LAB_DIR}/lab.json`, "utf8"));
  // The cluster's machines as `npm run up` makes them here: proxy egress through the test mirror's apt proxy.
  const egress = { egress: "proxy", aptProxy: lab.aptProxy };
  const imageParams = { cacheDir: cache, suite: plan.LOCAL_SUITE, debianMirror: plan.LOCAL_DEBIAN_MIRROR,
    packages: [...plan.LOCAL_IMAGE_PACKAGES], aptProxy: lab.aptProxy };
  if (image === "warm") {
    const pre = await localSh(clone, "image-ensure", imageParams); // untimed: makes sure "warm" is warm
    log(`baseline: image ${pre.path} in the cache`);
  }
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(home, "key")]);
  const authorizedKey = fs.readFileSync(path.join(home, "key.pub"), "utf8").trim();
  const names = [...Array(size.masters)].map((_, i) => `bench-m${i + 1}`)
    .concat([...Array(size.agents)].map((_, i) => `bench-general-${i + 1}`));
  const net = { bridge: BASE.bridge, cidr: BASE.cidr, stateDir, cluster: BASE.cluster };
  log(`baseline ${size.label} ${image}: ${names.length} bare machines on ${BASE.bridge} (${BASE.cidr})`);
  const s = sampler(`${stateDir}/${BASE.cluster}/`);
  const t0 = performance.now();
  let created, imageSeconds, figures;
  try {
    const ti = performance.now();
    const [img, nw] = await Promise.all([localSh(clone, "image-ensure", imageParams),
      localSh(clone, "network-create", { ...net, egress: egress.egress })]);
    imageSeconds = (performance.now() - ti) / 1000;
    await Promise.all(names.map((name) => localSh(clone, "machine-create", {
      ...net, name, gateway: nw.gateway, image: img.path, ...egress, authorizedKey })));
    created = (performance.now() - t0) / 1000;
    log(`baseline ${size.label} ${image}: created in ${created.toFixed(1)} s; idle for ${SETTLE_S} s`);
    s.mark();
    await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
  } finally {
    figures = memoryFigures(s.stop(), names.length);
    const del = (name) => localSh(clone, "machine-delete", { stateDir, cluster: BASE.cluster, name });
    await Promise.allSettled(names.map(del));
    await localSh(clone, "network-delete", { ...net, egress: egress.egress }).catch((e) => console.error(e.message));
    if (image === "cold") fs.rmSync(cache, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
  const perMachine = Math.max(...Object.values(figures.machines).map((m) => m.settled));
  return { seconds: created, imageSeconds, perMachine, total: figures.totalSettled, totalPeak: figures.totalPeak };
}

// ---- main -------------------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = { sizes: "1+2,3+3", only: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--sizes") opts.sizes = argv[++i];
    else if (argv[i] === "--only") opts.only = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}; usage: npm run bench:local [-- --sizes 1+2,3+3] [--only warm|cold]`);
  }
  if (opts.only && !["warm", "cold"].includes(opts.only)) throw new Error(`--only ${opts.only}: warm or cold`);
  const sizes = String(opts.sizes).split(",").map((t) => {
    const m = /^(\d+)\+(\d+)$/.exec(t.trim());
    if (!m || ![1, 3, 5].includes(Number(m[1]))) {
      throw new Error(`--sizes: ${t} is not MASTERS+AGENTS with 1, 3 or 5 masters`);
    }
    return { label: `${m[1]}+${m[2]}`, masters: Number(m[1]), agents: Number(m[2]) };
  });
  return { sizes, images: opts.only ? [opts.only] : ["warm", "cold"] };
}

/** The image constants of the local provider (TypeScript, loaded the way bench/baremetal.js loads its modules). */
function loadPlan() {
  process.chdir(ROOT);
  require("../scripts/lib/ts.js").registerTs();
  return require("../provisioning/local/plan.ts");
}

function machineLine() {
  const mem = fs.readFileSync("/proc/meminfo", "utf8");
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(mem)[1]);
  const cpu = os.cpus();
  return `${cpu.length} cores (${cpu[0] ? cpu[0].model.trim() : "?"}), RAM ${mib(kb("MemTotal"))} MiB ` +
    `(${mib(kb("MemAvailable"))} MiB available at start), kernel ${os.release()}, node ${process.version}`;
}

/** Nothing of the default stack may be running: it would share the bridge and the state directory. */
function checkIdle() {
  const running = machinesUnder(`${STATE_DIR}/${CLUSTER}/`, processTable());
  const dir = path.join(STATE_DIR, CLUSTER);
  if (running.size || fs.existsSync(dir)) {
    const names = running.size ? `: ${[...running.keys()].join(" ")}` : "";
    throw new Error(`the default local stack has machines on this machine (${dir}${names}); ` +
      "run `npm run down` in its checkout first (the bench brings up the same stack name, bridge and subnet)");
  }
}

async function main() {
  if (process.getuid() !== 0) {
    throw new Error("run as root (sudo npm run bench:local): it reads every machine's /proc/<pid>/smaps_rollup");
  }
  const { sizes, images } = parseArgs(process.argv.slice(2));
  const plan = loadPlan();
  checkIdle();
  log(`machine: ${machineLine()}`);
  log(`sizes ${sizes.map((s) => s.label).join(", ")}; images ${images.join(", ")}; ` +
    `sampling every ${SAMPLE_MS / 1000} s, ${SETTLE_S} s after ready`);
  const times = [], memory = [], details = [];
  for (const size of sizes) {
    for (const image of images) {
      const base = await baselineRun(size, image, plan);
      log(`baseline ${JSON.stringify(base)}`);
      const c = await clusterRun(size, image);
      log(`cluster ${JSON.stringify({ size: size.label, image, ...c })}`);
      details.push({ size: size.label, image, machines: c.machines, breakdown: c.breakdown });
      const row = { "masters+agents": size.label, image };
      times.push({ ...row, "up→ready s": +c.seconds.toFixed(0), "machines up s": c.allRunningSeconds,
        "image s": c.phases.image, "machine s": c.phases.machine, "master bootstrap s": c.phases.masterBootstrap,
        "agent bootstrap s": c.phases.agentBootstrap,
        "bare create s": +base.seconds.toFixed(1), "of it image s": +base.imageSeconds.toFixed(1),
        "down s": +c.downSeconds.toFixed(0), "disk/master MiB": c.diskMaster, "disk/agent MiB": c.diskAgent,
        "image MiB": c.imageMib, "stand-ins": c.standIns ? "yes" : "no" });
      memory.push({ ...row, "master peak": c.masterPeak, "agent peak": c.agentPeak, "total peak": c.totalPeak,
        "master settled": c.masterSettled, "agent settled": c.agentSettled, "total settled": c.totalSettled,
        "bare/machine": base.perMachine, "bare total": base.total, "cluster − bare": c.totalSettled - base.total,
        "host-side peak": c.hostPeak });
    }
  }
  console.log(`\nelastic-mesos bench:local on ${machineLine()}`);
  console.log("seconds; memory = host PSS in MiB of all processes of a machine (systemd-nspawn and its descendants),");
  console.log(`peak over the run + ${SETTLE_S} s after ready (2 s samples), settled = mean of those ${SETTLE_S} s;`);
  console.log("per master / per agent = the largest machine of that role; bare = the same number of machines");
  console.log("without a cluster (image + network + machines, idle); host-side = `npm run up`'s own processes");
  console.log("(Pulumi, Node);");
  console.log("image/machine/master bootstrap/agent bootstrap s = the durations Pulumi prints per resource (the");
  console.log("slowest of each kind; agents start after the masters); machines up = all machines running (2 s");
  console.log("samples);");
  console.log("disk = MiB of a machine's overlay upper layer once ready; image MiB = the base image;");
  console.log("cluster − bare = settled total minus the bare machines' total: what the cluster itself costs.");
  console.log("cold = empty local.imageCache (the base image is built; the apt proxy's .deb cache is not emptied).");
  for (const d of details) {
    const each = Object.entries(d.machines).map(([n, m]) => `${n} ${m.peak}/${m.settled}`);
    console.log(`  ${d.size} ${d.image}: ${each.join(", ")} (peak/settled MiB)`);
  }
  // What the memory of each role is, at the end of the last run of a size (real ZooKeeper JVM vs the stand-ins).
  for (const d of details) {
    const names = Object.keys(d.breakdown || {});
    for (const name of [names.find(isMaster), names.find((n) => !isMaster(n))].filter(Boolean)) {
      const top = d.breakdown[name].filter(([, kb]) => kb >= 1024).slice(0, 8).map(([c, kb]) => `${c} ${mib(kb)}`);
      console.log(`  ${d.size} ${d.image} ${name} by command (MiB, after ready): ${top.join(", ")}`);
    }
  }
  console.log("time (s) and disk (MiB):");
  console.table(times);
  console.log("memory (MiB host PSS):");
  console.table(memory);
}

module.exports = { phases, processTable, descendants, pssKb, pssByCommand, machinesUnder, memoryFigures, sampler };
if (require.main !== module) return;

process.on("SIGINT", () => {
  // The child (npm run up, or a local.sh verb) got the same signal; the finally blocks run `npm run down`.
  log("interrupted: cleaning up (npm run down / machine-delete), then exiting");
});

main().then(() => process.exit(0), (e) => {
  console.error(e && e.message ? e.message : e);
  process.exit(1);
});
