// The SSH runner against an in-process ssh2 server on 127.0.0.1 (commands really run on this machine,
// in a scratch dir). The same behaviours against real OpenSSH are in ssh-openssh.test.ts.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { utils } from "ssh2";
import {
  AuthFailed, CommandFailed, ConnectionDropped, HostKeyMismatch, HostUnreachable, SshPool, SshTimeout,
  SudoPasswordRequired, connect, exec, fingerprintOf, isFingerprint, mapSettled, runScript, type SshTarget,
} from "../../provisioning/ssh";
import { newKeyPair, startSshServer, type TestSshServer } from "../fixtures/ssh-server";
import { freePort } from "../fixtures/loopback";

const fast = { retries: 2, backoffMs: 50, readyTimeoutMs: 5_000 };
const targetOf = (s: TestSshServer, extra: Partial<SshTarget> = {}): SshTarget =>
  ({ name: "h1", host: s.host, port: s.port, user: "root", privateKey: s.clientKey, ...extra });

describe("host key fingerprints", () => {
  it("match what ssh-keygen -lf prints for the same key", () => {
    const kp = newKeyPair();
    const dir = mkdtempSync(join(tmpdir(), "em-fp-"));
    writeFileSync(join(dir, "k.pub"), kp.public + "\n");
    const printed = execFileSync("ssh-keygen", ["-lf", join(dir, "k.pub")]).toString().split(" ")[1];
    rmSync(dir, { recursive: true, force: true });
    const raw = (utils.parseKey(kp.public) as any).getPublicSSH();
    expect(fingerprintOf(raw)).toBe(printed);
    expect(isFingerprint(printed)).toBe(true);
    expect(isFingerprint("SHA256:abc")).toBe(false);
  });
});

describe("SSH runner on an in-process server", () => {
  let s: TestSshServer;
  let pool: SshPool;
  beforeAll(async () => { s = await startSshServer(); pool = new SshPool(fast); });
  afterAll(async () => { await pool.close(); await s.close(); });

  it("streams output line by line, returns the exit code, and reuses one connection per host", async () => {
    const seen: string[] = [];
    const before = s.connections;
    const r = await pool.exec(targetOf(s), "echo one; echo two >&2; printf three", { onLine: (l, st) => seen.push(`${st}:${l}`) });
    expect(r.code).toBe(0);
    expect(seen).toEqual(expect.arrayContaining(["stdout:one", "stderr:two", "stdout:three"]));
    for (let i = 0; i < 4; i++) await pool.exec(targetOf(s), "true");
    expect(s.connections - before).toBe(1);
    expect(pool.stats.commands).toBeGreaterThanOrEqual(5);
  });

  it("a failing command raises CommandFailed with the exit code and the last 20 lines", async () => {
    const err = await pool.exec(targetOf(s), "for i in $(seq 1 30); do echo line$i; done; exit 3", { label: "step 2/3 zookeeper" })
      .catch((e) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    expect(err.exitCode).toBe(3);
    expect(err.tail).toHaveLength(20);
    expect(err.tail[0]).toBe("line11");
    expect(err.message).toMatch(/^h1 \(127\.0\.0\.1:\d+\): step 2\/3 zookeeper exited with code 3; last output:\n {4}line11/);
    expect(await pool.exec(targetOf(s), "exit 3", { okCodes: [0, 3] })).toMatchObject({ code: 3 });
  });

  it("scripts travel on stdin, never on the command line", async () => {
    const r = await pool.runScript(targetOf(s), "SECRET=hunter2\necho \"len=${#SECRET}\"\n", { sudo: true });
    expect(r.stdout).toBe("len=7\n");
    expect(s.commands.join("\n")).not.toContain("hunter2");
  });

  it("uploads atomically with mode and owner, leaving no temp file", async () => {
    const path = join(s.dir, "etc", "mesos", "credentials");
    const content = "principal secret'with\"quotes $HOME\n\u00e9\n";
    await pool.upload(targetOf(s), { path, content, mode: "0640", owner: "root", group: "nogroup" });
    expect(readFileSync(path, "utf8")).toBe(content);
    const st = statSync(path);
    expect(st.mode & 0o7777).toBe(0o640);
    expect(st.uid).toBe(0);
    expect(st.gid).toBe(Number(execFileSync("getent", ["group", "nogroup"]).toString().split(":")[2]));
    expect(readdirSync(join(s.dir, "etc", "mesos"))).toEqual(["credentials"]);
    expect(statSync(join(s.dir, "etc")).mode & 0o777).toBe(0o755);
    expect(s.commands.join("\n")).not.toContain("secret'with");
  });

  it("times out a command that runs too long", async () => {
    const t = Date.now();
    const err = await pool.exec(targetOf(s), "sleep 5", { timeoutMs: 300, label: "slow" }).catch((e) => e);
    expect(err).toBeInstanceOf(SshTimeout);
    expect(err.message).toMatch(/slow did not finish within 0 s/);
    expect(Date.now() - t).toBeLessThan(2_000);
  });

  it("a dropped connection mid-command raises ConnectionDropped, is not re-run, and the next command reconnects", async () => {
    const marker = `drop-${Date.now()}`;
    const before = s.commands.length;
    const err = await pool.exec(targetOf(s), `echo ${marker}; sleep 3; echo never`, {
      onLine: (l) => { if (l === marker) s.dropAll(); },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectionDropped);
    expect(err.started).toBe(true);
    expect(err.tail).toContain(marker);
    expect(err.message).toMatch(/run `pulumi up` again/);
    expect(s.commands.slice(before).filter((c) => c.includes(marker))).toHaveLength(1);
    expect((await pool.exec(targetOf(s), "echo back")).stdout).toBe("back\n");
  });

  it("sudo -n wraps commands for a non-root user", async () => {
    const r = await pool.exec(targetOf(s), "id -u", { sudo: true });
    expect(r.stdout.trim()).toBe("0");
    expect(s.commands.at(-1)).toBe("id -u"); // root: no sudo
  });
});

describe("host key verification", () => {
  it("trust on first use: records the key, later connections must match; a changed key stops with a clear error", async () => {
    const s1 = await startSshServer();
    const pool = new SshPool(fast);
    const first = await pool.connection(targetOf(s1, { configPath: "baremetal.hosts[0]" }));
    expect(first.hostKey).toMatchObject({ fingerprint: s1.fingerprint, type: "ssh-ed25519", firstUse: true });
    const port = s1.port;
    await s1.close();
    // Same address, new host key (reinstalled host, or someone in the middle).
    const s2 = await startSshServer({ port, clientKey: s1.clientKey });
    try {
      const err = await pool.exec(targetOf(s2, { configPath: "baremetal.hosts[0]" }), "touch pwned").catch((e) => e);
      expect(err).toBeInstanceOf(HostKeyMismatch);
      expect(err.message).toContain(`expected ${s1.fingerprint}, the host presented ${s2.fingerprint} (ssh-ed25519)`);
      expect(err.message).toMatch(/recorded on first use/);
      expect(err.message).toMatch(/ssh-keyscan -p \d+ 127\.0\.0\.1/);
      expect(err.message).toContain("baremetal.hosts[0].hostKeyFingerprint");
      expect(s2.commands).toEqual([]);
      // A new run whose state holds the recorded key behaves the same.
      const err2 = await connect(targetOf(s2, { hostKeyFingerprint: first.hostKey.fingerprint, hostKeySource: "state" }), fast).catch((e) => e);
      expect(err2).toBeInstanceOf(HostKeyMismatch);
    } finally {
      await pool.close();
      await s2.close();
    }
  });

  it("a pinned fingerprint must match", async () => {
    const s = await startSshServer();
    try {
      const ok = await connect(targetOf(s, { hostKeyFingerprint: s.fingerprint }), fast);
      expect(ok.hostKey.firstUse).toBe(false);
      ok.client.end();
      const wrong = fingerprintOf(Buffer.from("not the key"));
      const err = await connect(targetOf(s, { hostKeyFingerprint: wrong, configPath: "baremetal.hosts[3]" }), fast).catch((e) => e);
      expect(err).toBeInstanceOf(HostKeyMismatch);
      expect(err.message).toContain(`expected ${wrong}`);
      expect(err.message).toContain("baremetal.hosts[3].hostKeyFingerprint in the stack config");
      expect(s.commands).toEqual([]);
    } finally { await s.close(); }
  });
});

describe("connection faults", () => {
  it("an unreachable port fails with HostUnreachable after the retries", async () => {
    const port = await freePort();
    const t = Date.now();
    const err = await connect({ name: "m2", host: "127.0.0.1", port, user: "root", privateKey: newKeyPair().private }, fast).catch((e) => e);
    expect(err).toBeInstanceOf(HostUnreachable);
    expect(err.message).toMatch(new RegExp(`^m2 \\(127\\.0\\.0\\.1:${port}\\): cannot connect \\(ECONNREFUSED\\) after 3 attempts; .*ssh -p ${port} root@127\\.0\\.0\\.1`));
    expect(Date.now() - t).toBeGreaterThanOrEqual(150); // 50 + 100 ms of backoff
  });

  it("the wrong key fails with AuthFailed at once (no retries)", async () => {
    const s = await startSshServer();
    try {
      const err = await connect(targetOf(s, { privateKey: newKeyPair().private, configPath: "baremetal.hosts[1]" }), { ...fast, backoffMs: 2_000 }).catch((e) => e);
      expect(err).toBeInstanceOf(AuthFailed);
      expect(err.message).toMatch(/refused user "root".*baremetal\.hosts\[1\]\.user.*authorized_keys/);
      const wrongUser = await connect(targetOf(s, { user: "admin" }), fast).catch((e) => e);
      expect(wrongUser).toBeInstanceOf(AuthFailed);
      const garbage = await connect(targetOf(s, { privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nnope\n" }), fast).catch((e) => e);
      expect(garbage.message).toMatch(/private key cannot be used.*pulumi config set --secret elastic-mesos:sshPrivateKey/);
    } finally { await s.close(); }
  });

  it("retries a refused connection until sshd comes up", async () => {
    const port = await freePort();
    const key = newKeyPair().private;
    let s: TestSshServer | undefined;
    setTimeout(async () => { s = await startSshServer({ port, clientKey: key }); }, 400);
    const pool = new SshPool({ retries: 5, backoffMs: 150 });
    try {
      const r = await pool.exec({ host: "127.0.0.1", port, user: "root", privateKey: key }, "echo up");
      expect(r.stdout).toBe("up\n");
    } finally { await pool.close(); await s?.close(); }
  });

  it("jumps through a bastion", async () => {
    const key = newKeyPair().private;
    const target = await startSshServer({ clientKey: key });
    const bastion = await startSshServer({ clientKey: key, users: ["jump"] });
    const pool = new SshPool(fast);
    try {
      const t: SshTarget = { name: "m1", host: "127.0.0.1", port: target.port, user: "root", privateKey: key,
        bastion: { name: "b1", host: "127.0.0.1", port: bastion.port, user: "jump", hostKeyFingerprint: bastion.fingerprint } };
      expect((await pool.exec(t, "echo via")).stdout).toBe("via\n");
      expect((await pool.exec(t, "echo again")).stdout).toBe("again\n");
      expect(bastion.commands).toEqual([]);
      expect(bastion.connections).toBe(1);
      expect(target.commands).toEqual(["echo via", "echo again"]);
      expect(pool.hostKey(t)?.fingerprint).toBe(target.fingerprint);
      // The bastion's own key is verified too.
      const bad = { ...t, port: target.port, bastion: { ...t.bastion!, hostKeyFingerprint: target.fingerprint } };
      const err = await new SshPool(fast).exec(bad, "echo no").catch((e) => e);
      expect(err).toBeInstanceOf(HostKeyMismatch);
      expect(err.host).toContain("127.0.0.1");
      // A target that is down behind the bastion is unreachable, naming the bastion.
      const down = await new SshPool(fast).exec({ ...t, port: await freePort() }, "true").catch((e) => e);
      expect(down).toBeInstanceOf(HostUnreachable);
      expect(down.message).toMatch(/via bastion b1.*reachable from bastion/);
    } finally { await pool.close(); await target.close(); await bastion.close(); }
  });
});

describe("parallelism and sudo detection", () => {
  it("mapHosts never runs more hosts at once than the bound", async () => {
    let running = 0, max = 0;
    const handler = async () => { running++; max = Math.max(max, running); await new Promise((r) => setTimeout(r, 150)); running--; return { code: 0 }; };
    const key = newKeyPair().private;
    const servers = await Promise.all(Array.from({ length: 6 }, () => startSshServer({ clientKey: key, handler })));
    const pool = new SshPool({ ...fast, parallelism: 2 });
    try {
      const t = Date.now();
      const res = await pool.mapHosts(servers, (sv) => pool.exec({ host: sv.host, port: sv.port, user: "root", privateKey: key }, "work"));
      expect(res.every((r) => r.status === "fulfilled")).toBe(true);
      expect(max).toBe(2);
      expect(Date.now() - t).toBeGreaterThanOrEqual(3 * 150);
      expect(pool.stats.commands).toBe(6);
    } finally { await pool.close(); await Promise.all(servers.map((sv) => sv.close())); }
  });

  it("mapSettled keeps order and runs every item even when some fail", async () => {
    const r = await mapSettled([1, 2, 3, 4], 3, async (n) => { if (n % 2) throw new Error(`odd ${n}`); return n * 10; });
    expect(r.map((x) => (x.status === "fulfilled" ? x.value : (x.reason as Error).message))).toEqual(["odd 1", 20, "odd 3", 40]);
    await expect(mapSettled([1], 0, async () => 1)).rejects.toThrow(/at least 1/);
  });

  it("recognises sudo asking for a password", async () => {
    const s = await startSshServer({ users: ["deploy"], handler: async (cmd) =>
      cmd.startsWith("sudo -n -- /bin/sh -c ") ? { stderr: "sudo: a password is required\n", code: 1 } : { stdout: "x\n", code: 0 } });
    const pool = new SshPool(fast);
    try {
      const err = await pool.exec(targetOf(s, { user: "deploy" }), "systemctl restart zookeeper", { sudo: true }).catch((e) => e);
      expect(err).toBeInstanceOf(SudoPasswordRequired);
      expect(err.message).toMatch(/sudo for user "deploy" needs a password.*NOPASSWD.*or connect as root/);
      expect(s.commands[0]).toBe("sudo -n -- /bin/sh -c 'systemctl restart zookeeper'");
    } finally { await pool.close(); await s.close(); }
  });
});

describe("exec on a plain connection", () => {
  it("runScript and exec work without a pool", async () => {
    const s = await startSshServer();
    const c = await connect(targetOf(s), fast);
    try {
      expect((await runScript(c, "echo $((6*7))")).stdout).toBe("42\n");
      expect((await exec(c, "echo hi")).stdout).toBe("hi\n");
      expect(c.commands).toBe(2);
    } finally { c.client.end(); await s.close(); }
  });
});
