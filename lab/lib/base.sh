# shellcheck shell=bash
# The Debian base root filesystem every host overlays: the product's image (em_image_build) plus the lab's key,
# proxy and cloud-init settings. Built once with mmdebstrap through the lab's apt proxy and
# cached under $LAB/base-<key>; the key hashes the package list, so changing a knob builds a second base instead of
# silently reusing a stale one. Sourced by lab-up.sh.
BASE_PKGS=systemd,systemd-sysv,dbus,openssh-server,iproute2,iputils-ping,netcat-openbsd,procps,less,sudo,python3,cloud-init,ca-certificates,curl
# LAB_BAKE_JAVA=1 (default) pre-installs a headless JRE: saves ~30-60 s of CPU per host on a 2-core machine. Set
# LAB_BAKE_JAVA=0 to exercise a bootstrap that installs Java itself (through the apt proxy, as on a fresh VM).
[ "${LAB_BAKE_JAVA:-1}" = 1 ] && BASE_PKGS="$BASE_PKGS,openjdk-17-jre-headless"
[ -n "${LAB_EXTRA_PACKAGES:-}" ] && BASE_PKGS="$BASE_PKGS,$LAB_EXTRA_PACKAGES"
BASE_VERSION=4   # bump when the customisation below or em_image_build (provisioning/local/sh/lib/image.sh) changes
BASE_KEY=$(printf '%s|%s|%s|%s' "$BASE_VERSION" "$SUITE" "$BASE_PKGS" "$DEBIAN_MIRROR" | sha256sum | cut -c1-12)
BASE=$LAB/base-$BASE_KEY

build_base() {
  if [ -f "$BASE/.lab-complete" ]; then log "base rootfs $BASE exists, reusing"; return; fi
  prune_bases
  log "building base rootfs with mmdebstrap ($SUITE; $BASE_PKGS) - about a minute"
  local B=$BASE.tmp
  # the product's image (provider: local), then what only the lab has: its key, its proxy, cloud-init's seed
  em_image_build "$B" "$SUITE" "$DEBIAN_MIRROR" "$BASE_PKGS" "http://127.0.0.1:$PROXY_PORT"   # apt proxy log: $LAB/acng/log
  # Debian packages through the proxy; the artifact mirror on the same address directly (acng refuses to proxy
  # it), as a site with a proxy would exempt its internal mirror
  printf 'Acquire::http::Proxy "http://%s:%s";\nAcquire::http::Proxy::%s "DIRECT";\n' "$GW" "$PROXY_PORT" "$GW" \
    >"$B/etc/apt/apt.conf.d/01lab-proxy"
  echo force-unsafe-io >"$B/etc/dpkg/dpkg.cfg.d/lab-unsafe-io"   # throwaway hosts: skip dpkg's fsyncs
  install -d -m700 "$B/root/.ssh"
  install -m600 "$LAB/ssh/id_ed25519.pub" "$B/root/.ssh/authorized_keys"
  cat >"$B/etc/cloud/cloud.cfg.d/90-lab.cfg" <<'CFG'
# lab: NoCloud seed only; the static host0 address comes from systemd-networkd, not cloud-init
datasource_list: [ NoCloud, None ]
network: {config: disabled}
disable_root: false
ssh_deletekeys: false
ssh_genkeytypes: []
users: []
locale: false
resize_rootfs: false
growpart: {mode: off}
CFG
  echo "$BASE_PKGS" >"$B/.lab-packages"
  touch "$B/.lab-complete"
  rm -rf "$BASE"; mv "$B" "$BASE"
  log "base rootfs ready: $BASE ($(du -sh "$BASE" | cut -f1))"
}

# Old bases (another knob setting or BASE_VERSION) that no host overlays any more: ~0.5 GB each.
prune_bases() {
  local b
  for b in "$LAB"/base-*; do
    [ -d "$b" ] && [ "$b" != "$BASE" ] || continue
    grep -qs "lowerdir=$b," /proc/mounts && continue
    rm -rf "$b"; log "removed unused base rootfs $b"
  done
}
