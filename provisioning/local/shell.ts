// Runs the product shell (provisioning/local/sh/local.sh) for the local provider: one verb, its parameters as
// one JSON object on stdin (never in argv or the environment), its result as the last JSON line of stdout.
// As root directly, otherwise through `sudo -n` (no password prompt: preflight says how to allow it).
import { spawn } from "node:child_process";
import { join } from "node:path";

export const LOCAL_SH = join(__dirname, "sh", "local.sh");

export type LocalVerb =
  | "image-ensure" | "image-remove" | "network-create" | "network-delete" | "network-status"
  | "machine-create" | "machine-start" | "machine-status" | "machine-delete";

export interface RunOptions {
  /** Progress lines (stderr of the script) as they come. */
  log?: (line: string) => void;
  /** Prefix for the command, e.g. ["ip", "netns", "exec", "ns"] (tests run network verbs in a namespace). */
  wrap?: string[];
  /** Default: the process' uid. */
  uid?: number;
  timeoutMs?: number;
}

/** Pure: the argv that runs `verb` as root. */
export function localCommand(verb: LocalVerb, uid: number, wrap: string[] = [], script = LOCAL_SH): string[] {
  const base = [...wrap, "bash", script, verb];
  return uid === 0 ? base : ["sudo", "-n", ...base];
}

/** Pure: the result object of a run (the last non-empty stdout line), or undefined if there is none. */
export function parseResult(stdout: string): Record<string, unknown> | undefined {
  const last = stdout.trim().split("\n").filter((l) => l.trim()).at(-1);
  if (!last) return undefined;
  try {
    const v = JSON.parse(last);
    return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Pure: the error of a failed run: what failed, how, and the last lines the script wrote on stderr. */
export function failureMessage(what: string, verb: LocalVerb, how: string, stderr: string): string {
  const tail = stderr.trim().split("\n").slice(-15).join("\n");
  const sudo = /sudo: (a password is required|a terminal is required)/.test(stderr)
    ? "\n(this needs root: run as root or allow password-less sudo for this user)" : "";
  return `local ${what}: ${verb} failed (${how})${sudo}${tail ? `\n${tail}` : ""}`;
}

/** Runs one verb; resolves with its result, rejects with failureMessage(). */
export function runLocal<T>(what: string, verb: LocalVerb, params: object, opts: RunOptions = {}): Promise<T> {
  const argv = localCommand(verb, opts.uid ?? process.getuid?.() ?? 0, opts.wrap);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "", stderr = "", partial = "";
    const timer = setTimeout(() => child.kill("SIGTERM"), opts.timeoutMs ?? 1_800_000);
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
      partial += b.toString();
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) opts.log?.(l);
    });
    child.on("error", (e) => { clearTimeout(timer); reject(new Error(failureMessage(what, verb, e.message, stderr))); });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result = parseResult(stdout);
      if (code === 0 && result) resolve(result as T);
      else reject(new Error(failureMessage(what, verb, signal ? `killed by ${signal}` : code === 0 ? "no JSON result" : `exit ${code}`, stderr)));
    });
    child.stdin.end(JSON.stringify(params));
  });
}
