# shellcheck shell=bash
# One lab host = one machine of the product's local provider (provisioning/local/sh/lib/machine.sh: systemd-nspawn
# --boot over an overlay of the base rootfs) on the lab bridge, with the lab's naming, keys and cloud-init seed.
# Sourced by lab-up.sh and lab-down.sh. Everything a host owns lives in $LAB/hosts/hN.

host_dir() { echo "$LAB/hosts/$1"; }
host_running() { em_machine_running "$(host_dir "$1")"; }

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
  em_overlay_mount "$BASE" "$H"        # a fresh upper dir: stop_host removed the last one
  echo "$n" >"$R/etc/hostname"
  etc_hosts | install -m644 /dev/stdin "$R/etc/hosts"   # 0644: non-root daemons (zookeeper) must resolve h1..hN
  tr -d - </proc/sys/kernel/random/uuid >"$R/etc/machine-id"
  host_keys_for "$n"
  em_install_host_keys "$LAB/hostkeys/$n" "$R"
  em_networkd "$R" "$ip/24"            # no Gateway=: the only route is the lab /24
  mkdir -p "$R/var/lib/cloud/seed/nocloud"
  printf 'instance-id: %s-%s\nlocal-hostname: %s\n' "$n" "$(cut -c1-8 "$R/etc/machine-id")" "$n" \
    >"$R/var/lib/cloud/seed/nocloud/meta-data"
  install -m600 "$ud" "$R/var/lib/cloud/seed/nocloud/user-data"
  host_spec "$n" "$ud" >"$H/spec"

  # cgroups named lab-hN; on this machine (PID 1 not systemd, cgroup v1) the launcher moves itself into them
  em_machine_boot "$H" "$R" "$n" "$BR" "lab-$n"
}

# stop_host hN: power off (SIGTERM to nspawn = clean shutdown), then remove cgroups (killing what a killed nspawn
# left running), overlay, veth, state. Signals only the recorded PID while /proc/PID/comm still says
# systemd-nspawn, and what runs in the host's own cgroups. Safe to repeat.
stop_host() {
  local n=$1 H
  H=$(host_dir "$n")
  [ -d "$H" ] || return 0
  em_machine_stop "$H" "$n"
  rm -rf "$H"
}

# Hosts that have state under $LAB/hosts, in numeric order.
known_hosts_dirs() { local d; for d in "$LAB"/hosts/h*; do [ -d "$d" ] && basename "$d"; done | sort -V; }
