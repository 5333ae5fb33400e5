#!/usr/bin/env bash
# build-standins.sh OUTDIR: build the TEST FIXTURE stand-in packages (aventer-mesos, marathon) from
# test/fixtures/standins into OUTDIR. Architecture all; they depend on python3 + python3-kazoo, which apt on the
# lab host pulls from Debian through the lab proxy. Never ship these packages.
set -euo pipefail
OUT=${1:?usage: build-standins.sh OUTDIR}
SRC=$(cd "$(dirname "$0")/../../test/fixtures/standins" && pwd)
MESOS_VERSION=${STANDIN_MESOS_VERSION:-1.11.0-0.9.0}
MARATHON_VERSION=${STANDIN_MARATHON_VERSION:-1.11.24}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir -p "$OUT"

control() {   # control PACKAGE VERSION SUMMARY
  cat <<CTL
Package: $1
Version: $2
Architecture: all
Maintainer: elastic-mesos lab <lab@invalid>
Depends: python3 (>= 3.9), python3-kazoo
Section: misc
Priority: optional
Description: $3 - TEST FIXTURE stand-in, not Apache Mesos
 TEST FIXTURE stand-in, not Apache Mesos and not Marathon. Built by the elastic-mesos
 lab from test/fixtures/standins for lab tests only: strict flag parsing, leader
 election through ZooKeeper, health/state HTTP endpoints. Runs no tasks. Never ship.
CTL
}

lib() {   # lib ROOT LIBDIR: the Python package (flag lists included)
  mkdir -p "$1$2"
  cp -r "$SRC/standin" "$1$2/"
  find "$1$2" -name __pycache__ -prune -exec rm -rf {} +
}

launcher() {  # launcher SRC_NAME DEST LIBDIR
  # Not `install /dev/stdin < <(sed ...)`: a missing source would then fail inside the process
  # substitution, unseen by `set -e`, and ship an empty executable.
  [ -s "$SRC/bin/$1" ] || { echo "build-standins: missing launcher $SRC/bin/$1" >&2; exit 1; }
  sed "s#@LIBDIR@#$3#" "$SRC/bin/$1" >"$W/launcher.tmp"
  install -D -m755 "$W/launcher.tmp" "$2"
}

# ------------------------------------------------------------------ aventer-mesos (Clusterd package name)
R=$W/aventer-mesos; L=/usr/lib/aventer-mesos-standin
lib "$R" "$L"
launcher mesos-master "$R/usr/sbin/mesos-master" "$L"
launcher mesos-agent "$R/usr/sbin/mesos-agent" "$L"
install -D -m755 "$SRC/debian/mesos-init-wrapper" "$R/usr/bin/mesos-init-wrapper"
install -D -m644 "$SRC/debian/mesos-master.service" "$R/lib/systemd/system/mesos-master.service"
install -D -m644 "$SRC/debian/mesos-agent.service" "$R/lib/systemd/system/mesos-agent.service"
install -D -m644 /dev/stdin "$R/etc/mesos/zk" <<<"zk://localhost:2181/mesos"
install -D -m644 /dev/stdin "$R/etc/default/mesos" <<<"# TEST FIXTURE stand-in, not Apache Mesos
LOGS=/var/log/mesos
ULIMIT=\"-n 16384\""
install -D -m644 /dev/stdin "$R/etc/default/mesos-master" <<<"PORT=5050
ZK=\`cat /etc/mesos/zk\`"
install -D -m644 /dev/stdin "$R/etc/default/mesos-agent" <<<"MASTER=\`cat /etc/mesos/zk\`"
install -D -m644 /dev/stdin "$R/etc/mesos-master/work_dir" <<<"/var/lib/mesos/master"
install -D -m644 /dev/stdin "$R/etc/mesos-master/quorum" <<<"1"
install -D -m644 /dev/stdin "$R/etc/mesos-agent/work_dir" <<<"/var/lib/mesos/agent"
install -D -m644 /dev/stdin "$R/usr/share/doc/aventer-mesos/README.TEST-FIXTURE" <<<"TEST FIXTURE stand-in, not Apache Mesos.
Source: elastic-mesos test/fixtures/standins. Units are installed but not enabled (systemctl enable --now)."
mkdir -p "$R/DEBIAN"
control aventer-mesos "$MESOS_VERSION" "Mesos master and agent" >"$R/DEBIAN/control"
(cd "$R" && find etc -type f | sed 's#^#/#') >"$R/DEBIAN/conffiles"
dpkg-deb --root-owner-group -Zxz --build "$R" "$OUT/aventer-mesos_${MESOS_VERSION}_all.deb" >/dev/null

# ------------------------------------------------------------------ marathon (old native-package layout)
R=$W/marathon; L=/usr/share/marathon/lib
lib "$R" "$L"
launcher marathon "$R/usr/share/marathon/bin/marathon" "$L"
install -D -m644 "$SRC/debian/marathon.service" "$R/lib/systemd/system/marathon.service"
install -D -m644 /dev/stdin "$R/etc/default/marathon" <<<"# TEST FIXTURE stand-in, not Marathon: MARATHON_<FLAG>=value lines"
mkdir -p "$R/DEBIAN"
control marathon "$MARATHON_VERSION" "Marathon (container orchestration on Mesos)" | sed 's/not Apache Mesos$/not Marathon/' >"$R/DEBIAN/control"
echo /etc/default/marathon >"$R/DEBIAN/conffiles"
dpkg-deb --root-owner-group -Zxz --build "$R" "$OUT/marathon_${MARATHON_VERSION}_all.deb" >/dev/null
ls "$OUT"/*.deb
