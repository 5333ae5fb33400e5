# shellcheck shell=bash
# One machine = one `systemd-nspawn --boot` container over an overlay of a cached image, on a bridge. Sourced by
# local.sh and by the lab (lab/lib/hosts.sh). A machine owns one directory DIR: upper/ work/ (the overlay's
# writable layer), root/ (the mount), nspawn.pid, cgroups (or unit), veth, console.log.

# em_overlay_mount IMAGE DIR: DIR/root = IMAGE under DIR/upper (kept: a restarted machine keeps its changes).
em_overlay_mount() {
  local img=$1 d=$2
  mkdir -p "$d/upper" "$d/work" "$d/root"
  mountpoint -q "$d/root" && return 0
  mount -t overlay overlay -o "lowerdir=$img,upperdir=$d/upper,workdir=$d/work" "$d/root"
  echo "$d/root" >"$d/mount"
}

# em_host_keys KEYDIR COMMENT: fixed ed25519 and ecdsa host keys, generated once and kept, so the key a user or
# the stack state pinned stays valid across restarts and re-creates of the same directory.
em_host_keys() {
  local t
  mkdir -p "$1"; chmod 700 "$1"
  for t in ed25519 ecdsa; do
    [ -f "$1/ssh_host_${t}_key" ] || ssh-keygen -q -t "$t" -N '' -C "$2" -f "$1/ssh_host_${t}_key"
  done
}
em_install_host_keys() {   # em_install_host_keys KEYDIR ROOT
  install -m600 "$1"/ssh_host_*_key "$2/etc/ssh/"
  install -m644 "$1"/ssh_host_*_key.pub "$2/etc/ssh/"
}

# em_networkd ROOT IP/PREFIX [Gateway=G | Route=DEST/32@G]...: host0's static address; no gateway unless given.
em_networkd() {
  local root=$1 addr=$2 a; shift 2
  mkdir -p "$root/etc/systemd/network"
  {
    printf '[Match]\nName=host0\n\n[Network]\nAddress=%s\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' "$addr"
    for a in "$@"; do case $a in Gateway=*) echo "$a" ;; esac; done
    for a in "$@"; do
      case $a in Route=*) a=${a#Route=}; printf '\n[Route]\nDestination=%s\nGateway=%s\n' "${a%@*}" "${a#*@}" ;; esac
    done
  } >"$root/etc/systemd/network/10-host0.network"
}

em_systemd_pid1() { [ -d /run/systemd/system ] && [ "$(em_comm_of 1)" = systemd ]; }

# em_machine_boot DIR ROOT NAME BRIDGE CGNAME [NSPAWN-OPTION...]: boot the container (returns at once;
# em_machine_running says). Extra options: --bind-ro=PATH for paths the machine reads (an offline bundle).
em_machine_boot() {
  local d=$1 root=$2 name=$3 br=$4 cg=$5; shift 5
  local nspawn=(systemd-nspawn -D "$root" -M "$name" --boot --register=no --keep-unit --network-bridge="$br"
    --resolv-conf=off --console=read-only "$@")
  rm -f "$d/unit" "$d/cgroups"
  if em_systemd_pid1; then
    # PID 1 is systemd: a transient service owns the container's cgroup subtree (Delegate=yes), so systemd
    # neither fights nspawn over it nor kills it with the caller. NOT RUN on the machine this was written on
    # (its PID 1 is not systemd, cgroups v1): the path below is the tested one.
    local unit=em-$cg
    systemctl stop "$unit" >/dev/null 2>&1 || true
    systemctl reset-failed "$unit" >/dev/null 2>&1 || true
    systemd-run --quiet --unit="$unit" --collect -p Delegate=yes -p KillMode=mixed -p TimeoutStopSec=30 \
      -p StandardOutput="file:$d/console.log" -p StandardError=inherit -- "${nspawn[@]}" \
      || em_die "$name: systemd-run could not start systemd-nspawn"
    echo "$unit" >"$d/unit"
    systemctl show -p MainPID --value "$unit" >"$d/nspawn.pid"
    return 0
  fi
  # PID 1 is not systemd: --register=no (no machined) and --keep-unit (no D-Bus scope). --keep-unit uses the
  # caller's cgroup, so the launcher first moves itself into cgroups of its own (cgroup v1: the named systemd
  # hierarchy, the unified one if mounted, and memory, which also gives per-machine accounting).
  local memcg p CGS=()
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then      # pure cgroup v2
    CGS+=("/sys/fs/cgroup$(awk -F: '$1=="0"{print $3}' /proc/self/cgroup | sed 's:/$::')/$cg")
  else
    memcg=/sys/fs/cgroup/memory$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)
    for p in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd "$memcg"; do [ -d "$p" ] && CGS+=("${p%/}/$cg"); done
  fi
  for p in "${CGS[@]}"; do mkdir -p "$p"; done
  printf '%s\n' "${CGS[@]}" >"$d/cgroups"
  # shellcheck disable=SC2016  # $$ and "$@" expand in the launcher, not here
  setsid bash -c 'n=$1; shift; for c in "${@:1:n}"; do echo $$ > "$c/cgroup.procs"; done; shift "$n"; exec "$@"' \
    _ "${#CGS[@]}" "${CGS[@]}" "${nspawn[@]}" >"$d/console.log" 2>&1 </dev/null &
  echo $! >"$d/nspawn.pid"
}

em_machine_running() { em_pid_alive "$1/nspawn.pid" systemd-nspawn; }

# em_machine_leader DIR: PID of the container's init (the child of systemd-nspawn).
em_machine_leader() {
  local p; p=$(cat "$1/nspawn.pid")
  awk '{print $1}' "/proc/$p/task/$p/children" 2>/dev/null
}

# em_record_veth DIR: the host side of the container's host0, found by its peer index (nspawn shortens long
# names with a hash, so the name is read, not guessed), kept in DIR/veth for cleanup.
em_record_veth() {
  local leader idx name
  leader=$(em_machine_leader "$1"); [ -n "$leader" ] || return 0
  # "2: host0@if276: ..." inside the container's netns: 276 is the host side's index (/sys is not per netns here)
  idx=$(nsenter -t "$leader" -n ip -o link show host0 2>/dev/null | sed -n 's/^[0-9]*: host0@if\([0-9]*\):.*/\1/p')
  [ -n "$idx" ] || return 0
  name=$(ip -o link show | awk -F': ' -v i="$idx" '$1==i {sub(/@.*/, "", $2); print $2}')
  [ -n "$name" ] && echo "$name" >"$1/veth"
  return 0
}

# em_cgroup_kill CGROUPS_FILE NAME: SIGKILL whatever still runs in the machine's cgroups. A container outlives a
# systemd-nspawn that was killed (its init is re-parented), keeping its address and veth: this ends it.
em_cgroup_kill() {
  local c pids i
  for i in $(seq 1 50); do
    pids=$(while read -r c; do [ -d "$c" ] && find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null; done <"$1" | sort -u)
    [ -z "$pids" ] && return 0
    [ "$i" = 1 ] && em_log "$2: killing $(echo "$pids" | wc -l) process(es) left in its cgroups"
    # shellcheck disable=SC2086  # a list of PIDs
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  em_log "WARNING: $2: processes remain in its cgroups after SIGKILL"
}

# em_machine_stop DIR NAME: power off (SIGTERM to nspawn = clean shutdown; SIGKILL after 30 s), then remove the
# cgroups, the overlay mount and the veth. Signals only the recorded PID while /proc/PID/comm still says
# systemd-nspawn. Keeps DIR (the caller removes it or boots again). Safe to repeat.
em_machine_stop() {
  local d=$1 name=$2 p c veth
  [ -d "$d" ] || return 0
  if [ -f "$d/unit" ]; then
    systemctl stop "$(cat "$d/unit")" >/dev/null 2>&1 || true     # systemd path (see em_machine_boot)
  elif em_machine_running "$d"; then
    p=$(cat "$d/nspawn.pid"); kill -TERM "$p"
    for _ in $(seq 1 150); do [ "$(em_comm_of "$p")" = systemd-nspawn ] || break; sleep 0.2; done
    if [ "$(em_comm_of "$p")" = systemd-nspawn ]; then
      echo "$name did not power off in 30 s, SIGKILL nspawn $p" >&2; kill -KILL "$p"; sleep 1
    fi
  fi
  if [ -f "$d/cgroups" ]; then
    em_cgroup_kill "$d/cgroups" "$name"
    while read -r c; do [ -d "$c" ] && { find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true; }; done <"$d/cgroups"
    rm -f "$d/cgroups"
  fi
  if mountpoint -q "$d/root"; then umount "$d/root" 2>/dev/null || umount -l "$d/root"; fi
  veth=$(cat "$d/veth" 2>/dev/null || echo "vb-$name")
  ip link del "$veth" 2>/dev/null || true
  rm -rf "/run/systemd/nspawn/propagate/$name"
  rm -f "$d/nspawn.pid" "$d/unit" "$d/veth"
}

# em_wait_ssh DIR IP NAME SECONDS: wait until sshd accepts connections; fail early when nspawn exits.
em_wait_ssh() {
  local i
  for i in $(seq 1 $(( $4 * 5 ))); do
    nc -z -w 1 "$2" 22 2>/dev/null && return 0
    em_machine_running "$1" || { tail -20 "$1/console.log" >&2; em_die "$3: systemd-nspawn exited; see $1/console.log"; }
    [ $(( i % 50 )) = 0 ] && em_log "$3: waiting for sshd on $2"
    sleep 0.2
  done
  tail -20 "$1/console.log" >&2
  em_die "$3: no sshd on $2:22 after $4 s; see $1/console.log"
}
