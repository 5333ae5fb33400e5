# shellcheck shell=bash
# One lab host = one systemd-nspawn --boot container over an overlay of the base rootfs, on the lab bridge.
# Sourced by lab-up.sh and lab-down.sh. Everything a host owns lives in $LAB/hosts/hN.

host_dir() { echo "$LAB/hosts/$1"; }
host_running() { pid_alive "$(host_dir "$1")/nspawn.pid" systemd-nspawn; }

# The identity of a host's configuration: base image + user-data. A running host is reused only if it matches.
host_spec() { printf 'base=%s user-data=%s\n' "$BASE_KEY" "$(sha256sum <"$2" | cut -c1-16)"; }

etc_hosts() {
  echo "127.0.0.1 localhost"; echo "::1 localhost ip6-localhost ip6-loopback"; echo "$GW labgw"
  local i; for i in $(seq 1 "$MAX_HOSTS"); do echo "$NET.$((10 + i)) h$i"; done
}

# start_host hN USER_DATA_FILE: fresh upper dir, identity files, NoCloud seed, then boot (returns at once).
start_host() {
  local n=$1 ud=$2 ip H R
  ip=$(ip_of "$n"); H=$(host_dir "$n"); R=$H/root
  mkdir -p "$H/upper" "$H/work" "$R"
  mount -t overlay overlay -o "lowerdir=$BASE,upperdir=$H/upper,workdir=$H/work" "$R"
  echo "$R" >"$H/mount"
  echo "$n" >"$R/etc/hostname"
  etc_hosts | install -m644 /dev/stdin "$R/etc/hosts"   # 0644: non-root daemons (zookeeper) must resolve h1..hN
  tr -d - </proc/sys/kernel/random/uuid >"$R/etc/machine-id"
  host_keys_for "$n"
  install -m600 "$LAB/hostkeys/$n"/ssh_host_*_key "$R/etc/ssh/"
  install -m644 "$LAB/hostkeys/$n"/ssh_host_*_key.pub "$R/etc/ssh/"
  mkdir -p "$R/etc/systemd/network"
  printf '[Match]\nName=host0\n\n[Network]\nAddress=%s/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' "$ip" \
    >"$R/etc/systemd/network/10-host0.network"   # no Gateway=: the only route is the lab /24
  mkdir -p "$R/var/lib/cloud/seed/nocloud"
  printf 'instance-id: %s-%s\nlocal-hostname: %s\n' "$n" "$(cut -c1-8 "$R/etc/machine-id")" "$n" \
    >"$R/var/lib/cloud/seed/nocloud/meta-data"
  install -m600 "$ud" "$R/var/lib/cloud/seed/nocloud/user-data"
  host_spec "$n" "$ud" >"$H/spec"

  # PID 1 of this machine is not systemd: --register=no (no machined) and --keep-unit (no D-Bus scope). --keep-unit
  # uses the caller's cgroup, so the launcher first moves itself into per-host cgroups (notes.md pitfalls 1-2);
  # the memory one also gives per-host accounting (memory.usage_in_bytes).
  local memcg d CGS=()
  memcg=/sys/fs/cgroup/memory$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)
  for d in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd "$memcg"; do
    [ -d "$d" ] && { mkdir -p "$d/lab-$n"; CGS+=("$d/lab-$n"); }
  done
  printf '%s\n' "${CGS[@]}" >"$H/cgroups"
  setsid bash -c 'for d in "${@:3}"; do echo $$ > "$d/cgroup.procs"; done
    exec systemd-nspawn -D "$1" -M "$2" --boot --register=no --keep-unit --network-bridge='"$BR"' \
      --resolv-conf=off --console=read-only' _ "$R" "$n" "${CGS[@]}" >"$H/console.log" 2>&1 </dev/null &
  echo $! >"$H/nspawn.pid"
}

# stop_host hN: power off (SIGTERM to nspawn = clean shutdown), then remove cgroups, overlay, veth, state.
# Signals only the recorded PID, and only while /proc/PID/comm still says systemd-nspawn. Safe to repeat.
stop_host() {
  local n=$1 H p d
  H=$(host_dir "$n")
  [ -d "$H" ] || return 0
  if host_running "$n"; then
    p=$(cat "$H/nspawn.pid"); kill -TERM "$p"
    for _ in $(seq 1 150); do [ "$(comm_of "$p")" = systemd-nspawn ] || break; sleep 0.2; done
    if [ "$(comm_of "$p")" = systemd-nspawn ]; then echo "lab: $n did not power off in 30 s, SIGKILL nspawn $p" >&2; kill -KILL "$p"; sleep 1; fi
  fi
  if [ -f "$H/cgroups" ]; then
    while read -r d; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done <"$H/cgroups"
  fi
  if mountpoint -q "$H/root"; then umount "$H/root" 2>/dev/null || umount -l "$H/root"; fi
  ip link del "vb-$n" 2>/dev/null || true
  rm -rf "/run/systemd/nspawn/propagate/$n"
  rm -rf "$H"
}

# Hosts that have state under $LAB/hosts, in numeric order.
known_hosts_dirs() { local d; for d in "$LAB"/hosts/h*; do [ -d "$d" ] && basename "$d"; done | sort -V; }
