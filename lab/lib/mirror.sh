# shellcheck shell=bash
# The artifact mirror: plain HTTP on the bridge address, laid out like the upstream hosts it replaces, so the
# bootstrap uses it exactly as a user's air-gapped mirror (layout: lab/README.md). Sourced by lab-up.sh.
MIRROR_DIR=$LAB/mirror
WWW=$MIRROR_DIR/www
export GNUPGHOME=$MIRROR_DIR/gnupg

mirror_key() {   # the lab archive key, made once; public key + fingerprint published under /keys/
  mkdir -p "$GNUPGHOME" "$WWW/keys"; chmod 700 "$GNUPGHOME"
  if ! gpg --batch --list-secret-keys lab-archive@elastic-mesos.invalid >/dev/null 2>&1; then
    gpg --batch --passphrase '' --quick-gen-key \
      "elastic-mesos lab archive (TEST ONLY) <lab-archive@elastic-mesos.invalid>" ed25519 sign never 2>/dev/null
  fi
  local fpr
  fpr=$(gpg --batch --with-colons --list-keys lab-archive@elastic-mesos.invalid | awk -F: '/^fpr/{print $10; exit}')
  gpg --batch --armor --export "$fpr" >"$WWW/keys/lab-archive.asc"
  gpg --batch --export "$fpr" >"$WWW/keys/lab-archive.gpg"
  echo "$fpr" >"$WWW/keys/lab-archive.fingerprint"
}

mirror_repo() {   # Debian/ apt repository: stand-in packages (rebuilt when their sources change), signed
  local src=$LAB_ROOT/test/fixtures/standins repo=$WWW/Debian key
  key=$( (cd "$src" && find . -type f -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum;
          sha256sum "$LAB_ROOT/lab/mirror/build-standins.sh") | sha256sum | cut -c1-16)
  if [ "$(cat "$MIRROR_DIR/standins.key" 2>/dev/null)" = "$key" ] && [ -f "$repo/dists/$SUITE/InRelease" ]; then
    log "mirror: stand-in packages up to date"; return
  fi
  rm -rf "$repo/pool/main"; mkdir -p "$repo/pool/main" "$repo/dists/$SUITE/main/binary-amd64"
  bash "$LAB_ROOT/lab/mirror/build-standins.sh" "$repo/pool/main" >/dev/null
  (cd "$repo" && apt-ftparchive packages pool/main >"dists/$SUITE/main/binary-amd64/Packages"
   gzip -9kf "dists/$SUITE/main/binary-amd64/Packages"
   apt-ftparchive -o APT::FTPArchive::Release::Origin=elastic-mesos-lab -o APT::FTPArchive::Release::Label=lab \
     -o APT::FTPArchive::Release::Suite="$SUITE" -o APT::FTPArchive::Release::Codename="$SUITE" \
     -o APT::FTPArchive::Release::Architectures="amd64 all" -o APT::FTPArchive::Release::Components=main \
     release "dists/$SUITE" >"dists/$SUITE/Release.tmp" && mv "dists/$SUITE/Release.tmp" "dists/$SUITE/Release")
  gpg --batch --yes -q --clearsign -o "$repo/dists/$SUITE/InRelease" "$repo/dists/$SUITE/Release" 2>/dev/null
  gpg --batch --yes -q --armor --detach-sign -o "$repo/dists/$SUITE/Release.gpg" "$repo/dists/$SUITE/Release" 2>/dev/null
  echo "$key" >"$MIRROR_DIR/standins.key"
  log "mirror: built and signed stand-in packages: $(cd "$repo/pool/main" && echo *.deb)"
}

# The ZooKeeper releases the mirror serves: the version the product pins (provisioning/artifacts.ts) and a newer one
# for the rolling-upgrade test. Keep test/fixtures/lab.ts (ZK_VERSION, ZK_UPGRADE_VERSION) in step.
ZK_VERSIONS=${LAB_ZK_VERSIONS:-3.8.6 3.9.5}

mirror_zookeeper() {   # zookeeper/zookeeper-<v>/apache-zookeeper-<v>-bin.tar.gz(.sha512) for each of ZK_VERSIONS
  local key v d t0 built=()
  key=$(cat "$LAB_ROOT/lab/mirror/build-zookeeper.sh" "$LAB_ROOT/lab/mirror/zkEnv.sh" | sha256sum | cut -c1-16)
  mkdir -p "$WWW/zookeeper"
  for d in "$WWW"/zookeeper/zookeeper-*; do   # versions no longer listed (the old Debian 3.8.0) are not served
    [ -d "$d" ] || continue; v=${d##*/zookeeper-}
    case " $ZK_VERSIONS " in *" $v "*) continue ;; esac
    rm -rf "$d" "$MIRROR_DIR/zookeeper-$v.key"; log "mirror: ZooKeeper $v is no longer served: removed"
  done
  for v in $ZK_VERSIONS; do
    if [ -f "$WWW/zookeeper/zookeeper-$v/apache-zookeeper-$v-bin.tar.gz.sha512" ] &&
      [ "$(cat "$MIRROR_DIR/zookeeper-$v.key" 2>/dev/null)" = "$key" ]; then continue; fi
    t0=$EPOCHREALTIME
    LAB_APT_PROXY=http://127.0.0.1:$PROXY_PORT \
      bash "$LAB_ROOT/lab/mirror/build-zookeeper.sh" "$WWW/zookeeper" "$v" >/dev/null
    echo "$key" >"$MIRROR_DIR/zookeeper-$v.key"
    built+=("$v ($(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f s", b-a}'))")
  done
  if [ ${#built[@]} = 0 ]; then log "mirror: ZooKeeper $ZK_VERSIONS up to date, reusing"; return; fi
  log "mirror: built ZooKeeper ${built[*]}: jars from Maven Central (cached in ${LAB_M2_REPO:-~/.m2/repository})," \
    "bin/ from Debian's zookeeper package"
}

mirror_http() {   # python3 http.server on the bridge address, recorded PID
  local url=http://$GW:$MIRROR_PORT
  echo "$url" >"$MIRROR_DIR/url"
  if pid_alive "$MIRROR_DIR/http.pid" python3; then log "mirror: HTTP server pid $(cat "$MIRROR_DIR/http.pid") on $url, reusing"; return; fi
  # {lk}>&-: the server must not keep ensure_mirror's lock open
  setsid python3 -m http.server --bind "$GW" --directory "$WWW" "$MIRROR_PORT" \
    >"$MIRROR_DIR/http.log" 2>&1 </dev/null {lk}>&- &
  echo $! >"$MIRROR_DIR/http.pid"
  for _ in $(seq 1 50); do nc -z "$GW" "$MIRROR_PORT" 2>/dev/null && break; sleep 0.1; done
  nc -z "$GW" "$MIRROR_PORT" || die "mirror HTTP server did not start; see $MIRROR_DIR/http.log"
  log "mirror: HTTP server pid $(cat "$MIRROR_DIR/http.pid") on $url"
}

ensure_mirror() {   # one lab-up at a time (test runs start their own): a second waits, then finds all built
  local lk
  mkdir -p "$WWW"
  exec {lk}>"$MIRROR_DIR/lock"
  flock -w 900 "$lk" || die "another lab-up has held $MIRROR_DIR/lock for 15 minutes"
  mirror_key
  mirror_repo
  mirror_zookeeper
  (cd "$WWW" && find . -name '*.tar.gz' -o -name '*.deb' | sort | xargs sha512sum >"$WWW/SHA512SUMS.tmp" &&
    mv "$WWW/SHA512SUMS.tmp" "$WWW/SHA512SUMS")
  mirror_http
  flock -u "$lk"; exec {lk}>&-
}
