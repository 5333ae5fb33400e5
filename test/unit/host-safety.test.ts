// One run at a time per host, a host belongs to one cluster, errors that name their cause, and step scripts
// kept for re-runs by hand (provisioning/render/em-lib.sh, ssh-plan.ts, baremetal/cleanup.ts). Real rendered
// step scripts and cleanup scripts run with bash and sh on this machine against a "host" in a temp dir (the
// library's EM_RUN, EM_OWNER, EM_STEP_DIR and EM_STATE point there); read-only and full file systems are
// made in private mount namespaces (unshare -m). Each test tries the attack and asserts the refusal. Needs root.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderCleanupScript } from "../../provisioning/baremetal/cleanup";
import { deriveCredentials } from "../../provisioning/credentials";
import { deliveredScript, renderStepScript, sshDelivery } from "../../provisioning/render/ssh-plan";
import type { HostOwner, Step } from "../../provisioning/steps/types";

const LIB = path.join(__dirname, "../../provisioning/render/em-lib.sh");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "em-host-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error("these tests run the bootstrap library as it runs on hosts: as root");
  for (const tool of ["flock", "unshare", "apt-get", "python3"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is required by this test`);
  }
});

const SECRET_A = "cluster-a-secret-0123456789abcdef";
const SECRET_B = "cluster-b-secret-0123456789abcdef";
const ownerOf = (secret: string, cluster: string): HostOwner => ({ cluster, id: deriveCredentials(secret, cluster).ownerId });

/** A fresh "host": the library's paths under one temp dir. */
function host(name: string) {
  const root = path.join(tmp, name);
  fs.mkdirSync(root, { recursive: true });
  const env = {
    EM_RUN: path.join(root, "run"),
    EM_OWNER: path.join(root, "etc/elastic-mesos/owner"),
    EM_STEP_DIR: path.join(root, "var/lib/elastic-mesos/steps"),
    EM_STATE: path.join(root, "var/lib/elastic-mesos"),
  };
  return { root, env };
}

/** A real step: a config file under the host root and commands, rendered as every step is. */
function step(root: string, owner: HostOwner | undefined, content: string, commands: string[] = []): string {
  const s: Step = {
    name: "install", index: 1, title: "host-safety test", owner, commands,
    files: [{ path: `${root}/etc/app/app.conf`, content, mode: "0640", owner: "root", group: "root" }],
    gate: { description: "always", script: "true", timeoutSeconds: 5, hint: "none" },
  };
  return renderStepScript(s, 1);
}

interface Run { status: number | null; out: string; ms: number; end: number }

function run(cmd: string[], stdin: string, env: Record<string, string>, onSpawn?: (pid: number) => void): Promise<Run> {
  const t = Date.now();
  return new Promise((resolve) => {
    const p = spawn(cmd[0], cmd.slice(1), { env: { ...process.env, ...env } });
    onSpawn?.(p.pid!);
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (status) => resolve({ status, out, ms: Date.now() - t, end: Date.now() }));
    p.stdin.end(stdin);
  });
}
/** As the SSH runner does: the delivery wrapper on `bash -s`. */
const viaSsh = (script: string, env: Record<string, string>, onSpawn?: (pid: number) => void) =>
  run(["bash", "-s"], sshDelivery({ script }), env, onSpawn);

/** Every file under `dir` with its mode and bytes (mtime too: "nothing changed" means not even rewritten). */
function snapshot(dir: string, skip: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (skip.some((s) => p.startsWith(s))) continue;
      const st = fs.lstatSync(p);
      out[p] = `${(st.mode & 0o7777).toString(8)} ${st.mtimeMs} ${e.isFile() ? fs.readFileSync(p, "utf8") : "<dir>"}`;
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("one run at a time per host (em_host_lock)", () => {
  it("a second run of a step waits for the first, says who it waits for, then runs", async () => {
    const h = host("lock-wait");
    const script = step(h.root, ownerOf(SECRET_A, "a"), "v1\n", ["sleep 3", "echo first-or-second-done"]);
    const first = viaSsh(script, h.env);
    await sleep(700);
    const second = await viaSsh(script, h.env);
    const one = await first;
    expect(one.status, one.out).toBe(0);
    expect(second.status, second.out).toBe(0);
    expect(second.out).toMatch(/waiting for another run on this host: pid \d+ \(bash \S+\/step-\w+ ?\), step 1\/1 install, running for \d+ s/);
    expect(second.out).toMatch(/the other run finished after [1-4] s; going on/);
    expect(second.end).toBeGreaterThanOrEqual(one.end); // never interleaved: the second ran after the first ended
    expect(second.out).toContain("done: unchanged"); // and found the first's work done
  });

  it("gives up after EM_HOST_LOCK_WAIT seconds, naming the run that holds the host, and changes nothing", async () => {
    const h = host("lock-timeout");
    const first = viaSsh(step(h.root, ownerOf(SECRET_A, "a"), "v1\n", ["sleep 4"]), h.env);
    await sleep(700);
    const before = snapshot(h.root, [h.env.EM_RUN]);
    const second = await viaSsh(step(h.root, ownerOf(SECRET_A, "a"), "v2\n"), { ...h.env, EM_HOST_LOCK_WAIT: "1" });
    expect(second.status).toBe(1);
    expect(second.out).toMatch(/FAILED: another elastic-mesos run still holds this host after [12] s: pid \d+ \(bash [^)]*\), step 1\/1 install, running for \d+ s \(lock \S+step\.lock\)\. Let it finish .*sudo kill <pid>/);
    expect(snapshot(h.root, [h.env.EM_RUN])).toEqual(before);
    expect((await first).status).toBe(0);
  });

  it("a step killed with SIGKILL does not leave its watchdog holding the lock", async () => {
    const h = host("lock-kill");
    let pid = 0;
    const first = run(["bash", "-c", step(h.root, ownerOf(SECRET_A, "a"), "v1\n", ["sleep 31.5"])], "", h.env, (p) => (pid = p));
    await sleep(1000);
    // The step and what it runs die; its watchdog (a subshell sleeping until the deadline) lives on.
    const procs = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d));
    const cmd = (p: string) => { try { return fs.readFileSync(`/proc/${p}/cmdline`, "utf8"); } catch { return ""; } };
    const ppid = (p: string) => { try { return fs.readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1].split(" ")[1]; } catch { return ""; } };
    const kids = procs.filter((p) => ppid(p) === String(pid));
    const work = kids.filter((p) => cmd(p) === "sleep\x0031.5\x00");
    const watchdog = kids.filter((p) => !work.includes(p));
    expect(work.length).toBe(1);
    expect(watchdog.length).toBeGreaterThan(0);
    process.kill(pid, "SIGKILL");
    process.kill(Number(work[0]), "SIGKILL");
    void first; // its pipes stay open as long as the watchdog lives: not awaited
    await sleep(300);
    try {
      expect(watchdog.some((p) => fs.existsSync(`/proc/${p}`))).toBe(true);
      const next = await run(["bash", "-c", step(h.root, ownerOf(SECRET_A, "a"), "v1\n")], "", { ...h.env, EM_HOST_LOCK_WAIT: "2" });
      expect(next.status, next.out).toBe(0);
      expect(next.out).not.toContain("waiting for another run");
    } finally {
      for (const p of watchdog) try { process.kill(Number(p), "SIGTERM"); } catch { /* gone */ }
    }
  });
});

describe("a host belongs to one cluster (em_owner)", () => {
  it("marks the host with its cluster; another cluster's step is refused before anything changes, naming the owner and the release", async () => {
    const h = host("owner");
    const a = ownerOf(SECRET_A, "a");
    const first = await viaSsh(step(h.root, a, "cluster a\n"), h.env);
    expect(first.status, first.out).toBe(0);
    expect(fs.readFileSync(h.env.EM_OWNER, "utf8")).toBe(`cluster=a\nowner-id=${a.id}\n`);
    expect(fs.readFileSync(h.env.EM_OWNER, "utf8")).not.toContain(SECRET_A);
    expect((await viaSsh(step(h.root, a, "cluster a\n"), h.env)).out).toContain("done: unchanged");

    const before = snapshot(h.root, [h.env.EM_RUN]);
    const b = ownerOf(SECRET_B, "b");
    const other = await viaSsh(step(h.root, b, "cluster b\n", ["touch /tmp/em-host-safety-must-not-exist"]), h.env);
    expect(other.status).toBe(1);
    expect(other.out).toContain(`FAILED: this host belongs to cluster 'a' (owner id ${a.id} in ${h.env.EM_OWNER}), not to cluster 'b' (owner id ${b.id}): refused; nothing on the host was changed.`);
    expect(other.out).toContain("run `pulumi destroy` in the stack of cluster 'a'");
    expect(other.out).toContain(`release the host on it by hand: sudo rm ${h.env.EM_OWNER}`);
    expect(snapshot(h.root, [h.env.EM_RUN])).toEqual(before);
    expect(fs.existsSync("/tmp/em-host-safety-must-not-exist")).toBe(false);

    // Another stack that reuses the name "a" (another clusterSecret) is another cluster too.
    const twin = await viaSsh(step(h.root, ownerOf(SECRET_B, "a"), "twin\n"), h.env);
    expect(twin.status).toBe(1);
    expect(twin.out).toContain("another stack with the same cluster name and another clusterSecret");
    expect(snapshot(h.root, [h.env.EM_RUN])).toEqual(before);

    // Released by hand (the stack is gone): the other cluster may take the host.
    fs.rmSync(h.env.EM_OWNER);
    const taken = await viaSsh(step(h.root, b, "cluster b\n"), h.env);
    expect(taken.status, taken.out).toBe(0);
    expect(fs.readFileSync(h.env.EM_OWNER, "utf8")).toBe(`cluster=b\nowner-id=${b.id}\n`);
  });

  it("the owner id is the cluster's own: the same for every host, another for another secret or name, none of the credentials", () => {
    const a = deriveCredentials(SECRET_A, "a");
    expect(deriveCredentials(SECRET_A, "a").ownerId).toBe(a.ownerId);
    expect(deriveCredentials(SECRET_B, "a").ownerId).not.toBe(a.ownerId);
    expect(deriveCredentials(SECRET_A, "b").ownerId).not.toBe(a.ownerId);
    const { ownerId, ...creds } = a;
    for (const v of Object.values(creds)) expect(v).not.toContain(ownerId);
  });

  it("a cleanup (pulumi destroy) of another cluster's host is refused and removes nothing; the owner's own cleanup removes the mark", async () => {
    const h = host("cleanup");
    const a = ownerOf(SECRET_A, "a");
    expect((await viaSsh(step(h.root, a, "cluster a\n"), h.env)).status).toBe(0);
    // Stand-ins: the cleanup must not reach this machine's systemd or nftables.
    const bin = path.join(h.root, "bin");
    fs.mkdirSync(bin);
    for (const t of ["systemctl", "nft", "docker", "pkill"]) fs.writeFileSync(path.join(bin, t), `#!/bin/sh\necho "${t} $*" >> ${h.root}/calls\n`, { mode: 0o755 });
    const plan = { units: ["zookeeper.service"], files: [`${h.root}/etc/app/app.conf`], dirs: [`${h.root}/var/lib/elastic-mesos`], users: [], packages: [] };
    const env = { ...h.env, PATH: `${bin}:${process.env.PATH}` };
    const before = snapshot(h.root, [h.env.EM_RUN]);
    const refused = await run(["sh", "-s"], renderCleanupScript(plan, [], ownerOf(SECRET_B, "b")), env);
    expect(refused.status).toBe(3);
    expect(refused.out).toContain(`cleanup refused: this host belongs to cluster 'a' now (owner id ${a.id}`);
    expect(refused.out).toContain("nothing was removed");
    expect(refused.out).toContain("pulumi state delete");
    expect(snapshot(h.root, [h.env.EM_RUN])).toEqual(before);
    expect(fs.existsSync(`${h.root}/calls`)).toBe(false); // not even a unit stopped

    const own = await run(["sh", "-s"], renderCleanupScript(plan, [], a), env);
    expect(own.status, own.out).toBe(0);
    expect(own.out).toContain("cleaned");
    for (const gone of [h.env.EM_OWNER, `${h.root}/etc/app/app.conf`, h.env.EM_STEP_DIR]) expect(fs.existsSync(gone), gone).toBe(false);
  });

  it("a cleanup waits for a step running on the host (the same lock)", async () => {
    const h = host("cleanup-lock");
    const a = ownerOf(SECRET_A, "a");
    const bin = path.join(h.root, "bin");
    fs.mkdirSync(bin, { recursive: true });
    for (const t of ["systemctl", "nft"]) fs.writeFileSync(path.join(bin, t), "#!/bin/sh\n", { mode: 0o755 });
    const stepRun = viaSsh(step(h.root, a, "cluster a\n", ["sleep 3"]), h.env);
    await sleep(700);
    const plan = { units: [], files: [`${h.root}/etc/app/app.conf`], dirs: [], users: [], packages: [] };
    const clean = await run(["sh", "-s"], renderCleanupScript(plan, [], a), { ...h.env, PATH: `${bin}:${process.env.PATH}` });
    const s = await stepRun;
    expect(s.status, s.out).toBe(0);
    expect(clean.status, clean.out).toBe(0);
    expect(clean.end).toBeGreaterThanOrEqual(s.end);
    expect(fs.existsSync(`${h.root}/etc/app/app.conf`)).toBe(false); // removed after the step wrote it, not before
  });
});

describe("step scripts kept for re-runs by hand (em_keep, sshDelivery)", () => {
  it("a step run over SSH keeps itself root-only where the README says; a re-run from there changes nothing", async () => {
    const h = host("keep");
    const script = step(h.root, ownerOf(SECRET_A, "a"), "kept\n");
    expect((await viaSsh(script, h.env)).status).toBe(0);
    const kept = path.join(h.env.EM_STEP_DIR, "1-install.sh");
    expect(fs.readFileSync(kept, "utf8")).toBe(script);
    expect(deliveredScript(sshDelivery({ script }))).toBe(script); // what fakes record of a delivery
    const f = path.join(h.root, "nonl");
    await run(["bash", "-s"], sshDelivery({ script: `cp "$0" ${f}` }), h.env);
    expect(fs.readFileSync(f, "utf8")).toBe(`cp "$0" ${f}`); // byte for byte, no newline added
    expect(deliveredScript(sshDelivery({ script: "echo x" }))).toBe("echo x");
    expect(fs.statSync(kept).mode & 0o777).toBe(0o700);
    expect(fs.statSync(h.env.EM_STEP_DIR).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(h.env.EM_RUN).filter((f) => f.startsWith("step-"))).toEqual([]); // the runner's copy is gone
    const mtime = fs.statSync(kept).mtimeMs;
    const byHand = await run(["bash", kept], "", h.env);
    expect(byHand.status, byHand.out).toBe(0);
    expect(byHand.out).toContain("done: unchanged");
    expect(fs.statSync(kept).mtimeMs).toBe(mtime);
    // A new version of the step replaces the kept one.
    const v2 = step(h.root, ownerOf(SECRET_A, "a"), "kept v2\n");
    expect((await viaSsh(v2, h.env)).status).toBe(0);
    expect(fs.readFileSync(kept, "utf8")).toBe(v2);
  });

  it("a refused step (another cluster) does not overwrite the owner's kept scripts", async () => {
    const h = host("keep-refused");
    const mine = step(h.root, ownerOf(SECRET_A, "a"), "a\n");
    await viaSsh(mine, h.env);
    expect((await viaSsh(step(h.root, ownerOf(SECRET_B, "b"), "b\n"), h.env)).status).toBe(1);
    expect(fs.readFileSync(path.join(h.env.EM_STEP_DIR, "1-install.sh"), "utf8")).toBe(mine);
  });
});

describe("errors that point at the cause", () => {
  /** Runs `body` after the library, in a private mount namespace with a small tmpfs at `mnt`. */
  function inNamespace(mnt: string, setup: string, body: string, env: Record<string, string> = {}) {
    fs.mkdirSync(mnt, { recursive: true });
    const script = `set -euo pipefail
mount -t tmpfs -o size=64k,nr_inodes=64 tmpfs ${mnt}
${setup}
EM_STEP='t/1 test'; EM_CHANGED=''
. ${LIB}
${body}
em_done`;
    const r = spawnSync("unshare", ["-m", "--propagation", "private", "bash", "-c", script], { encoding: "utf8", env: { ...process.env, ...env } });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  }

  it("a read-only /var/lib/elastic-mesos: says read-only and how to remount, not 'cannot change permissions … No such file'", () => {
    const mnt = path.join(tmp, "ro");
    const r = inNamespace(mnt, `mount -o remount,ro ${mnt}`, `EM_STATE=${mnt} em_put ${mnt}/stamps/zookeeper 0600 root root <<<'x'`);
    expect(r.status).toBe(1);
    expect(r.out).toContain(`FAILED: cannot create directory ${mnt}/stamps: the file system at ${mnt} is mounted read-only`);
    expect(r.out).toContain(`sudo mount -o remount,rw ${mnt}`);
    expect(r.out).not.toContain("cannot change permissions");
    // A directory that exists on a read-only file system: the temp file cannot be made, said the same way.
    const r2 = inNamespace(mnt, `mkdir ${mnt}/stamps; mount -o remount,ro ${mnt}`, `em_put ${mnt}/stamps/zookeeper 0600 root root <<<'x'`);
    expect(r2.out).toContain(`FAILED: cannot write ${mnt}/stamps/zookeeper: the file system at ${mnt} is mounted read-only`);
  });

  it("a full disk: says no space left and where, and leaves no temp file behind", () => {
    const mnt = path.join(tmp, "full");
    const r = inNamespace(mnt, `mkdir ${mnt}/etc; dd if=/dev/zero of=${mnt}/filler bs=4k 2>/dev/null || true`,
      `( em_put ${mnt}/etc/node.env 0600 root root < <(head -c 20000 /dev/zero | tr '\\0' x) ) || echo "em_put failed"
echo "left in etc: [$(ls -A ${mnt}/etc)]"`);
    expect(r.out).toMatch(new RegExp(`FAILED: cannot write ${mnt}/etc/node.env: no space left on ${mnt} \\(0 KiB and \\d+ inodes free; .*No space left on device\\); free some space there \\(df -h ${mnt}\\)`));
    expect(r.out).toContain("em_put failed");
    expect(r.out).toContain("left in etc: []"); // no .em-XXXXXX temp file
  });

  it("apt-get update failing on apt's lock names the lock and the holder, not the repositories", async () => {
    const d = fs.mkdtempSync(path.join(tmp, "apt-"));
    for (const sub of ["src", "lists/partial", "cache/archives/partial"]) fs.mkdirSync(path.join(d, sub), { recursive: true });
    fs.writeFileSync(path.join(d, "src", "x.list"), "deb [trusted=yes] http://127.0.0.1:9/debian bookworm main\n");
    const lock = path.join(d, "lists", "lock");
    fs.writeFileSync(lock, "");
    const py = `import fcntl,sys,time\nf=open(sys.argv[1],"a")\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint("held",flush=True)\ntime.sleep(20)`;
    const holder = spawn("python3", ["-c", py, lock]);
    await new Promise((r) => holder.stdout.once("data", r));
    try {
      // The lock was taken after em_apt_wait looked (a race with apt-daily): EM_APT_LOCKS empty, so it waits for nothing.
      const body = `EM_APT_LOCKS=()
EM_APT_OPTS+=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=${d}/src -o Dir::State::Lists=${d}/lists \\
  -o Dir::Cache=${d}/cache -o Acquire::http::Proxy=DIRECT -o APT::Sandbox::User=root -o Acquire::Retries=0)
em_apt_update`;
      const r = await run(["bash", "-c", `set -euo pipefail\nEM_STEP='t/1 test'\nEM_CHANGED=''\n. ${LIB}\n${body}`], "", { EM_STEP_SECONDS: "8" });
      expect(r.status).toBe(1);
      expect(r.out).toMatch(/FAILED: apt-get update could not take apt's lock \(\d tries\): .*Could not get lock .*lists\/lock/);
      expect(r.out).toContain("not a repository problem");
      expect(r.out).toContain("sudo systemctl stop apt-daily.service apt-daily-upgrade.service unattended-upgrades.service");
      expect(r.out).not.toContain("check the network");
    } finally {
      holder.kill("SIGKILL");
    }
  });
});
