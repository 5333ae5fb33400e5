# shellcheck shell=bash
# shellcheck disable=SC2034  # settings used by the scripts that source this file
# Settings and helpers shared by lab-up.sh, lab-down.sh and the mirror builders. Sourced, never run.
# Every knob is an environment variable; defaults give the lab the tests expect (see lab/README.md).
LAB=${LAB:-/var/tmp/elastic-mesos-lab}          # state: base rootfs, hosts, keys, apt cache, mirror
NET=${LAB_NET:-10.77.0}                         # the /24 the lab owns (first three octets)
GW=$NET.1                                        # bridge address: apt proxy + artifact mirror listen here
BR=${LAB_BRIDGE:-emlab0}
PROXY_PORT=${LAB_PROXY_PORT:-3142}
MIRROR_PORT=${LAB_MIRROR_PORT:-8000}
DEBIAN_MIRROR=${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=${LAB_SUITE:-bookworm}
MAX_HOSTS=14
LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)   # the repository

# The machinery is the product's (provider: local): image build, bridge, nspawn machines. The lab adds its apt
# proxy, mirror, key, h1..h14 naming and lab.json.
EM_SH=$LAB_ROOT/provisioning/local/sh/lib
# shellcheck source=/dev/null  # checked on its own (provisioning/local/sh)
. "$EM_SH/common.sh"
# shellcheck source=/dev/null  # checked on its own (provisioning/local/sh)
. "$EM_SH/image.sh"
# shellcheck source=/dev/null  # checked on its own (provisioning/local/sh)
. "$EM_SH/net.sh"
# shellcheck source=/dev/null  # checked on its own (provisioning/local/sh)
. "$EM_SH/machine.sh"
EM_TAG=${LOG_TAG:-lab}

T0=${T0:-$EPOCHREALTIME}
log() { awk -v a="$T0" -v b="$EPOCHREALTIME" -v m="$*" -v who="${LOG_TAG:-lab}" 'BEGIN{printf "[%s %6.1fs] %s\n", who, b-a, m}'; }
die() { echo "${LOG_TAG:-lab}: ERROR: $*" >&2; exit 1; }
ip_of() { echo "$NET.$((10 + ${1#h}))"; }      # h3 -> 10.77.0.13
comm_of() { cat "/proc/$1/comm" 2>/dev/null; }
# pid_alive FILE COMM: the PID recorded in FILE is running and is still the program we started (not a zombie).
pid_alive() { em_pid_alive "$@"; }
