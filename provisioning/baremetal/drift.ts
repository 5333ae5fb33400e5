// Drift: what `pulumi refresh` sees on a host (the provider's read). A step records, when it has run, a
// digest of the files it declares (mode, owner, group and, but for credential files, their content) and the
// daemons it keeps running. A refresh asks the host for the same facts in one command; a step whose digest
// differs, or one of whose daemons is not active, has its recorded hash replaced by "drift: <why>", so the
// refresh shows the host changed and the next `pulumi up` re-runs just that step, which repairs it. A plain
// no-change `pulumi up` reads nothing and sends nothing.
import { createHash } from "node:crypto";
import { sq } from "../steps/shell";
import type { Step } from "../steps/types";

/** The daemons a step keeps running (other units, such as the firewall's oneshot, are not watched). */
const DAEMON = /^(zookeeper|mesos-master|mesos-agent|marathon)\.service$/;

/** What a step's run is checked against later. `files`: indexes into the cleanup plan's files (small state). */
export interface StepWatch {
  files: number[];
  /** Those of `files` that hold a credential: their mode and owner count, their content is not hashed. */
  secret?: number[];
  digest: string;
  units: string[];
}

/** One file as the host reports it: mode (octal digits), owner, group, and sha256 ("" when not hashed). */
interface FileFact {
  mode: number;
  owner: string;
  group: string;
  sha256: string;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Pure: the digest of a step's files, from rendered specs or from host facts alike. */
function digestOf(entries: { path: string; fact: FileFact | undefined; secret: boolean }[]): string {
  const lines = entries.map(({ path, fact, secret }) => !fact ? `${path} missing`
    : `${path} ${fact.mode.toString(8)} ${fact.owner} ${fact.group} ${secret ? "-" : fact.sha256}`);
  return sha256(lines.join("\n")).slice(0, 16);
}

/** Pure: each step's watch, from the rendered steps; `files` is the cleanup plan's list (indexes point into it). */
export function watchOf(steps: Step[], files: string[]): Record<string, StepWatch> {
  const out: Record<string, StepWatch> = {};
  for (const s of steps) {
    const entries = s.files.map((f) => ({
      path: f.path, secret: f.secret === true,
      fact: { mode: parseInt(f.mode, 8), owner: f.owner, group: f.group, sha256: sha256(f.content) },
    }));
    const units = s.files.map((f) => f.path.slice(f.path.lastIndexOf("/") + 1)).filter((u) => DAEMON.test(u));
    const secret = s.files.filter((f) => f.secret).map((f) => files.indexOf(f.path));
    const indexes = s.files.map((f) => files.indexOf(f.path));
    out[s.name] = { files: indexes, ...(secret.length ? { secret } : {}), digest: digestOf(entries), units };
  }
  return out;
}

/** Shell (root): one line per watched file ("f <i> <mode> <owner> <group> <sha256>" or "f <i> missing") and unit. */
export function driftProbeScript(watch: Record<string, StepWatch>, files: string[]): string {
  const idx = [...new Set(Object.values(watch).flatMap((w) => w.files))]
    .filter((i) => i >= 0 && files[i])
    .sort((a, b) => a - b);
  const units = [...new Set(Object.values(watch).flatMap((w) => w.units))];
  return [
    "set -u",
    ...idx.map((i) => `p=${sq(files[i])}; if [ -e "$p" ]; then printf 'f ${i} %s %s\\n' "$(stat -c '%a %U %G' "$p")" ` +
      `"$(sha256sum <"$p" | cut -c1-64)"; else echo 'f ${i} missing'; fi`),
    ...units.map((u) => `printf 'u %s %s\\n' ${sq(u)} "$(systemctl is-active ${sq(u)} 2>/dev/null || true)"`),
    "",
  ].join("\n");
}

/** Pure: step → why it drifted, from the probe's output. Steps with nothing different are absent. */
export function driftOf(watch: Record<string, StepWatch>, files: string[], stdout: string): Record<string, string> {
  const facts = new Map<number, FileFact>();
  const active = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const f = line.split(" ");
    if (f[0] === "f" && f.length === 6) {
      facts.set(Number(f[1]), { mode: parseInt(f[2], 8), owner: f[3], group: f[4], sha256: f[5] });
    }
    else if (f[0] === "u" && f.length >= 2) active.set(f[1], f[2] ?? "");
  }
  const out: Record<string, string> = {};
  for (const [step, w] of Object.entries(watch)) {
    const why: string[] = [];
    const stopped = w.units.filter((u) => active.get(u) !== "active");
    if (stopped.length) why.push(`${stopped.map((u) => `${u} ${active.get(u) || "not active"}`).join(", ")}`);
    const entries = w.files.map((i) => ({ path: files[i], fact: facts.get(i), secret: (w.secret ?? []).includes(i) }));
    if (digestOf(entries) !== w.digest) {
      const missing = entries.filter((e) => !e.fact).map((e) => e.path);
      const differs = "a file's content, mode or owner differs from what was rendered";
      why.push(missing.length ? `missing ${missing.join(", ")}` : differs);
    }
    if (why.length) out[step] = `drift: ${why.join("; ")}`;
  }
  return out;
}
