// Growing from one master (1 → 3, bare metal and local): the running master's Mesos replicated log is copied to each
// new master before its mesos-master first starts.
//
// Why: a new log replica starts EMPTY and votes only once it hears from --quorum VOTING replicas (Mesos'
// src/log/recover.cpp: "Replica A is in VOTING status. The operator adds replica B. In that case, B will stay in
// EMPTY status forever"). One master is one VOTING replica, so new masters at --quorum=2 would never vote and the
// log would never be written again. Mesos' operational guide says to wipe the log instead, which loses the registry
// (agents, maintenance, quotas). A copy of a replica is what `npm run restore` puts on every master.
//
// When: only at the moment the one master stops writing with --quorum=1. Everything ever chosen is on it then, so a
// copy taken then is a replica that accepted all of it; a later copy could lack what the masters chose since, and
// two such copies would be a majority that does not know it. In the running master's rollout turn (the masters
// pin's `seeded`, HostInputs.logSeed):
// 1. snapshotScript stops its mesos-master, if it runs with --quorum=1, and streams its log;
// 2. the provider uploads the copy to each new master (LOG_SEED) before their create starts;
// 3. its steps restart it with the new --quorum (its gate lets fewer masters than the quorum be up: steps/mesos.ts);
// 4. each new master's create unpacks the copy (unpackScript) before its steps start mesos-master, and deletes it:
//    a replica started from it is never replaced again (it may hold writes the others need).
import { MESOS_LOG, MESOS_WORK_DIR } from "../backup/scripts";

/** Where a new master receives the running master's log (root only): unpacked and deleted by its create. */
export const LOG_SEED = "/var/lib/elastic-mesos/log-seed.tar.gz";

/** snapshotScript's exit code when mesos-master does not run with --quorum=1: no copy (a copy went before). */
export const NOT_ONE = 3;

/**
 * Bash (root) on the running master: when its mesos-master runs with --quorum=1 (asked of the running process, else
 * of systemd's unit), stops it for good (its steps start it with the new --quorum) and streams a gzip'ed tar of
 * its log to stdout. Exits NOT_ONE, touching nothing, when it runs with another quorum.
 */
export function snapshotScript(): string {
  return `set -euo pipefail
pid=$(systemctl show -p MainPID --value mesos-master)
if [ "\${pid:-0}" != 0 ] && [ -r "/proc/$pid/cmdline" ]; then
  q=$(tr '\\0' '\\n' < "/proc/$pid/cmdline" | sed -n 's/^--quorum=//p')
else
  q=$(systemctl show -p ExecStart --value mesos-master | grep -oE -- '--quorum=[0-9]+' | head -n 1 | cut -d= -f2)
fi
[ "$q" = 1 ] || { echo "mesos-master runs with --quorum=\${q:-?}: no copy taken" >&2; exit ${NOT_ONE}; }
[ -d ${MESOS_LOG} ] || { echo "no Mesos replicated log in ${MESOS_LOG}" >&2; exit 4; }
systemctl stop mesos-master
tar -C ${MESOS_WORK_DIR} -czf - replicated_log
`;
}

/** Bash (root) on the running master after a failed copy, send or step: mesos-master runs again, as its unit says. */
export const RESTART_SCRIPT = "systemctl is-active --quiet mesos-master || systemctl start mesos-master\n";

/**
 * Bash (root) on a new master, before its steps: unpacks the copy of `from`'s log in place of any replicated log
 * found there (moved aside, never deleted), then deletes the copy. No copy and a log: one started from it before
 * (kept). Neither: fails, saying why.
 */
export function unpackScript(from: string): string {
  if (!/^m\d+$/.test(from)) throw new Error(`seed: "${from}" is not a master id`);
  return `set -euo pipefail
if [ ! -f ${LOG_SEED} ]; then
  [ -d ${MESOS_LOG} ] && { echo "seed: kept the replicated log started from ${from}'s copy"; exit 0; }
  echo "no copy of ${from}'s replicated log in ${LOG_SEED}: ${from} sends it in its turn, before it restarts with the new --quorum" >&2
  exit 1
fi
mkdir -p ${MESOS_WORK_DIR}
if [ -e ${MESOS_LOG} ]; then
  aside=${MESOS_WORK_DIR}/pre-seed-$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -m 0700 "$aside" && mv -- ${MESOS_LOG} "$aside/" && echo "seed: moved an older replicated log to $aside"
fi
tar -C ${MESOS_WORK_DIR} -xzf ${LOG_SEED} replicated_log
chown -R root:root ${MESOS_LOG}
rm -f -- ${LOG_SEED}
echo "seed: replicated log unpacked from ${from}'s copy"
`;
}
