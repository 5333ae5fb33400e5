// The shell a backup and a restore run on the masters (bash, as root, sent on stdin like every step script):
// pure functions of a few constants, tested on their own and on lab hosts (test/e2e/backup.test.ts).
//
// What is copied, and why it is consistent:
// - ZooKeeper's data (`version-2`: snapshots, transaction logs, epoch files) from the server that leads: it holds
//   every committed write. Mesos' leader election and Marathon's state (its apps, groups, deployments) live there.
//   Snapshots are copied before the logs: a ZooKeeper snapshot is fuzzy, and replaying the logs written after it is
//   what makes it exact (how ZooKeeper itself starts); a torn last entry of a log being written is dropped on load.
// - The Mesos replicated log (the registry: agents, maintenance, quotas, weights), a LevelDB database, copied from a
//   master whose mesos-master is stopped for the copy (a standby: no election, the log keeps its quorum); LevelDB
//   files copied while written can be an unreadable database.
import { sq } from "../steps/shell";

export const ZK_DATA = "/var/lib/zookeeper";
export const MESOS_WORK_DIR = "/var/lib/mesos/master";
export const MESOS_LOG = `${MESOS_WORK_DIR}/replicated_log`;
/** Where a restore unpacks its archives on each master before it stops anything (root only). */
export const RESTORE_DIR = "/var/lib/elastic-mesos/restore";
/** The daemons of a master, in the order a restore stops them (it starts them in the reverse order). */
export const MASTER_UNITS = ["marathon", "mesos-master", "zookeeper"] as const;

/** Streams a gzip'ed tar of ZooKeeper's data to stdout (exit 3 when there is none). */
export function zkCopyScript(): string {
  return [
    "set -euo pipefail",
    `cd ${ZK_DATA}`,
    `[ -d version-2 ] || { echo "no ZooKeeper data in ${ZK_DATA}/version-2" >&2; exit 3; }`,
    "t=$(mktemp -d)",
    `trap 'rm -rf -- "$t"' EXIT`,
    'mkdir "$t/version-2"',
    "shopt -s nullglob",
    "# Snapshots first, then the logs and epochs written since: the logs complete the fuzzy snapshots.",
    'snaps=(version-2/snapshot.*)',
    '[ ${#snaps[@]} -gt 0 ] && cp -p -- "${snaps[@]}" "$t/version-2/"',
    'rest=(version-2/log.* version-2/currentEpoch version-2/acceptedEpoch)',
    '[ ${#rest[@]} -gt 0 ] && cp -p -- "${rest[@]}" "$t/version-2/"',
    'tar -C "$t" -czf - version-2',
    "",
  ].join("\n");
}

/**
 * Streams a gzip'ed tar of the Mesos replicated log to stdout, with this master's mesos-master stopped for the
 * copy and started again after it (`stop`: false copies a running one, which only a test may want). Exit 4 when
 * this master has no replicated log (a registry kept elsewhere, or a master that never ran).
 */
export function mesosLogCopyScript(stop = true): string {
  return [
    "set -euo pipefail",
    `[ -d ${MESOS_LOG} ] || { echo "no Mesos replicated log in ${MESOS_LOG}" >&2; exit 4; }`,
    ...(stop
      ? [
          "systemctl stop mesos-master",
          "# Started again whatever happens to the copy.",
          "trap 'systemctl start mesos-master' EXIT",
        ]
      : []),
    `tar -C ${MESOS_WORK_DIR} -czf - replicated_log`,
    "",
  ].join("\n");
}

/** Stops the daemons of a master, Marathon first (it writes to ZooKeeper), ZooKeeper last. */
export function stopScript(): string {
  return ["set -euo pipefail", ...MASTER_UNITS.map((u) => `systemctl stop ${u}`), ""].join("\n");
}

/**
 * With the daemons stopped: moves this master's data aside (into `pre-restore-<stamp>` next to it: nothing is
 * deleted) and unpacks the backup's in its place, owned as the daemons own theirs. `mesosLog`: the backup has one.
 */
export function swapScript(stamp: string, mesosLog: boolean): string {
  if (!/^[0-9TZ]+$/.test(stamp)) throw new Error(`restore: "${stamp}" is not a time stamp`);
  const zkAside = `${ZK_DATA}/pre-restore-${stamp}`;
  const logAside = `${MESOS_WORK_DIR}/pre-restore-${stamp}`;
  return [
    "set -euo pipefail",
    ...MASTER_UNITS.map((u) => `! systemctl is-active --quiet ${u} || { echo "${u} still runs: stop it first" >&2; exit 5; }`),
    `mkdir -p -m 0700 ${sq(zkAside)}`,
    `[ ! -e ${ZK_DATA}/version-2 ] || mv -- ${ZK_DATA}/version-2 ${sq(zkAside)}/`,
    `tar -C ${ZK_DATA} -xzf ${RESTORE_DIR}/zookeeper.tar.gz version-2`,
    `chown -R zookeeper:zookeeper ${ZK_DATA}/version-2`,
    `chmod 0700 ${ZK_DATA}/version-2`,
    ...(mesosLog
      ? [
          `mkdir -p -m 0700 ${sq(logAside)}`,
          `[ ! -e ${MESOS_LOG} ] || mv -- ${MESOS_LOG} ${sq(logAside)}/`,
          `tar -C ${MESOS_WORK_DIR} -xzf ${RESTORE_DIR}/replicated-log.tar.gz replicated_log`,
          `chown -R root:root ${MESOS_LOG}`,
        ]
      : []),
    `rm -rf -- ${RESTORE_DIR}`,
    `echo "moved aside: ${zkAside}${mesosLog ? ` ${logAside}` : ""}"`,
    "",
  ].join("\n");
}

/** Starts the daemons of a master (`units`: a subset of MASTER_UNITS). */
export function startScript(units: readonly (typeof MASTER_UNITS)[number][]): string {
  return ["set -euo pipefail", ...units.map((u) => `systemctl start ${u}`), ""].join("\n");
}
