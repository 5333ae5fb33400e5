#!/usr/bin/env bash
# build-zookeeper.sh OUTDIR VERSION: the REAL Apache ZooKeeper VERSION (3.8.x or 3.9.x) in the Apache binary
# tarball layout (apache-zookeeper-<v>-bin/ with bin/zkServer.sh, lib/*.jar, conf/), its jars from Maven Central.
# Writes OUTDIR/zookeeper-<v>/apache-zookeeper-<v>-bin.tar.gz and .sha512 (sha512sum format, like Apache's).
# lib/: what Apache's own assembly (zookeeper-assembly/pom.xml) puts there: zookeeper, zookeeper-jute and
#   their runtime dependencies, plus the `provided` and optional jars the server, AdminServer and zkCli need at run
#   time (logback: optional from 3.9 on; Jetty, Jackson, jline, commons-cli, metrics-core, snappy-java), each at the
#   version the release's parent POM manages, resolved by `mvn dependency:copy-dependencies`. Not included:
#   zookeeper-prometheus-metrics (not served by the registry this project may use; only a zoo.cfg that names its
#   metricsProvider.className needs it). Maven caches the downloads in its local repository (~/.m2/repository, or
#   LAB_M2_REPO), outside the repository, so a rebuild downloads nothing.
# bin/: Maven Central has no scripts (the release's jars carry none), so zkServer.sh, zkCli.sh and zkCleanup.sh are
#   Apache's scripts as Debian's `zookeeper` package ships them (3.8.0's; they do not depend on the release: they
#   source zkEnv.sh and run QuorumPeerMain / ZooKeeperMain with conf/ and lib/*.jar on the class path), downloaded
#   with `apt-get download` (through LAB_APT_PROXY when set), plus an Apache-style zkEnv.sh (lab/mirror/zkEnv.sh;
#   Debian's is a symlink to /etc/zookeeper/conf/environment).
# conf/: logback.xml (3.8+ log through logback: console only, so under systemd the log goes to the journal),
#   zoo_sample.cfg, configuration.xsl.
set -euo pipefail
OUT=${1:?usage: build-zookeeper.sh OUTDIR VERSION}
V=${2:?usage: build-zookeeper.sh OUTDIR VERSION}
[[ $V =~ ^3\.(8|9)\.[0-9]+$ ]] || { echo "build-zookeeper: $V: only ZooKeeper 3.8.x and 3.9.x are built" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
M2=${LAB_M2_REPO:-$HOME/.m2/repository}
T=; W=$(mktemp -d); trap 'rm -rf "$W" ${T:+"$T"}' EXIT
cd "$W"

# lib/ through Maven: a throw-away POM that imports the release's parent POM (its dependencyManagement pins every
# version) and asks for the assembly's jars; test-scoped and optional dependencies stay out, as in Apache's lib/.
dep() { printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId>%s</dependency>\n' "$1" "$2" "${3:-}"; }
{
  cat <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>elastic-mesos.lab</groupId><artifactId>zookeeper-bin</artifactId><version>$V</version>
  <packaging>pom</packaging>
  <dependencyManagement><dependencies>
    <dependency><groupId>org.apache.zookeeper</groupId><artifactId>parent</artifactId><version>$V</version>
      <type>pom</type><scope>import</scope></dependency>
  </dependencies></dependencyManagement>
  <dependencies>
POM
  for a in zookeeper zookeeper-jute; do dep org.apache.zookeeper "$a" "<version>$V</version>"; done
  dep ch.qos.logback logback-classic
  dep commons-cli commons-cli
  dep org.eclipse.jetty jetty-server
  dep org.eclipse.jetty jetty-servlet
  dep com.fasterxml.jackson.core jackson-databind
  dep org.jline jline
  dep io.dropwizard.metrics metrics-core
  dep org.xerial.snappy snappy-java
  echo "  </dependencies>"
  echo "</project>"
} >pom.xml
D=apache-zookeeper-$V-bin
mkdir -p "$D/bin" "$D/lib" "$D/conf"
mvn -B -q -Dmaven.repo.local="$M2" -f pom.xml \
  org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$W/$D/lib" >mvn.log 2>&1 || { tail -40 mvn.log >&2; exit 1; }
for j in zookeeper zookeeper-jute; do
  [ -f "$D/lib/$j-$V.jar" ] || { echo "build-zookeeper: Maven gave no $j-$V.jar" >&2; exit 1; }
done

# bin/: the scripts of Debian's zookeeper package (apt-get download needs the apt lists: apt-get update).
if [ -n "${LAB_APT_PROXY:-}" ]; then proxy=(-o Acquire::http::Proxy="$LAB_APT_PROXY"); else proxy=(); fi
apt-get -q "${proxy[@]}" download zookeeper >/dev/null 2>download.err || { cat download.err >&2; exit 1; }
dpkg-deb -x zookeeper_*.deb deb
deb_version=$(dpkg-deb -f zookeeper_*.deb Version)
for s in zkServer.sh zkCli.sh zkCleanup.sh; do install -m755 "deb/usr/share/zookeeper/bin/$s" "$D/bin/$s"; done
install -m755 "$HERE/zkEnv.sh" "$D/bin/zkEnv.sh"
install -m644 deb/etc/zookeeper/conf_example/configuration.xsl "$D/conf/"

cat >"$D/conf/logback.xml" <<'XML'
<!-- ZooKeeper's logging (logback, ZooKeeper 3.8+): INFO and above to the console, that is stdout, which systemd
     sends to the journal. ${zookeeper.log.dir} and ${zookeeper.log.file} (set by zkServer.sh) are there for an
     operator who adds a file appender. -->
<configuration>
  <property name="zookeeper.console.threshold" value="INFO" />
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{0}@%L] - %m%n</pattern>
    </encoder>
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter">
      <level>${zookeeper.console.threshold}</level>
    </filter>
  </appender>
  <root level="INFO">
    <appender-ref ref="CONSOLE" />
  </root>
</configuration>
XML
cat >"$D/conf/zoo_sample.cfg" <<'CFG'
tickTime=2000
initLimit=10
syncLimit=5
dataDir=/tmp/zookeeper
clientPort=2181
CFG
{
  printf 'Apache ZooKeeper %s laid out like the Apache binary tarball by the elastic-mesos lab\n' "$V"
  printf '(lab/mirror/build-zookeeper.sh): lib/ from Maven Central (org.apache.zookeeper:zookeeper:%s and the\n' "$V"
  printf "jars its release's assembly ships), bin/ from Debian's zookeeper %s package + an Apache-style zkEnv.sh.\n" \
    "$deb_version"
  echo
  echo "lib/:"
  (cd "$D/lib" && ls)
} >"$D/README.lab"
# Reproducible: sorted names, fixed owner and mtime, no gzip timestamp; the same inputs give the same SHA-512.
tar --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -cf - "$D" | gzip -9n >"$D.tar.gz"
sha512sum "$D.tar.gz" >"$D.tar.gz.sha512"
# Into place by rename (a reader sees the old file or the new one, never half of one); the tarball first.
mkdir -p "$OUT/zookeeper-$V"
T=$(mktemp -d "$OUT/zookeeper-$V/.new.XXXXXX")
cp "$D.tar.gz" "$D.tar.gz.sha512" "$T/"
chmod 644 "$T/$D.tar.gz" "$T/$D.tar.gz.sha512"
mv "$T/$D.tar.gz" "$OUT/zookeeper-$V/$D.tar.gz"
mv "$T/$D.tar.gz.sha512" "$OUT/zookeeper-$V/$D.tar.gz.sha512"
rmdir "$T"
echo "$OUT/zookeeper-$V/$D.tar.gz"
