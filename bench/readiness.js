// bench/readiness: one readiness round against the stand-in mesos-master (test/fixtures/standins, a TEST FIXTURE,
// not Apache Mesos) on loopback holding N synthetic agents, new probe against the old one in the same run.
//
//   npm run bench:readiness [-- N...]      default N = 100 1000 5000
//   BENCH_REPEAT=R   rounds per probe and N (default 5; the median is printed, the range next to it)
//
// new:  provisioning/health/probes.ts probeScript: each master reads its own /metrics/snapshot, the elected one
//       also /master/slaves, both gzipped by the master's HTTP server (curl --compressed, as libprocess does it),
//       then filtered on the master, so only a few keys and ~30 bytes an agent cross SSH. A 3-master round = the
//       leader's script + 2 standbys' (metrics only), in parallel. The synthetic agents differ only in numbers,
//       so they compress better than real ones: read the loopback column as a lower bound.
// old:  the probe before this change: every master fetches /master/state (followed to the leader, so the leader
//       renders it 3 times a round) and sends all of it over SSH, where the capture stops at 1 MiB.
// The scripts run in local bash (not over SSH: the same bytes, without the SSH transport). ZooKeeper and Marathon
// are not run (ZooKeeper is not installed here, Marathon needs it): their parts hit a closed port and cost the
// same in both probes. The master runs standalone with HTTP authentication on (the health principal), as in a
// cluster. Never depends on the lab or farm-bench.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const http = require("http");
const os = require("os");
const path = require("path");
const { performance } = require("perf_hooks");

const ROOT = path.resolve(__dirname, "..");
const CAP = 1 << 20; // provisioning/ssh/exec.ts MAX_CAPTURE: what the old probe could read of a master's answer
const median = (xs) => { const v = [...xs].sort((a, b) => a - b); return v[(v.length - 1) >> 1]; };
const kb = (b) => `${(b / 1024).toFixed(1)} KB`;

function loadTs() {
  process.chdir(ROOT);
  require("../scripts/lib/ts.js").registerTs();
  return { ...require("../provisioning/health/probes.ts"), ...require("../provisioning/baremetal/runner.ts") };
}

const freePort = () => new Promise((resolve) => {
  const s = require("net").createServer().listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});

function post(port, p, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({ host: "127.0.0.1", port, path: p, method: "POST", agent: keepAlive,
      headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) } }, (res) => {
      let b = ""; res.on("data", (c) => { b += c; }); res.on("end", () => resolve({ status: res.statusCode, body: b }));
    });
    req.on("error", reject);
    req.end(data);
  });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** A standalone stand-in master (leads itself, registrar recovered): health principal, N agents, Marathon framework. */
async function startMaster(n, dir) {
  const port = await freePort();
  const creds = path.join(dir, "credentials.json");
  fs.writeFileSync(creds, JSON.stringify({ credentials: [{ principal: "health", secret: "bench-health-pw" }] }));
  const proc = spawn("python3", [path.join(ROOT, "test/fixtures/standins/bin/mesos-master"), "--ip=127.0.0.1",
    `--port=${port}`, "--registry=in_memory", `--credentials=${creds}`, "--authenticate_http_readonly=true",
    "--agent_ping_timeout=10mins"],
  { stdio: ["ignore", "ignore", "pipe"] });
  let log = ""; proc.stderr.on("data", (d) => { log = (log + d).slice(-4000); });
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`stand-in master exited: ${log}`);
    const ok = await post(port, "/standin/v1/challenge", {}).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (i > 100) throw new Error(`stand-in master did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const scalar = (name, value) => ({ name, type: "SCALAR", scalar: { value } });
  const resources = [scalar("cpus", 8), scalar("mem", 31000), scalar("disk", 200000),
    { name: "ports", type: "RANGES", ranges: { range: [{ begin: 31000, end: 32000 }] } }];
  const agents = [];
  for (let i = 0; i < n; i += 64) {
    await Promise.all(Array.from({ length: Math.min(64, n - i) }, async (_, j) => {
      const k = i + j;
      const ip = `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
      const pool = k % 2 ? "general" : "gpu";
      const a = { id: `a${k}`, pool, hostname: `prod-${pool}-${k}`, ip };
      const r = await post(port, "/standin/v1/register-agent", { pid: `slave(1)@${ip}:5051`, hostname: a.hostname,
        port: 5051,
        resources, attributes: { pool: a.pool, rack: `r${k % 40}` }, version: "1.11.0" });
      if (r.status !== 200) throw new Error(`register agent ${k}: HTTP ${r.status} ${r.body}`);
      agents.push(a);
    }));
  }
  const fw = await post(port, "/standin/v1/register-framework",
    { name: "marathon", hostname: "127.0.0.1", user: "root", role: "*" });
  if (fw.status !== 200) throw new Error(`register framework: HTTP ${fw.status} ${fw.body}`);
  return { port, proc, agents, log: () => log };
}

function bash(script) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn("bash", ["-s"], { stdio: ["pipe", "pipe", "pipe"] });
    const out = [];
    p.stdout.on("data", (d) => out.push(d));
    p.stderr.resume();
    p.on("error", reject);
    p.on("close", () => resolve({ stdout: Buffer.concat(out).toString(), ms: performance.now() - t0 }));
    p.stdin.end(script);
  });
}

/** The probe before this change (git 3a34515 provisioning/health/probes.ts), for the baseline. */
function oldProbeScript(m, ip, ports, auth) {
  return ["echo '### zk'",
    `timeout 5 bash -c 'exec 3<>/dev/tcp/$0/$1 && printf srvr >&3 && cat <&3' '${ip}' '${ports.zookeeper}' 2>&1` +
      " || echo 'no answer from ZooKeeper'",
    "echo '### mesos'", m.curlScript(`http://${ip}:${ports.mesos}/master/state`, auth, { timeoutS: 5 }).trimEnd(),
    "echo '### marathon'", m.curlScript(`http://${ip}:${ports.marathon}/v2/leader`, auth, { timeoutS: 5 }).trimEnd(),
    ""].join("\n");
}

/**
 * New probe, one round: the leader's script (metrics + agent list), timed; the two standbys run in parallel with it
 * in a cluster and send the same minus the agent list (their metrics answer says master/elected 0).
 */
async function newRound(m, script, agents) {
  const t = performance.now();
  const leader = await bash(script);
  const ms = performance.now() - t;
  const p = m.parseProbe("m1", "127.0.0.1", leader.stdout);
  // ZooKeeper is not run here: judge the Mesos parts as if it had a quorum (it has no part in their cost).
  const checks = m.evaluate([{ ...p, zkMode: "standalone" }], agents, 1);
  for (const name of ["Mesos leader", "agents registered"]) {
    const c = checks.find((x) => x.name === name);
    if (!c.ok) throw new Error(`new probe: ${name}: ${c.detail}\n${leader.stdout.slice(0, 2000)}`);
  }
  const standby = leader.stdout.replace(/### agents\n[\s\S]*?(?=### marathon)/, "");
  const ssh = Buffer.byteLength(leader.stdout) + 2 * Buffer.byteLength(standby);
  return { ms, ssh, mesos: p.mesosBytes + 2 * p.metricsBytes };
}

/** Old probe, one round: three masters in parallel, each fetching the leader's full /master/state. */
async function oldRound(m, script, n) {
  const t = performance.now();
  const outs = await Promise.all([0, 1, 2].map(() => bash(script)));
  const ms = performance.now() - t;
  const bytes = outs.map((o) => Buffer.byteLength(o.stdout));
  const state = JSON.parse(m.parseCurl(outs[0].stdout.split("### mesos\n")[1].split("### marathon")[0]).body);
  if (state.slaves.length !== n) throw new Error(`old probe: ${state.slaves.length} agents of ${n}`);
  return { ms, ssh: bytes.reduce((a, b) => a + b, 0), over: bytes[0] > CAP };
}

async function measure(m, n, repeat, dir, closed, auth) {
  const master = await startMaster(n, dir);
  try {
    const ports = { zookeeper: closed, mesos: master.port, marathon: closed };
    const newScript = m.probeScript("127.0.0.1", ports, { mesos: auth, marathon: auth }, {});
    const oldScript = oldProbeScript(m, "127.0.0.1", ports, auth);
    const res = { new: [], old: [] };
    for (let r = 0; r < repeat; r++) {
      for (const kind of r % 2 ? ["old", "new"] : ["new", "old"]) {
        res[kind].push(kind === "new" ? await newRound(m, newScript, master.agents) : await oldRound(m, oldScript, n));
      }
    }
    const pick = (xs, k) => median(xs.map((x) => x[k]));
    const rng = (xs) => {
      const v = xs.map((x) => x.ms);
      return `${Math.min(...v).toFixed(0)}–${Math.max(...v).toFixed(0)}`;
    };
    return { n, newMs: pick(res.new, "ms"), newRange: rng(res.new), newSsh: pick(res.new, "ssh"),
      newMesos: pick(res.new, "mesos"), oldMs: pick(res.old, "ms"), oldRange: rng(res.old),
      oldSsh: pick(res.old, "ssh"), over: res.old[0].over };
  } finally {
    master.proc.kill("SIGTERM");
  }
}

async function main() {
  const ns = process.argv.slice(2).map(Number).filter((x) => x > 0);
  const sizes = ns.length ? ns : [100, 1000, 5000];
  const repeat = Number(process.env.BENCH_REPEAT || 5);
  const m = loadTs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-readiness-"));
  const closed = await freePort(); // nothing listens: ZooKeeper and Marathon parts fail fast, alike in both probes
  const auth = { user: "health", password: "bench-health-pw" };
  const rows = [];
  try {
    for (const n of sizes) rows.push(await measure(m, n, repeat, dir, closed, auth));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    keepAlive.destroy();
  }
  console.log("\nbench:readiness: one round, 3 masters (the stand-in leader; standbys read metrics only), " +
    `${repeat} rounds each, median (range)`);
  console.log("goal for 1,000 agents: <= 1 s and <= 200 KB read\n");
  const head = ["agents", "new: time", "new: read over SSH", "new: read by masters (loopback)", "old: time",
    "old: read over SSH (= rendered by the leader)", "old fits the 1 MiB capture"];
  console.log(head.join(" | "));
  console.log(head.map(() => "---").join(" | "));
  for (const r of rows) {
    console.log([r.n, `${r.newMs.toFixed(0)} ms (${r.newRange})`, kb(r.newSsh), kb(r.newMesos),
      `${r.oldMs.toFixed(0)} ms (${r.oldRange})`, kb(r.oldSsh), r.over ? "no: readiness never passes" : "yes"]
      .join(" | "));
  }
  const k = rows.find((r) => r.n === 1000);
  if (k) {
    const meets = k.newMs <= 1000 && k.newSsh <= 200 * 1024;
    console.log(`\n1,000 agents: ${meets ? "meets" : "MISSES"} the goal over SSH ` +
      `(${k.newMs.toFixed(0)} ms, ${kb(k.newSsh)}); the masters read ${kb(k.newMesos)} on loopback.`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
