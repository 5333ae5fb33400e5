#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# lab-down.sh [--purge]: stop every lab host and everything lab-up.sh started: containers (SIGTERM to the
# recorded systemd-nspawn PID, SIGKILL after 30 s), their cgroups, overlays and veths, the mirror's HTTP server
# and apt-cacher-ng (recorded PIDs, only while /proc/PID/comm matches), and the bridge. Safe to run twice.
# Keeps the base rootfs, apt cache, keys and mirror for a fast next lab-up; --purge deletes $LAB entirely.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export LOG_TAG=lab-down
. "$HERE/lib/common.sh"
. "$HERE/lib/hosts.sh"
[ "$(id -u)" = 0 ] || die "run as root"

hosts=$(known_hosts_dirs)
for n in $hosts; do host_running "$n" && { kill -TERM "$(cat "$(host_dir "$n")/nspawn.pid")"; }; done   # all at once
for n in $hosts; do stop_host "$n"; done
[ -n "$hosts" ] && log "stopped and removed: ${hosts//$'\n'/ }"

stop_pid() {   # stop_pid PIDFILE COMM
  if pid_alive "$1" "$2"; then
    local p; p=$(cat "$1"); kill -TERM "$p"
    for _ in $(seq 1 50); do [ "$(comm_of "$p")" = "$2" ] || break; sleep 0.1; done
    [ "$(comm_of "$p")" = "$2" ] && kill -KILL "$p"
    log "stopped $2 (pid $p)"
  fi
  rm -f "$1"
}
stop_pid "$LAB/mirror/http.pid" python3
stop_pid "$LAB/acng/pid" apt-cacher-ng
rm -f "$LAB/acng/socket" "$LAB/inventory" "$LAB/lab.json"
if ip link show "$BR" >/dev/null 2>&1; then ip link del "$BR"; log "deleted bridge $BR"; fi

if [ "${1:-}" = --purge ]; then
  if grep -q " $LAB/" /proc/mounts; then die "mounts still under $LAB, not purging"; fi
  rm -rf "$LAB"; log "purged $LAB"
fi
log "done"
