// Pure pieces of the readiness check: the probe script each master runs, the parsers of what it
// prints, and the verdict. One SSH command per master per round: ZooKeeper `srvr`, Mesos
// /master/state (followed to the leader) and Marathon /v2/leader, all from the master itself, so
// nothing but SSH has to be reachable from where `pulumi up` runs.
import { curlScript, parseCurl } from "../baremetal/runner";
import { CLUSTER_CA, MARATHON_HTTPS_PORT } from "../steps/tls";

export interface Ports { zookeeper: number; mesos: number; marathon: number }
export const DEFAULT_PORTS: Ports = { zookeeper: 2181, mesos: 5050, marathon: MARATHON_HTTPS_PORT };

export interface ExpectedAgent { id: string; pool?: string; hostname: string; ip: string }

export interface MasterProbe {
  id: string;
  ip: string;
  /** "leader" | "follower" | "standalone", or undefined when ZooKeeper did not answer. */
  zkMode?: string;
  zkDetail: string;
  /** Leader pid ("master@10.0.0.11:5050") as this master sees it. */
  mesosLeader?: string;
  mesosDetail: string;
  agents: { hostname: string; pid: string; active: boolean }[];
  marathonLeader?: string;
  marathonDetail: string;
}

export interface Auth { user?: string; password?: string }
/**
 * Who the probe is: the read-only `health` principal for Mesos (/master/state), the admin for Marathon, whose
 * 1.11 release has a single HTTP user. One Auth is used for both (older callers).
 */
export type ProbeAuth = Auth | { mesos: Auth; marathon: Auth };

/**
 * Mesos and Marathon serve HTTPS only (provisioning/steps/tls.ts): the probe verifies them against the cluster CA
 * on the master (a public file). `{ cacert: undefined }`: plain http (tests' stand-in servers).
 */
export function probeScript(ip: string, ports: Ports, probeAuth: ProbeAuth, tls: { cacert?: string } = { cacert: CLUSTER_CA }): string {
  const auth = "mesos" in probeAuth ? probeAuth : { mesos: probeAuth, marathon: probeAuth };
  const scheme = tls.cacert ? "https" : "http";
  const opts = { timeoutS: 5, ...(tls.cacert ? { cacert: tls.cacert } : {}) };
  return [
    "echo '### zk'",
    `timeout 5 bash -c 'exec 3<>/dev/tcp/$0/$1 && printf srvr >&3 && cat <&3' '${ip}' '${ports.zookeeper}' 2>&1 || echo 'no answer from ZooKeeper'`,
    "echo '### mesos'",
    curlScript(`${scheme}://${ip}:${ports.mesos}/master/state`, auth.mesos, opts).trimEnd(),
    "echo '### marathon'",
    curlScript(`${scheme}://${ip}:${ports.marathon}/v2/leader`, auth.marathon, opts).trimEnd(),
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

export function parseProbe(id: string, ip: string, stdout: string): MasterProbe {
  const s = sections(stdout);
  const zk = s.zk ?? "";
  const zkMode = parseZkMode(zk);
  const p: MasterProbe = {
    id, ip, zkMode, zkDetail: zkMode ? `mode ${zkMode}` : firstLine(zk) || "no answer from ZooKeeper",
    mesosDetail: "", agents: [], marathonDetail: "",
  };
  const mesos = parseCurl(s.mesos ?? "");
  if (mesos.status === 200) {
    try {
      const st = JSON.parse(mesos.body);
      p.mesosLeader = typeof st.leader === "string" && st.leader ? st.leader : undefined;
      p.agents = (st.slaves ?? []).map((a: any) => ({ hostname: String(a.hostname ?? ""), pid: String(a.pid ?? ""), active: a.active !== false }));
      p.mesosDetail = p.mesosLeader ? `leader ${p.mesosLeader}` : "no leader elected";
    } catch { p.mesosDetail = "unreadable /master/state"; }
  } else p.mesosDetail = httpDetail("Mesos master", mesos);
  const mar = parseCurl(s.marathon ?? "");
  if (mar.status === 200) {
    try { p.marathonLeader = JSON.parse(mar.body).leader || undefined; } catch { /* below */ }
    p.marathonDetail = p.marathonLeader ? `leader ${p.marathonLeader}` : "no leader";
  } else p.marathonDetail = mar.status === 404 ? "no leader elected" : httpDetail("Marathon", mar);
  return p;
}

function httpDetail(what: string, r: { status: number; body: string }): string {
  if (r.status === 0) return `${what} does not answer (${firstLine(r.body) || "connection failed"})`;
  if (r.status === 401 || r.status === 403) {
    return `${what} refused the ${what === "Marathon" ? "admin" : "health"} credentials (HTTP ${r.status})`;
  }
  // A standby answers 503 until its own ZooKeeper watch tells it who leads (Mesos: "No leader elected"), a
  // moment after the leader knows: one master saying so is a window to wait out, not a failure.
  if (r.status === 503 && what === "Mesos master") return "this master does not know the leader yet (HTTP 503)";
  return `${what} answered HTTP ${r.status}`;
}

const firstLine = (s: string) => s.split("\n").map((l) => l.trim()).find(Boolean) ?? "";

export interface Check { name: string; ok: boolean; detail: string }

/**
 * The four checks, each with what failed on which host. A leader seen from any master is enough: right after an
 * election the other masters may not know it yet (HTTP 503) or Marathon's standbys may not (HTTP 502).
 */
export function evaluate(probes: MasterProbe[], agents: ExpectedAgent[], quorum: number): Check[] {
  const label = (p: MasterProbe) => `${p.id} (${p.ip})`;
  const members = probes.filter((p) => p.zkMode === "leader" || p.zkMode === "follower" || p.zkMode === "standalone");
  const leaders = probes.filter((p) => p.zkMode === "leader" || p.zkMode === "standalone");
  const zkOk = leaders.length === 1 && members.length >= quorum;
  const mesosOk = probes.some((p) => p.mesosLeader);
  const seen = probes.find((p) => p.mesosLeader && p.agents.length)?.agents ?? probes.flatMap((p) => p.agents);
  const registered = (a: ExpectedAgent) => seen.some((s) => s.active && (s.hostname === a.hostname || s.hostname === a.ip || s.pid.endsWith(`@${a.ip}:5051`)));
  const missing = agents.filter((a) => !registered(a));
  const marathonOk = probes.some((p) => p.marathonLeader);
  return [
    { name: "ZooKeeper quorum", ok: zkOk, detail: zkOk ? `${members.length}/${probes.length} in the ensemble, leader ${label(leaders[0])}`
      : `${members.length} of ${probes.length} masters serve (need ${quorum}, exactly one leader): ${probes.map((p) => `${label(p)}: ${p.zkDetail}`).join("; ")}` },
    { name: "Mesos leader", ok: mesosOk, detail: mesosOk ? probes.find((p) => p.mesosLeader)!.mesosDetail
      : probes.map((p) => `${label(p)}: ${p.mesosDetail}`).join("; ") },
    { name: "agents registered", ok: missing.length === 0, detail: missing.length === 0 ? `${agents.length} active`
      : `not registered: ${missing.map((a) => `${a.id} (${a.ip})`).join(", ")}` },
    { name: "Marathon leader", ok: marathonOk, detail: marathonOk ? probes.find((p) => p.marathonLeader)!.marathonDetail
      : probes.map((p) => `${label(p)}: ${p.marathonDetail}`).join("; ") },
  ];
}

/** What to look at when a check never passes. */
export const HINTS: Record<string, string> = {
  "ZooKeeper quorum": "check `systemctl status zookeeper` and that ports 2181/2888/3888 are open between masters",
  "Mesos leader": "check `journalctl -u mesos-master` on the masters (ZooKeeper URL, --quorum, credentials)",
  "agents registered": "check `journalctl -u mesos-agent` on those agents and that they reach the masters on port 5050",
  "Marathon leader": "check `journalctl -u marathon` on the masters (ZooKeeper digest credentials, Mesos framework authentication)",
};
