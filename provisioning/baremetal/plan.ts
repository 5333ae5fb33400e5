// Pure decisions of the bare-metal provider: what a change means (replace, update, nothing) and which
// steps an update must run. Tested without SSH or Pulumi.
import type { StepScript } from "../render/ssh-plan";
import { hasUnknowns } from "../dynamic/plain";
import { identityChange } from "../steps/mesos-agent";
import type { StepName } from "../steps/types";
import type { HostPlan } from "./render";
import { lostMachine } from "./identity";
import type { HostOutputs, LegacyHostOutputs } from "./types";

/** Steps whose content hash differs from what last ran on the host, in order. */
export function changedSteps(ran: Record<string, string>, steps: StepScript[]): StepScript[] {
  return steps.filter((s) => ran[s.step] !== s.hash);
}

/** step name → hash, the form recorded in state. */
export function hashesOf(steps: StepScript[]): Record<string, string> {
  return Object.fromEntries(steps.map((s) => [s.step, s.hash]));
}

/**
 * Pure: why an agent must be drained before `toRun` runs on it ("" = it need not): its mesos step restarts it,
 * and Mesos cannot recover it under the identity planned now from the one it ran with (`recorded`, from the
 * state): it comes back as a new agent and every task on it is killed. The rule is the step's own
 * (identityChange, em_identity_additive). `planned` undefined: the plan declares no identity (a master).
 *
 * State written before the identity was recorded (an earlier release) cannot tell: such an agent is drained
 * whenever its mesos step runs, on the safe side. Treating it as recoverable would restart it undrained if the
 * change is one Mesos refuses (its tasks killed, which a rollout must never do); draining for nothing costs one
 * graceful move of its tasks, once (the update records the identity), and the agent is reactivated when it comes
 * back under its old id (provider.ts drainFirst).
 */
export function drainBeforeRestart(recorded: string | undefined, planned: string | undefined,
  toRun: readonly { step: StepName }[]): string {
  if (planned === undefined || !toRun.some((s) => s.step === "mesos")) return "";
  if (recorded === undefined) return "no agent identity recorded by an earlier release: drained to be safe";
  return identityChange(recorded, planned) ?? "";
}

/** The fingerprint a connection must present: a pin from config wins, else the one recorded on first use. */
export function expectedHostKey(news: Pick<HostPlan, "connection">, olds?: Pick<HostOutputs, "hostKey">):
  { fingerprint?: string; source: "config" | "state" } {
  if (news.connection.hostKeyFingerprint) return { fingerprint: news.connection.hostKeyFingerprint, source: "config" };
  return { fingerprint: olds?.hostKey.fingerprint, source: "state" };
}

/** Properties whose change means another machine or another role: delete (drain, clean) then create. */
export function replaceReasons(olds: HostOutputs, news: HostPlan): string[] {
  const r: string[] = [];
  if (olds.cluster !== news.cluster) r.push("cluster");
  if (olds.node.id !== news.node.id) r.push("node.id");
  if (olds.node.role !== news.node.role) r.push("node.role");
  if ((olds.node.pool ?? "") !== (news.node.pool ?? "")) r.push("node.pool");
  // A master replacing its lost machine stays this resource: the update installs it anew (identity.ts lostMachine).
  if (olds.connection.host !== news.connection.host && !lostMachine(olds, news)) r.push("connection.host");
  return r;
}

/**
 * Pure: what the machine's id means for the host (HostProps.machine): "replace", "record" or "" (nothing).
 * A cloud machine made anew has a new id: one lost outside Pulumi and made again by `pulumi up --refresh` (the
 * refresh drops it from the state, the up creates it), or one replaced. Its host is replaced too: delete drains
 * the agent that was there (from a master), create adopts the new machine (waits for its first boot from the
 * user-data, records what ran), where an update would run steps over SSH on a machine still booting, or claim
 * steps ran that never did. An id not known yet is a new machine: a preview, or the engine asking whether a
 * server replaced delete-before-replace takes this host with it (it does: the agent is drained before its server
 * goes). A host recorded without an id (an earlier release) records it, with no command.
 */
export function machineChange(recorded: string | undefined, planned: string | undefined): "replace" | "record" | "" {
  if (planned === undefined) return "";
  if (hasUnknowns(planned)) return "replace";
  if (recorded === undefined) return "record";
  return recorded === planned ? "" : "replace";
}

/** True when the user pinned a key that differs from what we recorded: the update must verify it. */
export function pinChanged(olds: HostOutputs, news: HostPlan): boolean {
  const pin = news.connection.hostKeyFingerprint;
  return !!pin && pin !== olds.hostKey.fingerprint;
}

export interface HostDiff {
  changes: boolean;
  replaces: string[];
  /** Steps an update would run. */
  steps: string[];
  /** The state was written before the shim (a credential or the old closure in it): rewrite it, contact nothing. */
  upgrade: boolean;
}

/**
 * True for outputs written by a release before the shim: they hold the admin password and the serialized
 * closure. The engine keeps old outputs on an unchanged resource, so without one update that state would
 * stay (the password included) and `delete` would still run the old closure.
 */
export function legacyState(olds: LegacyHostOutputs, shim: string): boolean {
  return olds.adminPassword !== undefined || olds.adminUser !== undefined || (olds.__provider !== undefined && olds.__provider !== shim);
}

/** The whole diff. A no-change run gives `changes: false`, so the engine calls nothing and no command is sent. */
export function diffHost(olds: LegacyHostOutputs, news: HostPlan, shim: string): HostDiff {
  const replaces = replaceReasons(olds, news);
  const steps = changedSteps(olds.stepHashes, news.steps).map((s) => s.step);
  // Changes that need no command (new drain settings, a bastion, ...) still update the stored state.
  // Not the configPaths (this host's, the drain's masters'): hints for messages, where earlier releases wrote the
  // entry's index; the name form they have now would otherwise make every host of an upgraded stack "update".
  const recordOnly = stableJson(withoutHints([olds.connection, olds.cleanup, olds.drain, olds.node]))
    !== stableJson(withoutHints([news.connection, news.cleanup, news.drain, news.node]));
  const removedSteps = Object.keys(olds.stepHashes).some((name) => !news.steps.some((s) => s.step === name));
  const upgrade = legacyState(olds, shim);
  // State from before drift checks has nothing for `pulumi refresh` to check the host against: one bookkeeping
  // update (no command) records it, so a host that never changes again is still watched.
  const unwatched = !olds.watch && !!news.watch;
  const changes = replaces.length > 0 || steps.length > 0 || recordOnly || removedSteps || pinChanged(olds, news) || upgrade ||
    unwatched;
  return { changes, replaces, steps, upgrade };
}

/** Pure: `v` without its `configPath` members, at any depth. */
function withoutHints(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutHints);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([k]) => k !== "configPath").map(([k, x]) => [k, withoutHints(x)]));
  }
  return v;
}

/** JSON with sorted keys and without undefined members: the engine does not keep key order. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? "null" : stableJson(x))).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}
