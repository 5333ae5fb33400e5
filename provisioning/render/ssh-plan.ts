// Step[] → what an SSH runner executes: per step one self-contained, idempotent bash script (the helper
// library, the files written atomically with owner and mode only when they differ, the commands, then the
// health gate retried until its timeout), plus a content hash. #cloud-config embeds the very same scripts.
import { createHash } from "node:crypto";
import { sq } from "../steps/shell";
import type { FileSpec, Step, StepName } from "../steps/types";
import { scriptHeader, shellLib } from "./shell-lib";

export interface StepScript {
  step: StepName;
  index: number;
  title: string;
  /** Run as root with bash (e.g. `sudo bash -s` fed on stdin): never on a command line, it may hold secrets. */
  script: string;
  /** sha256 of `script`: unchanged hash ⇒ re-running is a no-op on a healthy host (the runner may skip it). */
  hash: string;
  /** The script writes credential files: treat it as a secret (no logs, no plain state). */
  secret: boolean;
}

/** Steps of a node: 4 (firewall, install, zookeeper, mesos); 3 on cloud masters, which need no host firewall. */
export const STEP_COUNT = 4;
const EOF_MARK = "EM_EOF";
const SCRIPT_EOF = "EM_STEP_SCRIPT_EOF";

/** Where every host keeps its step scripts (root only), so that an operator can re-run one by hand. */
export const STEPS_DIR = "/var/lib/elastic-mesos/steps";

export function stepFileName(index: number, name: string): string {
  return `${index}-${name}.sh`;
}

export function renderStepScripts(steps: Step[]): StepScript[] {
  return steps.map((step) => {
    const script = renderStepScript(step, steps.length);
    return {
      step: step.name,
      index: step.index,
      title: step.title,
      script,
      hash: createHash("sha256").update(script).digest("hex"),
      secret: step.files.some((f) => f.secret === true),
    };
  });
}

export function renderStepScript(step: Step, total = STEP_COUNT): string {
  const { head, body } = stepScriptParts(step, total);
  return `${head}${shellLib()}${body}`;
}

/**
 * A step script around its helper library: the script is `head + shellLib() + body`. Cloud first boots ship the
 * library once for all steps and put each script back together on the machine (render/cloud-config.ts).
 */
export function stepScriptParts(step: Step, total = STEP_COUNT): { head: string; body: string } {
  const label = `${step.index}/${total} ${step.name}`;
  const g = step.gate;
  if (!Number.isInteger(g.timeoutSeconds) || g.timeoutSeconds <= 0) throw new Error(`step ${label}: gate timeout must be a positive number of seconds`);
  const body = [
    "",
    // Before anything is changed, whoever runs the step (SSH, cloud-init, an operator): one run at a time,
    // a host of another cluster refused, and the script kept where the README says it is.
    "em_host_lock",
    ...(step.owner ? [`em_owner ${[step.owner.cluster, step.owner.id, ...(step.owner.previousId ? [step.owner.previousId] : [])].map(sq).join(" ")}`] : []),
    `em_keep ${stepFileName(step.index, step.name)}`,
    "em_watchdog # the step's deadline (EM_STEP_SECONDS), whoever runs it",
    `# Health gate: ${g.description}.`,
    "em_gate_check() {",
    indent(g.script),
    "}",
    "",
    ...(step.files.length ? ["# Files", ...step.files.map((f) => putFile(f, label))] : []),
    ...(step.commands.length ? ["# Commands", ...step.commands] : []),
    `em_gate ${g.timeoutSeconds} ${sq(g.description)} ${sq(g.hint)}`,
    "em_done",
    "",
  ].join("\n");
  return { head: `${scriptHeader(label, step.title)}\n`, body };
}

/**
 * What the SSH runner sends (`bash -s`) to run a step: the script, copied to a root-only temp file in /run and
 * run from there, so that it keeps itself in STEPS_DIR (em_keep) once it holds the host's lock and has checked
 * the owner. The temp file goes when the step ends.
 */
export function sshDelivery(s: Pick<StepScript, "script">): string {
  if (s.script.split("\n").includes(SCRIPT_EOF)) throw new Error(`a step script contains a line "${SCRIPT_EOF}"`);
  return [
    "set -eu",
    "umask 077",
    'r="${EM_RUN:-/run/elastic-mesos}"', // EM_RUN: tests only, as in em-lib.sh
    'install -d -m 0700 "$r"',
    'f=$(mktemp "$r/step-XXXXXX")',
    `trap 'rm -f "$f"' EXIT`,
    // A here-doc ends its text with a newline: one the script does not have is cut off again (byte for byte).
    s.script.endsWith("\n") ? `cat >"$f" <<'${SCRIPT_EOF}'` : `head -c -1 >"$f" <<'${SCRIPT_EOF}'`,
    s.script.endsWith("\n") ? s.script.slice(0, -1) : s.script,
    SCRIPT_EOF,
    `bash "$f" </dev/null`,
    "",
  ].join("\n");
}

/** The step script inside an sshDelivery text (what ran), or the text itself when it is not one. */
export function deliveredScript(text: string): string {
  for (const [open, nl] of [[`\ncat >"$f" <<'${SCRIPT_EOF}'\n`, "\n"], [`\nhead -c -1 >"$f" <<'${SCRIPT_EOF}'\n`, ""]]) {
    const i = text.indexOf(open);
    const j = text.lastIndexOf(`\n${SCRIPT_EOF}\n`);
    if (i >= 0 && j >= i) return `${text.slice(i + open.length, j)}${nl}`;
  }
  return text;
}

function putFile(f: FileSpec, label: string): string {
  if (!/^\/[A-Za-z0-9._\-\/]+$/.test(f.path)) throw new Error(`step ${label}: file path "${f.path}" is not a plain absolute path`);
  if (!/^0[0-7]{3}$/.test(f.mode)) throw new Error(`step ${label}: ${f.path} mode "${f.mode}" must be an octal string like "0644"`);
  for (const who of [f.owner, f.group]) {
    if (!/^[a-z_][a-z0-9_-]*$/.test(who)) throw new Error(`step ${label}: ${f.path} owner/group "${who}" is not a user or group name`);
  }
  if (f.secret && /[0-7][0-7][1-7]$/.test(f.mode)) throw new Error(`step ${label}: ${f.path} carries a credential but mode ${f.mode} is world-accessible`);
  const head = `em_put ${f.path} ${f.mode} ${f.owner} ${f.group}`;
  if (f.content === "") return `${head} </dev/null`;
  const nonl = !f.content.endsWith("\n");
  const body = nonl ? f.content : f.content.slice(0, -1);
  if (body.split("\n").includes(EOF_MARK)) throw new Error(`step ${label}: ${f.path} contains a line "${EOF_MARK}"`);
  return `${head}${nonl ? " nonl" : ""} <<'${EOF_MARK}'\n${body}\n${EOF_MARK}`;
}

function indent(script: string): string {
  return script
    .split("\n")
    .map((l) => (l === "" ? l : `  ${l}`))
    .join("\n");
}
