// Bash lines that ask a daemon what it is, shared by every script that asks: ZooKeeper's `srvr` four-letter word
// (the readiness probe, health/probes.ts; the rollout's leadership probe, rollout/leader.ts; em-lib.sh's em_zk_mode,
// which is zkMode('"$1"') verbatim, held to it by test/unit/probe-snippets.test.ts) and a key of Mesos' metrics
// snapshot (the mesos step's gate, steps/mesos.ts; leader.ts). Step scripts are hashed byte for byte, so these
// render exactly the text they replaced: a change here re-runs the steps that carry them on every host.

/** bash: ZooKeeper's `srvr` answer from the server at `ipWord` (one shell word: "$1", "$ip", '10.0.0.1'), 5 s. */
export function zkSrvr(ipWord: string, port = 2181): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`zkSrvr: port ${port} is not a TCP port`);
  return `timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/${port}" && printf srvr >&3 && cat <&3' ${ipWord}`;
}

/** bash: the server's mode ("leader", "follower", "standalone"); nothing when it does not answer. Exits 0. */
export function zkMode(ipWord: string): string {
  return `${zkSrvr(ipWord)} 2>/dev/null | sed -n 's/^Mode: //p' || true`;
}

/** ERE of a snapshot key and its colon; its slashes may come escaped (`"master\/elected"`), as JSON allows. */
function metricKey(name: string): string {
  if (!/^[a-z_]+(\/[a-z_]+)*$/.test(name)) throw new Error(`metric name "${name}" is not a/b/c`);
  return `"${name.replaceAll("/", "\\\\?/")}" *: *`;
}

/** bash: succeeds when the snapshot in `textWord` (e.g. "$b") says `name` is 1 (or 1.0). */
export function metricIsOne(name: string, textWord: string): string {
  return `grep -Eq '${metricKey(name)}1(\\.0+)?[,}]' <<<${textWord}`;
}

/** bash: prints the value of `name` in the snapshot in `textWord`; fails (prints nothing) when it is absent. */
export function metricValue(name: string, textWord: string): string {
  return `grep -Eo '${metricKey(name)}[0-9.]+' <<<${textWord} | grep -Eo '[0-9.]+$'`;
}
