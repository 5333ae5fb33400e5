# elastic-mesos step-script library: the vocabulary of Step.commands and health gates (provisioning/steps/).
# Prepended verbatim to every step script by provisioning/render/ssh-plan.ts, after a header that sets
# `set -euo pipefail`, EM_STEP and EM_CHANGED. Rules: compare before write (a re-run on a healthy host
# changes nothing and restarts nothing), atomic writes (temp file in the same directory + rename), every
# change recorded and reported, no `set -x`, no secret on a command line or in a message.
# shellcheck shell=bash
em_log() { printf 'elastic-mesos %s: %s\n' "$EM_STEP" "$*"; }
em_fail() { printf 'elastic-mesos %s: FAILED: %s\n' "$EM_STEP" "$*" >&2; exit 1; }
em_mark() { EM_CHANGED+="$1"$'\n'; em_log "changed: $1"; }
# em_was_changed WHAT...: did this run change any of them (file paths or em_mark labels)?
em_was_changed() {
  local p
  for p in "$@"; do case $'\n'"$EM_CHANGED" in *$'\n'"$p"$'\n'*) return 0 ;; esac; done
  return 1
}
em_same_meta() { [ "$(stat -c '%a %U %G' "$1")" = "$(printf '%o' "$((8#$2))") $3 $4" ]; }
# em_put PATH MODE OWNER GROUP [nonl] <CONTENT: write atomically, only if bytes, mode or owner differ.
# "nonl" drops trailing newlines (Marathon reads its secret file byte for byte).
em_put() {
  local path=$1 mode=$2 owner=$3 group=$4 tmp dir
  dir=$(dirname "$path")
  [ -d "$dir" ] || install -d -m 0755 "$dir"
  tmp=$(mktemp "$dir/.em-XXXXXX")
  if [ "${5:-}" = nonl ]; then printf '%s' "$(cat)" >"$tmp"; else cat >"$tmp"; fi
  if [ -f "$path" ] && [ ! -L "$path" ] && cmp -s "$tmp" "$path" && em_same_meta "$path" "$mode" "$owner" "$group"; then
    rm -f "$tmp"
    return 0
  fi
  chown "$owner:$group" "$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$path"
  em_mark "$path"
}
em_dir() { # PATH MODE OWNER GROUP
  if [ -d "$1" ] && em_same_meta "$1" "$2" "$3" "$4"; then return 0; fi
  install -d "$1"
  chown "$3:$4" "$1"
  chmod "$2" "$1"
  em_mark "$1/"
}
em_user() { # NAME HOME: a system user and group of the same name, no login
  if id -u "$1" >/dev/null 2>&1; then return 0; fi
  useradd --system --user-group --no-create-home --home-dir "$2" --shell /usr/sbin/nologin "$1"
  em_mark "user $1"
}
em_os() { # the host's "ID:VERSION_ID" from /etc/os-release
  # shellcheck source=/dev/null
  (. /etc/os-release && printf '%s:%s' "${ID:-unknown}" "${VERSION_ID:-unknown}")
}
em_fetch() { # URL DEST
  curl -fsSL --retry 5 --retry-delay 3 --retry-connrefused --connect-timeout 20 --proto '=https,http,file' -o "$2" "$1"
}
em_gpg() { # HOMEDIR ARGS...: gpg on a throw-away keyring
  gpg --batch --quiet --no-tty --homedir "$@"
}
em_fprs() { # HOMEDIR: fingerprints of the primary keys in that keyring, space-separated
  em_gpg "$1" --with-colons --list-keys 2>/dev/null | awk -F: '$1=="pub"{p=1;next} $1=="fpr"&&p{printf "%s%s",s,$10;s=" ";p=0}' || true
}
# em_key URL FINGERPRINT|- DEST armor|binary: fetch a signing key, check the pinned primary fingerprint,
# keep only that key, store it for apt (binary) or rpm (armor). Skipped when DEST already holds it.
em_key() {
  local url=$1 want=$2 dest=$3 fmt=$4 tmp got sel=() arm=()
  tmp=$(mktemp -d)
  if [ -s "$dest" ] && em_gpg "$tmp" --import "$dest" 2>/dev/null; then
    got=$(em_fprs "$tmp")
    if [ -n "$got" ] && { [ "$want" = - ] || [ "$got" = "$want" ]; }; then
      gpgconf --homedir "$tmp" --kill all 2>/dev/null || true
      rm -rf "$tmp"
      return 0
    fi
    gpgconf --homedir "$tmp" --kill all 2>/dev/null || true
    rm -rf "$tmp"
    tmp=$(mktemp -d)
  fi
  em_fetch "$url" "$tmp/key" || { rm -rf "$tmp"; em_fail "cannot download the signing key $url"; }
  em_gpg "$tmp" --import "$tmp/key" 2>/dev/null || { rm -rf "$tmp"; em_fail "$url is not an OpenPGP public key"; }
  got=$(em_fprs "$tmp")
  if [ "$want" != - ]; then
    case " $got " in *" $want "*) sel=("$want") ;; *)
      rm -rf "$tmp"
      em_fail "signing key $url has fingerprint(s) ${got:-none}, not the pinned $want; check the mirror, or the pinned keyFingerprint" ;;
    esac
  fi
  if [ "$fmt" = armor ]; then arm=(--armor); fi
  em_gpg "$tmp" "${arm[@]}" --export "${sel[@]}" >"$tmp/out"
  gpgconf --homedir "$tmp" --kill all 2>/dev/null || true
  em_put "$dest" 0644 root root <"$tmp/out"
  rm -rf "$tmp"
}
em_pkg_has() { # NAME VERSION-PREFIX ('' = any): installed, at that version?
  local v
  if command -v dpkg-query >/dev/null; then
    # shellcheck disable=SC2016
    v=$(dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null) || return 1
    case "$v" in "install ok installed $2"*) return 0 ;; *) return 1 ;; esac
  fi
  v=$(rpm -q --qf '%{VERSION}-%{RELEASE}' "$1" 2>/dev/null) || return 1
  case "$v" in "$2"*) return 0 ;; *) return 1 ;; esac
}
em_install() { # PKGSPEC...: apt-get or dnf install (only called when something is missing)
  em_log "installing $*"
  if command -v apt-get >/dev/null; then
    apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null || em_fail "apt-get update failed (see the output above); check the repositories in /etc/apt/sources.list.d/"
    apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends --allow-downgrades --allow-change-held-packages install "$@" ||
      em_fail "apt-get install $* failed; check that the pinned versions exist in the repository"
  else
    dnf -q -y install "$@" || em_fail "dnf install $* failed; check that the pinned versions exist in the repository"
  fi
  em_mark "installed $*"
}
em_hold() { # PKG...: keep unattended upgrades away from pinned packages
  local p
  for p in "$@"; do
    if command -v apt-mark >/dev/null && ! apt-mark showhold | grep -qx "$p"; then apt-mark hold "$p" >/dev/null && em_mark "held $p"; fi
  done
}
em_mask() { # UNIT: keep a packaged unit from starting until we write our own /etc/systemd/system/UNIT.service
  local f=/etc/systemd/system/$1.service
  if [ -e "$f" ] || [ -L "$f" ]; then return 0; fi
  systemctl mask -q "$1"
  em_mark "masked $1"
}
# em_service UNIT [FILE...]: enable UNIT and keep it running on the current FILEs. It is restarted only
# when the unit or FILE contents differ from those it was last (re)started with (a stamp that survives an
# interrupted run); otherwise it is only started if stopped. A healthy, unchanged service is left alone.
em_service() {
  local unit=$1 stamp=/var/lib/elastic-mesos/stamps/$1 sum
  shift
  if em_was_changed "/etc/systemd/system/$unit.service" ||
    [ "$(systemctl show -p NeedDaemonReload --value "$unit" 2>/dev/null)" = yes ]; then
    systemctl daemon-reload
  fi
  systemctl is-enabled -q "$unit" 2>/dev/null || { systemctl enable -q "$unit" 2>/dev/null; em_mark "enabled $unit"; }
  if [ $# -gt 0 ]; then
    sum=$(cat "/etc/systemd/system/$unit.service" "$@" | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null || true)" != "$sum" ]; then
      systemctl restart "$unit"
      em_put "$stamp" 0600 root root < <(printf '%s\n' "$sum")
      em_mark "restarted $unit"
      return 0
    fi
  fi
  if ! systemctl is-active -q "$unit"; then
    systemctl start "$unit"
    em_mark "started $unit"
  fi
}
em_route_src() { # IP: this host's source address towards IP
  ip -4 route get "$1" 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n 1
}
em_zk_mode() { # IP: "leader", "follower", "standalone" or nothing (srvr four-letter word, 5 s)
  # shellcheck disable=SC2016
  timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/2181" && printf srvr >&3 && cat <&3' "$1" 2>/dev/null | sed -n 's/^Mode: //p' || true
}
# em_gate SECONDS DESCRIPTION HINT: run em_gate_check in a fresh bash (errexit on) until it succeeds.
em_gate() {
  local limit=$1 desc=$2 hint=$3 start=$SECONDS out=''
  while :; do
    if out=$(bash -euo pipefail -c "$(declare -f); em_gate_check" 2>&1); then
      em_log "healthy: $desc ($((SECONDS - start)) s)"
      return 0
    fi
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      printf 'elastic-mesos %s: FAILED: not healthy after %s s: %s\nlast output:\n%s\nhint: %s\n' \
        "$EM_STEP" "$limit" "$desc" "$(printf '%s\n' "$out" | tail -n 20)" "$hint" >&2
      exit 1
    fi
    sleep 3
  done
}
em_done() {
  if [ -n "$EM_CHANGED" ]; then em_log "done: changed ($(printf '%s' "$EM_CHANGED" | grep -c .) items)"; else em_log "done: unchanged"; fi
}
[ "$(id -u)" = 0 ] || em_fail "must run as root (use sudo)"
