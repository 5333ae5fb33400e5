// A cloud machine's SSH host key, derived from clusterSecret (tls sshHostKey): its user-data installs the private
// half and every connection pins the fingerprint. OpenSSH's own tools judge it (ssh-keygen reads the key as sshd
// does and prints its public line and fingerprint), and ssh2, the step runner's client, must agree.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { utils } from "ssh2";
import { createHash } from "node:crypto";
import { sshHostKey } from "../../provisioning/tls";
import { SshPool } from "../../provisioning/ssh/pool";
import { keyAfter } from "../../provisioning/baremetal/provider";
import { newKeyPair, startSshServer } from "../fixtures/ssh-server";

const SECRET = "a-long-enough-cluster-secret-for-tests";
const dir = mkdtempSync(join(tmpdir(), "em-hostkey-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keygen(args: string[]): string {
  const r = spawnSync("ssh-keygen", args, { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error(`ssh-keygen ${args.join(" ")}: ${r.error?.message ?? r.stderr}`);
  return r.stdout.trim();
}

describe("derived SSH host keys", () => {
  it("OpenSSH reads the private key (as sshd will) and derives the same public key and fingerprint", () => {
    for (const id of ["m1", "general-7"]) {
      const k = sshHostKey(SECRET, "prod", id);
      const file = join(dir, id);
      writeFileSync(file, k.privatePem, { mode: 0o600 });
      expect(keygen(["-y", "-f", file])).toBe(k.publicLine);
      const pub = join(dir, `${id}.pub`);
      writeFileSync(pub, `${k.publicLine}\n`);
      expect(keygen(["-l", "-E", "sha256", "-f", pub])).toMatch(new RegExp(`^256 ${k.fingerprint.replace(/[+/]/g, "\\$&")} .*\\(ECDSA\\)$`));
      expect(k.algorithm).toBe("ecdsa-sha2-nistp256");
    }
  });

  it("ssh2 (the step runner's client) sees the same key: its fingerprint is what the runner pins", () => {
    const k = sshHostKey(SECRET, "prod", "m1");
    const parsed = utils.parseKey(k.privatePem);
    if (parsed instanceof Error) throw parsed;
    const blob = parsed.getPublicSSH();
    expect(`SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`).toBe(k.fingerprint);
    expect(parsed.type).toBe("ecdsa-sha2-nistp256");
  });

  it("is the same on every run and differs per node, cluster and secret", () => {
    const a = sshHostKey(SECRET, "prod", "m1");
    expect(sshHostKey(SECRET, "prod", "m1")).toEqual(a);
    const others = [sshHostKey(SECRET, "prod", "m2"), sshHostKey(SECRET, "stage", "m1"), sshHostKey(`${SECRET}-2`, "prod", "m1")];
    expect(new Set([a, ...others].map((k) => k.fingerprint)).size).toBe(4);
  });

  it("refuses a short secret, naming the key to set", () => {
    expect(() => sshHostKey("short", "prod", "m1")).toThrow(/clusterSecret: must be at least 16 characters/);
  });
});

describe("pinning a derived key on a machine that has keys of other types too", () => {
  it("the runner asks for the pinned key's algorithm and connects; without it the other key is presented and refused", async () => {
    const derived = sshHostKey(SECRET, "prod", "m1");
    const server = await startSshServer({ hostKey: newKeyPair().private, extraHostKeys: [derived.privatePem] });
    const base = { name: "m1", host: server.host, port: server.port, user: "root", privateKey: server.clientKey,
      hostKeyFingerprint: derived.fingerprint, hostKeySource: "config" as const };
    const pool = new SshPool({ retries: 0, readyTimeoutMs: 5_000 });
    try {
      const c = await pool.connection({ ...base, hostKeyAlgorithm: derived.algorithm });
      expect(c.hostKey.fingerprint).toBe(derived.fingerprint);
      await expect(new SshPool({ retries: 0, readyTimeoutMs: 5_000 }).connection(base)).rejects.toMatchObject({ code: "HOST_KEY_MISMATCH" });
    } finally {
      await pool.close();
      await server.close();
    }
  });
});

describe("while clusterSecret rotates: the previous secret's derived key accepted beside the pin", () => {
  const OLD = "the-previous-cluster-secret-0123";
  it("a machine still presenting the previous key is let in, a third key is refused naming both, the old one after the rotation", async () => {
    const now = sshHostKey(SECRET, "prod", "m1");
    const before = sshHostKey(OLD, "prod", "m1");
    const servers = await Promise.all([before, sshHostKey("a-third-cluster-secret-0123456", "prod", "m1")]
      .map((k) => startSshServer({ hostKey: k.privatePem })));
    const pool = new SshPool({ retries: 0, readyTimeoutMs: 5_000 });
    const target = (s: (typeof servers)[number], extra: object = {}) => ({ name: "m1", host: s.host, port: s.port, user: "root",
      privateKey: s.clientKey, hostKeyFingerprint: now.fingerprint, hostKeySource: "config" as const,
      hostKeyAlgorithm: now.algorithm, ...extra });
    try {
      const rotating = { previousHostKeyFingerprint: before.fingerprint };
      expect((await pool.connection(target(servers[0], rotating))).hostKey.fingerprint).toBe(before.fingerprint);
      const other = pool.connection(target(servers[1], rotating));
      await expect(other).rejects.toMatchObject({ code: "HOST_KEY_MISMATCH" });
      await expect(other).rejects.toThrow(`expected ${now.fingerprint} (or, while clusterSecret rotates, ${before.fingerprint})`);
      // After the rotation (no previous key given) the old key is refused.
      await expect(new SshPool({ retries: 0, readyTimeoutMs: 5_000 }).connection(target(servers[0])))
        .rejects.toMatchObject({ code: "HOST_KEY_MISMATCH" });
    } finally {
      await pool.close();
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it("after its install step ran, a host reached with the previous key records the pinned one", () => {
    const seen = { fingerprint: "SHA256:old", type: "ecdsa-sha2-nistp256", source: "config" as const };
    const connection = { host: "10.0.0.1", port: 22, user: "admin", hostKeyFingerprint: "SHA256:new", previousHostKeyFingerprint: "SHA256:old" };
    expect(keyAfter(seen, { connection }, [{ step: "install" }, { step: "mesos" }]).fingerprint).toBe("SHA256:new");
    // No install step run: the machine still presents what was seen.
    expect(keyAfter(seen, { connection }, [{ step: "mesos" }]).fingerprint).toBe("SHA256:old");
    expect(keyAfter({ ...seen, fingerprint: "SHA256:new" }, { connection }, [{ step: "install" }]).fingerprint).toBe("SHA256:new");
  });
});
