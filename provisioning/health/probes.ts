// Pure pieces of the readiness check: the probe script each master runs, the parsers of what it
// prints, and the verdict. One SSH command per master per round, all from the master itself, so
// nothing but SSH has to be reachable from where `pulumi up` runs. Small endpoints only, never the
// full /master/state:
// - every master: ZooKeeper `srvr`, its own Mesos /metrics/snapshot (served by standbys too:
//   master/elected, registrar/log/recovered, and Marathon's per-framework `subscribed` gauge) and its
//   own Marathon's /v2/leader;
// - the master that says it is elected (one per round): /master/slaves, the agent list.
// The master filters both JSON answers with grep before they cross SSH: of a snapshot a handful of
// keys, of the agent list a line of address, hostname and what is not usable (~30 bytes an agent).
import { curlAuthHeredoc, curlScript, parseCurl } from "../baremetal/runner";
import { CLUSTER_CA, MARATHON_HTTPS_PORT } from "../steps/tls";
import { zkSrvr } from "../render/probe-snippets";

export interface Ports { zookeeper: number; mesos: number; marathon: number }
export const DEFAULT_PORTS: Ports = { zookeeper: 2181, mesos: 5050, marathon: MARATHON_HTTPS_PORT };

export interface ExpectedAgent { id: string; pool?: string; hostname: string; ip: string }

/**
 * A pool run as a self-healing group (components/contracts AgentGroup): its agents' names and addresses are not
 * known in advance, so the leader's list must hold `desired` usable agents that say they are of `pool` (the
 * attribute every agent registers with, provisioning/steps/mesos-agent.ts) and are none of the expected agents.
 */
export interface ExpectedPool { pool: string; desired: number }

/** Marathon's --framework_name (provisioning/steps/marathon.ts): its metrics on the Mesos leader carry it. */
export const MARATHON_FRAMEWORK = "marathon";

/**
 * An agent as the leader lists it: address "ip:port" (of its pid "slave(1)@ip:port"), hostname, state, and the
 * value of its attribute `pool` when it has one.
 */
export interface AgentSeen {
  address: string; hostname: string; active: boolean; deactivated: boolean; drain?: string; pool?: string;
}

export interface MasterProbe {
  id: string;
  ip: string;
  /** Why the master could not be asked at all (SSH), else undefined. */
  unreachable?: string;
  /** "leader" | "follower" | "standalone", or undefined when ZooKeeper did not answer. */
  zkMode?: string;
  zkDetail: string;
  /** HTTP status of this master's /metrics/snapshot (0: no answer). */
  mesosStatus: number;
  mesosDetail: string;
  /** The snapshot's keys the probe keeps (master/elected, registrar/log/recovered, ...). */
  metrics: Record<string, number>;
  /** The agent list, read only on the master that says it is elected; undefined elsewhere or when unreadable. */
  agents?: AgentSeen[];
  agentsDetail: string;
  /** Bytes of JSON the master read from Mesos on its loopback (snapshot + agent list), for the bench and logs. */
  mesosBytes: number;
  /** Of which the snapshot: what a standby reads. */
  metricsBytes: number;
  marathonStatus: number;
  marathonLeader?: string;
  marathonDetail: string;
}

export interface Auth { user?: string; password?: string }
/**
 * Who the probe is: the read-only `health` principal for Mesos (read-only realm: /metrics/snapshot,
 * /master/slaves), the admin for Marathon, whose 1.11 release has a single HTTP user. One Auth is used for both
 * (older callers).
 */
export type ProbeAuth = Auth | { mesos: Auth; marathon: Auth };

/** Snapshot keys kept by the master's filter. */
export const METRIC_KEYS = ["master/elected", "registrar/log/recovered", "master/slaves_active",
  "master/slaves_inactive", "master/slaves_connected", "master/slaves_disconnected", "master/frameworks_active"];
const num = "-?[0-9][0-9.eE+-]*";
const METRICS_RE = `"(${METRIC_KEYS.join("|")}|master/frameworks/${MARATHON_FRAMEWORK}/[^"/]*/subscribed)": ?${num}`;
/**
 * Per agent of /master/slaves (Mesos 1.11's agent writer: id, pid, hostname, ..., attributes, active, deactivated,
 * drain_info). `attributes` is an object of the agent's attributes by name (a TEXT one's value a string): its opening
 * marks where the attribute `pool` may follow, up to `active`, the next field.
 */
const AGENTS_RE = '"(pid|hostname)": ?"[^"]*"|"(active|deactivated)": ?(true|false)' +
  '|"drain_info": ?[{]"state": ?"[A-Z_]*"|"attributes": ?[{]|"pool": ?"[^"]*"';

/**
 * One line per agent out of the grep matches: "<ip:port> <hostname>" and only what is not the default of a usable
 * agent (" inactive", " deactivated", " drain=<STATE>"), then " pool=<name>" when it has that attribute; ~40 bytes
 * an agent. A "pid" outside the attributes starts an agent, and only its first "hostname" counts (an attribute may
 * have that name; attributes come after); "pool" counts only inside its attributes (a=1, from "attributes" to
 * "active"), once. awk: mawk is in every Debian and Ubuntu install.
 */
const AGENTS_AWK = `awk -F'"' '$2=="pid"&&!a{if(n)print r p;n=1;h=0;p="";r=$4;sub(/^[^@]*@/,"",r);next}` +
  ` $2=="hostname"&&!h{h=1;r=r" "$4;next} $2=="attributes"{a=1;next} $2=="pool"&&a&&p==""{p=" pool="$4;next}` +
  ` $2=="active"{a=0} $2=="active"&&$3~/false/{r=r" inactive"}` +
  ` $2=="deactivated"&&$3~/true/{r=r" deactivated"} $2=="drain_info"{r=r" drain="$6} END{if(n)print r p}'`;

/**
 * curl on the master into a temp file; prints the filtered body (or the first 300 bytes of an error body), then a
 * last line "<status> <bytes read>". The temp file keeps a large answer out of shell variables. --compressed: Mesos
 * (libprocess) gzips any answer of 1 KiB or more for a client that accepts it, so the master reads ~1/10 of the JSON.
 */
function filteredCurl(url: string, auth: Auth, re: string, cacert: string | undefined, then = ""): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const ca = cacert ? ` --cacert ${q(cacert)}` : "";
  return [
    `em_s=$(curl -sS --compressed -m 5${ca} -o "$em_t" -w '%{http_code} %{size_download}' ${q(url)}` +
      ` -K ${curlAuthHeredoc(auth.user, auth.password)}`,
    `) || true`,
    `case "$em_s" in 200\\ *) grep -oE ${q(re)} "$em_t"${then ? ` | ${then}` : ""} ;;` +
      ` *) head -c 300 "$em_t"; echo ;; esac`,
    `echo "$em_s"`,
  ].join("\n");
}

/**
 * Mesos and Marathon serve HTTPS only (provisioning/steps/tls.ts): the probe verifies them against the cluster CA
 * on the master (a public file). `{ cacert: undefined }`: plain http (tests' stand-in servers).
 */
export function probeScript(ip: string, ports: Ports, probeAuth: ProbeAuth,
  tls: { cacert?: string } = { cacert: CLUSTER_CA }): string {
  const auth = "mesos" in probeAuth ? probeAuth : { mesos: probeAuth, marathon: probeAuth };
  const scheme = tls.cacert ? "https" : "http";
  const mesos = `${scheme}://${ip}:${ports.mesos}`;
  return [
    "echo '### zk'",
    `${zkSrvr(`'${ip}'`, ports.zookeeper)} 2>&1 || echo 'no answer from ZooKeeper'`,
    'em_t=$(mktemp) || exit 1',
    "trap 'rm -f \"$em_t\"' EXIT",
    "echo '### metrics'",
    filteredCurl(`${mesos}/metrics/snapshot`, auth.mesos, METRICS_RE, tls.cacert),
    // Only the master that says it leads lists the agents: one agent list per round, whatever the number of masters.
    `if grep -qE '"master/elected": ?1([.]0*)?([,} ]|$)' "$em_t"; then`,
    "echo '### agents'",
    filteredCurl(`${mesos}/master/slaves`, auth.mesos, AGENTS_RE, tls.cacert, AGENTS_AWK),
    "fi",
    "echo '### marathon'",
    curlScript(`${scheme}://${ip}:${ports.marathon}/v2/leader`, auth.marathon,
      { timeoutS: 5, ...(tls.cacert ? { cacert: tls.cacert } : {}) }).trimEnd(),
    "",
  ].join("\n");
}

function sections(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  let cur = "";
  for (const line of stdout.split("\n")) {
    const m = /^### (\w+)$/.exec(line);
    if (m) { cur = m[1]; out[cur] = ""; } else if (cur) out[cur] += `${line}\n`;
  }
  for (const k of Object.keys(out)) out[k] = out[k].trimEnd();
  return out;
}

export function parseZkMode(text: string): string | undefined {
  return /^Mode:\s*(\w+)/m.exec(text)?.[1];
}

/** A filteredCurl section: the kept lines, the status and the bytes the master read. */
export function parseFiltered(text: string): { status: number; bytes: number; lines: string[] } {
  const lines = text.split("\n");
  const last = lines.pop() ?? "";
  const m = /^(\d{3}) (\d+)$/.exec(last.trim());
  if (!m) return { status: 0, bytes: 0, lines: [...lines, last].filter(Boolean) };
  return { status: Number(m[1]), bytes: Number(m[2]), lines: lines.filter(Boolean) };
}

export function parseMetrics(lines: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) {
    const m = /^"([^"]+)": ?(\S+)$/.exec(l.trim());
    if (m && Number.isFinite(Number(m[2]))) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** The agent lines of AGENTS_AWK: "<ip:port> <hostname>[ inactive][ deactivated][ drain=STATE][ pool=NAME]". */
export function parseAgents(lines: string[]): AgentSeen[] {
  const out: AgentSeen[] = [];
  for (const l of lines) {
    const [address, hostname, ...flags] = l.trim().split(/\s+/);
    if (!address || !hostname || !/^[^\s:]+:\d+$/.test(address)) continue;
    const drain = flags.find((f) => f.startsWith("drain="))?.slice("drain=".length);
    const pool = flags.find((f) => f.startsWith("pool="))?.slice("pool=".length);
    const active = !flags.includes("inactive");
    out.push({ address, hostname, active, deactivated: flags.includes("deactivated"), ...(drain ? { drain } : {}),
      ...(pool ? { pool } : {}) });
  }
  return out;
}

export function parseProbe(id: string, ip: string, stdout: string): MasterProbe {
  const s = sections(stdout);
  const zk = s.zk ?? "";
  const zkMode = parseZkMode(zk);
  const p: MasterProbe = {
    id, ip, zkMode, zkDetail: zkMode ? `mode ${zkMode}` : firstLine(zk) || "no answer from ZooKeeper",
    mesosStatus: 0, mesosDetail: "", metrics: {}, agentsDetail: "", mesosBytes: 0, metricsBytes: 0,
    marathonStatus: 0, marathonDetail: "",
  };
  const met = parseFiltered(s.metrics ?? "");
  p.mesosStatus = met.status;
  p.mesosBytes += met.bytes;
  p.metricsBytes = met.bytes;
  if (met.status === 200) {
    p.metrics = parseMetrics(met.lines);
    const elected = p.metrics["master/elected"];
    p.mesosDetail = elected === undefined ? "unreadable /metrics/snapshot (no master/elected)"
      : elected === 1 ? "elected" : "standby";
  } else p.mesosDetail = httpDetail("Mesos master", { status: met.status, body: met.lines.join("\n") });
  if (s.agents !== undefined) {
    const ag = parseFiltered(s.agents);
    p.mesosBytes += ag.bytes;
    if (ag.status === 200) {
      p.agents = parseAgents(ag.lines);
      p.agentsDetail = `${p.agents.length} agents listed`;
    } else {
      const why = httpDetail("Mesos master", { status: ag.status, body: ag.lines.join("\n") });
      p.agentsDetail = `its agent list: ${why}`;
    }
  }
  const mar = parseCurl(s.marathon ?? "");
  p.marathonStatus = mar.status;
  if (mar.status === 200) {
    try { p.marathonLeader = JSON.parse(mar.body).leader || undefined; } catch { /* below */ }
    p.marathonDetail = p.marathonLeader ? `leader ${p.marathonLeader}` : "no leader";
  } else p.marathonDetail = mar.status === 404 ? "no leader elected" : httpDetail("Marathon", mar);
  return p;
}

/** A master the probe could not run on (SSH failed): every part of it unknown. */
export function unreachableProbe(id: string, ip: string, why: string): MasterProbe {
  return { ...parseProbe(id, ip, ""), unreachable: why, zkDetail: why, mesosDetail: why, marathonDetail: why };
}

function httpDetail(what: string, r: { status: number; body: string }): string {
  if (r.status === 0) return `${what} does not answer (${firstLine(r.body) || "connection failed"})`;
  if (r.status === 401 || r.status === 403) {
    return `${what} refused the ${what === "Marathon" ? "admin" : "health"} credentials (HTTP ${r.status})`;
  }
  // A standby answers 503 for leader-only endpoints until its own ZooKeeper watch tells it who leads.
  if (r.status === 503 && what === "Mesos master") {
    return `${what} is not ready (HTTP 503: ${firstLine(r.body) || "unavailable"})`;
  }
  return `${what} answered HTTP ${r.status}`;
}

const firstLine = (s: string) => s.split("\n").map((l) => l.trim()).find(Boolean) ?? "";

/**
 * judged false: the check could not be decided (ok is then false too), detail says why. Absent on a judged check,
 * so that a passed or failed check has the shape it had before (name, ok, detail).
 */
export interface Check { name: string; ok: boolean; judged?: false; detail: string }

const SERVING = new Set(["leader", "follower", "standalone"]);
const label = (p: MasterProbe) => `${p.id} (${p.ip})`;

/** Pure: why a master is not healthy on its own ([] = healthy): each of its three daemons must answer. */
export function masterProblems(p: MasterProbe): string[] {
  if (p.unreachable) return [p.unreachable];
  const out: string[] = [];
  if (!p.zkMode || !SERVING.has(p.zkMode)) out.push(`ZooKeeper: ${p.zkDetail}`);
  if (p.mesosStatus !== 200 || p.metrics["master/elected"] === undefined) out.push(p.mesosDetail);
  // Any HTTP answer is a live Marathon: a standby answers 502/503 until it learns who leads.
  if (p.marathonStatus === 0) out.push(p.marathonDetail);
  return out;
}

const notJudged = (name: string, why: string): Check =>
  ({ name, ok: false, judged: false, detail: `not judged: ${why}` });

const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });
const list = (probes: MasterProbe[], what: (p: MasterProbe) => string) =>
  probes.map((p) => `${label(p)}: ${what(p)}`).join("; ");

/**
 * The five checks, each with what failed on which host. Every master counts: one down is "masters" failed, with
 * its name, even while the others still elect leaders. A check that depends on another one that failed is not
 * judged (ok false, judged false) instead of passing or failing on what cannot be known: the Mesos leader
 * without a ZooKeeper quorum, the agents and Marathon without a Mesos leader.
 */
export function evaluate(probes: MasterProbe[], agents: ExpectedAgent[], quorum: number,
  pools: ExpectedPool[] = []): Check[] {
  const sick = probes.map((p) => ({ p, why: masterProblems(p) })).filter((x) => x.why.length);
  const sickText = sick.map((x) => `${label(x.p)}: ${x.why.join(", ")}`).join("; ");
  const masters = check("masters", sick.length === 0, sick.length === 0 ? `${probes.length}/${probes.length} answer`
    : `${sick.length} of ${probes.length} not healthy: ${sickText}`);

  const members = probes.filter((p) => p.zkMode && SERVING.has(p.zkMode));
  const zkLeaders = probes.filter((p) => p.zkMode === "leader" || p.zkMode === "standalone");
  const zkOk = zkLeaders.length === 1 && members.length >= quorum;
  const zk = check("ZooKeeper quorum", zkOk, zkOk
    ? `${members.length}/${probes.length} in the ensemble, leader ${label(zkLeaders[0])}`
    : `${members.length} of ${probes.length} masters serve (need ${quorum}, exactly one leader): ` +
      list(probes, (p) => p.zkDetail));

  const elected = probes.filter((p) => p.metrics["master/elected"] === 1);
  const leader = elected.length === 1 ? elected[0] : undefined;
  let mesos: Check;
  if (!zkOk) mesos = notJudged("Mesos leader", "ZooKeeper has no quorum");
  else if (!leader) {
    mesos = check("Mesos leader", false, elected.length > 1
      ? `${elected.length} masters say they lead: ${elected.map(label).join(", ")}`
      : `no master says it is elected: ${list(probes, (p) => p.mesosDetail)}`);
  } else if (leader.metrics["registrar/log/recovered"] !== 1) {
    mesos = check("Mesos leader", false,
      `${label(leader)} leads but its registrar has not recovered (registrar/log/recovered 0)`);
  } else mesos = check("Mesos leader", true, `leader ${label(leader)}, registrar recovered`);

  if (!mesos.ok || !leader) {
    const why = "no Mesos leader";
    return [masters, zk, mesos, notJudged("agents registered", why), notJudged("Marathon leader", why)];
  }
  return [masters, zk, mesos, agentsCheck(leader, agents, pools), marathonCheck(probes, leader)];
}

/** What to look at when a group's pool has too few agents (in the check's detail: HINTS speaks of named agents). */
export const POOL_HINT = "check the group's machines in the cloud (launched and running? their first boot in " +
  "/var/log/cloud-init-output.log or `journalctl -u mesos-agent` on one of them) and that they reach the masters " +
  "on port 5050";

/**
 * Pure: every expected agent in the leader's list (by hostname, or IP as hostname or address), usable; and for each
 * pool run as a group, at least its desired number of usable agents of that pool that are none of the expected ones.
 */
function agentsCheck(leader: MasterProbe, agents: ExpectedAgent[], pools: ExpectedPool[]): Check {
  const name = "agents registered";
  if (!leader.agents) {
    const why = leader.agentsDetail || "no answer";
    return notJudged(name, `the leader ${label(leader)} did not list its agents (${why})`);
  }
  const seen = leader.agents;
  const matches = (a: ExpectedAgent) =>
    seen.filter((s) => s.hostname === a.hostname || s.hostname === a.ip || s.address.startsWith(`${a.ip}:`));
  const usable = (s: AgentSeen) => s.active && !s.deactivated && !s.drain;
  const missing = agents.filter((a) => matches(a).length === 0);
  const unusable = agents.filter((a) => matches(a).length > 0 && !matches(a).some(usable));
  const state = (s: AgentSeen) => s.drain ? `draining (${s.drain})` : s.deactivated ? "deactivated" : "inactive";
  const why = (a: ExpectedAgent) => state(matches(a)[0]);
  // A group's agents: the leader's agents of the pool that no expected agent claims.
  const claimed = new Set(agents.flatMap(matches));
  const counts = pools.map((p) => {
    const of = seen.filter((s) => s.pool === p.pool && !claimed.has(s));
    return { ...p, usable: of.filter(usable).length, others: of.filter((s) => !usable(s)).map(state) };
  });
  const short = counts.filter((c) => c.usable < c.desired);
  const poolText = (c: (typeof counts)[number]) => {
    const others = [...new Set(c.others)].map((st) => `${c.others.filter((o) => o === st).length} ${st}`);
    return `pool "${c.pool}" has ${c.usable} of the ${c.desired} agents its group should run registered and active` +
      (others.length ? ` (also listed: ${others.join(", ")})` : "");
  };
  if (missing.length === 0 && unusable.length === 0 && short.length === 0) {
    const inGroups = counts.reduce((n, c) => n + c.usable, 0);
    return check(name, true, pools.length ? `${agents.length + inGroups} active (${inGroups} in groups: ` +
      `${counts.map((c) => `${c.pool} ${c.usable}/${c.desired}`).join(", ")})` : `${agents.length} active`);
  }
  return check(name, false, [
    missing.length ? `not registered: ${missing.map((a) => `${a.id} (${a.ip})`).join(", ")}` : "",
    unusable.length ? `not usable: ${unusable.map((a) => `${a.id} (${a.ip}) ${why(a)}`).join(", ")}` : "",
    short.length ? `${short.map(poolText).join("; ")}; ${POOL_HINT}` : "",
  ].filter(Boolean).join("; "));
}

/** Pure: a Marathon leader seen from some master, and its framework subscribed with the Mesos leader (its metrics). */
function marathonCheck(probes: MasterProbe[], leader: MasterProbe): Check {
  const name = "Marathon leader";
  const seen = probes.find((p) => p.marathonLeader);
  if (!seen) return check(name, false, list(probes, (p) => p.marathonDetail));
  const prefix = `master/frameworks/${MARATHON_FRAMEWORK}/`;
  const key = Object.keys(leader.metrics).find((k) => k.startsWith(prefix) && leader.metrics[k] === 1);
  if (!key) {
    const fw = `"${MARATHON_FRAMEWORK}" framework`;
    return check(name, false, `${seen.marathonDetail}, but no ${fw} is subscribed with the Mesos leader ` +
      label(leader));
  }
  return check(name, true, `${seen.marathonDetail}, framework ${key.slice(prefix.length).split("/")[0]} subscribed`);
}

/** What to look at when a check never passes. */
export const HINTS: Record<string, string> = {
  masters: "check `systemctl status zookeeper mesos-master marathon` on the masters named (every master must answer)",
  "ZooKeeper quorum": "check `systemctl status zookeeper` and that ports 2181/2888/3888 are open between masters",
  "Mesos leader": "check `journalctl -u mesos-master` on the masters (ZooKeeper URL, --quorum, credentials)",
  "agents registered": "check `journalctl -u mesos-agent` on those agents and that they reach the masters on port 5050",
  "Marathon leader":
    "check `journalctl -u marathon` on the masters (ZooKeeper digest credentials, Mesos framework authentication)",
};
