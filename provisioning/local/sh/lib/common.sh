# shellcheck shell=bash
# Helpers every part of the local provider's shell uses (and the lab, which sources these files too). Sourced.
# Names start with em_ so they never clash with the lab's own log/die.
EM_T0=${EM_T0:-$EPOCHREALTIME}

# em_log MSG: one progress line on stderr with the seconds since the script started.
em_log() {
  awk -v a="$EM_T0" -v b="$EPOCHREALTIME" -v m="$*" -v who="${EM_TAG:-local}" \
    'BEGIN{printf "[%s %6.1fs] %s\n", who, b-a, m}' >&2
}
em_die() { echo "${EM_TAG:-local}: ERROR: $*" >&2; exit 1; }
em_comm_of() { cat "/proc/$1/comm" 2>/dev/null; }
# em_pid_alive FILE COMM: the PID recorded in FILE runs and is still the program we started (not a reused PID).
# A zombie (killed, not reaped yet by a PID 1 that is not systemd) counts as gone.
em_pid_alive() {
  [ -f "$1" ] || return 1
  local p; p=$(cat "$1")
  [ "$(em_comm_of "$p")" = "$2" ] && [ "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

# em_cidr_check CIDR: an IPv4 /16../30 network address; sets EM_NET_BASE (integer) and EM_PREFIX.
em_cidr_check() {
  [[ $1 =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)/([0-9]+)$ ]] || em_die "cidr '$1' is not an IPv4 a.b.c.d/n"
  local o
  for o in 1 2 3 4; do [ "${BASH_REMATCH[$o]}" -le 255 ] || em_die "cidr '$1': octet out of range"; done
  EM_PREFIX=${BASH_REMATCH[5]}
  if [ "$EM_PREFIX" -lt 16 ] || [ "$EM_PREFIX" -gt 28 ]; then em_die "cidr '$1': prefix must be /16../28"; fi
  EM_NET_BASE=$(( (BASH_REMATCH[1] << 24) | (BASH_REMATCH[2] << 16) | (BASH_REMATCH[3] << 8) | BASH_REMATCH[4] ))
  (( EM_NET_BASE & ((1 << (32 - EM_PREFIX)) - 1) )) && em_die "cidr '$1' has host bits set"
  return 0
}
em_int_ip() { echo "$(( ($1 >> 24) & 255 )).$(( ($1 >> 16) & 255 )).$(( ($1 >> 8) & 255 )).$(( $1 & 255 ))"; }
em_ip_int() {
  local IFS=. a b c d; read -r a b c d <<<"$1"
  echo $(( (a << 24) | (b << 16) | (c << 8) | d ))
}
# em_in_cidr IP CIDR: IP lies inside CIDR.
em_in_cidr() {
  em_cidr_check "$2"
  local ip mask; ip=$(em_ip_int "$1"); mask=$(( (0xffffffff << (32 - EM_PREFIX)) & 0xffffffff ))
  [ $(( ip & mask )) = "$EM_NET_BASE" ]
}
# em_url_host URL: the host part of http://host:port/...
em_url_host() { local h=${1#*://}; h=${h%%/*}; h=${h##*@}; echo "${h%:*}"; }
