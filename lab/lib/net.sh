# shellcheck shell=bash
# Bridge, apt proxy and keys: the shared pieces every host needs. Sourced by lab-up.sh.

ensure_bridge() {
  em_bridge_ensure "$BR" "$GW" 24
  # No forwarding and no NAT: hosts only ever reach the bridge address (apt proxy, mirror) and each other.
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 0 ] ||
    echo "lab-up: WARNING net.ipv4.ip_forward=1 on this machine; lab hosts still have no default route" >&2
  log "bridge $BR $GW/24 up (no default route for hosts, no forwarding, no NAT)"
}

# Our own apt-cacher-ng on 127.0.0.1 (for mmdebstrap and the mirror builders) and the bridge address (for hosts).
ensure_acng() {
  local A=$LAB/acng
  mkdir -p "$A/cache" "$A/log" "$A/conf"
  if pid_alive "$A/pid" apt-cacher-ng; then log "apt-cacher-ng pid $(cat "$A/pid") already running, reusing"; return; fi
  cp -a /etc/apt-cacher-ng/. "$A/conf/"
  # Without this acng remaps Debian hosts to a default backend that may not resolve here (notes.md pitfall 4)
  echo "${DEBIAN_MIRROR%/}/" >"$A/conf/backends_debian"
  setsid /usr/sbin/apt-cacher-ng -c "$A/conf" ForeGround=1 CacheDir="$A/cache" LogDir="$A/log" \
    "BindAddress=127.0.0.1 $GW" Port="$PROXY_PORT" PidFile="$A/acng.pid" SocketPath="$A/socket" \
    >"$A/stdout.log" 2>&1 </dev/null &
  echo $! >"$A/pid"
  for _ in $(seq 1 100); do nc -z "$GW" "$PROXY_PORT" 2>/dev/null && break; sleep 0.1; done
  nc -z "$GW" "$PROXY_PORT" || die "apt-cacher-ng did not come up on $GW:$PROXY_PORT; see $A/stdout.log"
  log "apt-cacher-ng pid $(cat "$A/pid") on 127.0.0.1:$PROXY_PORT and $GW:$PROXY_PORT"
}

# The lab's SSH client key, and one fixed set of host keys per host name, generated once and kept across
# lab-down/lab-up so tests (and users' known_hosts) can pin them. Only `lab-down.sh --purge` forgets them.
ensure_ssh_keys() {
  mkdir -p "$LAB/ssh" "$LAB/hostkeys"
  chmod 700 "$LAB/ssh"
  [ -f "$LAB/ssh/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C elastic-mesos-lab -f "$LAB/ssh/id_ed25519"
}

host_keys_for() {   # host_keys_for hN: make sure hN's fixed host keys exist
  em_host_keys "$LAB/hostkeys/$1" "root@$1"
}
