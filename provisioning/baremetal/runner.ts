// The slice of the SSH runner the bare-metal provider and the readiness check use. SshPool implements
// it; unit tests inject a recording fake.
import type { ExecOptions, ExecResult, ScriptOptions } from "../ssh/exec";
import type { SeenHostKey } from "../ssh/hostkey";
import type { SshTarget } from "../ssh/target";

export interface Runner {
  exec(target: SshTarget, command: string, opts?: ExecOptions): Promise<ExecResult>;
  runScript(target: SshTarget, script: string, opts?: ScriptOptions): Promise<ExecResult>;
  connection(target: SshTarget): Promise<{ hostKey: SeenHostKey }>;
  mapHosts<T, R>(items: readonly T[], fn: (item: T, i: number) => Promise<R>): Promise<PromiseSettledResult<R>[]>;
  readonly stats: { commands: number };
  /** Host keys seen in this run, by SSH endpoint (endpointKey). SshPool keeps them; fakes may not. */
  readonly seenKeys?: ReadonlyMap<string, SeenHostKey>;
  close(): Promise<void>;
}

/** curl config text for basic auth, fed on stdin through a here-doc so the password never reaches a command line. */
export function curlAuthHeredoc(user: string | undefined, password: string | undefined): string {
  if (!user || password === undefined) return "/dev/null";
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  return `- <<'EM_CURL_CONFIG'\nuser = "${esc(user)}:${esc(password)}"\nEM_CURL_CONFIG`;
}

/**
 * A curl call (on the host) that prints the body, then a last line with the HTTP status. `cacert`: the CA
 * file on the host that an https URL's server must chain to (the cluster CA); curl then trusts nothing else.
 */
export function curlScript(url: string, auth: { user?: string; password?: string }, opts: { post?: string; timeoutS?: number; cacert?: string } = {}): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const post = opts.post !== undefined ? ` -X POST -H 'Content-Type: application/json' -H 'Accept: application/json' --data-binary ${q(opts.post)}` : "";
  const ca = opts.cacert ? ` --cacert ${q(opts.cacert)}` : "";
  return `curl -sS -L --location-trusted -m ${opts.timeoutS ?? 10}${ca} -w '\\n%{http_code}\\n'${post} ${q(url)} -K ${curlAuthHeredoc(auth.user, auth.password)}\n`;
}

/** Splits curlScript output into body and status (0 when curl itself failed). */
export function parseCurl(output: string): { status: number; body: string } {
  const stdout = output.trimEnd();
  const i = stdout.lastIndexOf("\n");
  const status = Number(stdout.slice(i + 1).trim());
  return { status: Number.isFinite(status) ? status : 0, body: i >= 0 ? stdout.slice(0, i) : "" };
}
