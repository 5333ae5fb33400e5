// bench/baremetal: time to ready for 3 masters + K agents on lab hosts, with the bare-metal provider
// driven the way the engine drives it, against a raw baseline (the same step scripts over plain
// `ssh host bash -s`, in parallel, no framework), plus a no-change re-run and the SSH commands sent.
//
//   sudo node bench/baremetal.js [K...]        default K = 1 3 6
//   BENCH_HOSTS=h2,h3,...  hosts to use (default: the highest-numbered 3 + max(K) lab hosts, h2..h10 on the
//                          10-host lab `npm test` leaves; a smaller or stopped lab is brought to that size
//                          with lab/lab-up.sh, which only adds hosts). The hosts are cleaned before and after.
// Per K it prints: time to ready and the raw baseline (medians), their ratio, SSH commands, the no-change
// re-run (time, steps, commands) and the peak RSS of this process (the providers and the SSH pool run here).
//
// Also exports createDriver(): the small engine stand-in the lab tests use (test/lab/baremetal.test.ts).
"use strict";
const { execFile } = require("child_process");
const { readFileSync } = require("fs");
const { performance } = require("perf_hooks");

const LAB_DIR = process.env.LAB || "/var/tmp/elastic-mesos-lab";
/** The clusterSecret of the benchmark's stack config (the providers derive every credential from it). */
const BENCH_SECRET = "bench-baremetal-secret-000001";

/**
 * What the engine does with dynamic resources, minus the engine: load each provider, configure() it with
 * stack config, then per resource check → diff → create / update / delete, masters before agents (the
 * dependsOn of createSshBootstrap), readiness last.
 * deps: { shimText } loads the providers as the plugin does (require-from-string of the stored shim; the
 * working directory must be the project), or { MesosHostProvider, ReadinessProvider } constructs them.
 * config: the stack config the providers read (sshPrivateKey, clusterSecret).
 */
function createDriver(deps, config) {
  const state = new Map(); // node id → { id, outs, inputs }
  let readiness; // { id, outs }
  let host, ready;
  const KINDS = { host: "elastic-mesos/baremetal:Host", ready: "elastic-mesos/health:Readiness" };
  const fresh = (kind) => (deps.shimText ? require("require-from-string")(deps.shimText(KINDS[kind])).handler()
    : new (kind === "host" ? deps.MesosHostProvider : deps.ReadinessProvider)());
  const load = async (kind) => {
    const p = fresh(kind);
    const get = (k) => config[k];
    await p.configure({ config: { get, require: get } });
    return p;
  };
  const providers = async () => {
    if (!host) [host, ready] = await Promise.all([load("host"), load("ready")]);
    return { host, ready };
  };

  /** One `pulumi up`: desired = HostInputs[] (masters first), readinessInputs or undefined. */
  async function up(desired, readinessInputs) {
    const { host: p, ready: r } = await providers();
    const t0 = performance.now();
    const report = { created: [], updated: [], deleted: [], unchanged: [], stepsRun: 0, commands: 0, errors: [] };
    const one = async (inputs) => {
      const props = { spec: inputs }; // what MesosHost registers (HostProps)
      const checked = await p.check(state.has(inputs.node.id) ? { spec: state.get(inputs.node.id).inputs } : {}, props);
      if (checked.failures.length) throw new Error(`${inputs.node.id}: ${checked.failures.map((f) => f.reason).join("; ")}`);
      const cur = state.get(inputs.node.id);
      if (!cur) {
        const res = await p.create(props);
        state.set(inputs.node.id, { id: res.id, outs: res.outs, inputs });
        report.created.push(inputs.node.id);
        report.stepsRun += res.outs.stepsRun; report.commands += res.outs.commandsSent;
        return;
      }
      const d = await p.diff(cur.id, cur.outs, props);
      if (!d.changes) { report.unchanged.push(inputs.node.id); return; }
      if (d.replaces && d.replaces.length) {
        await p.delete(cur.id, cur.outs);
        state.delete(inputs.node.id);
        return one(inputs);
      }
      const res = await p.update(cur.id, cur.outs, props);
      state.set(inputs.node.id, { id: cur.id, outs: res.outs, inputs });
      report.updated.push(inputs.node.id);
      report.stepsRun += res.outs.stepsRun; report.commands += res.outs.commandsSent;
    };
    const wave = async (list) => {
      const results = await Promise.allSettled(list.map(one));
      for (const x of results) if (x.status === "rejected") report.errors.push(x.reason);
    };
    const wanted = new Set(desired.map((i) => i.node.id));
    await wave(desired.filter((i) => i.node.role === "master"));
    // Agents are drained from a master, reached with the key its host recorded (a pin wins), as
    // createSshBootstrap records them (provisioning/baremetal/types.ts DrainSpec.masterHosts).
    const via = desired.filter((i) => i.node.role === "master").map((i) => {
      const key = state.get(i.node.id)?.outs.hostKey.fingerprint;
      return { id: i.node.id, connection: i.connection, ...(!i.connection.hostKeyFingerprint && key ? { hostKeyFingerprint: key } : {}) };
    });
    const withVia = (i) => (i.drain && !i.drain.masterHosts ? { ...i, drain: { ...i.drain, masterHosts: via } } : i);
    if (!report.errors.length) await wave(desired.filter((i) => i.node.role === "agent").map(withVia));
    if (!report.errors.length && readinessInputs) {
      // The readiness check's inputs carry every host's step hashes: it re-runs only when something changed.
      // Masters' host keys as recorded by their hosts (createSshBootstrap passes the same outputs).
      const masters = readinessInputs.masters.map((x) => ({ ...x, hostKeyFingerprint: state.get(x.id)?.outs.hostKey.fingerprint }));
      const hashes = JSON.stringify(desired.map((i) => state.get(i.node.id).outs.stepHashes));
      const inputs = { ...readinessInputs, masters, generation: `sha256:${require("crypto").createHash("sha256").update(hashes).digest("hex")}` };
      if (!readiness) readiness = await r.create(inputs);
      else if ((await r.diff(readiness.id, readiness.outs, inputs)).changes) readiness = { id: readiness.id, ...(await r.update(readiness.id, readiness.outs, inputs)) };
      report.readySeconds = readiness.outs.seconds;
      report.checks = readiness.outs.checks;
    }
    // Deletions last, as the engine does (what left the program goes after every create and update): the
    // other hosts' firewalls no longer list a removed agent when it is drained (they admit it a while longer).
    const gone = [...state.values()].filter((s) => !wanted.has(s.outs.node.id))
      .sort((a, b) => (a.outs.node.role === b.outs.node.role ? 0 : a.outs.node.role === "agent" ? -1 : 1));
    for (const s of report.errors.length ? [] : gone) {
      try { await p.delete(s.id, s.outs); state.delete(s.outs.node.id); report.deleted.push(s.outs.node.id); } catch (e) { report.errors.push(e); }
    }
    report.seconds = (performance.now() - t0) / 1000;
    if (report.errors.length) {
      const err = new Error(report.errors.map((e) => e.message).join("\n---\n"));
      err.report = report;
      throw err;
    }
    return report;
  }

  /** `pulumi destroy`: every host drained (agents) and cleaned, agents first. */
  async function destroy() {
    const p = await load("host");
    const all = [...state.values()].sort((a, b) => (a.outs.node.role === "agent" ? -1 : 1) - (b.outs.node.role === "agent" ? -1 : 1));
    for (const role of ["agent", "master"]) {
      await Promise.all(all.filter((s) => s.outs.node.role === role).map(async (s) => { await p.delete(s.id, s.outs); state.delete(s.outs.node.id); }));
    }
    readiness = undefined;
  }

  return { up, destroy, state, providers };
}

/** The lab inventory and the artifact overrides that point the bootstrap at the lab's mirror (lab/README.md). */
async function labSetup() {
  const lab = JSON.parse(readFileSync(`${LAB_DIR}/lab.json`, "utf8"));
  const get = async (url) => (await fetch(url)).text();
  const ZKV = "3.8.6"; // the product's pin, served by the lab mirror (test/fixtures/lab.ts ZK_VERSION)
  const tgz = `${lab.mirror}/zookeeper/zookeeper-${ZKV}/apache-zookeeper-${ZKV}-bin.tar.gz`;
  const sha512 = (await get(`${tgz}.sha512`)).split(/\s+/)[0];
  const keyFingerprint = (await get(`${lab.mirror}/keys/lab-archive.fingerprint`)).trim();
  return {
    lab,
    versions: { mesos: "1.11.0-0.9.0", zookeeper: ZKV, marathon: "1.11.24", docker: "27.5.1" },
    overrides: { mirror: lab.mirror, zookeeper: { sha512 }, mesos: { keyUrl: `${lab.mirror}/keys/lab-archive.asc`, keyFingerprint }, marathon: { aptPackage: "marathon" } },
    privateKey: readFileSync(lab.sshKey, "utf8"),
  };
}

/**
 * Provider inputs for a cluster of lab hosts: masters = the first three, agents of pool "general" = the
 * rest, and each host's rendered steps (for the raw baseline; the provider renders its own from the
 * inputs). m: { resolveArtifacts, deriveCredentials, hostInputsFor, renderHost, hostTls }.
 */
function clusterPlan(m, setup, hosts, opts = {}) {
  const artifacts = m.resolveArtifacts(setup.versions, setup.overrides, "debian-12");
  const secret = opts.secret || BENCH_SECRET;
  const credentials = m.deriveCredentials(secret, opts.cluster || "bm");
  const masters = hosts.slice(0, 3).map((h, i) => ({ id: `m${i + 1}`, zkId: i + 1, ip: h.ip, hostname: h.name }));
  const quorum = Math.floor(masters.length / 2) + 1;
  const nodeSpec = (id, role, ordinal, extra) => ({ id, hostname: `${opts.cluster || "bm"}-${id}`, role, ordinal, size: "lab", diskGb: 1,
    resources: {}, attributes: {}, containerizers: ["mesos"], ...extra });
  // The host firewall, as createSshBootstrap gives it on bare metal: the runner (the lab bridge) is the admin.
  const octets = (ip) => ip.split(".").map((o) => o.padStart(3, "0")).join(".");
  const firewall = opts.firewall === false ? undefined : {
    adminCidrs: opts.adminCidrs || [`${setup.lab.gateway}/32`],
    members: hosts.map((h) => h.ip).sort((a, b) => (octets(a) < octets(b) ? -1 : 1)),
  };
  const conn = (h, i) => ({ host: h.ip, port: 22, user: "root", configPath: `baremetal.hosts[${i}]`, ...(opts.pin ? { hostKeyFingerprint: opts.pin(h) } : {}) });
  const inputs = hosts.map((h, i) => {
    const isMaster = i < 3;
    const node = isMaster ? nodeSpec(`m${i + 1}`, "master", i + 1, { zkId: i + 1 })
      : nodeSpec(`general-${i - 2}`, "agent", i - 2, { pool: "general", resources: { cpus: 1, mem: 512 }, attributes: opts.attributes || { rack: "a" } });
    const b = { cluster: opts.cluster || "bm", os: "debian-12", node, selfIp: h.ip, masters, quorum, artifacts, ...(firewall ? { firewall } : {}) };
    return m.hostInputsFor(b, conn(h, i), masters.map((x) => x.ip), { drainTimeoutSeconds: 120, stepTimeoutSeconds: 900 });
  });
  const readiness = {
    cluster: opts.cluster || "bm",
    masters: inputs.filter((i) => i.node.role === "master").map((i) => ({ id: i.node.id, ip: i.selfIp, connection: i.connection })),
    agents: inputs.filter((i) => i.node.role === "agent").map((i) => ({ id: i.node.id, pool: i.node.pool, hostname: i.node.hostname, ip: i.selfIp })),
    // provisioning/health/probes.ts DEFAULT_PORTS, as createSshBootstrap passes them (Marathon: HTTPS only, 8443).
    quorum, ports: { zookeeper: 2181, mesos: 5050, marathon: 8443 }, adminUser: "admin", timeoutSeconds: 600, generation: "",
  };
  // The baseline runs what the provider runs: the same steps with the node's certificate (the provider derives it
  // from clusterSecret with hostTls too), so both sides bring up the same TLS-only cluster.
  return { inputs, readiness, steps: inputs.map((i) => m.renderHost(i, credentials, m.hostTls(secret, i)).steps) };
}

/** Everything the bootstrap installs, removed (so every run starts from a first boot), apt's .deb cache included. */
const CLEAN = `systemctl disable --now zookeeper mesos-master marathon mesos-agent >/dev/null 2>&1 || true
systemctl disable --now lab-zookeeper standin-master standin-agent standin-marathon >/dev/null 2>&1 || true # other lab tests' units (ports 2181, 5050)
systemctl unmask mesos-master mesos-agent marathon >/dev/null 2>&1 || true
rm -f /etc/systemd/system/{zookeeper,mesos-master,mesos-agent,marathon}.service
for p in aventer-mesos marathon; do dpkg -s "$p" >/dev/null 2>&1 || continue
  apt-mark unhold "$p" >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get -q purge -y --allow-change-held-packages "$p" >/dev/null 2>&1; done
rm -rf /opt/zookeeper* /var/lib/zookeeper /var/log/zookeeper /etc/zookeeper /etc/mesos /etc/marathon /var/lib/mesos /var/log/mesos \\
  /etc/elastic-mesos /var/lib/elastic-mesos /etc/apt/sources.list.d/elastic-mesos-* /etc/apt/keyrings/elastic-mesos-* \\
  /etc/ssl/elastic-mesos
userdel zookeeper 2>/dev/null || true; userdel marathon 2>/dev/null || true
for u in /etc/systemd/system/elastic-mesos-*.service; do [ -e "$u" ] || continue # ours: firewall, hidepid, ...
  systemctl disable --now "\${u##*/}" >/dev/null 2>&1 || true; rm -f "$u"; done
if command -v nft >/dev/null; then nft delete table inet elastic_mesos 2>/dev/null || true; fi
apt-get clean; systemctl daemon-reload; systemctl reset-failed`;

function sshRun(lab, hostName, script, timeoutMs = 900_000) {
  return new Promise((resolve) => {
    const child = execFile("ssh", ["-F", lab.sshConfig, hostName, "bash -s"], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 255) : 0, stdout: String(stdout), stderr: String(stderr) }));
    child.stdin.end(script);
  });
}

/** The physical limit: the same step scripts, plain ssh, masters in parallel, then agents in parallel. */
async function rawBaseline(lab, hosts, plan) {
  const t0 = performance.now();
  let commands = 0;
  const runAll = async (pairs) => Promise.all(pairs.map(async ([h, steps]) => {
    for (const s of steps) {
      commands++;
      const r = await sshRun(lab, h.name, s.script);
      if (r.code !== 0) throw new Error(`${h.name} step ${s.index} ${s.step}: exit ${r.code}\n${r.stdout.slice(-800)}\n${r.stderr.slice(-800)}`);
    }
  }));
  const pairs = hosts.map((h, i) => [h, plan.steps[i]]);
  await runAll(pairs.slice(0, 3));
  await runAll(pairs.slice(3));
  return { seconds: (performance.now() - t0) / 1000, commands };
}

/** The lab running with at least `n` hosts: lab-up.sh only adds hosts to a running lab (lab/README.md). */
function ensureLab(n) {
  const { existsSync } = require("fs");
  let have = 0;
  try {
    const lab = JSON.parse(readFileSync(`${LAB_DIR}/lab.json`, "utf8"));
    const pid = readFileSync(`${LAB_DIR}/hosts/h1/nspawn.pid`, "utf8").trim();
    if (existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "systemd-nspawn") have = lab.hosts.length;
  } catch { /* not up */ }
  if (have >= n) return;
  console.log(`[bench] the lab has ${have} running hosts, ${n} needed: lab/lab-up.sh ${n}`);
  const r = require("child_process").spawnSync("bash", [require("path").join(__dirname, "..", "lab", "lab-up.sh"), String(n)], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`lab/lab-up.sh ${n} failed (exit ${r.status})`);
}

async function main() {
  const root = require("path").resolve(__dirname, "..");
  process.chdir(root);
  require("../scripts/lib/ts.js").registerTs();
  const m = {
    ...require("../provisioning/artifacts.ts"), ...require("../provisioning/credentials.ts"), ...require("../provisioning/baremetal/bootstrap.ts"),
    ...require("../provisioning/baremetal/render.ts"), shimText: require("../provisioning/dynamic/shim-text.ts").shimText,
  };
  const wanted = (process.argv.slice(2).length ? process.argv.slice(2) : ["1", "3", "6"]).map(Number);
  const needed = 3 + Math.max(...wanted);
  if (!process.env.BENCH_HOSTS) ensureLab(needed);
  const setup = await labSetup();
  const byNumber = setup.lab.hosts.map((h) => h.name).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  const names = (process.env.BENCH_HOSTS || byNumber.slice(-needed).join(",")).split(",");
  const hosts = names.map((n) => setup.lab.hosts.find((h) => h.name === n)).filter(Boolean);
  const ks = wanted.filter((k) => 3 + k <= hosts.length);
  if (ks.length < wanted.length) {
    throw new Error(`BENCH_HOSTS has ${hosts.length} lab hosts (${names.join(",")}); 3 masters + ${Math.max(...wanted)} agents need ${needed}: ` +
      `list more, or leave BENCH_HOSTS unset to use (and if needed start) the lab's last ${needed} hosts`);
  }
  console.log(`[bench] hosts ${hosts.map((h) => h.name).join(",")}; K = ${ks.join(", ")}; ${Number(process.env.BENCH_REPEAT || 2)} runs each`);
  // Each K is measured BENCH_REPEAT times (default 2), alternating which of raw/framework goes first, from
  // the same cleaned hosts; medians are reported (this machine's 2 cores are shared, single runs are noisy).
  const repeat = Number(process.env.BENCH_REPEAT || 2);
  const median = (xs) => { const v = [...xs].sort((a, b) => a - b); return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2; };
  const rows = [];
  for (const k of ks) {
    const use = hosts.slice(0, 3 + k);
    const clean = () => Promise.all(use.map((h) => sshRun(setup.lab, h.name, CLEAN)));
    const plan = clusterPlan(m, setup, use);
    const raws = [], fws = [], again = [];
    let first;
    const framework = async () => {
      const driver = createDriver({ shimText: m.shimText }, { sshPrivateKey: setup.privateKey, clusterSecret: BENCH_SECRET });
      await driver.providers(); // the engine loads the provider before any resource operation too
      const r = await driver.up(plan.inputs, plan.readiness);
      again.push(await driver.up(clusterPlan(m, setup, use).inputs, plan.readiness));
      await driver.destroy();
      return r;
    };
    for (let i = 0; i < repeat; i++) {
      for (const which of i % 2 ? ["framework", "raw"] : ["raw", "framework"]) {
        await clean();
        if (which === "raw") raws.push(await rawBaseline(setup.lab, use, plan));
        else { const r = await framework(); fws.push(r); first = first || r; }
      }
    }
    const raw = median(raws.map((r) => r.seconds)), fw = median(fws.map((r) => r.seconds));
    const row = { masters: 3, agents: k, hosts: use.map((h) => h.name).join(","), runs: repeat,
      rawSeconds: +raw.toFixed(1), readySeconds: +fw.toFixed(1), ratio: +(fw / raw).toFixed(2),
      rawSamples: raws.map((r) => +r.seconds.toFixed(1)).join("/"), readySamples: fws.map((r) => +r.seconds.toFixed(1)).join("/"),
      rawCommands: raws[0].commands, commands: first.commands, stepsRun: first.stepsRun,
      noChangeSeconds: +median(again.map((r) => r.seconds)).toFixed(3), noChangeSteps: Math.max(...again.map((r) => r.stepsRun)),
      noChangeCommands: Math.max(...again.map((r) => r.commands)),
      // ru_maxrss of this process so far (KiB on Linux): the providers, the SSH pool and the driver.
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) };
    rows.push(row);
    console.log(JSON.stringify(row));
    await clean(); // leave the hosts as we found them (the last raw run installed everything)
  }
  console.table(rows);
}

module.exports = { createDriver, labSetup, clusterPlan, rawBaseline, sshRun, ensureLab, CLEAN, BENCH_SECRET };
if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
