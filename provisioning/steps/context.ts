// Checks a BootstrapInput once and derives what every step needs. A bad input fails here, before any
// resource exists, with the config key (or node) and the fix, never as a broken script on a host.
import { assertOsFamily } from "../artifacts";
import type { BootstrapInput } from "./types";

export interface Ctx {
  input: BootstrapInput;
  isMaster: boolean;
  /** This node's address when known at render time (masters always; agents on bare metal). */
  selfIp?: string;
  /** Masters with a public address (BootstrapInput.masters publicAddress): what Mesos advertises to browsers. */
  publicAddress?: string;
  masterIps: string[];
  /** "10.0.0.11:2181,10.0.0.12:2181,…" */
  zkHosts: string;
  pkg: "apt" | "yum";
  /** Marathon as a container image on masters, or a Docker containerizer on this agent. */
  needsDocker: boolean;
}

/**
 * Hosts whose masters change online (membership/pin.ts ONLINE_MEMBERSHIP) render what a joining master takes: those
 * with a host firewall (bare metal, local: BootstrapInput.firewall), and DigitalOcean's masters, which have none
 * (BootstrapInput.onlineMembership; implied by the firewall so that no bare-metal host's inputs change).
 */
export const onlineMembership = (ctx: Ctx) => ctx.input.firewall !== undefined || ctx.input.onlineMembership === true;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
/** Credentials go into JSON, `zk://user:pass@` URLs and env files unescaped: keep them to this alphabet. */
const CREDENTIAL = /^[A-Za-z0-9._~-]{8,128}$/;

export function buildContext(input: BootstrapInput): Ctx {
  assertOsFamily(input.os);
  const where = `node ${input.node?.id ?? "?"}`;
  if (!LABEL.test(input.cluster)) {
    throw new Error(`cluster.name: "${input.cluster}" must be a DNS label (a-z, 0-9, '-', at most 40 characters)`);
  }
  checkMasters(input);
  for (const [key, value] of Object.entries(input.credentials)) {
    if (!CREDENTIAL.test(value)) throw new Error(`credentials.${key}: must be 8-128 characters of A-Z a-z 0-9 . _ ~ - (use deriveCredentials)`);
  }
  const isMaster = input.node.role === "master";
  let selfIp = input.selfIp;
  let publicAddress: string | undefined;
  if (selfIp !== undefined && !IPV4.test(selfIp)) throw new Error(`${where}: selfIp "${selfIp}" is not an IPv4 address`);
  if (isMaster) {
    const me = input.masters.find((m) => m.id === input.node.id);
    if (!me) throw new Error(`${where}: role is master but it is not in the masters list (${input.masters.map((m) => m.id).join(", ")})`);
    if (selfIp !== undefined && selfIp !== me.ip) throw new Error(`${where}: selfIp ${selfIp} differs from its master address ${me.ip}`);
    if (input.node.zkId !== undefined && input.node.zkId !== me.zkId) throw new Error(`${where}: zkId ${input.node.zkId} differs from the masters list (${me.zkId})`);
    selfIp = me.ip;
    publicAddress = me.publicAddress;
  } else {
    checkAgent(input);
  }
  const masterIps = input.masters.map((m) => m.ip);
  return {
    input,
    isMaster,
    ...(selfIp ? { selfIp } : {}),
    ...(publicAddress ? { publicAddress } : {}),
    masterIps,
    zkHosts: masterIps.map((ip) => `${ip}:2181`).join(","),
    pkg: input.os === "rocky-9" ? "yum" : "apt",
    needsDocker: isMaster ? input.artifacts.marathon.kind === "image" : input.node.containerizers.includes("docker"),
  };
}

function checkMasters(input: BootstrapInput): void {
  const n = input.masters.length;
  if (![1, 3, 5].includes(n)) throw new Error(`masters.count: ${n} masters; use 1, 3 or 5 (an odd-sized majority)`);
  const quorum = Math.floor(n / 2) + 1;
  if (input.quorum !== quorum) throw new Error(`quorum: ${input.quorum} does not match floor(${n}/2)+1 = ${quorum}`);
  const ids = new Set<number>();
  const ips = new Set<string>();
  const pubs = new Set<string>();
  for (const m of input.masters) {
    if (!IPV4.test(m.ip)) throw new Error(`master ${m.id}: address "${m.ip}" is not an IPv4 address`);
    if (!Number.isInteger(m.zkId) || m.zkId < 1 || m.zkId > 255) throw new Error(`master ${m.id}: zkId ${m.zkId} must be 1-255 (ZooKeeper myid)`);
    if (ids.has(m.zkId)) throw new Error(`master ${m.id}: zkId ${m.zkId} is used twice`);
    if (ips.has(m.ip)) throw new Error(`master ${m.id}: address ${m.ip} is used twice`);
    ids.add(m.zkId);
    ips.add(m.ip);
    if (m.publicAddress !== undefined) {
      const bad = !IPV4.test(m.publicAddress);
      if (bad) throw new Error(`master ${m.id}: public address "${m.publicAddress}" is not an IPv4 address`);
      if (pubs.has(m.publicAddress)) throw new Error(`master ${m.id}: public address ${m.publicAddress} is used twice`);
      pubs.add(m.publicAddress);
    }
  }
}

/** Pool settings end up in `--resources`/`--attributes` ("k:v;k:v") inside a systemd unit. */
function checkAgent(input: BootstrapInput): void {
  const node = input.node;
  const pool = `agentPools[${node.pool ?? "?"}]`;
  if (!node.pool || !LABEL.test(node.pool)) throw new Error(`node ${node.id}: agents need a pool name (a DNS label)`);
  if (node.containerizers.length === 0 || node.containerizers.some((c) => c !== "mesos" && c !== "docker")) {
    throw new Error(`${pool}.containerizers: [${node.containerizers.join(", ")}]; use "mesos", "docker" or both`);
  }
  for (const [kind, map] of [["resources", node.resources], ["attributes", node.attributes]] as const) {
    for (const [k, v] of Object.entries(map)) {
      if (!/^[A-Za-z][A-Za-z0-9_.\-()*]*$/.test(k)) throw new Error(`${pool}.${kind}: name "${k}" is not valid; use letters, digits, _ . -`);
      const s = String(v);
      const bad = kind === "attributes" ? /[;:\s"'\\$%`,]/ : /[;\s"'\\$%`]/;
      if (s === "" || bad.test(s)) throw new Error(`${pool}.${kind}.${k}: "${s}" is not valid; no spaces, quotes, ';'${kind === "attributes" ? ", ':' or ','" : ""}`);
    }
  }
}
