// The masters as a backup and a restore reach them: SSH targets with the host keys `pulumi up` pinned or
// recorded (readiness.ts masterTarget: a changed key stops everything before a command is sent), and what each
// one leads right now (the rollout's leadership probe: ZooKeeper's `srvr`, Mesos' master/elected).
import { masterTarget } from "../health/readiness";
import { leadershipFields, leadershipScript } from "../rollout/leader";
import { HostKeyMismatch } from "../ssh/errors";
import type { SshPool } from "../ssh/pool";
import type { SshTarget } from "../ssh/target";
import type { StackFacts } from "./stack";

export interface MasterRef {
  id: string;
  ip: string;
  target: SshTarget;
}

export interface MasterSeen extends MasterRef {
  /** ZooKeeper's mode ("leader", "follower", "standalone"), "" when it does not serve. */
  zk: string;
  /** Mesos' master/elected (1 leads, 0 standby); undefined when mesos-master did not answer. */
  mesos: number | undefined;
  /** Why the master could not be asked (SSH), if so. */
  unreachable?: string;
}

export function masterRefs(f: StackFacts): MasterRef[] {
  return f.readiness.masters.map((m) => ({ id: m.id, ip: m.ip, target: masterTarget(m, f.privateKey, f.readiness.hostKeys ?? {}) }));
}

/** Pure: the leadership probe's answer. */
export function parseSeen(ref: MasterRef, stdout: string): MasterSeen {
  const { zookeeper, mesos } = leadershipFields(stdout);
  return { ...ref, zk: zookeeper, mesos: mesos === "" || !Number.isFinite(Number(mesos)) ? undefined : Number(mesos) };
}

/** Asks every master what it leads. A changed host key throws; an unreachable master is reported as such. */
export async function probeMasters(pool: SshPool, masters: MasterRef[]): Promise<MasterSeen[]> {
  const results = await pool.mapHosts(masters, (m) =>
    pool.runScript(m.target, leadershipScript(m.ip), { shell: "bash", sudo: true, label: "leadership probe", okCodes: "any", timeoutMs: 30_000 }));
  return masters.map((m, i) => {
    const r = results[i];
    if (r.status === "fulfilled") return parseSeen(m, r.value.stdout);
    if (r.reason instanceof HostKeyMismatch) throw r.reason;
    return { ...m, zk: "", mesos: undefined, unreachable: (r.reason as Error).message.split("\n")[0] };
  });
}

/** "m1 (10.0.0.11): zookeeper leader, mesos standby" lines for messages. */
export function describeSeen(seen: MasterSeen[]): string {
  return seen.map((s) => `${s.id} (${s.ip}): ` + (s.unreachable ? `unreachable (${s.unreachable})`
    : `zookeeper ${s.zk || "not serving"}, mesos ${s.mesos === 1 ? "leader" : s.mesos === 0 ? "standby" : "not answering"}`)).join("; ");
}
