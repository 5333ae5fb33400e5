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
