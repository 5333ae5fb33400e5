// Pure decisions of a rollout: which hosts roll together, how many at once, and what makes a change one
// that must roll (it may restart a daemon) rather than one that may go everywhere at once.
//
// Order on a running cluster (the coordinator, coordinator.ts, enforces it within one `pulumi up`):
// masters one at a time, the leader (of ZooKeeper or Mesos, for the daemons the change restarts) last,
// each gated by its steps' health gates (ZooKeeper quorum, an elected Mesos leader, Marathon answering);
// agents after every master (the program's dependencies), in batches of `rollout.maxUnavailable` per pool.
import type { StepName } from "../steps/types";

/** What a host's inputs carry about its rollout (HostInputs.rollout): plain data, shown in previews. */
export interface RolloutSpec {
  /** "masters" or "pool:<name>": the hosts that take turns. */
  group: string;
  /** Hosts of the group changed at once (masters: 1). */
  slots: number;
  /** Hosts in the group (for "host 2 of 5" and the percentage). */
  size: number;
}

/** Steps whose change may restart a daemon or replace its binaries: such an update takes its turn. */
const DISRUPTIVE: ReadonlySet<StepName> = new Set(["install", "zookeeper", "mesos"]);

/** True when running these steps may restart a daemon (the firewall step restarts nothing: it rolls freely). */
export function disruptive(steps: readonly { step: StepName }[]): boolean {
  return steps.some((s) => DISRUPTIVE.has(s.step));
}

/**
 * Hosts of a group of `size` changed at once: a count (at least 1, at most the group), or a percentage of the
 * group rounded down, at least 1 (Kubernetes' rule for maxUnavailable). Throws on anything else.
 */
export function slotsFor(maxUnavailable: number | string, size: number): number {
  const n = Math.max(1, size);
  if (typeof maxUnavailable === "number" && Number.isInteger(maxUnavailable) && maxUnavailable >= 1) return Math.min(maxUnavailable, n);
  const m = typeof maxUnavailable === "string" ? /^(\d{1,3})%$/.exec(maxUnavailable) : null;
  const pct = m ? Number(m[1]) : NaN;
  if (!(pct >= 1 && pct <= 100)) {
    throw new Error(`rollout.maxUnavailable: "${maxUnavailable}" is neither a count (>= 1) nor a percentage ("25%")`);
  }
  return Math.min(n, Math.max(1, Math.floor((n * pct) / 100)));
}

/** The rollout spec of a master or of an agent of `pool` (a group of `size` hosts). */
export function rolloutSpec(role: "master" | "agent", size: number, maxUnavailable: number | string, pool?: string): RolloutSpec {
  if (role === "master") return { group: "masters", slots: 1, size };
  return { group: `pool:${pool ?? "default"}`, slots: slotsFor(maxUnavailable, size), size };
}

/** What a master leads, as its probe saw it (leader.ts). */
export interface Leadership {
  zookeeper: boolean;
  mesos: boolean;
}

/**
 * Rank of a waiting host: 0 goes first. A master that leads something the update restarts goes after the
 * others: restarting a follower costs no election, restarting the leader costs one. The Mesos leader ranks above
 * the ZooKeeper leader (2 against 1, 3 when it leads both): Mesos elects its next leader among the masters, so a
 * Mesos leader restarted before another master's mesos-master would hand leadership to a master that restarts
 * next, two elections (seen through the CLI when a grow rolled m1, the Mesos leader, before m3, ZooKeeper's, whose
 * zookeeper step restarted nothing). A ZooKeeper election does not end Mesos' leadership (sessions outlive it).
 */
export function rankOf(steps: readonly { step: StepName }[], lead: Leadership | undefined): number {
  if (!lead) return 0;
  // A new package or tarball alone (install) restarts nothing: the daemon's own step, whose unit names the
  // version, restarts it (provisioning/steps/zookeeper.ts, mesos-master.ts).
  const names = new Set(steps.map((s) => s.step));
  const restartsZk = names.has("zookeeper");
  const restartsMesos = names.has("mesos");
  return (lead.zookeeper && restartsZk ? 1 : 0) + (lead.mesos && restartsMesos ? 2 : 0);
}
