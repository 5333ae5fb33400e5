#!/usr/bin/env bash
# build-zookeeper.sh OUTDIR: a ZooKeeper tarball in the Apache binary layout (apache-zookeeper-<v>-bin/ with
# bin/zkServer.sh, lib/*.jar, conf/) made from the REAL ZooKeeper of Debian's `zookeeper` package: its jars and
# those of the Java libraries it needs, downloaded with `apt-get download` through the lab's apt proxy.
# Writes OUTDIR/zookeeper-<v>/apache-zookeeper-<v>-bin.tar.gz and .sha512 (sha512sum format, like Apache's).
set -euo pipefail
OUT=${1:?usage: build-zookeeper.sh OUTDIR}
PROXY=${LAB_APT_PROXY:-http://127.0.0.1:3142}
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
deb_version=$(apt-cache policy zookeeper | awk '/Candidate:/{print $2}')
[ -n "$deb_version" ] && [ "$deb_version" != "(none)" ] || { echo "build-zookeeper: no zookeeper package in apt lists (apt-get update?)" >&2; exit 1; }
V=${deb_version%%-*}                      # 3.8.0-11+deb12u2 -> 3.8.0
pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
  --no-enhances --no-pre-depends zookeeper | grep -v '^ ' | grep -E -- '-java$' | grep -v ca-certificates-java | sort -u)
apt-get -q -o Acquire::http::Proxy="$PROXY" download zookeeper $pkgs >/dev/null 2>download.err ||
  { cat download.err >&2; exit 1; }
mkdir root
for d in *.deb; do dpkg-deb -x "$d" root; done
D=apache-zookeeper-$V-bin
mkdir -p "$D/bin" "$D/lib" "$D/conf" "$D/docs"
# lib/: zookeeper.jar's Class-Path closure (what Debian runs), plus the logging backend and servlet API that
# the Apache tarball also ships (so the AdminServer starts on 8080 exactly as with Apache's tarball), and the
# Netty codec, resolver and unix-common jars Apache's lib/ has and Debian's Class-Path lacks: without them the
# Netty connection factory (ZooKeeper's TLS client port) fails every connection with NoClassDefFoundError.
python3 "$HERE/jar-closure.py" root /usr/share/java/zookeeper.jar /usr/share/java/log4j-1.2.jar \
  /usr/share/java/slf4j-log4j12.jar /usr/share/java/servlet-api.jar /usr/share/java/netty-codec.jar \
  /usr/share/java/netty-resolver.jar /usr/share/java/netty-transport-native-unix-common.jar | while read -r src name; do
  case $name in zookeeper.jar) name=zookeeper-$V.jar ;; zookeeper-jute.jar) name=zookeeper-jute-$V.jar ;; esac
  cp "$src" "$D/lib/$name"
done
# bin/: Apache's scripts as Debian ships them (zkServer.sh, zkCli.sh, zkCleanup.sh) + an Apache-style zkEnv.sh
# (Debian replaced it with a symlink to /etc/zookeeper/conf/environment).
for s in zkServer.sh zkCli.sh zkCleanup.sh; do install -m755 "root/usr/share/zookeeper/bin/$s" "$D/bin/$s"; done
install -m755 "$HERE/zkEnv.sh" "$D/bin/zkEnv.sh"
install -m644 root/etc/zookeeper/conf_example/configuration.xsl "$D/conf/"
cat >"$D/conf/log4j.properties" <<'L4J'
# Console logging (stdout -> journald under systemd); file logging is up to the operator.
zookeeper.root.logger=INFO, CONSOLE
log4j.rootLogger=${zookeeper.root.logger}
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.Threshold=INFO
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n
L4J
cat >"$D/conf/zoo_sample.cfg" <<'CFG'
tickTime=2000
initLimit=10
syncLimit=5
dataDir=/tmp/zookeeper
clientPort=2181
CFG
cp root/usr/share/doc/libzookeeper-java/copyright "$D/LICENSE.txt" 2>/dev/null || true
printf 'ZooKeeper %s from Debian %s (zookeeper, libzookeeper-java and its Java libraries), laid out like\nthe Apache binary tarball by the elastic-mesos lab (lab/mirror/build-zookeeper.sh).\n' "$V" "$deb_version" >"$D/README.lab"
mkdir -p "$OUT/zookeeper-$V"
tar --owner=0 --group=0 --sort=name --mtime=@0 -czf "$OUT/zookeeper-$V/$D.tar.gz" "$D"
(cd "$OUT/zookeeper-$V" && sha512sum "$D.tar.gz" >"$D.tar.gz.sha512")
echo "$OUT/zookeeper-$V/$D.tar.gz"
