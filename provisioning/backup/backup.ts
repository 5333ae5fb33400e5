// `npm run backup`: a copy of what a cluster cannot rebuild, taken over SSH into a directory on this machine.
// ZooKeeper's data comes from the server that leads; the Mesos replicated log from a standby master whose
// mesos-master stops for the copy (a single master stops itself: a few seconds without Mesos). Nothing else
// changes on the cluster. The result is verified by `npm run restore` (manifest.ts).
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { SshPool } from "../ssh/pool";
import { MANIFEST, type Manifest, type Piece } from "./manifest";
import { describeSeen, masterRefs, probeMasters, type MasterRef, type MasterSeen } from "./masters";
import { mesosLogCopyScript, zkCopyScript } from "./scripts";
import type { StackFacts } from "./stack";

export interface BackupResult {
  dir: string;
  manifest: Manifest;
}

/** Pure: the UTC stamp of a backup's name ("20261203T101500Z"). */
export function stampOf(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/** Pure: the master to copy ZooKeeper's data from (its leader), or why there is none. */
export function zkSource(seen: MasterSeen[]): MasterSeen | string {
  const leaders = seen.filter((s) => s.zk === "leader" || s.zk === "standalone");
  if (leaders.length === 1) return leaders[0];
  return `ZooKeeper has ${leaders.length === 0 ? "no leader" : `${leaders.length} leaders`} (${describeSeen(seen)}): ` +
    "only a serving ensemble's leader holds every committed write. Bring the masters back first " +
    "(`npm run pulumi -- up --refresh`); if a majority is lost for good, `npm run restore` an earlier backup";
}

/**
 * Pure: the master whose replicated log is copied (its mesos-master stops meanwhile), or why none may stop. With
 * several masters: a standby, and only while every master runs (stopping one of a cluster already missing one
 * could leave the log without its quorum, and the leader would abort). A single master: itself.
 */
export function logSource(seen: MasterSeen[]): MasterSeen | string {
  if (seen.length === 1) return seen[0];
  const missing = seen.filter((s) => s.mesos === undefined);
  if (missing.length > 0) {
    return `a backup stops one standby mesos-master while it copies the replicated log, which needs every master ` +
      `running, and ${missing.map((s) => s.id).join(", ")} ${missing.length > 1 ? "do" : "does"} not answer ` +
      `(${describeSeen(seen)}); bring ${missing.length > 1 ? "them" : "it"} back first (\`npm run pulumi -- up --refresh\`)`;
  }
  const standby = seen.filter((s) => s.mesos === 0);
  // The highest id: masters are listed m1 first, and a user's eye is on m1.
  return standby.at(-1) ?? `no standby Mesos master (${describeSeen(seen)})`;
}

/** Streams a script's stdout into `file` (0600), hashing it. Resolves null on `absentCode`. */
async function download(pool: SshPool, m: MasterRef, script: string, file: string, what: string, absentCode: number): Promise<Omit<Piece, "file"> | null> {
  const part = `${file}.part`;
  const fd = openSync(part, "w", 0o600);
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    const r = await pool.runScript(m.target, script, {
      shell: "bash", sudo: true, label: what, timeoutMs: 1_800_000, okCodes: [0, absentCode],
      stdoutSink: (chunk) => { hash.update(chunk); bytes += chunk.length; writeSync(fd, chunk); },
    });
    closeSync(fd);
    if (r.code === absentCode) {
      rmSync(part, { force: true });
      return null;
    }
    renameSync(part, file);
    return { bytes, sha256: hash.digest("hex"), from: m.id };
  } catch (e) {
    try { closeSync(fd); } catch { /* closed */ }
    rmSync(part, { force: true });
    throw new Error(`${m.id} (${m.ip}) ${what}: ${(e as Error).message}`);
  }
}

export async function backup(facts: StackFacts, to: string, log: (line: string) => void = () => {}): Promise<BackupResult> {
  const t0 = Date.now();
  const cluster = facts.readiness.cluster;
  const masters = masterRefs(facts);
  const pool = new SshPool({ retries: 2, backoffMs: 1_000, parallelism: 8 });
  try {
    const seen = await probeMasters(pool, masters);
    log(`masters: ${describeSeen(seen)}`);
    const zkFrom = zkSource(seen);
    if (typeof zkFrom === "string") throw new Error(`backup refused: ${zkFrom}`);
    const logFrom = logSource(seen);
    if (typeof logFrom === "string") throw new Error(`backup refused: ${logFrom}`);

    const takenAt = new Date(t0);
    const dir = resolve(to, `${cluster}-${stampOf(takenAt)}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    log(`ZooKeeper's data from ${zkFrom.id} (its leader)`);
    const zk = await download(pool, zkFrom, zkCopyScript(), join(dir, "zookeeper.tar.gz"), "copy of ZooKeeper's data", 3);
    if (!zk) throw new Error(`${zkFrom.id} (${zkFrom.ip}) has no ZooKeeper data in /var/lib/zookeeper/version-2`);
    log(`Mesos replicated log from ${logFrom.id} (${seen.length > 1 ? "a standby" : "the only master"}; its mesos-master stops for the copy)`);
    const ml = await download(pool, logFrom, mesosLogCopyScript(), join(dir, "replicated-log.tar.gz"), "copy of the Mesos replicated log", 4);
    if (ml) await untilMesosAnswers(pool, logFrom, log);
    const manifest: Manifest = {
      format: 1,
      cluster,
      stack: facts.stack,
      takenAt: takenAt.toISOString(),
      masters: masters.map((m) => m.id),
      zookeeper: { file: "zookeeper.tar.gz", ...zk },
      mesosLog: ml ? { file: "replicated-log.tar.gz", ...ml } : { absent: `${logFrom.id} has no /var/lib/mesos/master/replicated_log` },
      seconds: Math.round((Date.now() - t0) / 100) / 10,
    };
    writeFileSync(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    return { dir, manifest };
  } finally {
    await pool.close();
  }
}

/** Waits (up to 2 minutes) for the master whose mesos-master stopped for the copy to answer again. */
async function untilMesosAnswers(pool: SshPool, m: MasterRef, log: (line: string) => void): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const [seen] = await probeMasters(pool, [m]);
    if (seen.mesos !== undefined) {
      log(`${m.id}: mesos-master answers again after ${Math.round((Date.now() - t0) / 1000)} s`);
      return;
    }
    if (Date.now() - t0 > 120_000) {
      throw new Error(`${m.id} (${m.ip}): mesos-master does not answer 2 minutes after the copy (the backup itself is ` +
        "complete); check `journalctl -u mesos-master` on it");
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
