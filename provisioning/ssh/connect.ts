// Opening SSH connections: host key verification, jump hosts, and retries with backoff on
// connection-level faults only (refused, reset, timed out, no route). Nothing is ever executed here,
// so retrying a connect is always safe.
import type { Client, ClientChannel, ServerHostKeyAlgorithm } from "ssh2";
import { AuthFailed, HostUnreachable, SshError } from "./errors";
import { HostKeyCheck, type SeenHostKey } from "./hostkey";
import { describeTarget, type SshBastion, type SshTarget } from "./target";

export interface ConnectOptions {
  /** Deadline for TCP connect + SSH handshake + authentication of one attempt. Default 15 s. */
  readyTimeoutMs?: number;
  /** Extra attempts after a connection-level fault. Default 3. */
  retries?: number;
  /** First backoff; doubles each retry (500 ms → 1 s → 2 s ...). Default 500 ms. */
  backoffMs?: number;
  /** SSH keepalive so a silently dead host is noticed. Default 10 s. */
  keepaliveMs?: number;
  /** Opens the channel to the target through a bastion; given by the pool so bastions are shared. */
  viaBastion?: (b: SshBastion, target: SshTarget) => Promise<ClientChannel>;
}

/** A live connection plus what we learned about the host. */
export interface SshConnection {
  client: Client;
  target: SshTarget;
  label: string;
  hostKey: SeenHostKey;
  /** Set once the transport is gone; a dead connection is never reused. */
  closed: boolean;
  /** Commands started on this connection. */
  commands: number;
}

/** Error codes that mean "the host (or its sshd) is not there yet": safe and useful to retry. */
// (An array, not a Set: this code is serialized into the dynamic provider, which copies plain values only.)
const RETRYABLE_SOCKET = ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "EPIPE", "ECONNABORTED"];

/** Internal: a failed attempt, with whether it may be retried. */
export class AttemptError extends Error {
  constructor(readonly reason: string, readonly retryable: boolean, readonly final?: SshError) {
    super(reason);
    this.message = reason; // see SshError: serialized subclasses of Error must set their fields by hand
  }
}

/** Connect with retries; throws a typed SshError (HostUnreachable, AuthFailed, HostKeyMismatch). */
export async function connect(target: SshTarget, opts: ConnectOptions = {}): Promise<SshConnection> {
  const retries = opts.retries ?? 3;
  const backoff = opts.backoffMs ?? 500;
  let last: AttemptError | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await sleep(backoff * 2 ** (attempt - 1));
    try {
      return await connectOnce(target, opts);
    } catch (e) {
      if (!(e instanceof AttemptError)) throw e;
      if (e.final) throw e.final;
      last = e;
      if (!e.retryable) break;
    }
  }
  const attempts = last?.retryable === false ? 1 : retries + 1;
  throw unreachable(target, last?.reason ?? "unknown error", attempts);
}

export function unreachable(target: SshTarget, reason: string, attempts: number): HostUnreachable {
  const port = target.port ?? 22;
  const path = target.configPath ? ` (${target.configPath}.address/.port)` : "";
  const fix = target.bastion
    ? `check that ${target.host}:${port}${path} is reachable from bastion ${target.bastion.host} and that sshd runs there`
    : `check that the host is up, that sshd listens on port ${port}${path} and that a firewall lets this machine in ` +
      `(try: ssh -p ${port} ${target.user}@${target.host} true)`;
  return new HostUnreachable(describeTarget(target), reason, attempts, fix);
}

/** One attempt. Rejects with AttemptError so `connect` can decide about retrying. */
export async function connectOnce(target: SshTarget, opts: ConnectOptions): Promise<SshConnection> {
  const { Client } = require("ssh2") as typeof import("ssh2");
  const label = describeTarget(target);
  const check = new HostKeyCheck(target.hostKeyFingerprint, target.hostKeySource ?? "config",
    target.hostKeyFingerprint ? target.previousHostKeyFingerprint : undefined);
  let sock: ClientChannel | undefined;
  if (target.bastion) {
    if (!opts.viaBastion) throw new Error(`${label}: a bastion is configured but no bastion connector was given (use SshPool)`);
    try {
      sock = await opts.viaBastion(target.bastion, target);
    } catch (e) {
      if (e instanceof SshError) throw new AttemptError(e.message, false, e);
      const msg = (e as Error).message;
      // The bastion answers a failed forward with "Connection refused" / "connect failed": the target's sshd is not up.
      throw new AttemptError(`bastion could not open ${target.host}:${target.port ?? 22}: ${msg}`, /refused|connect failed|timed out/i.test(msg));
    }
  }
  const client = new Client();
  client.setMaxListeners(100); // every running command listens for "close"
  return new Promise<SshConnection>((resolve, reject) => {
    let ready = false;
    const fail = (err: AttemptError) => {
      if (ready) return;
      ready = true; // settle once
      client.removeAllListeners("ready");
      client.on("error", () => {});
      client.end();
      sock?.destroy();
      reject(err);
    };
    client.once("ready", () => {
      if (ready) return;
      ready = true;
      const conn: SshConnection = { client, target, label, hostKey: check.result()!, closed: false, commands: 0 };
      client.on("close", () => { conn.closed = true; });
      client.on("end", () => { conn.closed = true; });
      client.on("error", () => { conn.closed = true; }); // surfaced to the running command by its channel
      resolve(conn);
    });
    client.on("error", (err: Error & { level?: string; code?: string }) => {
      if (check.mismatched) return fail(new AttemptError("host key mismatch", false, check.error(target)));
      if (err.level === "client-authentication") {
        const fix = `check the user${target.configPath ? ` (${target.configPath}.user)` : ""} and that the public half of ` +
          `elastic-mesos:sshPrivateKey is in ~${target.user}/.ssh/authorized_keys on the host`;
        return fail(new AttemptError("authentication failed", false, new AuthFailed(label, target.user, fix)));
      }
      if (err.level === "client-timeout") return fail(new AttemptError(`no SSH handshake within ${timeoutOf(opts) / 1000} s`, true));
      if (err.code && RETRYABLE_SOCKET.includes(err.code)) return fail(new AttemptError(err.code, true));
      if (err.level === "client-dns") return fail(new AttemptError(`cannot resolve ${target.host} (${err.code ?? err.message})`, false));
      fail(new AttemptError(err.code ?? err.message, false));
    });
    // The server hung up before we were in (sshd restarting, MaxStartups): worth another try.
    client.on("close", () => fail(new AttemptError("connection closed during the SSH handshake", true)));
    try {
      client.connect({
        host: target.host,
        port: target.port ?? 22,
        username: target.user,
        privateKey: target.privateKey,
        passphrase: target.passphrase,
        sock,
        readyTimeout: timeoutOf(opts),
        keepaliveInterval: opts.keepaliveMs ?? 10_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => check.verify(key),
        ...(target.hostKeyAlgorithm ? { algorithms: { serverHostKey: [target.hostKeyAlgorithm as ServerHostKeyAlgorithm] } } : {}),
      });
    } catch (e) {
      // ssh2 throws synchronously on a key it cannot parse (encrypted without passphrase, truncated, ...).
      fail(new AttemptError("bad private key", false, new SshError("AUTH_FAILED", label,
        `the SSH private key cannot be used (${(e as Error).message})`,
        "set elastic-mesos:sshPrivateKey to an unencrypted OpenSSH or PEM private key: cat ~/.ssh/id_ed25519 | pulumi config set --secret elastic-mesos:sshPrivateKey")));
    }
  });
}

function timeoutOf(opts: ConnectOptions): number {
  return opts.readyTimeoutMs ?? 15_000;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Open a TCP channel from a bastion connection to the target (ssh -J). */
export function forwardThrough(bastion: SshConnection, target: SshTarget, timeoutMs: number): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("forward timed out")), timeoutMs);
    bastion.client.forwardOut("127.0.0.1", 0, target.host, target.port ?? 22, (err, ch) => {
      clearTimeout(timer);
      if (err) reject(err); else resolve(ch);
    });
  });
}

export type { SshBastion };
