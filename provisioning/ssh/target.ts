// Who we connect to, and how we name it in messages.

/** A jump host (bastion) the target is reached through. */
export interface SshBastion {
  name?: string;
  host: string;
  port?: number;
  user: string;
  /** Pinned "SHA256:..." fingerprint of the bastion's host key; absent = trust on first use. */
  hostKeyFingerprint?: string;
  /** The only host key algorithm to accept (a derived cloud host key, tls sshHostKey); absent: any. */
  hostKeyAlgorithm?: string;
  /** While clusterSecret rotates: the key derived from the previous secret, accepted too (SshTarget's). */
  previousHostKeyFingerprint?: string;
  /** Where this bastion sits in the stack config, used in messages ("baremetal.bastions[0]"). */
  configPath?: string;
}

/** One host to drive over SSH. */
export interface SshTarget {
  /** Short name used in messages ("m1", "general-2"). */
  name?: string;
  host: string;
  /** Default 22. */
  port?: number;
  user: string;
  /** PEM/OpenSSH private key text. Comes from a Pulumi secret; never logged. */
  privateKey: string;
  passphrase?: string;
  /** Pinned "SHA256:..." fingerprint; absent = trust on first use. */
  hostKeyFingerprint?: string;
  /**
   * The only host key algorithm to ask the server for: a machine may hold keys of several types, and the pinned
   * one must be the one it presents (cloud machines: their derived ECDSA key). Absent: ssh2's default order.
   */
  hostKeyAlgorithm?: string;
  /**
   * While clusterSecret rotates on a cloud: the key derived from the previous secret, accepted as well as the pinned
   * one (a machine not rolled yet still presents it; its install step installs the new one). Only with a pin.
   */
  previousHostKeyFingerprint?: string;
  /** Whether `hostKeyFingerprint` came from config or was recorded in state on first use (wording of errors). */
  hostKeySource?: "config" | "state";
  bastion?: SshBastion;
  /** Where this host sits in the stack config, used in messages ("baremetal.hosts[2]"). */
  configPath?: string;
}

/** "m1 (10.0.0.11:22)" or "10.0.0.11:22", plus " via bastion b1" when jumping. */
export function describeTarget(t: { name?: string; host: string; port?: number; bastion?: SshBastion }): string {
  const addr = `${t.host}:${t.port ?? 22}`;
  const base = t.name && t.name !== t.host ? `${t.name} (${addr})` : addr;
  return t.bastion ? `${base} via bastion ${t.bastion.name ?? t.bastion.host}` : base;
}

/** Identity of an SSH endpoint for connection reuse and TOFU memory. */
export function endpointKey(t: { host: string; port?: number; user: string; bastion?: SshBastion }): string {
  const b = t.bastion ? `${endpointKey(t.bastion)}->` : "";
  return `${b}${t.user}@${t.host}:${t.port ?? 22}`;
}
