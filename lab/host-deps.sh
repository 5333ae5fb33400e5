#!/usr/bin/env bash
# Debian packages this machine needs for the tests and the lab. Idempotent; run as root.
# Lab: systemd-container (systemd-nspawn), mmdebstrap (base rootfs), apt-cacher-ng (apt proxy for the hosts),
# openssh-client, netcat-openbsd, iproute2 (bridge/veth), gnupg + apt-utils (apt-ftparchive) + dpkg-dev
# (signed apt repo and stand-in .debs in the artifact mirror), python3 (mirror HTTP server), curl,
# cloud-init (`cloud-init schema` validates the rendered user-data in the unit tests; nothing is started),
# openssh-server + sudo (the SSH runner is tested against real OpenSSH on loopback; the packaged sshd is not started).
# nftables: `nft -c` checks the host firewall's rendered rules in the unit tests (nothing is loaded).
# maven (with its Java): the lab mirror's ZooKeeper jars come from Maven Central (lab/mirror/build-zookeeper.sh); the same
# Java runs ZooKeeper on loopback (test/lab/zk-acls.test.ts) and checks certificate chains (test/unit/rotation.test.ts).
set -euo pipefail
pkgs=(shellcheck systemd-container mmdebstrap apt-cacher-ng openssh-client netcat-openbsd iproute2 gnupg apt-utils
  dpkg-dev python3 curl ca-certificates cloud-init openssh-server sudo nftables maven)
need=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  # Keep packaged daemons (apt-cacher-ng) from starting on 0.0.0.0: the lab runs its own instance on the bridge.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi
  trap 'if [ $made_policy = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
  apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null || echo "host-deps: apt-get update reported errors (continuing)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
echo "host-deps: ok (${pkgs[*]})"
