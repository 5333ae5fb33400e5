// Turns validation issues into messages a user can act on: one line per problem, naming the config key
// path exactly as `pulumi config set --path` spells it, the bad value, and what is allowed.
import type { z } from "zod";
import { inspect } from "node:util";
import { RunError } from "@pulumi/pulumi";

export const NAMESPACE = "elastic-mesos";

/** One problem in the stack config. `key` is a `--path` style key without the namespace. */
export interface Problem {
  key: string;
  message: string;
}

/** Keys whose values must never be echoed back (they are credentials). */
const SECRET_KEYS = new Set(["clusterSecret", "sshPrivateKey", "previousClusterSecret"]);

/** `scheme://user:pass@`: the userinfo of any URL in a text (up to the first '/', '?', '#' or '@'). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/?#@\n]*@/gi;
/**
 * Query parameters that carry credentials: token=, access_token=, sig= (Azure SAS), X-Amz-Signature,
 * X-Amz-Credential, X-Amz-Security-Token, X-Goog-Signature, key=, secret=, password= and the like.
 */
const SECRET_PARAM = /([?&;][^=&#\s"]*?(?:token|sig|secret|passw|pwd|key|credential|auth|session)[^=&#\s"]*=)[^&#\s"]*/gi;

/**
 * A URL in an error must not leak what authenticates it: `https://***@host/...`, `?token=***`.
 * Applied to every value echoed and to every problem message (a URL may also reach a message itself).
 */
export function redactUrls(text: string): string {
  return text.replace(URL_USERINFO, "$1***@").replace(SECRET_PARAM, "$1***");
}

/**
 * A RunError: the language host prints its message alone, without a stack trace, and fails the run
 * (a plain Error would show the user our stack frames under the problem list).
 */
export class ConfigError extends RunError {
  problems: Problem[];
  constructor(problems: Problem[]) {
    const safe = problems.map((p) => (redactUrls(p.message) === p.message ? p : { key: p.key, message: redactUrls(p.message) }));
    super(formatProblems(safe));
    this.name = "ConfigError";
    this.problems = safe;
  }

  /**
   * The SDK's runner also records every program error with `util.inspect(err, { colors: true })`, even one it
   * prints without a stack, and inside the runner that took 15-20 s of garbage collection for this error
   * (found through the real CLI). The message is all there is to show.
   */
  [inspect.custom](): string {
    return `${this.name}: ${this.message}`;
  }
}

/** `["agentPools", 1, "count"]` → `agentPools[1].count`. */
export function keyPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(p))) out += out === "" ? String(p) : `.${String(p)}`;
    else out += `[${JSON.stringify(String(p))}]`; // the --path syntax for keys like "r k" or "a.b"
  }
  return out;
}

/** Short, single-line rendering of a bad value: strings quoted, objects as truncated JSON. */
export function showValue(value: unknown): string {
  // Redacted before truncation, so a cut never leaves part of a credential behind.
  if (typeof value === "string") return truncate(redactUrls(JSON.stringify(value)));
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  try {
    return truncate(redactUrls(JSON.stringify(value) ?? String(value)));
  } catch {
    return "(a value that cannot be shown)";
  }
}

function truncate(s: string, max = 80): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: any = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = v[p as any];
  }
  return v;
}

/**
 * One problem per zod issue, in the style
 * `agentPools[1].count: -2 is not allowed; use a whole number from 0 to 1000`.
 * The schema's error texts say what is allowed; this adds the key and the value the user gave.
 */
export function problemsFromIssues(issues: readonly z.core.$ZodIssue[], raw: unknown, prefix: PropertyKey[] = []): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      for (const k of issue.keys) out.push({ key: keyPath([...path, k]), message: `unknown key; ${issue.message}` });
      continue;
    }
    const key = keyPath(path);
    if (issue.code === "invalid_key") {
      const name = String(issue.path[issue.path.length - 1]);
      out.push({ key, message: `the name ${showValue(name)} is not allowed; ${issue.issues[0]?.message ?? issue.message}` });
      continue;
    }
    const value = valueAt(raw, issue.path);
    let what: string;
    if (SECRET_KEYS.has(String(path[0]))) what = value === undefined ? "missing" : "the value given is not allowed";
    else if (value === undefined && issue.code === "custom" && issue.params?.default !== undefined)
      what = `not set, so the default ${showValue(issue.params.default)} applies`; // a rule about a default value
    else if (value === undefined) what = "missing";
    else what = `${showValue(value)} is not allowed`;
    out.push({ key, message: `${what}; ${issue.message}` });
  }
  return out;
}

/** The ConfigError message: a count line, one problem a line, then how to fix. */
export function formatProblems(problems: Problem[]): string {
  const n = problems.length;
  const lines = [`${NAMESPACE}: ${n} problem${n === 1 ? "" : "s"} in stack config`];
  for (const p of problems) lines.push(`  - ${p.key ? `${p.key}: ` : ""}${p.message}`);
  const first = problems.find((p) => p.key && !SECRET_KEYS.has(p.key.split(/[.[]/)[0]));
  lines.push(
    "Fix each key with `pulumi config set --path '" +
      `${NAMESPACE}:<key>' <value>\`` +
      (first ? `, e.g. \`pulumi config set --path '${NAMESPACE}:${first.key}' <value>\`` : "") +
      " (or edit the stack file), then run `pulumi up` again. Nothing was created.",
  );
  return lines.join("\n");
}
