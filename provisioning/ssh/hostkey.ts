// Host key verification: a pinned "SHA256:..." fingerprint must match; without one, the first key seen
// is trusted (TOFU) and handed back so the caller records it in state, and later connections must match.
import type { SshTarget } from "./target";
import { HostKeyMismatch } from "./errors";
import { describeTarget } from "./target";

/** The key a host presented, as OpenSSH prints it (`ssh-keygen -lf`). */
export interface SeenHostKey {
  /** "SHA256:" + unpadded base64 of the SHA-256 of the raw key blob. */
  fingerprint: string;
  /** Key algorithm from the blob, e.g. "ssh-ed25519". */
  type: string;
  /** True when no fingerprint was expected: the caller must record `fingerprint` (trust on first use). */
  firstUse: boolean;
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** OpenSSH's fingerprint format for a raw public key blob (SSH wire format). */
export function fingerprintOf(rawKey: Buffer): string {
  // require() inside: this code is serialized into the dynamic provider (see provisioning/baremetal).
  const { createHash } = require("crypto") as typeof import("crypto");
  return `SHA256:${createHash("sha256").update(rawKey).digest("base64").replace(/=+$/, "")}`;
}

/** True for a well-formed "SHA256:<43 base64 chars>" fingerprint. */
export function isFingerprint(s: string): boolean {
  return FINGERPRINT.test(s);
}

/** The algorithm name at the start of an SSH public key blob (uint32 length + string). */
export function keyTypeOf(rawKey: Buffer): string {
  if (rawKey.length < 4) return "unknown";
  const n = rawKey.readUInt32BE(0);
  return n > 0 && n < 64 && rawKey.length >= 4 + n ? rawKey.subarray(4, 4 + n).toString("latin1") : "unknown";
}

/**
 * One verification for one connection attempt. `verify` is what ssh2's `hostVerifier` calls with the
 * raw key; it records what was seen so a refusal can be reported precisely afterwards.
 */
export class HostKeyCheck {
  seen?: { fingerprint: string; type: string };
  /** `previous`: a second key accepted with a pin (a cloud machine's while clusterSecret rotates). */
  constructor(readonly expected: string | undefined, readonly source: "config" | "state" = "config",
    readonly previous?: string) {
    this.seen = undefined;
  }

  /** For ssh2's `hostVerifier` (bind it: `check.verify.bind(check)`). */
  verify(rawKey: Buffer): boolean {
    this.seen = { fingerprint: fingerprintOf(rawKey), type: keyTypeOf(rawKey) };
    return !this.mismatched;
  }

  get mismatched(): boolean {
    if (this.expected === undefined || this.seen === undefined) return false;
    return this.seen.fingerprint !== this.expected && !(this.previous && this.seen.fingerprint === this.previous);
  }

  result(): SeenHostKey | undefined {
    return this.seen && { ...this.seen, firstUse: this.expected === undefined };
  }

  error(target: SshTarget): HostKeyMismatch {
    const port = target.port ?? 22;
    const key = `${target.configPath ?? "the host's entry"}.hostKeyFingerprint`;
    const why = this.source === "state"
      ? `the expected key was recorded on first use (it is in the stack state)`
      : `the expected key is ${key} in the stack config`;
    const fix = `${why}. If the host was reinstalled or its keys rotated, check the new key out of band ` +
      `(on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub, or ssh-keyscan -p ${port} ${target.host} | ssh-keygen -lf -) ` +
      `and set ${key} to it; otherwise treat this as a possible interception and do not proceed`;
    const expected = this.previous ? `${this.expected} (or, while clusterSecret rotates, ${this.previous})` : this.expected!;
    return new HostKeyMismatch(describeTarget(target), expected, this.seen!.fingerprint, this.seen!.type, fix);
  }
}
