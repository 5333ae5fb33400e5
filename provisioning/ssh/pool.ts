// Connection reuse per host, shared bastions, bounded parallelism across hosts, and the command
// counter the benchmark reports. The one object a caller keeps for a whole `pulumi up`.
import { connect, forwardThrough, type ConnectOptions, type SshConnection } from "./connect";
import { ConnectionDropped } from "./errors";
import { exec, runScript, type ExecOptions, type ExecResult, type ScriptOptions } from "./exec";
import type { SeenHostKey } from "./hostkey";
import { endpointKey, type SshTarget } from "./target";
import { upload, type UploadFile } from "./upload";

export interface PoolOptions extends ConnectOptions {
  /** Hosts worked on at the same time by `mapHosts`. Default 8. */
  parallelism?: number;
}

export interface PoolStats {
  /** Commands started over SSH (exec, scripts, uploads), all hosts. */
  commands: number;
  /** SSH connections opened (bastions included). */
  connects: number;
}

/** Run `fn` over `items` with at most `limit` in flight; every item runs, results keep their order. */
export async function mapSettled<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  if (!(limit >= 1)) throw new Error(`parallelism must be at least 1, got ${limit}`);
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: "fulfilled", value: await fn(items[i], i) };
      } catch (reason) {
        results[i] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export class SshPool {
  readonly stats: PoolStats;
  /** Host keys seen by this pool, by endpoint: a key seen once must be seen again (TOFU within a run). */
  readonly seenKeys: Map<string, SeenHostKey>;
  private readonly conns: Map<string, Promise<SshConnection>>;

  // State is set in the constructor, not in field initializers: this class is serialized into the
  // dynamic provider, and the serializer rebuilds a class from its constructor text only.
  constructor(readonly opts: PoolOptions = {}) {
    this.stats = { commands: 0, connects: 0 };
    this.seenKeys = new Map();
    this.conns = new Map();
  }

  /** A live connection to `target`, reusing the open one if any. */
  connection(target: SshTarget): Promise<SshConnection> {
    const key = endpointKey(target);
    const cached = this.conns.get(key);
    if (cached) {
      return cached.then((c) => (c.closed ? this.open(key, target) : c), () => this.open(key, target));
    }
    return this.open(key, target);
  }

  private open(key: string, target: SshTarget): Promise<SshConnection> {
    const seen = this.seenKeys.get(key);
    const pinned: SshTarget = target.hostKeyFingerprint || !seen ? target
      : { ...target, hostKeyFingerprint: seen.fingerprint, hostKeySource: "state" };
    const p = connect(pinned, {
      ...this.opts,
      viaBastion: async (b, t) => {
        const bc = await this.connection({ ...b, privateKey: t.privateKey, passphrase: t.passphrase });
        return forwardThrough(bc, t, this.opts.readyTimeoutMs ?? 15_000);
      },
    }).then((c) => {
      this.stats.connects++;
      if (!this.seenKeys.has(key)) this.seenKeys.set(key, c.hostKey);
      return c;
    });
    this.conns.set(key, p);
    p.catch(() => { if (this.conns.get(key) === p) this.conns.delete(key); });
    return p;
  }

  /** Run a command; reconnects once if the connection was found dead before the command left. */
  exec(target: SshTarget, command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.withConnection(target, (c) => exec(c, command, opts));
  }

  /** Run a script sent on stdin (see runScript). */
  runScript(target: SshTarget, script: string, opts: ScriptOptions = {}): Promise<ExecResult> {
    return this.withConnection(target, (c) => runScript(c, script, opts));
  }

  /** Write a file atomically with mode and owner. */
  upload(target: SshTarget, file: UploadFile, opts: Omit<ExecOptions, "stdin" | "sudo"> = {}): Promise<ExecResult> {
    return this.withConnection(target, (c) => upload(c, file, opts));
  }

  /** Work on many hosts with the pool's parallelism bound. */
  mapHosts<T, R>(items: readonly T[], fn: (item: T, i: number) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
    return mapSettled(items, this.opts.parallelism ?? 8, fn);
  }

  /** The host key seen for `target` in this run, if connected already. */
  hostKey(target: SshTarget): SeenHostKey | undefined {
    return this.seenKeys.get(endpointKey(target));
  }

  /** Close every connection (targets first, then bastions). */
  async close(): Promise<void> {
    const all = await Promise.allSettled([...this.conns.values()]);
    this.conns.clear();
    const live = all.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    for (const c of live.filter((c) => c.target.bastion)) c.client.end();
    for (const c of live.filter((c) => !c.target.bastion)) c.client.end();
  }

  private async withConnection(target: SshTarget, run: (c: SshConnection) => Promise<ExecResult>): Promise<ExecResult> {
    const conn = await this.connection(target);
    this.stats.commands++;
    try {
      return await run(conn);
    } catch (e) {
      // Only when the command provably never reached the host: reconnect and send it once more.
      if (!(e instanceof ConnectionDropped) || e.started) throw e;
      conn.closed = true;
      return run(await this.connection(target));
    }
  }
}
