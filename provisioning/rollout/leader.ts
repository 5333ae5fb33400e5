// Which daemons a master leads, asked on the master itself (as root, over the SSH connection its update
// opens anyway): ZooKeeper's `srvr` four-letter word on its client port, and Mesos' metrics snapshot with
// the admin curl config the mesos step wrote (never on a command line). Unknown counts as "not leading":
// the order is an optimisation, the health gates are what keep the cluster safe.
import { CLUSTER_CA } from "../steps/tls";
import { ADMIN_CURLRC } from "../steps/mesos";
import { metricValue, zkMode } from "../render/probe-snippets";
import type { Leadership } from "./plan";

/** Shell (bash, root) printing `zookeeper=<mode>` and `mesos=<master/elected>` for the master at `ip`. */
export function leadershipScript(ip: string): string {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) throw new Error(`leadership probe: "${ip}" is not an IPv4 address`);
  return [
    "set -u",
    `ip=${ip}`,
    `zk=$(${zkMode('"$ip"')})`,
    `m=''`,
    `[ -r ${ADMIN_CURLRC} ] && m=$(curl -s --max-time 5 --cacert ${CLUSTER_CA} -K ${ADMIN_CURLRC} "https://$ip:5050/metrics/snapshot" 2>/dev/null || true)`,
    `printf 'zookeeper=%s\\n' "$zk"`,
    `printf 'mesos=%s\\n' "$(${metricValue("master/elected", '"$m"')} || true)"`,
    "",
  ].join("\n");
}

/** leadershipScript's output as printed: ZooKeeper's mode and master/elected ("" when not answered). */
export function leadershipFields(stdout: string): { zookeeper: string; mesos: string } {
  const v = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(stdout)?.[1]?.trim() ?? "";
  return { zookeeper: v("zookeeper"), mesos: v("mesos") };
}

/** Parses leadershipScript's output. */
export function parseLeadership(stdout: string): Leadership {
  const f = leadershipFields(stdout);
  return { zookeeper: f.zookeeper === "leader", mesos: Number(f.mesos) === 1 };
}
