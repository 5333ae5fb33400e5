#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# lab-up.sh N [--user-data hK=FILE]... : bring up lab hosts h1..hN (1-14) on this machine, as root. N=0: only the
# bridge, the apt proxy and the artifact mirror (what `npm run up` needs on a machine with no package source).
# Each host: systemd-nspawn --boot over an overlay of one cached Debian 12 base, own netns on bridge $BR
# ($NET.0/24, no default route), sshd with the lab key and fixed host keys, cloud-init NoCloud seed.
# Also: apt-cacher-ng and the artifact mirror on the bridge address. A running lab is reused: hosts that are
# already up with the same base and user-data are kept, missing ones are started, changed ones are recreated.
# See lab/README.md for knobs and outputs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export LOG_TAG=lab-up
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"
. "$HERE/lib/net.sh"
. "$HERE/lib/base.sh"
. "$HERE/lib/hosts.sh"
. "$HERE/lib/mirror.sh"
. "$HERE/lib/outputs.sh"

usage() { echo "usage: lab-up.sh N [--user-data hK=FILE]...   (N = 0..$MAX_HOSTS; 0 = bridge, apt proxy, mirror)" >&2; exit 2; }
N=${1:-3}; shift || true
if ! [[ $N =~ ^[0-9]+$ ]] || [ "$N" -gt "$MAX_HOSTS" ]; then usage; fi
declare -A USER_DATA=()
while [ $# -gt 0 ]; do
  case $1 in
    --user-data) [[ ${2:-} =~ ^(h[0-9]+)=(.+)$ ]] || usage
      [ -r "${BASH_REMATCH[2]}" ] || die "--user-data ${BASH_REMATCH[1]}: cannot read ${BASH_REMATCH[2]}"
      USER_DATA[${BASH_REMATCH[1]}]=$(realpath "${BASH_REMATCH[2]}"); shift 2 ;;
    *) usage ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root (the lab creates a bridge, mounts and containers)"

log "lab $LAB: $N host(s) on $BR $NET.0/24"
# Every machine's systemd takes inotify instances from root's one limit (about 8 each; the local provider's
# preflight counts them): 14 hosts and a local cluster pass the default 128, and a machine past it dies at boot.
if [ "$(cat /proc/sys/fs/inotify/max_user_instances)" -lt 1024 ]; then
  sysctl -qw fs.inotify.max_user_instances=1024 && log "raised fs.inotify.max_user_instances to 1024 (test machine)"
fi
bash "$HERE/host-deps.sh" >/dev/null
mkdir -p "$LAB/hosts" "$LAB/run"
ensure_bridge
ensure_acng
ensure_ssh_keys
[ "$N" = 0 ] || build_base   # hosts only
ensure_mirror

# Default user-data proves the NoCloud path ran; LAB_USER_DATA replaces it for every host, --user-data per host.
DEFAULT_UD=$LAB/run/default-user-data
printf '#cloud-config\nruncmd:\n  - [sh, -c, "echo cloud-init user-data ran on $(hostname) > /root/cloud-init-ran"]\n' >"$DEFAULT_UD"

started=()
for i in $(seq 1 "$N"); do
  n=h$i; ud=${USER_DATA[$n]:-${LAB_USER_DATA:-$DEFAULT_UD}}
  if host_running "$n"; then
    if [ "$(host_spec "$n" "$ud")" = "$(cat "$(host_dir "$n")/spec" 2>/dev/null)" ]; then continue; fi
    log "$n runs with another base or user-data: recreating it"
  fi
  stop_host "$n"
  start_host "$n" "$ud"
  started+=("$n")
done
running=(); for n in $(known_hosts_dirs); do host_running "$n" && running+=("$n"); done
write_client_files "${running[@]}"
if [ ${#started[@]} = 0 ]; then
  log "reusing running lab: ${running[*]} (nothing to start)"
else
  log "started ${started[*]}; waiting for sshd"
  for n in "${started[@]}"; do
    ok=0
    for _ in $(seq 1 300); do
      ssh -F "$LAB/ssh/config" -o ConnectTimeout=2 "$n" true 2>/dev/null && { ok=1; break; }
      host_running "$n" || { tail -20 "$(host_dir "$n")/console.log" >&2; die "$n: systemd-nspawn exited; see $(host_dir "$n")/console.log"; }
      sleep 0.2
    done
    [ $ok = 1 ] || die "$n: no ssh after 60 s; see $(host_dir "$n")/console.log"
  done
  log "ssh OK on ${started[*]}; waiting for cloud-init"
  pids=()
  for n in "${started[@]}"; do
    ssh -F "$LAB/ssh/config" "$n" 'cloud-init status --wait >/dev/null 2>&1; cloud-init status' \
      >"$(host_dir "$n")/cloud-init.status" 2>&1 & pids+=($!)
  done
  wait "${pids[@]}" || true   # specific PIDs: a bare `wait` would also wait for acng and nspawn (pitfall 10)
  for n in "${started[@]}"; do
    grep -q 'status: done' "$(host_dir "$n")/cloud-init.status" ||
      echo "lab-up: WARNING $n cloud-init: $(tr '\n' ' ' <"$(host_dir "$n")/cloud-init.status")" >&2
  done
  log "cloud-init finished"
fi
log "lab is up: ${running[*]}"
cat "$LAB/inventory"
echo "ssh -F $LAB/ssh/config h1      # strict host keys: $LAB/ssh/known_hosts"
echo "apt proxy http://$GW:$PROXY_PORT   artifact mirror $(cat "$LAB/mirror/url")"
