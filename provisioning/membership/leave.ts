// A master leaving a running cluster (bare metal and local), run on the master itself as root by its leaving host
// resource (baremetal/types.ts LeaveProps), before the masters kept restart with the lower --quorum: Mesos' order
// for shrinking is "stop the masters that go for good, then restart the others with the new --quorum" (its
// operational guide). The host's own state holds its connection and pinned host key, which is why the departure is
// that resource's update and not something the masters kept do.
//
// 1. ZooKeeper: ask another serving member for the ensemble's members. Still one of them: every member must serve
//    (a removal while one is down could leave the ensemble without a quorum: refused, nothing changed), but those of
//    masters the config says are lost (baremetal.lostMasters), which are removed with this one; then
//    `reconfig -remove <id>` through that member as the super user, until its members no longer list this one, and
//    one `sync` (ZooKeeper's advice before shutting a removed server down). A removed server would otherwise keep
//    serving its clients as a non-voting follower.
// 2. ZooKeeper (at once: a removed leader says "leader" until it stops), Marathon and Mesos stop for good, and the
//    departure waits until ZooKeeper holds no znode of this master's Mesos (its log replica's znode outlives a stop
//    by a session timeout). The host's cleanup removes the rest afterwards.
import { zkMode } from "../render/probe-snippets";
import { MESOS_ZNODE } from "../steps/mesos-master";
import { LIVE_CFG, SUPER_PASSWORD } from "../steps/zookeeper";

/**
 * Bash (root) for the departure of the master whose ZooKeeper id is `zkId`; prints "left: <summary>" last. `lost`:
 * addresses of removed masters whose machines are lost for good (baremetal.lostMasters). Their servers need not
 * serve, and go in the same reconfig as this one: removed alone, this one could leave a majority of the rest dead
 * ({1, 3 lost} after 3 → 1 without 2), and the reconfig could never commit.
 */
export function leaveScript(zkId: number, ip: string, lost: string[] = []): string {
  if (!Number.isInteger(zkId) || zkId < 1) throw new Error(`leave: "${zkId}" is not a ZooKeeper id`);
  for (const a of [ip, ...lost]) if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) throw new Error(`leave: "${a}" is not an IPv4 address`);
  return `set -euo pipefail
me=${zkId}
ip=${ip}
lost=' ${lost.join(" ")} '
is_lost() { [[ "$lost" == *" $1 "* ]]; }
fail() { printf 'elastic-mesos leave: FAILED: %s\\n' "$1" >&2; exit 1; }
# shellcheck disable=SC2016 # $0 is the inner bash's
mode() { ${zkMode('"$1"')}; }
cli=$(find /opt -maxdepth 3 -path '/opt/zookeeper-*/bin/zkCli.sh' 2>/dev/null | sort | tail -n 1)
zk() { timeout 60 "$cli" -server "$1:2181" 2>&1; }
lines() { grep -oE 'server\\.[0-9]+=[^ ]+' || true; }
ipof() { sed -E 's/^server\\.[0-9]+=([^:]+):.*/\\1/'; }
dyn=$(sed -n 's/^dynamicConfigFile=//p' ${LIVE_CFG} 2>/dev/null | tail -n 1 || true)
summary="ZooKeeper server $me was no member"
via=''
if [ -n "$cli" ] && [ -s "$dyn" ]; then
  others=$(grep -E '^server\\.[0-9]+=' "$dyn" | grep -v "^server\\.$me=" | ipof || true)
  for o in $others; do
    is_lost "$o" && continue
    case "$(mode "$o")" in leader|follower) via=$o; break ;; esac
  done
  if [ -n "$others" ] && [ -z "$via" ]; then
    fail "ZooKeeper: no other member serves (asked $(tr '\\n' ' ' <<<"$others")): removing master $me now could lose the quorum, so nothing was changed. Bring the other masters back, then run pulumi up again"
  fi
  m=''
  if [ -n "$via" ]; then m=$(printf 'config\\nquit\\n' | zk "$via" | lines); fi
  if grep -q "^server\\.$me=" <<<"$m"; then
    ids=$me
    for line in $m; do
      o=$(ipof <<<"$line")
      if is_lost "$o"; then id=\${line%%=*}; ids+=",\${id#server.}"; continue; fi
      md=$(mode "$o")
      case "$md" in leader|follower) ;; *)
        fail "ZooKeeper \${line%%=*} ($o) does not serve (srvr: \${md:-no answer}): removing master $me while another master is down could leave ZooKeeper without a quorum, so nothing was changed. Bring that master back (journalctl -u zookeeper there), then run pulumi up again" ;;
      esac
    done
    # One session: the removal, a sync (ZooKeeper's advice before a removed server stops), the members it left.
    n=0; o=''
    while grep -q "^server\\.$me=" <<<"$m"; do
      [ $((n++)) -lt 30 ] || fail "ZooKeeper: reconfig -remove $me through $via did not take: $(tail -n 5 <<<"$o")"
      [ "$n" -eq 1 ] || sleep 2
      o=$(printf 'addauth digest super:%s\\nreconfig -remove %s\\nsync /\\nconfig\\nquit\\n' "$(cat ${SUPER_PASSWORD})" "$ids" | zk "$via") || true
      m=$(lines <<<"$o" | sort -u)
      [ -n "$m" ] || m=$(printf 'config\\nquit\\n' | zk "$via" | lines)
    done
    # At once: a removed leader keeps saying "leader" until it stops (its successor already leads).
    systemctl stop zookeeper >/dev/null 2>&1 || true
    gone=\${ids#"$me"}
    summary="ZooKeeper server $me\${gone:+ (and lost \${gone#,})} removed through $via, leaving $(wc -l <<<"$m") members"
  fi
fi
for u in zookeeper marathon mesos-master; do systemctl stop "$u" >/dev/null 2>&1 || true; done
# Gone for good: ZooKeeper holds no znode of this master's Mesos (its leader-election entry and its log replica are
# ephemeral and stay until its session expires: the others would count that replica until then).
mesos_znodes() {
  local paths
  paths=$(printf 'ls -R ${MESOS_ZNODE}\\nquit\\n' | zk "$via" | grep -oE '${MESOS_ZNODE}/(json\\.info_[0-9]+|log_replicas/[0-9]+)' | sort -u || true)
  [ -n "$paths" ] || return 0
  { for p in $paths; do printf 'get %s\\n' "$p"; done; printf 'quit\\n'; } | zk "$via" |
    grep -oE "@\${ip//./\\\\.}:[0-9]+|\\"ip\\": ?\\"\${ip//./\\\\.}\\"" | sort -u || true
}
if [ -n "$via" ]; then
  n=0
  while left=$(mesos_znodes) && [ -n "$left" ]; do
    [ $((n++)) -lt 60 ] || fail "Mesos on this master stopped, but ZooKeeper still holds its znodes ($(tr '\\n' ' ' <<<"$left")) after 2 minutes"
    sleep 2
  done
fi
echo "left: $summary; ZooKeeper, Marathon and Mesos stopped, no znode of its Mesos left"
`;
}

/** The summary leaveScript printed ("" when it printed none). */
export function leaveSummary(stdout: string): string {
  return /^left: (.*)$/m.exec(stdout)?.[1]?.trim() ?? "";
}
