# elastic-mesos step-script library: the vocabulary of Step.commands and health gates (provisioning/steps/).
# Prepended verbatim to every step script by provisioning/render/ssh-plan.ts, after a header that sets
# `set -euo pipefail`, EM_STEP and EM_CHANGED. Rules: compare before write (a re-run on a healthy host
# changes nothing and restarts nothing), atomic writes (temp file in the same directory + rename), every
# change recorded and reported, no `set -x`, no secret on a command line or in a message.
# shellcheck shell=bash
em_log() { printf 'elastic-mesos %s: %s\n' "$EM_STEP" "$*"; }
em_fail() { printf 'elastic-mesos %s: FAILED: %s\n' "$EM_STEP" "$*" >&2; exit 1; }
em_mark() { EM_CHANGED+="$1"$'\n'; em_log "changed: $1"; }
# The step's deadline: EM_STEP_SECONDS (default 840, under the SSH runner's 900 s per step, so a step that
# runs out says so itself). Waits, downloads and package commands are capped by what is left (em_cap), and
# em_watchdog stops the step and everything it started at the deadline, whoever runs it (SSH, cloud-init,
# an operator): a step that ran out never keeps apt-get running and holding a lock for the next run.
EM_BUDGET=${EM_STEP_SECONDS:-840}
[[ $EM_BUDGET =~ ^[1-9][0-9]*$ ]] || em_fail "EM_STEP_SECONDS must be a whole number of seconds, not '$EM_BUDGET'"
EM_DEADLINE=$((SECONDS + EM_BUDGET))
em_left() { echo $((EM_DEADLINE - SECONDS)); }
em_cap() { # SECONDS: that, or what is left of the step if less (at least 1)
  local left=$((EM_DEADLINE - SECONDS))
  [ "$left" -lt "$1" ] || left=$1
  [ "$left" -ge 1 ] || left=1
  echo "$left"
}
em_tree() { # PID: it and its descendants, parents first (from /proc, no procps needed)
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
    { match($0, /.*\) /); split(substr($0, RLENGTH + 1), f, " "); kids[f[2]] = kids[f[2]] " " $1 }
    END { q[1] = root; n = 1; for (i = 1; i <= n; i++) { print q[i]; m = split(kids[q[i]], k, " "); for (j = 1; j <= m; j++) q[++n] = k[j] } }'
}
em_watchdog() { # started by the step script; ended by its EXIT trap
  local me=$$
  (
    # Not the host's step lock (em_host_lock): a watchdog left behind by a killed step must not hold it.
    if [ -n "${EM_LOCK_FD:-}" ]; then exec {EM_LOCK_FD}>&-; fi
    trap 'kill "$s" 2>/dev/null; exit 0' TERM
    sleep "$(em_cap "$EM_BUDGET")" </dev/null >/dev/null 2>&1 &
    s=$!
    wait "$s"
    trap '' TERM # the dying step's EXIT trap must not stop us half-way
    printf 'elastic-mesos %s: FAILED: the step did not finish within its %s s (EM_STEP_SECONDS); stopping it and what it started\n' \
      "$EM_STEP" "$EM_BUDGET" >&2
    exec >/dev/null 2>&1 # the step's output ends with the step, not 5 s later
    pids=$(em_tree "$me" | grep -vx "$BASHPID" | tr '\n' ' ') || true
    # shellcheck disable=SC2086 # a list of pids
    kill -TERM $pids 2>/dev/null || true
    sleep 5
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    exit 0
  ) &
  EM_WATCHDOG=$!
  trap 'kill "$EM_WATCHDOG" 2>/dev/null || true' EXIT
}
# Where a step keeps its lock, its host's owner mark and its copy of itself. (EM_RUN, EM_OWNER and EM_STEP_DIR
# exist for the unit tests of this library, like EM_STATE below; steps never set them.)
EM_RUN=${EM_RUN:-/run/elastic-mesos}
EM_OWNER=${EM_OWNER:-/etc/elastic-mesos/owner}
EM_STEP_DIR=${EM_STEP_DIR:-/var/lib/elastic-mesos/steps}
# em_host_lock: one run at a time on this host: two `pulumi up`s, a step re-run by hand, a cleanup. Waits up
# to EM_HOST_LOCK_WAIT seconds (default a third of the step's budget, so a step that waited still has time
# to run), saying who holds it every 15 s, then fails naming that run. The lock (flock) goes with the step's
# processes: a killed step holds it no longer than what it started.
em_host_lock() {
  local f=$EM_RUN/step.lock limit start=$SECONDS said=-15 who
  em_mkdir "$EM_RUN" 0700
  exec {EM_LOCK_FD}>>"$f"
  limit=$(em_cap "${EM_HOST_LOCK_WAIT:-$((EM_BUDGET / 3))}")
  while ! flock -n "$EM_LOCK_FD"; do
    who=$(em_lock_who "$f")
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      em_fail "another elastic-mesos run still holds this host after $((SECONDS - start)) s: $who (lock $f). Let it finish (another \`pulumi up\` of this cluster, or a step run by hand), or stop it (sudo kill <pid>), then run the step again"
    fi
    if [ $((SECONDS - said)) -ge 15 ]; then em_log "waiting for another run on this host: $who ($((SECONDS - start)) s so far)"; said=$SECONDS; fi
    sleep 1
  done
  printf 'pid=%s step=%s since=%s\n' "$$" "${EM_STEP// /_}" "$(date +%s)" >"$f"
  [ "$said" -lt 0 ] || em_log "the other run finished after $((SECONDS - start)) s; going on"
}
em_lock_who() { # LOCKFILE: the run that holds it, as it recorded itself
  local pid step since cmd
  pid=$(sed -n 's/^pid=\([0-9]*\).*/\1/p' "$1" 2>/dev/null | head -n 1)
  step=$(sed -n 's/.* step=\([^ ]*\).*/\1/p' "$1" 2>/dev/null | head -n 1)
  since=$(sed -n 's/.* since=\([0-9]*\).*/\1/p' "$1" 2>/dev/null | head -n 1)
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ]; then
    cmd=$({ tr '\0\n' '  ' <"/proc/$pid/cmdline"; } 2>/dev/null | cut -c1-80 || true)
    printf 'pid %s (%s), step %s, running for %s s' "$pid" "${cmd% }" "${step//_/ }" "$(($(date +%s) - ${since:-0}))"
  else
    printf 'a process that did not record itself (%s)' "$(em_lock_holders "$1" | tr '\n' ' ')"
  fi
}
# em_owner CLUSTER ID [PREVIOUS_ID]: a host belongs to one cluster. The first step that runs marks it (EM_OWNER: the
# cluster's name and its owner id, derived from the stack's clusterSecret: another stack that reuses the name has
# another id); a step of any other cluster stops here, before it changes anything. `pulumi destroy` removes the mark.
# While clusterSecret rotates, a host marked with the previous secret's id is the cluster's: marked anew.
em_owner() {
  local had had_id
  if [ -e "$EM_OWNER" ]; then
    had=$(sed -n 's/^cluster=//p' "$EM_OWNER" 2>/dev/null | head -n 1)
    had_id=$(sed -n 's/^owner-id=//p' "$EM_OWNER" 2>/dev/null | head -n 1)
    [ "$had" = "$1" ] && [ "$had_id" = "$2" ] && return 0
    # The previous secret's id while clusterSecret rotates: marked anew below, as a new host is.
    if [ "$had" != "$1" ] || [ -z "${3:-}" ] || [ "$had_id" != "$3" ]; then
      printf 'elastic-mesos %s: FAILED: this host belongs to cluster %s (owner id %s in %s), not to cluster %s (owner id %s)%s: refused; nothing on the host was changed.\n' \
        "$EM_STEP" "'${had:-?}'" "${had_id:-?}" "$EM_OWNER" "'$1'" "$2" \
        "$([ "$had" != "$1" ] || echo ', another stack with the same cluster name and another clusterSecret')" >&2
      # shellcheck disable=SC2016 # the backquotes are text
      printf 'To give the host to this cluster, release it first: run `pulumi destroy` in the stack of cluster %s (or drop the host from its config and run `pulumi up` there), which removes what that cluster installed and the mark. If that stack is gone for good, release the host on it by hand: sudo rm %s (the old cluster'"'"'s data stays in /var/lib/zookeeper and /var/lib/mesos), then run this again.\n' \
        "'${had:-?}'" "$EM_OWNER" >&2
      exit 1
    fi
  fi
  em_mkdir "$(dirname "$EM_OWNER")" 0700
  em_put "$EM_OWNER" 0644 root root < <(printf 'cluster=%s\nowner-id=%s\n' "$1" "$2")
}
# em_keep NAME: keep this step script as EM_STEP_DIR/NAME (root only: it holds credentials), so that it can be run
# again by hand. A script run from elsewhere (the SSH runner's copy in EM_RUN) is copied there if it differs;
# one run from that path already (cloud-init, an operator) is left alone. Bookkeeping: not reported as a change.
em_keep() {
  local dest=$EM_STEP_DIR/$1 tmp err
  [ -f "$0" ] || return 0
  [ "$(readlink -f "$0")" != "$(readlink -f "$dest" 2>/dev/null || echo "$dest")" ] || return 0
  if [ -f "$dest" ] && cmp -s "$0" "$dest" && em_same_meta "$dest" 0700 root root; then return 0; fi
  em_mkdir "$EM_STEP_DIR" 0700
  tmp=$(mktemp "$EM_STEP_DIR/.em-XXXXXX" 2>&1) || em_fail "cannot keep $dest: $(em_fs_why "$EM_STEP_DIR" "$tmp")"
  err=$({ cat "$0" >"$tmp" && chmod 0700 "$tmp" && mv -f "$tmp" "$dest"; } 2>&1) ||
    { rm -f "$tmp"; em_fail "cannot keep $dest: $(em_fs_why "$EM_STEP_DIR" "$err")"; }
}
# em_was_changed WHAT...: did this run change any of them (file paths or em_mark labels)?
em_was_changed() {
  local p
  for p in "$@"; do case $'\n'"$EM_CHANGED" in *$'\n'"$p"$'\n'*) return 0 ;; esac; done
  return 1
}
em_same_meta() { [ "$(stat -c '%a %U %G' "$1")" = "$(printf '%o' "$((8#$2))") $3 $4" ]; }
# em_fs_why PATH ERROR: why a write under PATH failed, and the fix: its file system is mounted read-only, or
# full (blocks or inodes), or else ERROR as the tool said it. (GNU install -d on a read-only file system says
# "cannot change permissions ... No such file or directory": never the cause.)
em_fs_why() {
  local p=$1 mnt opts avail ifree
  while [ ! -e "$p" ] && [ "$p" != / ] && [ "$p" != . ]; do p=$(dirname "$p"); done
  mnt=$(df -P "$p" 2>/dev/null | awk 'NR == 2 { print $6 }') || true
  opts=$(awk -v m="${mnt:-/}" '$2 == m { o = $4 } END { print o }' /proc/self/mounts 2>/dev/null) || true
  case ",$opts," in *,ro,*)
    echo "the file system at ${mnt:-?} is mounted read-only ($2); make it writable (sudo mount -o remount,rw ${mnt:-?}, or fix /etc/fstab), then run the step again"
    return 0 ;;
  esac
  avail=$(df -Pk "$p" 2>/dev/null | awk 'NR == 2 { print $4 }') || true
  ifree=$(df -Pi "$p" 2>/dev/null | awk 'NR == 2 { print $4 }') || true
  if [[ $2 == *"No space left"* ]] || [ "${avail:-1}" = 0 ] || [ "${ifree:-1}" = 0 ]; then
    echo "no space left on ${mnt:-?} (${avail:-?} KiB and ${ifree:-?} inodes free; $2); free some space there (df -h ${mnt:-?}), then run the step again"
    return 0
  fi
  echo "$2"
}
em_mkdir() { # DIR MODE: DIR (and its parents) if missing, or fail with the real cause
  local err
  [ -d "$1" ] && return 0
  # shellcheck disable=SC2174 # the mode is for DIR; missing parents get the usual 0755
  err=$(mkdir -p -m "$2" -- "$1" 2>&1) || em_fail "cannot create directory $1: $(em_fs_why "$1" "$err")"
}
# em_put PATH MODE OWNER GROUP [nonl] <CONTENT: write atomically, only if bytes, mode or owner differ.
# "nonl" drops trailing newlines (Marathon reads its secret file byte for byte). A failed write removes its
# temp file and says why (read-only, full).
em_put() {
  local path=$1 mode=$2 owner=$3 group=$4 tmp dir err
  dir=$(dirname "$path")
  em_mkdir "$dir" 0755
  tmp=$(mktemp "$dir/.em-XXXXXX" 2>&1) || em_fail "cannot write $path: $(em_fs_why "$dir" "$tmp")"
  if [ "${5:-}" = nonl ]; then
    err=$(printf '%s' "$(cat)" 2>&1 >"$tmp") || { rm -f "$tmp"; em_fail "cannot write $path: $(em_fs_why "$dir" "$err")"; }
  else
    err=$(cat 2>&1 >"$tmp") || { rm -f "$tmp"; em_fail "cannot write $path: $(em_fs_why "$dir" "$err")"; }
  fi
  if [ -f "$path" ] && [ ! -L "$path" ] && cmp -s "$tmp" "$path" && em_same_meta "$path" "$mode" "$owner" "$group"; then
    rm -f "$tmp"
    return 0
  fi
  err=$({ chown "$owner:$group" "$tmp" && chmod "$mode" "$tmp" && mv -f "$tmp" "$path"; } 2>&1) ||
    { rm -f "$tmp"; em_fail "cannot write $path: $(em_fs_why "$dir" "$err")"; }
  em_mark "$path"
}
em_dir() { # PATH MODE OWNER GROUP
  local err
  if [ -d "$1" ] && em_same_meta "$1" "$2" "$3" "$4"; then return 0; fi
  err=$({ mkdir -p -- "$1" && chown "$3:$4" "$1" && chmod "$2" "$1"; } 2>&1) ||
    em_fail "cannot create directory $1 ($2 $3:$4): $(em_fs_why "$1" "$err")"
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
# em_fetch URL DEST: download with a deadline. A stalled transfer (under 1 KB/s for 30 s) or a connection
# cut short is retried (curl's --retry skips a cut one: exit 18); an HTTP 4xx answer is final.
em_fetch() {
  local try code rc
  for try in 1 2 3 4; do
    rc=0
    code=$(curl -fsSL -w '%{http_code}' --connect-timeout 20 --speed-limit 1024 --speed-time 30 \
      --max-time "$(em_cap 900)" --proto '=https,http,file' -o "$2" "$1") || rc=$?
    [ "$rc" = 0 ] && return 0
    case $code in 408 | 429) ;; 4??) return 1 ;; esac
    if [ "$try" -ge 4 ] || [ "$(em_left)" -le $((try * 5)) ]; then return 1; fi
    em_log "download of $1 failed (curl exit $rc, HTTP $code), try $try of 4; retrying in $((try * 5)) s"
    sleep $((try * 5))
  done
}
em_fprs() { # KEYFILE: fingerprints of its primary keys, space-separated (no keyring, no gpg-agent needed)
  local h
  h=$(mktemp -d)
  gpg --batch --quiet --no-tty --homedir "$h" --with-colons --show-keys "$1" 2>/dev/null |
    awk -F: '$1=="pub"{p=1;next} $1=="fpr"&&p{printf "%s%s",s,$10;s=" ";p=0}' || true
  rm -rf "$h"
}
# em_key URL FINGERPRINT|- DEST binary|armor: fetch a signing key; if a fingerprint is pinned, the file must
# hold exactly that primary key. Stored dearmored for apt's signed-by, armored for rpm. Skipped (no network)
# when DEST already holds the pinned key.
em_key() {
  local url=$1 want=$2 dest=$3 fmt=$4 tmp got
  if [ -s "$dest" ]; then
    got=$(em_fprs "$dest")
    if [ -n "$got" ] && { [ "$want" = - ] || [ "$got" = "$want" ]; }; then return 0; fi
  fi
  tmp=$(mktemp -d)
  em_fetch "$url" "$tmp/key" || { rm -rf "$tmp"; em_fail "cannot download the signing key $url"; }
  got=$(em_fprs "$tmp/key")
  [ -n "$got" ] || { rm -rf "$tmp"; em_fail "$url is not an OpenPGP public key"; }
  if [ "$want" != - ] && [ "$got" != "$want" ]; then
    rm -rf "$tmp"
    em_fail "signing key $url has fingerprint(s) $got, not (only) the pinned $want; check the mirror, or the pinned keyFingerprint"
  fi
  if grep -q 'BEGIN PGP PUBLIC KEY BLOCK' "$tmp/key"; then
    if [ "$fmt" = binary ]; then gpg --batch --quiet --no-tty --homedir "$tmp" --dearmor -o "$tmp/out" "$tmp/key" 2>/dev/null; else mv "$tmp/key" "$tmp/out"; fi
  else
    [ "$fmt" = binary ] || { rm -rf "$tmp"; em_fail "$url must be an ASCII-armored key for rpm"; }
    mv "$tmp/key" "$tmp/out"
  fi
  em_put "$dest" 0644 root root <"$tmp/out"
  rm -rf "$tmp"
}
em_pkg_has() { # NAME VERSION-PREFIX ('' = any): installed, at that version?
  local v
  if command -v dpkg-query >/dev/null; then
    # shellcheck disable=SC2016
    v=$(dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null) || return 1
    # "hold ok installed" once em_hold pinned it
    case "$v" in "install ok installed $2"* | "hold ok installed $2"*) return 0 ;; *) return 1 ;; esac
  fi
  v=$(rpm -q --qf '%{VERSION}-%{RELEASE}' "$1" 2>/dev/null) || return 1
  case "$v" in "$2"*) return 0 ;; *) return 1 ;; esac
}
# Package managers get a network deadline and retries: a proxy or mirror that stalls mid-file (seen: 218
# bytes of InRelease, then nothing for 13 minutes) fails a try in 30 s, and a whole command in minutes.
EM_APT_OPTS=(-o Acquire::http::Timeout=30 -o Acquire::https::Timeout=30 -o Acquire::Retries=3 -o DPkg::Lock::Timeout=120)
# apt's and dpkg's locks: apt-get update takes the lists lock without waiting, so em_apt_wait waits first.
EM_APT_LOCKS=(/var/lib/apt/lists/lock /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/cache/apt/archives/lock)
# em_lock_holders FILE...: "FILE (pid N: COMMAND)" for each FILE a process holds a lock on (/proc/locks: apt's
# fcntl locks and flock(1) alike; no fuser or lsof needed). Waiters ("->" lines) are not holders.
em_lock_holders() {
  local f ino pid
  for f in "$@"; do
    [ -e "$f" ] || continue
    ino=$(stat -c %i "$f")
    awk -v ino="$ino" '$2 != "->" { n = split($6, d, ":"); if (d[n] == ino) print $5 }' /proc/locks | sort -u |
      while read -r pid; do
        printf '%s (pid %s: %s)\n' "$f" "$pid" "$(tr '\0\n' '  ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80 || true)"
      done
  done
}
# em_apt_wait: wait until nobody holds apt's or dpkg's locks (unattended-upgrades, cloud-init, an operator),
# saying who holds them every 15 s; fails after EM_LOCK_WAIT seconds (default 600) or at the step deadline.
em_apt_wait() {
  local limit start=$SECONDS held said=-15
  limit=$(em_cap "${EM_LOCK_WAIT:-600}")
  while held=$(em_lock_holders "${EM_APT_LOCKS[@]}") && [ -n "$held" ]; do
    held=${held//$'\n'/, }
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      em_fail "apt/dpkg is still locked after $((SECONDS - start)) s by $held; let it finish (or stop it), then run the step again"
    fi
    if [ $((SECONDS - said)) -ge 15 ]; then em_log "waiting for $held ($((SECONDS - start)) s so far)"; said=$SECONDS; fi
    sleep 1
  done
  [ "$said" -lt 0 ] || em_log "apt/dpkg lock released after $((SECONDS - start)) s"
}
# em_dpkg_repair: finish what an interrupted dpkg (a killed install) left half-done; apt refuses to run before.
em_dpkg_repair() {
  [ -n "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ] || [ -n "$(dpkg --audit 2>/dev/null)" ] || return 0
  em_log "an earlier dpkg run was interrupted: running dpkg --configure -a"
  em_apt_wait
  timeout -k 10 "$(em_cap 600)" dpkg --force-confdef --force-confold --configure -a ||
    em_fail "dpkg --configure -a failed; run it by hand to see why, then run the step again"
  em_mark "repaired dpkg (dpkg --configure -a)"
}
# em_apt_update: every index must arrive (a failed fetch is an error, not a stale list), 3 tries of 5 min.
em_apt_update() {
  local try out rc held
  for try in 1 2 3; do
    em_apt_wait
    rc=0
    out=$(timeout -k 10 "$(em_cap 300)" apt-get -q "${EM_APT_OPTS[@]}" -o APT::Update::Error-Mode=any update 2>&1) || rc=$?
    [ "$rc" = 0 ] && return 0
    [ "$rc" = 124 ] && out+=$'\nE: no complete answer within the deadline (timeout)'
    out=$(printf '%s\n' "$out" | grep -E '^(E|W|Err):' | tail -n 4 | tr '\n' ' ')
    em_log "apt-get update failed (exit $rc, try $try of 3): $out"
    if [ "$try" -ge 3 ] || [ "$(em_left)" -le $((try * 10)) ]; then break; fi
    sleep $((try * 10))
  done
  if [[ $out == *"Could not get lock"* || $out == *"Unable to lock"* ]]; then
    held=$(em_lock_holders "${EM_APT_LOCKS[@]}" | tr '\n' ' ')
    em_fail "apt-get update could not take apt's lock ($try tries): $out${held:+(held now by $held)}; another apt or dpkg (unattended-upgrades, apt-daily, an operator) is running: not a repository problem. Let it finish or stop it (sudo systemctl stop apt-daily.service apt-daily-upgrade.service unattended-upgrades.service), then run the step again"
  fi
  em_fail "apt-get update failed ($try tries): $out; check the network, the apt proxy (apt-config dump | grep -i proxy) and the repositories in /etc/apt/sources.list.d/"
}
em_apt_install() { # PKGSPEC...: 3 tries of 15 min; between tries, repair dpkg and wait for the locks again
  local try rc
  for try in 1 2 3; do
    em_apt_wait
    rc=0
    timeout -k 30 "$(em_cap 900)" apt-get -q -y "${EM_APT_OPTS[@]}" -o Dpkg::Options::=--force-confdef \
      -o Dpkg::Options::=--force-confold --no-install-recommends --allow-downgrades --allow-change-held-packages \
      install "$@" || rc=$?
    [ "$rc" = 0 ] && return 0
    if [ "$try" -ge 3 ] || [ "$(em_left)" -le $((try * 10)) ]; then break; fi
    em_log "apt-get install failed (exit $rc, try $try of 3); retrying in $((try * 10)) s"
    sleep $((try * 10))
    em_dpkg_repair
  done
  em_fail "apt-get install $* failed (exit $rc); check that the pinned versions exist in the repository"
}
em_install() { # PKGSPEC...: apt-get or dnf install (only called when something is missing)
  em_log "installing $*"
  if command -v apt-get >/dev/null; then
    em_dpkg_repair
    em_apt_update
    em_apt_install "$@"
  else
    timeout -k 30 "$(em_cap 900)" dnf -q -y --setopt=timeout=30 --setopt=retries=5 install "$@" ||
      em_fail "dnf install $* failed; check that the pinned versions exist in the repository"
  fi
  em_mark "installed $*"
}
em_hold() { # PKG...: keep unattended upgrades away from pinned packages
  local p held
  command -v apt-mark >/dev/null || return 0
  em_apt_wait # apt-mark hold goes through dpkg's lock
  held=$'\n'$(apt-mark showhold)$'\n' # captured, not piped: `| grep -q` would SIGPIPE apt-mark under pipefail
  for p in "$@"; do
    case "$held" in *$'\n'"$p"$'\n'*) ;; *) apt-mark hold "$p" >/dev/null && em_mark "held $p" ;; esac
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
# (EM_STATE and EM_UNITS exist for the unit tests of this library; steps never set them.)
em_service() {
  local unit=$1 stamp=${EM_STATE:-/var/lib/elastic-mesos}/stamps/$1 file=${EM_UNITS:-/etc/systemd/system}/$1.service sum
  shift
  if em_was_changed "$file" ||
    [ "$(systemctl show -p NeedDaemonReload --value "$unit" 2>/dev/null)" = yes ]; then
    systemctl daemon-reload
  fi
  systemctl is-enabled -q "$unit" 2>/dev/null || { systemctl enable -q "$unit" 2>/dev/null; em_mark "enabled $unit"; }
  if [ $# -gt 0 ]; then
    sum=$(cat "$file" "$@" | sha256sum | cut -d' ' -f1)
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
# em_identity_additive OLD NEW: NEW ("attribute|resource NAME VALUE" lines) only adds to OLD: every old
# attribute kept with its value, every old resource kept, a number only grown (Mesos' additive policy;
# other resource changes, ranges included, count as not additive: forgetting is safe, refusing is not). A
# cpus/mem/disk/ports resource set where there was none is not additive either: Mesos had detected it, and
# the detected value (8 cores, say) may be more than the one now set (4): a shrink it refuses to recover.
em_identity_additive() {
  awk 'NR == FNR { if (NF) v[$1 " " $2] = $3; next }
    NF { k = $1 " " $2; seen[k] = 1
      if (!(k in v)) exit 1
      if (v[k] == $3) next
      if ($1 == "resource" && $3 ~ /^[0-9.]+$/ && v[k] ~ /^[0-9.]+$/ && v[k] + 0 >= $3 + 0) next
      exit 1 }
    END { for (k in v) if (!(k in seen) && k ~ /^resource (cpus|mem|disk|ports)$/) exit 1 }' <(printf '%s\n' "$2") <(printf '%s\n' "$1")
}
# em_agent_identity IDENTITY WORK_DIR: run before em_service mesos-agent. Records the attributes/resources
# the agent is started with; when they change in a way Mesos' additive reconfiguration policy refuses and the
# agent already ran here (WORK_DIR/meta/slaves/latest exists), removes that link so the restart registers a
# new agent instead of failing recovery. The agent's tasks are lost; Marathon reschedules them. A host
# without a record (first run) only gets one.
em_agent_identity() {
  local want=$1 latest=$2/meta/slaves/latest rec=${EM_STATE:-/var/lib/elastic-mesos}/agent-identity had
  had=$(cat "$rec" 2>/dev/null || true)
  [ "$had" = "$want" ] && return 0
  if [ -n "$had" ] && { [ -e "$latest" ] || [ -L "$latest" ]; } && ! em_identity_additive "$had" "$want"; then
    rm -f "$latest"
    em_mark "removed $latest"
    em_log "the agent's attributes/resources changed in a way Mesos cannot recover (not additive): it restarts as a new agent; the tasks that ran on it are lost and Marathon reschedules them"
  fi
  em_put "$rec" 0644 root root < <(printf '%s\n' "$want")
}
# em_zookeeper VERSION URL FALLBACK|- SHA512|- SHA512URL|-: Apache ZooKeeper's binary tarball into
# /opt/zookeeper-VERSION, only if its SHA-512 matches the pin, or else Apache's official .sha512 (HTTPS).
em_zookeeper() {
  local v=$1 url=$2 alt=$3 want=$4 shaurl=$5 dir=/opt/zookeeper-$1 tmp got
  if [ -f "$dir/.elastic-mesos-sha512" ] && { [ "$want" = - ] || [ "$(cat "$dir/.elastic-mesos-sha512")" = "$want" ]; }; then return 0; fi
  tmp=$(mktemp -d)
  if [ "$want" = - ]; then
    em_fetch "$shaurl" "$tmp/sha512" || { rm -rf "$tmp"; em_fail "cannot download the official checksum $shaurl"; }
    want=$(sed -E 's/[^[:space:]]*\.tar\.gz:?//g' "$tmp/sha512" | tr -cd '0-9a-fA-F' | tr 'A-F' 'a-f')
    [ ${#want} -eq 128 ] || { rm -rf "$tmp"; em_fail "$shaurl does not hold a SHA-512"; }
  fi
  if ! em_fetch "$url" "$tmp/zk.tgz"; then
    if [ "$alt" = - ] || ! em_fetch "$alt" "$tmp/zk.tgz"; then rm -rf "$tmp"; em_fail "cannot download ZooKeeper $v from $url"; fi
  fi
  got=$(sha512sum "$tmp/zk.tgz" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    rm -rf "$tmp"
    em_fail "ZooKeeper tarball from $url has SHA-512 $got, expected $want; not installing it (check the mirror or artifacts.zookeeper.sha512)"
  fi
  mkdir "$tmp/x"
  tar -xzf "$tmp/zk.tgz" -C "$tmp/x" --no-same-owner
  [ -d "$tmp/x/apache-zookeeper-$v-bin" ] || { rm -rf "$tmp"; em_fail "the tarball has no apache-zookeeper-$v-bin/ directory"; }
  rm -rf "$dir"
  mv "$tmp/x/apache-zookeeper-$v-bin" "$dir"
  chmod 0755 "$dir"
  printf '%s\n' "$want" >"$dir/.elastic-mesos-sha512"
  rm -rf "$tmp"
  em_mark "installed ZooKeeper $v in $dir"
}
em_link() { # TARGET LINK
  if [ "$(readlink "$2" 2>/dev/null || true)" = "$1" ]; then return 0; fi
  ln -sfn "$1" "$2"
  em_mark "$2 -> $1"
}
em_image() { # IMAGE ARCHIVE-URL|-: a container image, pulled, or loaded from a `docker save` tarball
  local tmp
  if docker image inspect "$1" >/dev/null 2>&1; then return 0; fi
  if [ "$2" != - ]; then
    tmp=$(mktemp)
    em_fetch "$2" "$tmp" || { rm -f "$tmp"; em_fail "cannot download $2"; }
    docker load -q -i "$tmp" >/dev/null || { rm -f "$tmp"; em_fail "docker load -i $2 failed"; }
    rm -f "$tmp"
  else
    docker pull -q "$1" >/dev/null || em_fail "docker pull $1 failed; mirror the image and set artifacts.marathon.image"
  fi
  docker image inspect "$1" >/dev/null 2>&1 || em_fail "image $1 is still missing after loading ${2#-}"
  em_mark "image $1"
}
em_route_src() { # IP: this host's source address towards IP
  ip -4 route get "$1" 2>/dev/null | sed -n '1s/.* src \([0-9.]*\).*/\1/p'
}
em_zk_mode() { # IP: "leader", "follower", "standalone" or nothing (srvr four-letter word, 5 s)
  # shellcheck disable=SC2016
  timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/2181" && printf srvr >&3 && cat <&3' "$1" 2>/dev/null | sed -n 's/^Mode: //p' || true
}
# ZooKeeper membership (steps/zookeeper.ts); the live config is ZooKeeper's, under /var/lib/zookeeper/conf.
# em_zk_dyn: its members file. em_zk_voting ID: server ID is a voter there.
em_zk_dyn() { sed -n 's/^dynamicConfigFile=//p' /var/lib/zookeeper/conf/zoo.cfg 2>/dev/null | tail -n 1 || true; }
em_zk_voting() { grep -qs "^server\.$1=[^;]*:participant;" "$(em_zk_dyn)"; }
# em_zk_cli V IP: zkCli of ZooKeeper V on IP:2181, its commands on stdin (a password is never an argument).
em_zk_cli() { timeout "$(em_cap 60)" "/opt/zookeeper-$1/bin/zkCli.sh" -server "$2:2181" 2>&1; }
# em_gate SECONDS DESCRIPTION HINT: run em_gate_check in a fresh bash (errexit on) until it succeeds.
em_gate() {
  local limit desc=$2 hint=$3 start=$SECONDS out=''
  limit=$(em_cap "$1") # a gate never outlasts its step: its own message beats the runner's timeout
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
