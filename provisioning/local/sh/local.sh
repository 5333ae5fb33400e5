#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2154  # P_* come from em_params (JSON on stdin)
# local.sh VERB: the machines of `provider: local` on this Linux machine (systemd-nspawn containers on a bridge).
# Parameters: ONE JSON object on stdin. Result: ONE JSON line on stdout. Progress: stderr, with elapsed seconds.
# Runs as root. Every verb is idempotent. Verbs (parameters -> result):
#   image-ensure   {cacheDir, suite, debianMirror, packages[], aptProxy?}           -> {path, key}
#   image-remove   {path}                                                            -> {removed}
#   network-create {bridge, cidr, egress, stateDir, cluster}                         -> {gateway, forwardingWas?, natTable?}
#   network-delete {bridge, egress?, stateDir, cluster, forwardingWas?}              -> {deleted}
#   network-status {bridge}                                                          -> {bridge, nat} (exist?)
#   machine-create {cluster, name, stateDir, bridge, cidr, gateway, image, egress, aptProxy?, authorizedKey}
#                                                                                    -> {ip, hostKey: {type, publicKey, fingerprint}}
#   machine-start  (same as machine-create; the machine must exist)                 -> same
#   machine-status {stateDir, cluster, name}                                         -> {running, ip?}
#   machine-delete {stateDir, cluster, name}                                         -> {deleted}
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/json.sh"
. "$HERE/lib/image.sh"
. "$HERE/lib/net.sh"
. "$HERE/lib/machine.sh"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

VERB=${1:-}
EM_TAG="local $VERB"
[ "$(id -u)" = 0 ] || em_die "must run as root (the TypeScript side runs it with sudo -n)"

label_ok() { [[ $1 =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]]; }
cluster_dir() {
  label_ok "$P_cluster" || em_die "cluster '$P_cluster' is not a DNS label"
  [[ $P_stateDir == /* ]] || em_die "stateDir '$P_stateDir' must be an absolute path"
  echo "${P_stateDir%/}/$P_cluster"
}
machine_dir() {
  label_ok "$P_name" || em_die "machine name '$P_name' is not a DNS label (a-z, 0-9, '-', at most 63)"
  echo "$(cluster_dir)/$P_name"
}

# ---- image
image_ensure() {
  em_need cacheDir suite debianMirror packages
  [[ $P_cacheDir == /* ]] || em_die "cacheDir '$P_cacheDir' must be an absolute path"
  em_image_ensure "$P_cacheDir" "$P_suite" "$P_debianMirror" "$P_packages" "${P_aptProxy:-}"
  em_result path "$EM_IMAGE_PATH" key "$EM_IMAGE_KEY"
}
image_remove() { em_need path; em_image_remove "$P_path"; em_result removed json:true; }

# ---- network
network_create() {
  em_need bridge cidr egress stateDir cluster
  local cd gw was=""
  cd=$(cluster_dir); em_cidr_check "$P_cidr"
  gw=$(em_int_ip $((EM_NET_BASE + 1)))
  mkdir -p "$cd"
  em_bridge_ensure "$P_bridge" "$gw" "$EM_PREFIX"
  # Whose bridge this is: the preflight of a later run (provisioning/local/preflight.ts) reads it, so a re-run
  # of this stack does not take its own bridge and subnet for someone else's.
  printf '{"bridge": "%s", "cidr": "%s"}\n' "$P_bridge" "$P_cidr" >"$cd/network.json"
  em_log "bridge $P_bridge $gw/$EM_PREFIX up"
  case $P_egress in
    nat)
      em_nat_install "$P_bridge" "$P_cidr"
      was=$(em_forward_on "$cd/forwarding-was")
      em_log "nat: nft table ip $(em_nat_table "$P_bridge") (masquerade $P_cidr), net.ipv4.ip_forward=1 (was $was)"
      em_result gateway "$gw" forwardingWas "$was" natTable "$(em_nat_table "$P_bridge")" ;;
    proxy)
      em_nat_remove "$P_bridge"          # switching from nat: no route out any more
      if [ -f "$cd/forwarding-was" ]; then em_forward_restore "$(cat "$cd/forwarding-was")"; rm -f "$cd/forwarding-was"; fi
      em_result gateway "$gw" ;;
    *) em_die "egress '$P_egress' must be nat or proxy" ;;
  esac
}
network_delete() {
  em_need bridge stateDir cluster
  local cd was; cd=$(cluster_dir)
  em_nat_remove "$P_bridge"
  was=${P_forwardingWas:-$(cat "$cd/forwarding-was" 2>/dev/null || true)}
  [ -n "$was" ] && em_forward_restore "$was"
  em_bridge_delete "$P_bridge"
  rm -f "$cd/forwarding-was" "$cd/alloc.lock" "$cd/network.json"
  [ -d "$cd" ] && rmdir "$cd" 2>/dev/null && em_log "removed $cd"
  rmdir "$P_stateDir" 2>/dev/null || true
  em_result deleted json:true
}

network_status() {
  em_need bridge
  local b=false n=false
  ip link show "$P_bridge" >/dev/null 2>&1 && b=true
  nft list table ip "$(em_nat_table "$P_bridge")" >/dev/null 2>&1 && n=true
  em_result bridge "json:$b" nat "json:$n"
}

# ---- machines
# allocate_ip DIR: DIR/ip = the lowest free address >= .11 of the cidr, chosen under the cluster's flock.
allocate_ip() {
  local d=$1 cd taken="" f n ip
  cd=$(dirname "$d"); em_cidr_check "$P_cidr"
  mkdir -p "$cd"
  exec {lk}>"$cd/alloc.lock"; flock "$lk"
  if [ ! -s "$d/ip" ]; then
    for f in "$cd"/*/ip; do [ -f "$f" ] && taken+=" $(cat "$f") "; done
    for n in $(seq 11 $(( (1 << (32 - EM_PREFIX)) - 2 ))); do
      ip=$(em_int_ip $((EM_NET_BASE + n)))
      [[ $taken == *" $ip "* ]] && continue
      mkdir -p "$d"; echo "$ip" >"$d/ip"; break
    done
    [ -s "$d/ip" ] || em_die "no free address left in $P_cidr for $P_name"
  fi
  flock -u "$lk"; exec {lk}>&-
}

# configure DIR ROOT: everything of the machine that is not the image: identity, keys, network, apt proxy.
configure() {
  local d=$1 r=$2 ip proxy_host routes=()
  ip=$(cat "$d/ip")
  echo "$P_name" >"$r/etc/hostname"
  printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n%s %s\n' "$ip" "$P_name" \
    | install -m644 /dev/stdin "$r/etc/hosts"
  [ -s "$d/machine-id" ] || tr -d - </proc/sys/kernel/random/uuid >"$d/machine-id"
  install -m444 "$d/machine-id" "$r/etc/machine-id"
  em_install_host_keys "$d/hostkeys" "$r"
  install -d -m700 "$r/root/.ssh"
  printf '%s\n' "$P_authorizedKey" | install -m600 /dev/stdin "$r/root/.ssh/authorized_keys"
  rm -f "$r/etc/apt/apt.conf.d/01elastic-mesos-proxy"
  if [ -n "${P_aptProxy:-}" ]; then
    proxy_host=$(em_url_host "$P_aptProxy")
    # the proxy's own host directly: a mirror served there (the test mirror) is not proxied (acng refuses it)
    printf 'Acquire::http::Proxy "%s";\nAcquire::http::Proxy::%s "DIRECT";\n' "$P_aptProxy" "$proxy_host" \
      >"$r/etc/apt/apt.conf.d/01elastic-mesos-proxy"
  fi
  case $P_egress in
    nat)
      routes=("Gateway=$P_gateway")
      em_upstream_nameservers | awk '{print "nameserver " $1}' >"$r/etc/resolv.conf"
      [ -s "$r/etc/resolv.conf" ] || em_log "WARNING: no usable upstream nameserver on this machine; $P_name has no DNS" ;;
    proxy)
      [ -n "${P_aptProxy:-}" ] || em_die "egress proxy needs aptProxy (http://host:port)"
      [[ $proxy_host =~ ^[0-9]+(\.[0-9]+){3}$ ]] || em_die "aptProxy host '$proxy_host' must be an IPv4 address with egress proxy (machines have no DNS)"
      em_in_cidr "$proxy_host" "$P_cidr" || routes=("Route=$proxy_host/32@$P_gateway")
      : >"$r/etc/resolv.conf" ;;
    *) em_die "egress '$P_egress' must be nat or proxy" ;;
  esac
  em_cidr_check "$P_cidr"
  em_networkd "$r" "$ip/$EM_PREFIX" "${routes[@]}"
}

host_key_json() {
  local pub fp
  pub=$(cut -d' ' -f1-2 "$1/hostkeys/ssh_host_ed25519_key.pub")
  fp=$(ssh-keygen -lf "$1/hostkeys/ssh_host_ed25519_key.pub" | awk '{print $2}')
  printf '{"type":"ssh-ed25519","publicKey":"%s","fingerprint":"%s"}' "$pub" "$fp"
}

# read_only_binds: nspawn options for P_bindReadOnly (comma-joined absolute paths), each checked to exist.
read_only_binds() {
  local p paths=()
  binds=()
  [ -n "${P_bindReadOnly:-}" ] && IFS=, read -ra paths <<<"$P_bindReadOnly"
  for p in "${paths[@]}"; do
    [[ $p == /* && $p != *..* ]] || em_die "$P_name: read-only bind '$p' must be an absolute path"
    # the machine mounts its own /tmp and /run over whatever was bound there
    [[ $p == /tmp/* || $p == /run/* || $p == /tmp || $p == /run ]] &&
      em_die "$P_name: $p is under /tmp or /run, which the machine mounts for itself (artifacts.offlineBundle: unpack the bundle elsewhere, e.g. /var/lib/elastic-mesos/bundle)"
    [ -e "$p" ] || em_die "$P_name: $p does not exist on this machine (artifacts.offlineBundle: unpack the bundle there first)"
    binds+=("--bind-ro=$p")
  done
}

# start_machine DIR: configure and boot (or, when it runs, configure and reload its network), wait for sshd.
start_machine() {
  local d=$1 leader binds
  read_only_binds
  em_need cluster name stateDir bridge cidr gateway image egress authorizedKey
  [ -f "$P_image/.em-image-complete" ] || [ -f "$P_image/.lab-complete" ] || em_die "image $P_image is not built (image-ensure first)"
  if em_machine_running "$d"; then
    configure "$d" "$d/root"
    leader=$(em_machine_leader "$d")
    if ! { nsenter -t "$leader" -m -u -i -n -p -- networkctl reload &&
      nsenter -t "$leader" -m -u -i -n -p -- networkctl reconfigure host0; } >/dev/null 2>&1; then
      em_log "WARNING: $P_name: could not reload its network; the new settings apply at its next start"
    fi
    if [ "$(cat "$d/binds" 2>/dev/null)" != "${P_bindReadOnly:-}" ]; then
      em_log "WARNING: $P_name runs: its read-only paths (${P_bindReadOnly:-none}) apply when it next starts"
    fi
    em_log "$P_name runs: configuration rewritten"
  else
    em_machine_stop "$d" "$P_name"        # leftovers of a machine that died (reboot of this machine, kill)
    em_overlay_mount "$P_image" "$d"
    configure "$d" "$d/root"
    em_machine_boot "$d" "$d/root" "$P_name" "$P_bridge" "em-$P_cluster-$P_name" "${binds[@]}"
    printf '%s' "${P_bindReadOnly:-}" >"$d/binds"
    em_log "$P_name booting on $(cat "$d/ip")"
    em_wait_ssh "$d" "$(cat "$d/ip")" "$P_name" 120
    em_record_veth "$d"
    em_log "$P_name: sshd answers on $(cat "$d/ip")"
  fi
  em_result ip "$(cat "$d/ip")" hostKey "json:$(host_key_json "$d")"
}

machine_create() {
  local d binds; d=$(machine_dir)
  em_need cidr
  read_only_binds                         # a missing bundle is refused before an address is taken
  allocate_ip "$d"
  em_host_keys "$d/hostkeys" "root@$P_name"
  start_machine "$d"
}
machine_start() {
  local d; d=$(machine_dir)
  [ -s "$d/ip" ] || em_die "machine $P_name of $P_cluster does not exist in $P_stateDir (create it)"
  start_machine "$d"
}
machine_status() {
  local d; d=$(machine_dir)
  if em_machine_running "$d"; then em_result running json:true ip "$(cat "$d/ip")"
  elif [ -s "$d/ip" ]; then em_result running json:false ip "$(cat "$d/ip")"
  else em_result running json:false; fi
}
machine_delete() {
  local d; d=$(machine_dir)
  em_machine_stop "$d" "$P_name"
  rm -rf "$d"
  em_log "$P_name deleted"
  em_result deleted json:true
}

case $VERB in
  image-ensure|image-remove|network-create|network-delete|network-status|machine-create|machine-start|machine-status|machine-delete)
    em_params
    "${VERB//-/_}" ;;
  *) em_die "usage: local.sh image-ensure|image-remove|network-create|network-delete|network-status|machine-create|machine-start|machine-status|machine-delete < params.json" ;;
esac
