# shellcheck shell=bash
# The machines' network: one Linux bridge holding the gateway address, and for nat egress an nftables table
# (masquerade + forward) plus IPv4 forwarding. Sourced by local.sh and the lab (the lab's bridge, no NAT).

# em_bridge_ensure BRIDGE GATEWAY PREFIX: the bridge exists, holds GATEWAY/PREFIX and is up. Idempotent.
em_bridge_ensure() {
  local br=$1 gw=$2 prefix=$3
  [ ${#br} -le 15 ] || em_die "bridge name '$br' is longer than 15 characters (Linux interface names)"
  if ! ip link show "$br" >/dev/null 2>&1; then ip link add "$br" type bridge; fi
  [ -d "/sys/class/net/$br/bridge" ] || em_die "interface $br exists and is not a bridge: choose another local.bridge"
  ip -4 addr show dev "$br" | grep -q " $gw/$prefix " || ip addr add "$gw/$prefix" dev "$br"
  ip link set "$br" up
}

em_bridge_delete() {
  if ip link show "$1" >/dev/null 2>&1; then ip link del "$1"; em_log "deleted bridge $1"; fi
}

em_nat_table() { echo "em_nat_${1//-/_}"; }

# em_nat_install BRIDGE CIDR: masquerade what the machines send out of any other interface, accept forwarding to
# and from the bridge. Replaces an earlier version of the table (idempotent). Forwarding itself: em_forward_on.
em_nat_install() {
  local t; t=$(em_nat_table "$1")
  nft list table ip "$t" >/dev/null 2>&1 && nft delete table ip "$t"
  nft -f - <<NFT
table ip $t {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr $2 oifname != "$1" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "$1" accept
    oifname "$1" accept
  }
}
NFT
}

em_nat_remove() {
  local t; t=$(em_nat_table "$1")
  if nft list table ip "$t" >/dev/null 2>&1; then nft delete table ip "$t"; em_log "deleted nft table ip $t"; fi
}

# em_forward_on STATEFILE: net.ipv4.ip_forward=1; the value before is kept in STATEFILE (first time only) and
# echoed, so delete can put it back.
em_forward_on() {
  local was
  if [ -f "$1" ]; then was=$(cat "$1"); else was=$(cat /proc/sys/net/ipv4/ip_forward); echo "$was" >"$1"; fi
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || echo 1 >/proc/sys/net/ipv4/ip_forward
  echo "$was"
}

# em_forward_restore WAS: put ip_forward back to WAS when we changed it, unless another em_nat_ table (another
# stack's network) still needs forwarding.
em_forward_restore() {
  [ "$1" = 0 ] || return 0
  if nft list tables ip 2>/dev/null | grep -q ' em_nat_'; then
    em_log "another elastic-mesos NAT table remains: leaving net.ipv4.ip_forward=1"; return 0
  fi
  echo 0 >/proc/sys/net/ipv4/ip_forward
  em_log "net.ipv4.ip_forward restored to 0"
}

# em_upstream_nameservers: the nameservers this machine really uses, never a loopback stub (127.0.0.53 is
# systemd-resolved's; the real ones are in /run/systemd/resolve/resolv.conf). Machines cannot reach loopback.
em_upstream_nameservers() {
  local f=/etc/resolv.conf
  if grep -qE '^nameserver 127\.' "$f" && [ -r /run/systemd/resolve/resolv.conf ]; then f=/run/systemd/resolve/resolv.conf; fi
  awk '$1=="nameserver" && $2 !~ /^127\./ && $2 !~ /:/ {print $2}' "$f" | head -3
}
