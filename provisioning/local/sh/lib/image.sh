# shellcheck shell=bash
# The Debian root filesystem every local machine overlays, built once with mmdebstrap and cached. Sourced by
# local.sh and by the lab (lab/lib/base.sh adds its lab-only customisation on top). No key, credential or proxy
# is baked in: each machine gets its authorized key, host keys and apt proxy in its own overlay.
EM_IMAGE_VERSION=1   # bump when em_image_build's customisation changes: the key changes, a new image is built

# em_image_key SUITE MIRROR PACKAGES: 16 hex chars naming an image's content (packages in the given order).
em_image_key() { printf '%s|%s|%s|%s' "$EM_IMAGE_VERSION" "$1" "$2" "$3" | sha256sum | cut -c1-16; }

# em_image_build DEST SUITE MIRROR PACKAGES [APT_PROXY]: mmdebstrap + the customisation every machine needs.
# DEST is replaced. The caller marks it complete (and renames it into place) once its own additions are done.
em_image_build() {
  local B=$1 suite=$2 mirror=${3%/} pkgs=$4 proxy=${5:-} root opts=()
  root=${mirror%/debian}
  rm -rf "$B"
  [ -n "$proxy" ] && opts+=(--aptopt="Acquire::http::Proxy \"$proxy\"")
  # mmdebstrap, not debootstrap: debootstrap cannot resolve cloud-init's virtual dependencies
  mmdebstrap --quiet --variant=apt "${opts[@]}" --include="$pkgs" "$suite" "$B" \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $root/debian-security $suite-security main" \
    || em_die "mmdebstrap failed (suite $suite, mirror $mirror${proxy:+, apt proxy $proxy}): is the package source reachable?"
  rm -f "$B/etc/apt/apt.conf.d/99mmdebstrap"
  rm -f "$B"/etc/ssh/ssh_host_*          # every machine gets its own fixed host keys
  printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' \
    >"$B/etc/ssh/sshd_config.d/10-elastic-mesos.conf"
  : >"$B/etc/resolv.conf"                # per machine: empty (proxy egress) or the upstream nameservers (nat)
  : >"$B/etc/machine-id"
  chroot "$B" systemctl enable systemd-networkd >/dev/null 2>&1
  # apt-daily would hold the dpkg lock right when the bootstrap runs apt-get; the rest is useless in a container
  chroot "$B" systemctl mask apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service \
    fstrim.timer dpkg-db-backup.timer systemd-pstore.service e2scrub_all.timer >/dev/null 2>&1
  echo "$pkgs" >"$B/.em-packages"
}

# em_image_ensure CACHE SUITE MIRROR PACKAGES [APT_PROXY]: the cached image for these inputs, built at most once
# (flock: two stacks asking at once build it once). Sets EM_IMAGE_PATH and EM_IMAGE_KEY.
em_image_ensure() {
  local cache=$1 key
  key=$(em_image_key "$2" "${3%/}" "$4")
  # shellcheck disable=SC2034  # results for the caller
  EM_IMAGE_KEY=$key; EM_IMAGE_PATH=$cache/debian-$2-$key
  mkdir -p "$cache"
  exec {lk}>"$cache/.lock-$key"
  flock "$lk"
  if [ -f "$EM_IMAGE_PATH/.em-image-complete" ]; then
    em_log "image $EM_IMAGE_PATH exists, reusing"
  else
    em_log "building image $EM_IMAGE_PATH with mmdebstrap ($2: $4) - a few minutes the first time"
    em_image_build "$EM_IMAGE_PATH.tmp" "$2" "$3" "$4" "${5:-}"
    touch "$EM_IMAGE_PATH.tmp/.em-image-complete"
    rm -rf "$EM_IMAGE_PATH"; mv "$EM_IMAGE_PATH.tmp" "$EM_IMAGE_PATH"
    em_log "image ready: $EM_IMAGE_PATH ($(du -sh "$EM_IMAGE_PATH" | cut -f1))"
  fi
  flock -u "$lk"; exec {lk}>&-
}

# em_image_remove PATH: delete a cached image no machine overlays any more. Only a directory this code built.
em_image_remove() {
  local p=${1%/}
  [ -e "$p" ] || { em_log "image $p already gone"; return 0; }
  [ -f "$p/.em-image-complete" ] || em_die "$p is not an elastic-mesos image (no .em-image-complete): not removing"
  if grep -qs "lowerdir=${p}[,:]" /proc/mounts; then em_die "image $p is in use by a running machine: not removing"; fi
  rm -rf "$p"; rm -f "$(dirname "$p")/.lock-${p##*-}"
  em_log "removed image $p"
}
