// `npm run restore`: brings a cluster back from a backup (backup.ts), for when its state is lost (a majority of
// masters gone with their disks) or wrong. Every master of the stack must answer over SSH: replace lost machines
// first (`npm run pulumi -- up --refresh` provisions them again). Then, on every master at once:
//   stop Marathon, mesos-master, ZooKeeper → move the current data aside (nothing is deleted) → unpack the backup
//   → start ZooKeeper, wait for its quorum → start mesos-master, then Marathon → the readiness check of `pulumi up`
//   (a Mesos leader, every agent registered again, Marathon answering).
// The cluster is down from the first stop to the Mesos election; agents keep their tasks and register again.
import { ADMIN_USER, deriveCredentials, HEALTH_USER } from "../credentials";
import { waitForReadiness } from "../health/wait";
import { SshPool } from "../ssh/pool";
import { hasMesosLog, type Backup } from "./manifest";
import { describeSeen, masterRefs, probeMasters, type MasterRef } from "./masters";
import { RESTORE_DIR, startScript, stopScript, swapScript } from "./scripts";
import { stampOf } from "./backup";
import type { StackFacts } from "./stack";

export interface RestoreResult {
  /** From the first stop to a ready cluster: how long the cluster was down (and checked). */
  seconds: number;
  /** From the first stop to ZooKeeper's quorum on the restored data. */
  zkSeconds: number;
  /** Per master: where its previous data went. */
  movedAside: Record<string, string>;
}

/** Runs `script` on every master (bash, root); throws naming each master that failed, with its output's tail. */
async function onEvery(pool: SshPool, masters: MasterRef[], what: string, script: (m: MasterRef) => string, timeoutMs = 300_000): Promise<string[]> {
  const rs = await pool.mapHosts(masters, (m) => pool.runScript(m.target, script(m), { shell: "bash", sudo: true, label: what, timeoutMs }));
  const failed = rs.flatMap((r, i) => (r.status === "rejected" ? [`${masters[i].id} (${masters[i].ip}): ${(r.reason as Error).message}`] : []));
  if (failed.length > 0) {
    throw new Error(`restore, ${what}:\n  ${failed.join("\n  ")}\nFix that and run the same \`npm run restore\` again: ` +
      "it starts over from the backup (data moved aside stays where it went)");
  }
  return rs.map((r) => (r as PromiseFulfilledResult<{ stdout: string }>).value.stdout);
}

/** Waits until a majority of the masters' ZooKeeper servers serve with one leader (5 minutes at most). */
async function untilZkQuorum(pool: SshPool, masters: MasterRef[], log: (l: string) => void): Promise<void> {
  const t0 = Date.now();
  const majority = Math.floor(masters.length / 2) + 1;
  for (;;) {
    const seen = await probeMasters(pool, masters);
    const serving = seen.filter((s) => ["leader", "follower", "standalone"].includes(s.zk));
    const leaders = seen.filter((s) => s.zk === "leader" || s.zk === "standalone");
    if (serving.length >= majority && leaders.length === 1) return;
    if (Date.now() - t0 > 300_000) {
      throw new Error(`restore: ZooKeeper has no quorum on the restored data after 5 minutes (${describeSeen(seen)}); ` +
        "check `journalctl -u zookeeper` on each master, then run `npm run restore` again");
    }
    log(`waiting for ZooKeeper's quorum: ${serving.length} of ${masters.length} serving, ${leaders.length} leader(s)`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

/** `backup`: as readBackup returned it (the caller reads it once, to say what a restore would do). */
export async function restore(facts: StackFacts, backup: Backup, log: (line: string) => void = () => {}): Promise<RestoreResult> {
  const { dir: from, manifest, files } = backup;
  const r = facts.readiness;
  // Checked before anything is sent or stopped: the readiness check at the end needs it.
  const clusterSecret = facts.clusterSecret;
  if (!clusterSecret) throw new Error("restore: the stack's clusterSecret was not read (stackFacts(stack, true))");
  if (manifest.cluster !== r.cluster) {
    throw new Error(`--from ${from} is a backup of cluster "${manifest.cluster}", and stack ${facts.stack} runs cluster ` +
      `"${r.cluster}": pass a backup of this cluster, or the stack it came from (--stack ${manifest.stack})`);
  }
  const masters = masterRefs(facts);
  const pool = new SshPool({ retries: 2, backoffMs: 1_000, parallelism: 8 });
  try {
    const seen = await probeMasters(pool, masters);
    log(`masters before the restore: ${describeSeen(seen)}`);
    const gone = seen.filter((s) => s.unreachable);
    if (gone.length > 0) {
      throw new Error(`restore refused: ${gone.map((s) => `${s.id} (${s.ip})`).join(", ")} cannot be reached ` +
        `(${gone[0].unreachable}). A restore puts the backup on every master: replace lost machines first ` +
        `(\`npm run pulumi -- up --refresh --stack ${facts.stack}\` provisions them again), then run it again`);
    }
    const withLog = hasMesosLog(manifest);
    log(`sending the backup of ${manifest.takenAt} (${Object.values(files).reduce((n, b) => n + b.length, 0)} bytes) to ${masters.length} master(s)`);
    const sent = await pool.mapHosts(masters, async (m) => {
      await pool.upload(m.target, { path: `${RESTORE_DIR}/zookeeper.tar.gz`, content: files[manifest.zookeeper.file], mode: "0600" });
      if (withLog) await pool.upload(m.target, { path: `${RESTORE_DIR}/replicated-log.tar.gz`, content: files[manifest.mesosLog.file], mode: "0600" });
    });
    const notSent = sent.flatMap((s, i) => (s.status === "rejected" ? [`${masters[i].id}: ${(s.reason as Error).message}`] : []));
    if (notSent.length > 0) throw new Error(`restore: the backup could not be sent (nothing was stopped): ${notSent.join("; ")}`);

    const t0 = Date.now();
    log("stopping Marathon, mesos-master and ZooKeeper on every master (the cluster is down from here)");
    await onEvery(pool, masters, "stop of marathon, mesos-master, zookeeper", () => stopScript());
    const stamp = stampOf(new Date(t0));
    const outs = await onEvery(pool, masters, "swap of the data for the backup's", () => swapScript(stamp, withLog));
    const movedAside = Object.fromEntries(masters.map((m, i) => [m.id, /moved aside: (.*)/.exec(outs[i])?.[1] ?? ""]));
    await onEvery(pool, masters, "start of zookeeper", () => startScript(["zookeeper"]));
    await untilZkQuorum(pool, masters, log);
    const zkSeconds = Math.round((Date.now() - t0) / 100) / 10;
    log(`ZooKeeper serves the restored data after ${zkSeconds} s; starting mesos-master, then Marathon`);
    await onEvery(pool, masters, "start of mesos-master", () => startScript(["mesos-master"]));
    await onEvery(pool, masters, "start of marathon", () => startScript(["marathon"]));
    const c = deriveCredentials(clusterSecret, r.cluster);
    await waitForReadiness(pool, {
      masters, agents: r.agents, pools: r.pools ?? [], quorum: r.quorum, ports: r.ports, timeoutSeconds: r.timeoutSeconds,
      auth: { mesos: { user: HEALTH_USER, password: c.healthPassword }, marathon: { user: r.adminUser ?? ADMIN_USER, password: c.adminPassword } },
    }, (msg) => log(`readiness: ${msg}`));
    return { seconds: Math.round((Date.now() - t0) / 100) / 10, zkSeconds, movedAside };
  } finally {
    await pool.close();
  }
}
