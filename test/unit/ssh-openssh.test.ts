// The SSH runner against real OpenSSH (sshd on loopback, test/fixtures/openssh.ts). Needs root.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { existsSync, mkdtempSync, rmSync, statSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import {
  AuthFailed, CommandFailed, ConnectionDropped, HostKeyMismatch, HostUnreachable, SshPool, SudoPasswordRequired,
  connect, type SshTarget,
} from "../../provisioning/ssh";
import { LOOPBACK_HOSTS, PASSWORD_SUDO_USER, SUDO_USER, freePort, isRoot, startOpenSsh, type OpenSshd } from "../fixtures/openssh";
import { newKeyPair } from "../fixtures/ssh-server";

const fast = { retries: 2, backoffMs: 100, readyTimeoutMs: 8_000 };

describe.skipIf(!isRoot())("SSH runner against OpenSSH", () => {
  let sshd: OpenSshd;
  let pool: SshPool;
  let scratch: string;
  const t = (extra: Partial<SshTarget> = {}): SshTarget =>
    ({ name: "h1", host: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.clientKey, ...extra });

  beforeAll(async () => {
    sshd = await startOpenSsh();
    pool = new SshPool(fast);
    scratch = mkdtempSync(join(tmpdir(), "em-ossh-"));
  }, 180_000);
  afterAll(async () => { await pool?.close(); await sshd?.stop(); rmSync(scratch, { recursive: true, force: true }); });

  it("TOFU records the same fingerprint ssh-keygen prints; exec streams and returns exit codes", async () => {
    const c = await pool.connection(t());
    expect(c.hostKey).toEqual({ fingerprint: sshd.fingerprint, type: "ssh-ed25519", firstUse: true });
    const lines: string[] = [];
    const r = await pool.exec(t(), "echo a; echo b >&2; echo c", { onLine: (l) => lines.push(l) });
    expect(r.code).toBe(0);
    expect(lines.sort()).toEqual(["a", "b", "c"]);
    const err = await pool.exec(t(), "seq 1 40; exit 7", { label: "step 3/3 mesos" }).catch((e) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    expect(err.exitCode).toBe(7);
    expect(err.tail).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 21)));
  });

  it("a sudoer without password runs as root and uploads with mode and owner", async () => {
    const u = t({ user: SUDO_USER });
    expect((await pool.exec(u, "id -un")).stdout).toBe(`${SUDO_USER}\n`);
    expect((await pool.exec(u, "id -un", { sudo: true })).stdout).toBe("root\n");
    expect((await pool.runScript(u, "id -u\n", { sudo: true })).stdout).toBe("0\n");
    const path = join(scratch, "zk", "jaas.conf");
    await pool.upload(u, { path, content: "Server { pw=\"x'y\"; };\n", mode: "0600", owner: "nobody", group: "nogroup" });
    const st = statSync(path);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(65534);
    expect((await pool.exec(u, `cat ${path}`, { sudo: true })).stdout).toBe("Server { pw=\"x'y\"; };\n");
  });

  it("a user whose sudo needs a password gets SudoPasswordRequired naming the fix", async () => {
    const u = t({ user: PASSWORD_SUDO_USER });
    expect((await pool.exec(u, "id -un")).stdout).toBe(`${PASSWORD_SUDO_USER}\n`);
    const err = await pool.exec(u, "systemctl daemon-reload", { sudo: true }).catch((e) => e);
    expect(err).toBeInstanceOf(SudoPasswordRequired);
    expect(err.message).toContain(`h1 (127.0.0.1:${sshd.port}): sudo for user "${PASSWORD_SUDO_USER}" needs a password`);
    expect(err.message).toContain(`${PASSWORD_SUDO_USER} ALL=(ALL) NOPASSWD:ALL`);
    const up = await pool.upload(u, { path: join(scratch, "nope"), content: "x", mode: "0644" }).catch((e) => e);
    expect(up).toBeInstanceOf(SudoPasswordRequired);
    expect(existsSync(join(scratch, "nope"))).toBe(false);
  });

  it("a wrong pinned fingerprint stops before anything runs", async () => {
    const marker = join(scratch, "pwned");
    const err = await new SshPool(fast).exec(t({ hostKeyFingerprint: "SHA256:" + "A".repeat(43), configPath: "baremetal.hosts[0]" }), `touch ${marker}`)
      .catch((e) => e);
    expect(err).toBeInstanceOf(HostKeyMismatch);
    expect(err.seen).toBe(sshd.fingerprint);
    expect(existsSync(marker)).toBe(false);
    const ok = await connect(t({ hostKeyFingerprint: sshd.fingerprint }), fast);
    ok.client.end();
  });

  it("wrong key or wrong user: AuthFailed", async () => {
    expect(await connect(t({ privateKey: newKeyPair().private }), fast).catch((e) => e)).toBeInstanceOf(AuthFailed);
    expect(await connect(t({ user: "nosuchuser" }), fast).catch((e) => e)).toBeInstanceOf(AuthFailed);
  });

  it("unreachable port: HostUnreachable", async () => {
    const err = await connect(t({ port: await freePort() }), fast).catch((e) => e);
    expect(err).toBeInstanceOf(HostUnreachable);
    expect(err.reason).toBe("ECONNREFUSED");
  });

  it("killing the session server-side mid-command gives ConnectionDropped with the output so far", async () => {
    const p = new SshPool(fast);
    const err = await p.exec(t(), "echo started; sleep 20; echo never", {
      onLine: (l) => { if (l === "started") setTimeout(() => sshd.killSessions(), 100); },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectionDropped);
    expect(err.tail).toEqual(["started"]);
    expect((await p.exec(t(), "echo ok")).stdout).toBe("ok\n"); // reconnects for the next command
    await p.close();
  });

  it("bounded parallelism across hosts is honoured", async () => {
    const p = new SshPool({ ...fast, parallelism: 3 });
    const hosts = LOOPBACK_HOSTS.map((h, i) => t({ name: `h${i + 1}`, host: h }));
    const res = await p.mapHosts(hosts, (h) => p.exec(h, "s=$(date +%s%N); sleep 0.4; echo $s $(date +%s%N)"));
    const spans = res.map((r) => (r.status === "fulfilled" ? r.value.stdout.trim().split(" ").map(Number) : [0, 0]));
    const maxOverlap = Math.max(...spans.map(([s]) => spans.filter(([a, b]) => a <= s && s < b).length));
    expect(maxOverlap).toBe(3);
    expect(p.stats).toMatchObject({ commands: 6, connects: 6 });
    await p.close();
  });

  it("jumps through a second sshd as bastion", async () => {
    const bastion = await startOpenSsh({ clientKey: sshd.clientKey });
    const p = new SshPool(fast);
    try {
      const target = t({ bastion: { name: "b1", host: "127.0.0.1", port: bastion.port, user: SUDO_USER, hostKeyFingerprint: bastion.fingerprint } });
      expect((await p.exec(target, "echo through")).stdout).toBe("through\n");
      expect(p.hostKey(target)?.fingerprint).toBe(sshd.fingerprint);
      expect(bastion.log()).toMatch(/Accepted publickey for emssh-sudo/);
    } finally { await p.close(); await bastion.stop(); }
  });

  it("retries a refused connection until sshd is up, and TOFU catches a changed host key", async () => {
    const port = await freePort();
    const late = await startOpenSsh({ port, clientKey: sshd.clientKey, delayMs: 600 });
    const p = new SshPool({ retries: 5, backoffMs: 200 });
    try {
      const target = t({ port });
      expect((await p.exec(target, "echo up")).stdout).toBe("up\n");
      expect(p.hostKey(target)?.fingerprint).toBe(late.fingerprint);
      await late.stop();
      // Same address and port, a new host key: the pool remembers the first one.
      const other = await startOpenSsh({ port, clientKey: sshd.clientKey });
      try {
        const err = await p.exec(target, "true").catch((e) => e);
        expect(err).toBeInstanceOf(HostKeyMismatch);
        expect(err.message).toContain(`expected ${late.fingerprint}, the host presented ${other.fingerprint}`);
      } finally { await other.stop(); }
    } finally { await p.close(); await late.stop(); }
  });
});
