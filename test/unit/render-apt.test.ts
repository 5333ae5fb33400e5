// Package downloads, apt/dpkg locks and the step deadline (provisioning/render/em-lib.sh), run for real with
// bash, apt-get and curl on this machine against servers in this process that misbehave the way the lab's
// apt proxy did (218 bytes of InRelease, then a trickle or a half-closed connection). apt works in a private
// state dir (its own sources, lists and lock), so nothing of this machine's apt is touched. Needs root.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderStepScripts } from "../../provisioning/render/ssh-plan";
import { renderSteps } from "../../provisioning/steps";
import { clusterInputs } from "./bootstrap-input";

const LIB = path.join(__dirname, "../../provisioning/render/em-lib.sh");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "em-apt-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error("these tests run the bootstrap library as it runs on hosts: as root");
  for (const tool of ["apt-get", "curl", "python3"]) {
    if (spawnSync(tool, ["--version"]).status !== 0) throw new Error(`${tool} is required by this test (sudo bash lab/host-deps.sh)`);
  }
});

interface Run { status: number | null; out: string; seconds: number }

/** Runs `body` after sourcing the library as a step script does; async, so the servers below can answer. */
function run(body: string, env: Record<string, string> = {}): Promise<Run> {
  const script = `set -euo pipefail\nEM_STEP='t/3 test'\nEM_CHANGED=''\n. ${LIB}\n${body}\nem_done\n`;
  const t = Date.now();
  return new Promise((resolve) => {
    const p = spawn("bash", ["-c", script], { env: { ...process.env, ...env } });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (status) => resolve({ status, out, seconds: (Date.now() - t) / 1000 }));
  });
}

/** A TCP server that answers every request with `behave`; counts connections and open sockets. */
async function server(behave: (s: net.Socket) => void): Promise<{ port: number; hits: number; open: number; close: () => void }> {
  const state = { port: 0, hits: 0, open: 0, close: () => {} };
  const socks = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    state.hits++;
    state.open++;
    socks.add(s);
    s.on("close", () => { state.open--; socks.delete(s); });
    s.on("error", () => {});
    s.once("data", () => behave(s));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  state.port = (srv.address() as net.AddressInfo).port;
  state.close = () => { for (const s of socks) s.destroy(); srv.close(); };
  return state;
}

const INRELEASE_218 = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n" + "x".repeat(218 - 49);
const partial = (s: net.Socket) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: text/plain\r\n\r\n${INRELEASE_218}`);

/** Shell: EM_APT_OPTS pointed at a private apt dir whose only source is the given port. */
function privateApt(port: number): string {
  const d = fs.mkdtempSync(path.join(tmp, "apt-"));
  for (const sub of ["src", "lists/partial", "cache/archives/partial"]) fs.mkdirSync(path.join(d, sub), { recursive: true });
  fs.writeFileSync(path.join(d, "src", "x.list"), `deb [trusted=yes] http://127.0.0.1:${port}/debian bookworm main\n`);
  return `EM_APT_LOCKS=()
EM_APT_OPTS+=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=${d}/src -o Dir::State::Lists=${d}/lists \\
  -o Dir::Cache=${d}/cache -o Acquire::http::Proxy=DIRECT -o APT::Sandbox::User=root -o Acquire::Retries=0)`;
}

describe("rendered scripts: network deadlines, retries, lock waits, the step deadline", () => {
  const scripts = [...clusterInputs({ masters: 3 }), ...clusterInputs({ masters: 3, os: "rocky-9" })]
    .flatMap((i) => renderStepScripts(renderSteps(i)));

  it("every step starts its watchdog before any file or command, and gates are capped by the deadline", () => {
    for (const s of scripts) {
      const body = s.script.slice(s.script.indexOf("\nem_watchdog "));
      expect(body).not.toBe(s.script);
      expect(s.script.indexOf("\nem_watchdog ")).toBeLessThan(s.script.indexOf("# Health gate"));
      expect(s.script).toContain('EM_BUDGET=${EM_STEP_SECONDS:-840}');
      expect(s.script).toMatch(/limit=\$\(em_cap "\$1"\)/);
    }
  });

  it("apt: network timeout and retries, every index required, lock waits, dpkg repaired first", () => {
    const install = scripts.find((s) => s.step === "install" && s.script.includes("em_install"))!.script;
    for (const opt of ["Acquire::http::Timeout=30", "Acquire::https::Timeout=30", "Acquire::Retries=3", "DPkg::Lock::Timeout=120",
      "APT::Update::Error-Mode=any", "/var/lib/apt/lists/lock", "/var/lib/dpkg/lock-frontend", "dpkg --force-confdef --force-confold --configure -a"]) {
      expect(install).toContain(opt);
    }
    const em = /\nem_install\(\) \{[^]*?\n\}/.exec(install)![0];
    expect(em.indexOf("em_dpkg_repair")).toBeLessThan(em.indexOf("em_apt_update"));
    expect(em.indexOf("em_apt_update")).toBeLessThan(em.indexOf("em_apt_install"));
    expect(install).toMatch(/timeout -k 10 "\$\(em_cap 300\)" apt-get -q "\$\{EM_APT_OPTS\[@\]\}"/);
    expect(install).toMatch(/timeout -k 30 "\$\(em_cap 900\)" apt-get -q -y "\$\{EM_APT_OPTS\[@\]\}"/);
    expect(install).toMatch(/em_apt_wait[^\n]*\n\s*held=\$'\\n'\$\(apt-mark showhold\)/); // em_hold waits too
  });

  it("dnf and curl: timeouts and retries", () => {
    const rocky = scripts.find((s) => s.step === "install" && s.script.includes("dnf"))!.script;
    expect(rocky).toContain("dnf -q -y --setopt=timeout=30 --setopt=retries=5 install");
    expect(rocky).toMatch(/curl -fsSL -w '%\{http_code\}' --connect-timeout 20 --speed-limit 1024 --speed-time 30 \\\n\s+--max-time "\$\(em_cap 900\)"/);
  });
});

describe("apt-get update against a proxy that stalls", () => {
  it("218 bytes of InRelease, then a byte a second (apt's own timeout never fires): the step's deadline ends it", async () => {
    const srv = await server((s) => {
      partial(s);
      const tick = setInterval(() => s.write("x"), 1000);
      s.on("close", () => clearInterval(tick));
    });
    try {
      const r = await run(`${privateApt(srv.port)}\nem_apt_update`, { EM_STEP_SECONDS: "8" });
      expect(r.status).toBe(1);
      expect(r.out).toContain("apt-get update failed (exit 124, try 1 of 3)");
      expect(r.out).toContain("no complete answer within the deadline");
      expect(r.out).toMatch(/FAILED: apt-get update failed \(1 tries\)[^\n]*check the network, the apt proxy/);
      expect(r.seconds).toBeLessThan(20); // 8 s budget (+ timeout's 10 s kill grace at most)
      await new Promise((res) => setTimeout(res, 1500));
      expect(srv.open).toBe(0); // apt-get and its http method are gone: nothing holds the connection
    } finally {
      srv.close();
    }
  });

  it("a half-closed connection is an error that is retried, not a stale list", async () => {
    const srv = await server((s) => { partial(s); s.end(); });
    try {
      const r = await run(`${privateApt(srv.port)}\nem_apt_update`, { EM_STEP_SECONDS: "25" });
      expect(r.status).toBe(1);
      expect(r.out).toMatch(/apt-get update failed \(exit 100, try 1 of 3\): .*(Remote end closed connection|Failed to fetch)/);
      expect(r.out).toContain("try 2 of 3");
      expect(srv.hits).toBeGreaterThanOrEqual(2);
    } finally {
      srv.close();
    }
  });
});

describe("em_apt_wait: apt's and dpkg's locks", () => {
  const lock = path.join(tmp, "lock");
  /** Holds an fcntl lock on `lock` (as apt and dpkg do) for `secs`; resolves once it holds it. */
  function hold(secs: number): Promise<void> {
    fs.writeFileSync(lock, "");
    const py = `import fcntl,sys,time\nf=open(sys.argv[1],"a")\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint("held",flush=True)\ntime.sleep(${secs})`;
    const p = spawn("python3", ["-c", py, lock]);
    return new Promise((r) => p.stdout.once("data", () => r()));
  }

  it("waits while another process holds a lock, says which process, then goes on", async () => {
    await hold(3);
    const r = await run(`EM_APT_LOCKS=(${lock} /nonexistent/lock)\nem_apt_wait\necho went-on`);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(new RegExp(`waiting for ${lock} \\(pid \\d+: \\S*python3 -c import fcntl`));
    expect(r.out).toMatch(/apt\/dpkg lock released after [2-5] s\nwent-on/);
  });

  it("gives up after EM_LOCK_WAIT seconds, naming the holder", async () => {
    await hold(6);
    const r = await run(`EM_APT_LOCKS=(${lock})\nem_apt_wait`, { EM_LOCK_WAIT: "2" });
    expect(r.status).toBe(1);
    expect(r.out).toMatch(new RegExp(`FAILED: apt/dpkg is still locked after [23] s by ${lock} \\(pid \\d+: \\S*python3`));
  });

  it("says nothing and waits for nothing when no lock is held", async () => {
    const r = await run("em_apt_wait");
    expect(r.out).toBe("elastic-mesos t/3 test: done: unchanged\n");
  });
});

describe("em_fetch", () => {
  it("retries a download cut short after 218 bytes, and stops at the step deadline", async () => {
    const srv = await server((s) => { partial(s); s.end(); });
    try {
      const r = await run(`em_fetch http://127.0.0.1:${srv.port}/x.tgz ${tmp}/x.tgz || em_fail "no download"`, { EM_STEP_SECONDS: "8" });
      expect(r.status).toBe(1);
      expect(r.out).toMatch(/download of \S+ failed \(curl exit 18, HTTP 200\), try 1 of 4; retrying in 5 s/);
      expect(srv.hits).toBe(2); // the second try fails too, and 3 s are left: not enough for another
    } finally {
      srv.close();
    }
  });

  it("does not retry an HTTP 404", async () => {
    const srv = await server((s) => s.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
    try {
      const r = await run(`em_fetch http://127.0.0.1:${srv.port}/x.tgz ${tmp}/y.tgz || em_fail "no download"`);
      expect(r.out).toContain("FAILED: no download");
      expect(srv.hits).toBe(1);
    } finally {
      srv.close();
    }
  });
});

describe("em_watchdog: the step deadline", () => {
  it("stops a step that outlives EM_STEP_SECONDS and everything it started, with its own message", async () => {
    const pidFile = path.join(tmp, "child.pid");
    const r = await run(`em_watchdog\n(sleep 30; echo survived) &\necho $! > ${pidFile}\nsleep 30`, { EM_STEP_SECONDS: "2" });
    expect(r.status).not.toBe(0);
    expect(r.out).toContain("FAILED: the step did not finish within its 2 s (EM_STEP_SECONDS); stopping it and what it started");
    expect(r.seconds).toBeLessThan(5);
    const child = fs.readFileSync(pidFile, "utf8").trim();
    await new Promise((res) => setTimeout(res, 500));
    const state = fs.existsSync(`/proc/${child}`) ? fs.readFileSync(`/proc/${child}/stat`, "utf8").split(") ")[1][0] : "gone";
    expect(state, `the step's child ${child} is still running`).toMatch(/^(gone|Z)$/); // dead (a zombie until reaped)
  });

  it("ends with a step that finishes in time: nothing left behind, output closed at once", async () => {
    const r = await run("em_watchdog\necho quick", { EM_STEP_SECONDS: "30" });
    expect(r.status).toBe(0);
    expect(r.seconds).toBeLessThan(3);
  });

  it("refuses a budget that is not a whole number of seconds", async () => {
    expect((await run("true", { EM_STEP_SECONDS: "10m" })).out).toContain("EM_STEP_SECONDS must be a whole number of seconds, not '10m'");
  });
});
