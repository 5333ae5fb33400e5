#!/usr/bin/env bash
# build-standins.sh OUTDIR: build the TEST FIXTURE stand-in packages (aventer-mesos, marathon) from
# test/fixtures/standins into OUTDIR. Architecture all; they depend on python3 + python3-kazoo, which apt on the
# lab host pulls from Debian through the lab proxy. Never ship these packages.
# Two versions of each: the product's pin and a newer one for the version-bump test (test/e2e/version-bump.test.ts).
# Each package reports its own version at run time (_package.py: git_tag in /version, version in /v2/info).
# Keep test/fixtures/lab.ts (STANDIN_MESOS_VERSIONS, STANDIN_MARATHON_VERSIONS) in step.
set -euo pipefail
OUT=${1:?usage: build-standins.sh OUTDIR}
SRC=$(cd "$(dirname "$0")/../../test/fixtures/standins" && pwd)
MESOS_VERSIONS=${STANDIN_MESOS_VERSIONS:-1.11.0-0.9.0 1.11.0-0.9.1}
MARATHON_VERSIONS=${STANDIN_MARATHON_VERSIONS:-1.11.24 1.11.25}
for v in $MESOS_VERSIONS; do
  [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
    { echo "build-standins: bad Mesos version '$v'" >&2; exit 1; }
done
for v in $MARATHON_VERSIONS; do
  [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "build-standins: bad Marathon version '$v'" >&2; exit 1; }
done
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

lib() {   # lib ROOT LIBDIR PACKAGE VERSION: the Python package (flag lists included), stamped with its version
  mkdir -p "$1$2"
  cp -r "$SRC/standin" "$1$2/"
  find "$1$2" -name __pycache__ -prune -exec rm -rf {} +
  rm -f "$1$2/standin/_package.py"
  printf '# Written by lab/mirror/build-standins.sh: the version of this TEST FIXTURE package.\n%s\n%s\n' \
    "PACKAGE = \"$3\"" "VERSION = \"$4\"" >"$1$2/standin/_package.py"
}

pycache_scripts() {   # pycache_scripts ROOT LIBDIR: postinst and postrm that drop Python's bytecode cache
  # As Debian's py3compile/py3clean do: an upgrade then runs the new build's code. Otherwise a .pyc the old build left
  # (Python validates it by the source's size and time stamp, which two builds of one second share) would win.
  local s
  for s in postinst postrm; do
    printf '#!/bin/sh\n# TEST FIXTURE stand-in: drop the bytecode cache (build-standins.sh).\nset -e\nrm -rf %s\n' \
      "$2/standin/__pycache__" >"$1/DEBIAN/$s"
    chmod 755 "$1/DEBIAN/$s"
  done
}

launcher() {  # launcher SRC_NAME DEST LIBDIR
  # Not `install /dev/stdin < <(sed ...)`: a missing source would then fail inside the process
  # substitution, unseen by `set -e`, and ship an empty executable.
  [ -s "$SRC/bin/$1" ] || { echo "build-standins: missing launcher $SRC/bin/$1" >&2; exit 1; }
  sed "s#@LIBDIR@#$3#" "$SRC/bin/$1" >"$W/launcher.tmp"
  install -D -m755 "$W/launcher.tmp" "$2"
}

# ------------------------------------------------------------------ aventer-mesos (Clusterd package name)
mesos_deb() {   # mesos_deb VERSION
  local MESOS_VERSION=$1 R=$W/aventer-mesos-$1 L=/usr/lib/aventer-mesos-standin
  lib "$R" "$L" aventer-mesos "$MESOS_VERSION"
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
  install -D -m644 /dev/stdin "$R/usr/share/doc/aventer-mesos/README.TEST-FIXTURE" \
    <<<"TEST FIXTURE stand-in, not Apache Mesos.
Source: elastic-mesos test/fixtures/standins. Units are installed but not enabled (systemctl enable --now)."
  mkdir -p "$R/DEBIAN"
  control aventer-mesos "$MESOS_VERSION" "Mesos master and agent" >"$R/DEBIAN/control"
  pycache_scripts "$R" "$L"
  (cd "$R" && find etc -type f | sed 's#^#/#') >"$R/DEBIAN/conffiles"
  dpkg-deb --root-owner-group -Zxz --build "$R" "$OUT/aventer-mesos_${MESOS_VERSION}_all.deb" >/dev/null
}
for v in $MESOS_VERSIONS; do mesos_deb "$v"; done

# ------------------------------------------------------------------ marathon (old native-package layout)
marathon_deb() {   # marathon_deb VERSION
  local MARATHON_VERSION=$1 R=$W/marathon-$1 L=/usr/share/marathon/lib
  lib "$R" "$L" marathon "$MARATHON_VERSION"
  launcher marathon "$R/usr/share/marathon/bin/marathon" "$L"
  install -D -m644 "$SRC/debian/marathon.service" "$R/lib/systemd/system/marathon.service"
  install -D -m644 /dev/stdin "$R/etc/default/marathon" \
    <<<"# TEST FIXTURE stand-in, not Marathon: MARATHON_<FLAG>=value lines"
  mkdir -p "$R/DEBIAN"
  control marathon "$MARATHON_VERSION" "Marathon (container orchestration on Mesos)" |
    sed 's/not Apache Mesos$/not Marathon/' >"$R/DEBIAN/control"
  pycache_scripts "$R" "$L"
  echo /etc/default/marathon >"$R/DEBIAN/conffiles"
  dpkg-deb --root-owner-group -Zxz --build "$R" "$OUT/marathon_${MARATHON_VERSION}_all.deb" >/dev/null
}
for v in $MARATHON_VERSIONS; do marathon_deb "$v"; done
ls "$OUT"/*.deb
