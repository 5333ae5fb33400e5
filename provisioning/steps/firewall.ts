// Step 1/4, firewall: the host's own nftables table `inet elastic_mesos`, in a file of its own loaded by a
// oneshot unit before the network comes up (so it survives reboots) and replaced atomically (`nft -f` of a
// file that deletes and re-creates the table). No other table is touched: Docker's and the distro's rules stay.
//
// Bare metal and local hosts (input.firewall set): input policy drop; operators (adminCidrs) reach SSH, the
// Mesos, agent and Marathon ports; cluster ports only from the cluster's own hosts. On every agent (clouds
// too): tasks may not reach the instance metadata service. Cloud masters have no firewall step (their cloud
// firewall guards them and no task runs there).
//
// Membership changes re-run only this step on the other hosts (no daemon restarts). An address that leaves
// the members set stays admitted for LEAVE_GRACE with an nft timeout: the engine removes a leaving agent
// after it updated the others, and draining it needs its own connections to the masters.
import type { Ctx } from "./context";
import { sq } from "./shell";
import type { FileSpec, Step } from "./types";

export const FIREWALL_TABLE = "inet elastic_mesos";
export const FIREWALL_FILE = "/etc/elastic-mesos/firewall.nft";
export const FIREWALL_UNIT = "elastic-mesos-firewall.service";
const UNIT_PATH = `/etc/systemd/system/${FIREWALL_UNIT}`;
/** How long a host that left the cluster stays admitted (drain, cleanup): longer than the default drain (600 s). */
export const LEAVE_GRACE = "30m";

/** Operators: SSH, Mesos master UI/API, agent API (sandbox logs), Marathon HTTP and HTTPS. */
export const ADMIN_PORTS = [22, 5050, 5051, 8080, 8443];
/**
 * Masters, from every cluster host: ZooKeeper clients (2181 plain: agents find the leader there; 2281 TLS with
 * a cluster client certificate, for tools on the cluster's hosts), Mesos.
 */
export const MASTER_MEMBER_PORTS = [2181, 2281, 5050];
/** Masters, from masters: ZooKeeper quorum and election, Marathon (standbys proxy), Marathon's libprocess. */
export const MASTER_PEER_PORTS = [2888, 3888, 8080, 8443, 15050];
/** Mesos' own default when a pool gives no `ports` resource. */
export const DEFAULT_TASK_PORTS = "[31000-32000]";
export const METADATA = { ipv4: "169.254.169.254", ipv6: "fd00:ec2::254" };

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const V4_CIDR = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(\/(3[0-2]|[12]?\d))?$/;
const V6_CIDR = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*(\/(12[0-8]|1[01]\d|[1-9]?\d))?$/;

/** Pure: the admin CIDRs by family; throws naming adminCidrs for anything that is neither. */
export function splitAdmin(cidrs: string[]): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  cidrs.forEach((c, i) => {
    if (V4_CIDR.test(c)) v4.push(c);
    else if (V6_CIDR.test(c)) v6.push(c.toLowerCase());
    else throw new Error(`adminCidrs[${i}]: "${c}" is not an IPv4 or IPv6 CIDR (e.g. 203.0.113.7/32 or 2001:db8::/48)`);
  });
  return { v4, v6 };
}

/** Pure: "[31000-31500,32000]" → ["31000-31500", "32000"] (nft port ranges). */
export function taskPortRanges(ports: string | number | undefined): string[] {
  const text = String(ports ?? DEFAULT_TASK_PORTS).replace(/^\[|\]$/g, "");
  return text.split(",").map((r) => r.trim()).filter(Boolean).map((r) => {
    const [a, b] = r.split("-").map((x) => Number(x.trim()));
    const bad = (x: number) => !Number.isInteger(x) || x < 1 || x > 65535;
    if (bad(a) || (b !== undefined && (bad(b) || b < a))) {
      throw new Error(`resources.ports: "${ports}" is not a port range list; use "[31000-32000]"`);
    }
    return b === undefined || b === a ? `${a}` : `${a}-${b}`;
  });
}

const toInt = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

/**
 * Pure: sorted addresses with each run of consecutive ones written "first-last". Every host's stored spec
 * carries the member list, so listing thousands of addresses one by one made the state grow with the square
 * of the cluster (18 KB per host at 1,000 hosts); hosts numbered in a row make it one entry.
 */
export function addressRuns(sorted: string[]): string[] {
  const runs: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && toInt(sorted[j + 1]) === toInt(sorted[j]) + 1) j++;
    runs.push(j > i ? `${sorted[i]}-${sorted[j]}` : sorted[i]);
    i = j + 1;
  }
  return runs;
}

/** Pure: the addresses of addressRuns' entries (what the firewall lists). */
export function expandRuns(runs: string[]): string[] {
  return runs.flatMap((r) => {
    const [a, b] = r.split("-");
    if (b === undefined) return [a];
    const out: string[] = [];
    for (let n = toInt(a); n <= toInt(b); n++) out.push(toIp(n));
    return out;
  });
}

function checkMembers(ctx: Ctx, members: string[]): void {
  members.forEach((m) => {
    if (!V4.test(m)) throw new Error(`node ${ctx.input.node.id}: cluster member "${m}" is not an IPv4 address`);
  });
  for (const ip of [...ctx.masterIps, ...(ctx.selfIp ? [ctx.selfIp] : [])]) {
    if (!members.includes(ip)) {
      throw new Error(`node ${ctx.input.node.id}: the firewall's members list lacks ${ip}, a host of the cluster`);
    }
  }
}

const list = (xs: (string | number)[]) => `{ ${xs.join(", ")} }`;

function set(name: string, type: "ipv4_addr" | "ipv6_addr", flags: string[], elements: string[]): string[] {
  return [
    `  set ${name} {`,
    `    type ${type}`,
    ...(flags.length ? [`    flags ${flags.join(", ")}`] : []),
    ...(flags.includes("interval") ? ["    auto-merge"] : []),
    ...(elements.length ? [`    elements = ${list(elements)}`] : []),
    "  }",
  ];
}

/** The admin sets (also loaded alone into a check table: would this SSH session still get in?). */
export function adminSets(adminCidrs: string[]): string[] {
  const { v4, v6 } = splitAdmin(adminCidrs);
  return [...set("admin4", "ipv4_addr", ["interval"], v4), ...set("admin6", "ipv6_addr", ["interval"], v6)];
}

function inputChain(ctx: Ctx): string[] {
  const members = expandRuns(ctx.input.firewall!.members);
  const rules = [
    `iifname "lo" accept`,
    "ct state established,related accept",
    "ct state invalid drop",
    // Path MTU discovery, neighbour discovery, ping: a firewall that drops ICMP breaks TCP in odd ways.
    "meta l4proto { 1, 58 } accept", // ICMP, ICMPv6 by number: names need /etc/protocols (netbase), not on every host
    `ip saddr @admin4 tcp dport ${list(ADMIN_PORTS)} accept`,
    `ip6 saddr @admin6 tcp dport ${list(ADMIN_PORTS)} accept`,
  ];
  if (ctx.isMaster) {
    rules.push(
      `ip saddr @members4 tcp dport ${list(MASTER_MEMBER_PORTS)} accept`,
      `ip saddr @masters4 tcp dport ${list(MASTER_PEER_PORTS)} accept`,
    );
  } else {
    const taskPorts = taskPortRanges(ctx.input.node.resources.ports);
    rules.push("ip saddr @masters4 tcp dport 5051 accept", `ip saddr @members4 tcp dport ${list(taskPorts)} accept`);
  }
  rules.push(`counter drop comment "not admitted by elastic-mesos"`);
  return [
    ...adminSets(ctx.input.firewall!.adminCidrs),
    // timeout: an address that leaves is re-added for LEAVE_GRACE; the others never expire.
    ...set("members4", "ipv4_addr", ["timeout"], members),
    ...set("masters4", "ipv4_addr", [], ctx.masterIps),
    "  chain input {",
    "    type filter hook input priority filter; policy drop;",
    ...rules.map((r) => `    ${r}`),
    "  }",
  ];
}

/** Agents: no task reaches the metadata service (root on the host still may: cloud-init, the cloud's own agents). */
function metadataChains(): string[] {
  const reject = (uid: boolean) => [
    `ip daddr ${METADATA.ipv4}${uid ? " meta skuid != 0" : ""} counter reject`,
    `ip6 daddr ${METADATA.ipv6}${uid ? " meta skuid != 0" : ""} counter reject`,
  ];
  return [
    "  chain output {",
    "    type filter hook output priority filter; policy accept;",
    ...reject(true).map((r) => `    ${r}`),
    "  }",
    // Forwarded traffic is containers on a Docker bridge: none of it is the host's own.
    "  chain forward {",
    "    type filter hook forward priority filter; policy accept;",
    ...reject(false).map((r) => `    ${r}`),
    "  }",
  ];
}

/** Whether the node has a firewall step: bare metal and local hosts, and every agent. */
export function firewallApplies(ctx: Ctx): boolean {
  return ctx.input.firewall !== undefined || !ctx.isMaster;
}

/** Pure: the whole file, replacing the table atomically when loaded with `nft -f`. */
export function renderFirewall(ctx: Ctx): string {
  if (ctx.input.firewall) checkMembers(ctx, expandRuns(ctx.input.firewall.members));
  const body = [...(ctx.input.firewall ? inputChain(ctx) : []), ...(ctx.isMaster ? [] : metadataChains())];
  return [
    "#!/usr/sbin/nft -f",
    `# elastic-mesos firewall of ${ctx.input.node.id}, generated. Atomic: only this table is replaced.`,
    `table ${FIREWALL_TABLE}`,
    `delete table ${FIREWALL_TABLE}`,
    `table ${FIREWALL_TABLE} {`,
    ...body,
    "}",
    "",
  ].join("\n");
}

function unitText(ctx: Ctx): string {
  const services = ctx.isMaster
    ? "zookeeper.service mesos-master.service marathon.service"
    : "mesos-agent.service docker.service";
  return [
    "# Generated by elastic-mesos; the next bootstrap run overwrites edits.",
    "[Unit]",
    `Description=elastic-mesos host firewall (nftables table ${FIREWALL_TABLE})`,
    // Before any interface is up; after the distro's nftables.service (its /etc/nftables.conf may flush all).
    "DefaultDependencies=no",
    "Wants=network-pre.target",
    "After=nftables.service",
    `Before=network-pre.target ${services}`,
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=/usr/sbin/nft -f ${FIREWALL_FILE}`,
    "",
    "[Install]",
    "WantedBy=sysinit.target",
    "",
  ].join("\n");
}

/** Shell: the address this SSH session comes from ("" under cloud-init), from the nearest ancestor's environment. */
const SSH_PEER = [
  `fw_peer=""; fw_pid=$$`,
  `while [ -z "$fw_peer" ] && [ "\${fw_pid:-1}" -gt 1 ]; do`,
  `  fw_peer=$(tr '\\0' '\\n' <"/proc/$fw_pid/environ" 2>/dev/null | ` +
    `sed -n 's/^SSH_CONNECTION=\\([^ ]*\\) .*/\\1/p' | head -n1 || true)`,
  `  fw_pid=$(awk '/^PPid:/{print $2}' "/proc/$fw_pid/status" 2>/dev/null || echo 1)`,
  "done",
  `fw_peer=\${fw_peer#::ffff:}`,
].join("\n");

/** Refuses to load rules that would shut out the SSH session provisioning this host (a bastion, a NAT). */
function lockoutCheck(ctx: Ctx): string {
  const table = "inet elastic_mesos_check";
  const sets = adminSets(ctx.input.firewall!.adminCidrs);
  const check = [`table ${table}`, `delete table ${table}`, `table ${table} {`, ...sets, "}", ""].join("\n");
  return [
    SSH_PEER,
    `if [ -n "$fw_peer" ]; then`,
    `  case "$fw_peer" in *:*) fw_set=admin6 ;; *) fw_set=admin4 ;; esac`,
    `  printf '%s' ${sq(check)} | nft -f -`,
    `  if ! nft get element inet elastic_mesos_check "$fw_set" "{ $fw_peer }" >/dev/null 2>&1; then`,
    "    nft delete table inet elastic_mesos_check",
    `    em_fail "adminCidrs does not include $fw_peer, the address this SSH session comes from: ` +
      "the host firewall would lock the bootstrap out. " +
      `Add $fw_peer (or the private address of your bastion) to adminCidrs"`,
    "  fi",
    "  nft delete table inet elastic_mesos_check",
    "fi",
  ].join("\n");
}

/** Addresses in the live members set that the new file drops: re-admitted for LEAVE_GRACE in the same load. */
function loadCommands(ctx: Ctx): string[] {
  const runs = ctx.input.firewall?.members;
  const members = runs && expandRuns(runs);
  const unit = [
    `if em_was_changed ${UNIT_PATH} || ` +
      `[ "$(systemctl show -p NeedDaemonReload --value ${FIREWALL_UNIT} 2>/dev/null)" = yes ]; ` +
      "then systemctl daemon-reload; fi",
    `systemctl is-enabled -q ${FIREWALL_UNIT} 2>/dev/null || ` +
      `{ systemctl enable -q ${FIREWALL_UNIT}; em_mark "enabled ${FIREWALL_UNIT}"; }`,
  ];
  if (!members) {
    return [...unit, `nft -f ${FIREWALL_FILE} || em_fail "nft could not load ${FIREWALL_FILE}"`,
      `systemctl is-active -q ${FIREWALL_UNIT} || systemctl start ${FIREWALL_UNIT}`];
  }
  return [
    ...unit,
    `fw_keep=' ${members.join(" ")} '`,
    "fw_leaving=()",
    `for a in $(nft list set ${FIREWALL_TABLE} members4 2>/dev/null | ` +
      "grep -oE '([0-9]{1,3}\\.){3}[0-9]{1,3}' | sort -u || true); do",
    `  case "$fw_keep" in *" $a "*) ;; *) fw_leaving+=("$a") ;; esac`,
    "done",
    // Started before the load below (a start loads the file alone, without the leaving addresses).
    `systemctl is-active -q ${FIREWALL_UNIT} || systemctl start ${FIREWALL_UNIT}`,
    `{ cat ${FIREWALL_FILE}; for a in "\${fw_leaving[@]}"; do ` +
      `echo "add element ${FIREWALL_TABLE} members4 { $a timeout ${LEAVE_GRACE} }"; done; } | nft -f - ||`,
    `  em_fail "nft could not load ${FIREWALL_FILE}"`,
    `if [ \${#fw_leaving[@]} -gt 0 ]; then ` +
      `em_log "admitted for ${LEAVE_GRACE} more (they left the cluster): \${fw_leaving[*]}"; fi`,
  ];
}

function gate(ctx: Ctx): string {
  const lines = [
    `nft list table ${FIREWALL_TABLE} >/dev/null 2>&1 || { echo "table ${FIREWALL_TABLE} is not loaded"; exit 1; }`,
    `systemctl is-enabled -q ${FIREWALL_UNIT} || ` +
      `{ echo "${FIREWALL_UNIT} is not enabled (needed after a reboot)"; exit 1; }`,
  ];
  // Captured, not piped: under pipefail `nft … | grep -q` fails whenever grep's early exit SIGPIPEs nft
  // (found by the e2e suite: a healthy firewall reported as not dropping, now and then).
  if (ctx.input.firewall) {
    lines.push(`grep -q 'policy drop' <<<"$(nft list chain ${FIREWALL_TABLE} input)" || ` +
      `{ echo "the input chain does not drop by default"; exit 1; }`);
  }
  if (!ctx.isMaster) {
    lines.push(`grep -qF '${METADATA.ipv4}' <<<"$(nft list chain ${FIREWALL_TABLE} output)" || ` +
      `{ echo "the metadata service is not blocked for tasks"; exit 1; }`);
  }
  return lines.join("\n");
}

export function firewallStep(ctx: Ctx): Step {
  const files: FileSpec[] = [
    { path: FIREWALL_FILE, content: renderFirewall(ctx), mode: "0644", owner: "root", group: "root" },
    { path: UNIT_PATH, content: unitText(ctx), mode: "0644", owner: "root", group: "root" },
  ];
  const what = [ctx.input.firewall ? "cluster ports only from the cluster, admin ports from adminCidrs" : "",
    ctx.isMaster ? "" : "no metadata service for tasks"].filter(Boolean).join("; ");
  return {
    name: "firewall",
    index: 1,
    title: `host firewall (nftables table ${FIREWALL_TABLE}${what ? `: ${what}` : ""})`,
    files,
    commands: [
      `em_pkg_has nftables '' || em_install nftables`,
      `command -v nft >/dev/null || em_fail "nft is not installed (package nftables)"`,
      ...(ctx.input.firewall ? [lockoutCheck(ctx)] : []),
      ...loadCommands(ctx),
    ],
    gate: {
      description: `the nftables table ${FIREWALL_TABLE} is loaded and enabled at boot`,
      script: gate(ctx),
      timeoutSeconds: 30,
      hint: `run "nft -c -f ${FIREWALL_FILE}" and "journalctl -u ${FIREWALL_UNIT}" on the host`,
    },
  };
}
