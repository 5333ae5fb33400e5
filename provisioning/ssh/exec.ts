// Running commands: streamed output line by line, exit code, a deadline, sudo for non-root users,
// and typed errors that carry the tail of the output. Scripts travel on stdin, never on the command
// line, so their content (which may hold credentials) never shows up in `ps` on the host.
import type { ClientChannel } from "ssh2";
import type { SshConnection } from "./connect";
import { CommandFailed, ConnectionDropped, SshTimeout, SudoPasswordRequired } from "./errors";

export interface ExecOptions {
  /** What the command is, in words, for messages ("step 2/3 zookeeper"). Default: the command itself. */
  label?: string;
  /** Run as root through `sudo -n` when the login user is not root. */
  sudo?: boolean;
  /** Bytes written to the command's stdin, then EOF. */
  stdin?: string | Buffer;
  /** Deadline for the whole command. Default 10 min. */
  timeoutMs?: number;
  /** Called for every complete output line as it arrives. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Exit codes that are not failures (default [0]). Pass "any" to get the result whatever the code. */
  okCodes?: number[] | "any";
  /** Lines of output kept for error messages. Default 20. */
  tailLines?: number;
  /** Takes stdout's bytes as they arrive (a download: binary, any size); stdout is then neither kept nor split. */
  stdoutSink?: (chunk: Buffer) => void;
}

export interface ExecResult {
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  /** Last lines of stdout+stderr, interleaved as they arrived. */
  tail: string[];
}

/** Cap on captured stdout/stderr; commands whose output we parse (curl, health probes) are far smaller. */
const MAX_CAPTURE = 1 << 20;

/** POSIX shell single-quoting. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Wrap a command in `sudo -n` unless we already are root. */
export function withSudo(user: string, command: string, sudo: boolean | undefined): string {
  return sudo && user !== "root" ? `sudo -n -- /bin/sh -c ${shellQuote(command)}` : command;
}

/** Recognise sudo's own refusals (LC_ALL=C messages of sudo 1.8/1.9). */
export function sudoRefusal(stderr: string): string | undefined {
  if (/sudo: (a )?password is required|a terminal is required/.test(stderr)) return "needs a password (sudo -n refused)";
  if (/is not in the sudoers file|is not allowed to execute|may not run sudo/.test(stderr)) return "is not allowed by the host's sudoers";
  if (/sudo: (command )?not found/.test(stderr)) return "cannot work: sudo is not installed on the host";
  return undefined;
}

/** Splits a byte stream into lines, keeping an unterminated remainder until the next chunk. */
export class LineSplitter {
  private rest: string;
  // No field initializers in this folder: the dynamic-provider serializer rebuilds classes from their
  // constructor text only, so state must be set inside the constructor.
  constructor(private readonly emit: (line: string) => void) {
    this.rest = "";
  }
  push(chunk: string): void {
    const parts = (this.rest + chunk).split("\n");
    this.rest = parts.pop()!;
    for (const p of parts) this.emit(p.replace(/\r$/, ""));
  }
  flush(): void {
    if (this.rest) this.emit(this.rest);
    this.rest = "";
  }
}

/** Run `command` on the connection. Throws CommandFailed, SudoPasswordRequired, ConnectionDropped, SshTimeout. */
export function exec(conn: SshConnection, command: string, opts: ExecOptions = {}): Promise<ExecResult> {
  const label = opts.label ?? JSON.stringify(command.length > 80 ? command.slice(0, 77) + "..." : command);
  const full = withSudo(conn.target.user, command, opts.sudo);
  const keep = opts.tailLines ?? 20;
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const tail: string[] = [];
  const out = { stdout: "", stderr: "" };
  const take = (stream: "stdout" | "stderr") => (line: string) => {
    tail.push(line);
    if (tail.length > keep) tail.shift();
    opts.onLine?.(line, stream);
  };
  const splitters = { stdout: new LineSplitter(take("stdout")), stderr: new LineSplitter(take("stderr")) };

  return new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    let channel: ClientChannel | undefined;
    // Declared before the closures that use it: the dynamic-provider serializer rejects use-before-declaration.
    let timer: NodeJS.Timeout | undefined = undefined;
    let onClose: () => void = () => {};
    const done = (err: Error | undefined, res?: ExecResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.client.removeListener("close", onClose);
      if (err) reject(err); else resolve(res!);
    };
    const onDrop = (started = true) => {
      splitters.stdout.flush(); splitters.stderr.flush();
      done(new ConnectionDropped(conn.label, label, [...tail], started));
    };
    timer = setTimeout(() => {
      splitters.stdout.flush(); splitters.stderr.flush();
      // Best effort: ask the server to kill it, then drop the channel.
      try { channel?.signal("KILL"); } catch { /* not supported by every server */ }
      channel?.close();
      done(new SshTimeout(conn.label, label, timeoutMs, [...tail]));
    }, timeoutMs);
    // On a transport close ssh2 first emits "close", then fails pending requests synchronously: an
    // unconfirmed channel open gets "No response from server" (exec request never sent), a pending exec
    // gets "Unable to exec" (it may have run). Let that callback speak first; otherwise assume it started.
    onClose = () => setImmediate(() => onDrop(true));
    conn.client.once("close", onClose);
    if (conn.closed) return onDrop(false);
    conn.commands++;
    try {
      conn.client.exec(full, (err, ch) => {
        // The session channel was never opened ("Channel open failure", or the transport closed while the
        // open was pending): the exec request was never sent. Otherwise it may have run.
        if (err) {
          const notSent = /Channel open failure|No response from server/.test(err.message);
          return done(new ConnectionDropped(conn.label, label, [`(${err.message})`], !notSent));
        }
        channel = ch;
        let code: number | null | undefined;
        let signal: string | undefined;
        ch.on("exit", (c: number | null, sig?: string) => { code = c; signal = sig ?? undefined; });
        ch.on("data", (d: Buffer) => {
          if (opts.stdoutSink) return opts.stdoutSink(d);
          const s = d.toString("utf8");
          if (out.stdout.length < MAX_CAPTURE) out.stdout += s;
          splitters.stdout.push(s);
        });
        ch.stderr.on("data", (d: Buffer) => { const s = d.toString("utf8"); if (out.stderr.length < MAX_CAPTURE) out.stderr += s; splitters.stderr.push(s); });
        ch.on("close", () => {
          splitters.stdout.flush(); splitters.stderr.flush();
          // A channel that closes without an exit status means the session died under us.
          if (code === undefined) return onDrop();
          const res: ExecResult = { code, signal, stdout: out.stdout, stderr: out.stderr, tail: [...tail] };
          if (opts.sudo && conn.target.user !== "root" && code !== 0) {
            const why = sudoRefusal(out.stderr);
            if (why) return done(new SudoPasswordRequired(conn.label, conn.target.user, why));
          }
          const ok = opts.okCodes === "any" || (code !== null && (opts.okCodes ?? [0]).includes(code));
          done(ok ? undefined : new CommandFailed(conn.label, label, code, signal, [...tail]), res);
        });
        if (opts.stdin !== undefined) ch.end(opts.stdin); else ch.end();
      });
    } catch (e) {
      // "Not connected": nothing was sent.
      done(new ConnectionDropped(conn.label, label, [`(${(e as Error).message})`], false));
    }
  });
}

export interface ScriptOptions extends Omit<ExecOptions, "stdin"> {
  /** Interpreter reading the script on stdin. Default "/bin/sh"; the bootstrap's step scripts need "bash". */
  shell?: "/bin/sh" | "bash";
}

/** Run a script sent on stdin (`<shell> -s`), as root when `sudo` is set. */
export function runScript(conn: SshConnection, script: string, opts: ScriptOptions = {}): Promise<ExecResult> {
  const { shell, ...rest } = opts;
  return exec(conn, `${shell ?? "/bin/sh"} -s`, { label: "script", ...rest, stdin: script });
}
