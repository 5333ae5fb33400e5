#!/usr/bin/env bash
# shellcheck disable=SC2034  # JAVA, CLASSPATH, ZOOCFG... are read by zkServer.sh, which sources this file
# zkEnv.sh for the lab's Apache-layout ZooKeeper tarball (lab/mirror/build-zookeeper.sh). Behaves like Apache
# ZooKeeper 3.8's bin/zkEnv.sh: conf dir = ../conf (or --config DIR), optional conf/zookeeper-env.sh and
# conf/java.env, JAVA from JAVA_HOME or PATH, CLASSPATH = conf + lib/*.jar, heap from ZK_SERVER_HEAP (MB).
ZOOBINDIR="${ZOOBINDIR:-/usr/bin}"
ZOOKEEPER_PREFIX="${ZOOBINDIR}/.."

if [ $# -gt 1 ] && [ "--config" = "$1" ]; then
  shift; ZOOCFGDIR=$1; shift
fi
if [ "x$ZOOCFGDIR" = "x" ]; then
  if [ -e "${ZOOKEEPER_PREFIX}/conf" ]; then ZOOCFGDIR="$ZOOBINDIR/../conf"; else ZOOCFGDIR="$ZOOBINDIR/../etc/zookeeper"; fi
fi
if [ -f "${ZOOCFGDIR}/zookeeper-env.sh" ]; then . "${ZOOCFGDIR}/zookeeper-env.sh"; fi
if [ "x$ZOOCFG" = "x" ]; then ZOOCFG="zoo.cfg"; fi
ZOOCFG="$ZOOCFGDIR/$ZOOCFG"
if [ -f "$ZOOCFGDIR/java.env" ]; then . "$ZOOCFGDIR/java.env"; fi
if [ "x${ZOO_LOG_DIR}" = "x" ]; then ZOO_LOG_DIR="$ZOOKEEPER_PREFIX/logs"; fi

if [[ -n "$JAVA_HOME" ]] && [[ -x "$JAVA_HOME/bin/java" ]]; then
  JAVA="$JAVA_HOME/bin/java"
elif type -p java >/dev/null; then
  JAVA=java
else
  echo "Error: JAVA_HOME is not set and java could not be found in PATH." 1>&2
  exit 1
fi

CLASSPATH="$ZOOCFGDIR:$CLASSPATH"
for i in "$ZOOBINDIR"/../lib/*.jar; do CLASSPATH="$i:$CLASSPATH"; done
case "$(uname)" in CYGWIN* | MINGW*) CLASSPATH=$(cygpath -wp "$CLASSPATH") ;; esac

ZK_SERVER_HEAP="${ZK_SERVER_HEAP:-1000}"
export SERVER_JVMFLAGS="-Xmx${ZK_SERVER_HEAP}m $SERVER_JVMFLAGS"
ZK_CLIENT_HEAP="${ZK_CLIENT_HEAP:-256}"
export CLIENT_JVMFLAGS="-Xmx${ZK_CLIENT_HEAP}m $CLIENT_JVMFLAGS"
