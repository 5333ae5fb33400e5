#!/usr/bin/env bash
# Debian packages this machine needs for the tests and the lab. Idempotent; run as root.
set -euo pipefail
pkgs=(shellcheck)
need=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
echo "host-deps: ok (${pkgs[*]})"
