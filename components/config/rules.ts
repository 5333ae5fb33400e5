// Cross-field rules: what no single key can check on its own. They run over the raw input (read
// defensively) rather than as a refinement of the root schema, because zod skips refinements once a
// field has failed, and we want every problem of the stack reported in one go.
import { utils as sshUtils } from "ssh2";
import { z } from "zod";
import { OS_FAMILIES, PROVIDERS, type OsFamily, type ProviderName } from "../model";
import {
  DEFAULT_CLUSTER_NAME, DEFAULT_LOCAL_MAX_HOSTS, DEFAULT_MASTER_COUNT, DEFAULT_NETWORK_CIDR, DEFAULT_OS, DEFAULT_POOL,
  defaultSshUser,
} from "./defaults";
import { familyOf, publicAdminReason } from "./cidrs";
import { parseCidrV4 } from "./fields";
import { hostNameFrom } from "./providers";
import { poolTag } from "../naming";
import { ipToString, parseCidr as parseV4, planNetwork } from "../topology";

export interface RuleContext {
  hasClusterSecret: boolean;
  hasSshPrivateKey: boolean;
}

/** `usedDefault`: the key is unset and the problem is with its default value (shown as such). */
type Add = (path: PropertyKey[], message: string, usedDefault?: unknown) => void;
type Raw = Record<string, unknown>;

const obj = (v: unknown): Raw | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as Raw) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const CLOUDS: ProviderName[] = ["aws", "gcp", "digitalocean", "openstack"];
const SECRET_CMD = `openssl rand -base64 32 | pulumi config set --secret elastic-mesos:clusterSecret`;
const KEY_CMD = "pulumi config set --secret elastic-mesos:sshPrivateKey < ~/.ssh/id_ed25519";

/** Why every provider needs the private key: `pulumi up` returns only when the cluster is healthy. */
const SSH_USE: Record<ProviderName, string> = {
  baremetal: "provider baremetal installs the hosts over SSH and checks the cluster's health there",
  local: "provider local installs the hosts over SSH and checks the cluster's health there",
  digitalocean: "provider digitalocean installs the droplets over SSH and checks the cluster's health there",
  aws: "`pulumi up` waits for the cluster to be healthy by checking the masters over SSH",
  gcp: "`pulumi up` waits for the cluster to be healthy by checking the masters over SSH",
  openstack: "`pulumi up` waits for the cluster to be healthy by checking the masters over SSH",
};

/**
 * Clouds install ssh.publicKey and the health check logs in with sshPrivateKey: when both are given in
 * plain (they are, at `pulumi up`), they must be halves of one pair, or `pulumi up` would only find out
 * after the readiness deadline. Malformed keys are reported by the schema, not here.
 */
function keyPair(raw: Raw, add: Add): void {
  const pub = str(obj(raw.ssh)?.publicKey);
  const priv = str(raw.sshPrivateKey);
  if (!pub || !priv) return;
  const one = <T>(k: T | T[] | Error): T | undefined => (k instanceof Error ? undefined : Array.isArray(k) ? k[0] : k);
  const p = one(sshUtils.parseKey(priv));
  const q = one(sshUtils.parseKey(pub.trim()));
  if (!p || !q || !p.isPrivateKey()) return;
  if (!p.getPublicSSH().equals(q.getPublicSSH()))
    add(["sshPrivateKey"], "it is not the private half of ssh.publicKey, so the health check could not log in to the machines; set the matching key with `" + KEY_CMD + "` (or ssh.publicKey to its .pub line)");
}

function providerOf(raw: Raw): ProviderName | undefined {
  const p = raw.provider;
  return (PROVIDERS as readonly unknown[]).includes(p) ? (p as ProviderName) : undefined;
}

/** The pool list as the schema will see it (its default included), for rules that refer to pools. */
function pools(raw: Raw): Raw[] {
  return raw.agentPools === undefined ? [{ ...DEFAULT_POOL }] : arr(raw.agentPools).map((p) => obj(p) ?? {});
}

function secrets(raw: Raw, ctx: RuleContext, add: Add): void {
  if (!ctx.hasClusterSecret)
    add(["clusterSecret"], `every cluster credential is derived from this secret; set it with \`${SECRET_CMD}\``);
  if (typeof raw.previousClusterSecret === "string" && raw.previousClusterSecret === raw.clusterSecret)
    add(["previousClusterSecret"], "it is clusterSecret itself: set it to the secret the cluster ran with before, or " +
      "remove it (`pulumi config rm elastic-mesos:previousClusterSecret`)");
  const provider = providerOf(raw);
  if (provider && !ctx.hasSshPrivateKey) add(["sshPrivateKey"], `${SSH_USE[provider]}; set the key with \`${KEY_CMD}\``);
  else if (provider && CLOUDS.includes(provider)) keyPair(raw, add);
  if (provider && CLOUDS.includes(provider) && obj(raw.ssh)?.publicKey === undefined)
    add(["ssh", "publicKey"], `provider ${provider} needs the public key to install on the machines; use \`pulumi config set --path 'elastic-mesos:ssh.publicKey' "$(cat ~/.ssh/id_ed25519.pub)"\``);
}

/**
 * Public admin ranges need the opt-in: not only /0 (0.0.0.0/1 + 128.0.0.0/1 is the whole internet too),
 * but any range reaching public space that is wider than a /16 (IPv4) or /48 (IPv6); see cidrs.ts.
 */
function adminAccess(raw: Raw, add: Add): void {
  const list = typeof raw.adminCidrs === "string" ? raw.adminCidrs.split(",").map((s) => s.trim()) : arr(raw.adminCidrs);
  if (raw.allowPublicAdmin === true) return;
  list.forEach((c, i) => {
    const why = typeof c === "string" ? publicAdminReason(c) : undefined;
    const example = typeof c === "string" && familyOf(c) === "ipv6" ? "2001:db8:1234::/48" : "203.0.113.7/32";
    if (why) add(["adminCidrs", i], `${why}; use your own range (e.g. ${example}), or set allowPublicAdmin to true if you really mean it`);
  });
}

function poolRules(raw: Raw, add: Add): void {
  const provider = providerOf(raw);
  const cluster = str(obj(raw.cluster)?.name) ?? DEFAULT_CLUSTER_NAME;
  const seen = new Map<string, number>();
  arr(raw.agentPools).forEach((p, i) => {
    const pool = obj(p);
    const name = str(pool?.name);
    if (!pool || name === undefined) return;
    if (seen.has(name)) add(["agentPools", i, "name"], `pool names must be unique; "${name}" is also agentPools[${seen.get(name)}].name`);
    else seen.set(name, i);
    // Agents are named <cluster>-<pool>-<n> and a hostname label is at most 63 characters.
    if (`${cluster}-${name}-1000`.length > 63)
      add(["agentPools", i, "name"], `"${cluster}-${name}-1000" would exceed 63 characters; use a pool name of at most ${63 - cluster.length - 6} characters`);
    // Every agent registers with the attribute pool=<its pool's name> (Marathon constraints, and the readiness
    // counts a group's agents by it): a pool's own attribute of that name would take its place.
    const own = obj(pool.attributes)?.pool;
    if (own !== undefined && own !== name)
      add(["agentPools", i, "attributes", "pool"], `every agent has the attribute pool set to its pool's name ` +
        `("${name}"); Marathon constraints and the readiness count agents by it, so use another attribute name`);
    const hostsDecide = provider === "baremetal";
    if (provider !== undefined && !hostsDecide && pool.count === undefined)
      add(["agentPools", i, "count"], "use a whole number from 0 to 1000 (how many agents this pool has)");
  });
}

/**
 * Users a task must not run as: the cluster's own services (their files hold credentials), accounts and
 * groups that carry privilege (docker's group is root in effect; useradd --user-group also fails on it).
 */
const RESERVED_TASK_USERS: Record<string, string> = {
  zookeeper: "ZooKeeper's service user", marathon: "Marathon's service user", mesos: "a name Mesos packages use",
  docker: "Docker's group (its members control the Docker daemon, i.e. root)", sudo: "the sudoers' group", wheel: "the sudoers' group",
  adm: "the log readers' group", disk: "the raw disks' group", shadow: "the password hashes' group", daemon: "a system account",
  bin: "a system account", sys: "a system account", nobody: "the account many daemons share", sshd: "sshd's account",
};

/**
 * Tasks run as root only when a pool says "root": a task user that is the SSH login user (a password-less
 * sudoer) or a privileged account would be root by another name.
 */
function taskUsers(raw: Raw, add: Add): void {
  const provider = providerOf(raw);
  const os = (OS_FAMILIES as readonly unknown[]).includes(raw.os) ? (raw.os as OsFamily) : DEFAULT_OS;
  const sshUser = str(obj(raw.ssh)?.user) ?? (provider ? defaultSshUser(provider, os) : undefined);
  const logins = new Map<string, string>();
  if (sshUser && sshUser !== "root") logins.set(sshUser, "ssh.user, the login user the bootstrap uses with sudo");
  arr(obj(raw.baremetal)?.hosts).forEach((h, i) => {
    const u = str(obj(h)?.user);
    if (u && u !== "root" && !logins.has(u)) logins.set(u, `the login user of baremetal.hosts[${i}], a sudoer`);
  });
  arr(raw.agentPools).forEach((p, i) => {
    const user = str(obj(p)?.taskUser);
    if (!user || user === "root") return;
    const why = logins.get(user) ?? RESERVED_TASK_USERS[user] ?? (user.startsWith("systemd-") ? "a systemd account" : undefined);
    if (why)
      add(["agentPools", i, "taskUser"], `it is ${why}, so tasks running as it could act as root or read the cluster's credentials; use a user of their own such as mesos-task (or "root" if tasks must run as root)`);
  });
}

function networkRules(raw: Raw, add: Add): void {
  const cidr = str(obj(raw.network)?.cidr);
  const prefix = cidr ? (parseCidrV4(cidr)?.prefix ?? NaN) : NaN; // non-IPv4 is reported by the schema
  const provider = providerOf(raw);
  if (provider && CLOUDS.includes(provider) && prefix > 20)
    add(["network", "cidr"], "clouds get one /24 per zone inside it; use a prefix from /8 to /20 such as 10.42.0.0/16");
  // AWS only accepts VPC CIDRs from /16 to /28.
  if (provider === "aws" && prefix < 16)
    add(["network", "cidr"], "AWS VPCs are /16 at most; use a /16 to /20 such as 10.42.0.0/16");
}

/** RFC 1918, the only ranges DigitalOcean takes for a VPC. */
const RFC1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((c) => parseCidrV4(c)!);

/** What a cloud's own API would refuse, checked here so that `pulumi up` stops before any resource, naming the key. */
function cloudLimits(raw: Raw, add: Add): void {
  const provider = providerOf(raw);
  const cluster = str(obj(raw.cluster)?.name) ?? DEFAULT_CLUSTER_NAME;
  if (provider === "gcp") {
    // A pool's agents carry the network tag poolTag(cluster, pool); GCE takes tags of at most 63 characters.
    arr(raw.agentPools).forEach((p, i) => {
      const name = str(obj(p)?.name);
      const tag = name === undefined ? undefined : poolTag(cluster, name);
      if (tag && tag.length > 63)
        add(["agentPools", i, "name"], `its agents' GCP network tag "${tag}" would exceed the 63 characters GCE allows; use a pool name of at most ${63 - poolTag(cluster, "").length} characters (or a shorter cluster.name)`);
    });
  }
  const pub = str(obj(raw.ssh)?.publicKey)?.trim().split(/\s+/)[0];
  // Only well-formed lines of another type (a malformed key is the schema's to report).
  if (provider === "aws" && pub && /^(ecdsa-sha2-|sk-|ssh-dss$)/.test(pub))
    add(["ssh", "publicKey"], `EC2 key pairs take RSA and ED25519 keys only, not ${pub}; use an ed25519 key (ssh-keygen -t ed25519) and set its .pub line, with its private half as elastic-mesos:sshPrivateKey`);
  const cidr = str(obj(raw.network)?.cidr);
  const net = cidr ? parseCidrV4(cidr) : undefined; // non-IPv4 is reported by the schema
  if (provider === "digitalocean" && net) {
    const inside = RFC1918.some((r) => net.prefix >= r.prefix && Math.floor(net.base / 2 ** (32 - r.prefix)) === Math.floor(r.base / 2 ** (32 - r.prefix)));
    if (!inside) add(["network", "cidr"], "DigitalOcean VPCs take private ranges only (RFC 1918: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16); use one such as 10.42.0.0/16");
    else if (net.prefix < 16) add(["network", "cidr"], "DigitalOcean VPCs are /16 at most; use a /16 to /20 such as 10.42.0.0/16");
  }
}

/**
 * Addresses a cloud keeps in each subnet for itself, by its documentation: AWS the first four and the last; GCP
 * the network, gateway, second-to-last and broadcast addresses; OpenStack (Neutron) the network and broadcast
 * addresses, the router's gateway and a DHCP port per DHCP agent (two counted); DigitalOcean the first, the last
 * "and a few others" (eight counted).
 */
export const SUBNET_RESERVED = { aws: 5, gcp: 4, openstack: 5, digitalocean: 8 } as const;
type SubnetCloud = keyof typeof SUBNET_RESERVED;
const CLOUD_NAME: Record<SubnetCloud, string> =
  { aws: "AWS", gcp: "GCP", openstack: "OpenStack", digitalocean: "DigitalOcean" };

/**
 * Where a cloud puts its agents (the provider modules' network.ts):
 * - "zones": in the zones' subnets, with the masters (OpenStack; AWS with aws.agentEgress public);
 * - "zone-agent-subnets": in subnets of their own, one per zone, the size of the zones' (AWS NAT egress);
 * - "upper-half": all of them in one subnet, the upper half of network.cidr (GCP: a regional managed instance
 *   group's template names one subnetwork for every zone);
 * - "vpc": the VPC is network.cidr, masters and agents (DigitalOcean).
 */
export type AgentLayout = "zones" | "zone-agent-subnets" | "upper-half" | "vpc";

/** What the pure subnet check needs to know of a stack (read from the raw config, defaults applied). */
export interface SubnetDemand {
  provider: SubnetCloud;
  cidr: string;
  /** The zones nodes are spread over (round-robin by ordinal, components/topology.ts); none: one subnet. */
  zones: string[];
  masters: number;
  pools: { name: string; count: number }[];
  layout: AgentLayout;
  /** DigitalOcean without network.cidr: the cloud picks the VPC's range, a /20 (`cidr` then stands for its size). */
  rangePicked?: boolean;
  /** Pools are self-healing groups, which may run extra machines while they roll or rebalance. */
  groups: boolean;
}

/** One subnet's load, as the check sees it: what it must hold and how many addresses it has. */
export interface SubnetLoad {
  subnet: string;
  zone?: string;
  masters: number;
  agents: Record<string, number>;
  spare: number;
  need: number;
  usable: number;
}

const sizeOf = (cidr: string) => 2 ** (32 - Number(cidr.split("/")[1]));

/**
 * Pure: the most loaded subnet of a cloud stack. Each zone gets one subnet of `network.cidr` (a /24 at most,
 * components/topology.ts planNetwork) and a pool's agents are spread over the zones round-robin, so a zone holds
 * ceil(count/zones) of them; or the agents share one subnet (AgentLayout). A pool run as a group may run more
 * machines while it rolls or rebalances, kept spare: 10% (at least one) of its share of a zone's subnet (AWS
 * exceeds a group's size by 10% or one instance while it rebalances its zones); in GCP's one subnet 10% or one
 * per zone, whichever is more (a regional group surges one machine per zone by default). Undefined when the range
 * is too small for the zones (reported on network.cidr by its own rule).
 */
export function busiestSubnet(d: SubnetDemand): SubnetLoad | undefined {
  let zoneSubnets: string[];
  try {
    zoneSubnets = planNetwork(d.cidr, d.zones.length).subnets.map((s) => s.cidr);
  } catch {
    return undefined;
  }
  const reserved = SUBNET_RESERVED[d.provider];
  const sum = (r: Record<string, number>) => Object.values(r).reduce((n, a) => n + a, 0);
  const load = (subnet: string, masters: number, agents: Record<string, number>, spare: number,
    zone?: string): SubnetLoad => ({ subnet, ...(zone ? { zone } : {}), masters, agents, spare,
    need: masters + sum(agents) + spare, usable: sizeOf(subnet) - reserved });
  const all = Object.fromEntries(d.pools.filter((p) => p.count > 0).map((p) => [p.name, p.count]));
  if (d.layout === "vpc" || d.layout === "upper-half") {
    const subnet = d.layout === "vpc" ? d.cidr : upperHalf(d.cidr);
    const least = d.layout === "upper-half" ? Math.max(1, d.zones.length) : 1;
    const perPool = (n: number) => Math.max(least, Math.ceil(n / 10));
    const spare = d.groups ? sum(Object.fromEntries(Object.entries(all).map(([p, n]) => [p, perPool(n)]))) : 0;
    return load(subnet, d.layout === "vpc" ? d.masters : 0, all, spare);
  }
  const zones = Math.max(1, d.zones.length);
  // AWS NAT egress: the agents' subnets come right after the zones' (providers/aws/network.ts privateSubnetCidrs).
  const first = parseV4(zoneSubnets[0]);
  const agentSubnet = (z: number) => `${ipToString(first.base + (zones + z) * sizeOf(zoneSubnets[0]))}/${first.prefix}`;
  const loads = zoneSubnets.map((zoneSubnet, z) => {
    const subnet = d.layout === "zone-agent-subnets" ? agentSubnet(z) : zoneSubnet;
    const share = (count: number) => (count > z ? Math.ceil((count - z) / zones) : 0);
    const agents: Record<string, number> = {};
    for (const p of d.pools) if (share(p.count) > 0) agents[p.name] = share(p.count);
    const spare = d.groups ? Object.values(agents).reduce((n, a) => n + Math.max(1, Math.ceil(a / 10)), 0) : 0;
    // With subnets of their own, the agents' subnet is the one that fills (the masters' holds them and a NAT gateway).
    return load(subnet, d.layout === "zones" ? share(d.masters) : 0, agents, spare, d.zones[z]);
  });
  return loads.reduce((a, b) => (b.need - b.usable > a.need - a.usable ? b : a));
}

/** "10.42.128.0/17" of 10.42.0.0/16: the upper half of a range (providers/gcp/network.ts agentSubnetCidr). */
function upperHalf(cidr: string): string {
  const { base, prefix } = parseV4(cidr);
  return `${ipToString(base + 2 ** (32 - prefix - 1))}/${prefix + 1}`;
}

/** Pure: why a stack's nodes would not fit its subnets (undefined: they fit). */
export function subnetProblem(d: SubnetDemand): string | undefined {
  const l = busiestSubnet(d);
  if (!l || l.need <= l.usable) return undefined;
  const agentCount = Object.values(l.agents).reduce((n, a) => n + a, 0);
  const parts = [`${agentCount} agents (${Object.entries(l.agents).map(([p, n]) => `${p} ${n}`).join(", ")})`,
    ...(l.spare ? [`${l.spare} spare for the groups' rolling replacements`] : []),
    ...(l.masters ? [`${l.masters} master${l.masters > 1 ? "s" : ""}`] : [])];
  const prefix = l.subnet.split("/")[1];
  const cloud = CLOUD_NAME[d.provider];
  const where = d.rangePicked ? "the VPC (network.cidr is not set: DigitalOcean gives it a /20)"
    : d.layout === "vpc" ? `the VPC ${l.subnet}`
    : d.layout === "upper-half" ? `the agents' subnet ${l.subnet}`
    : `${l.zone ? `zone ${l.zone}'s` : "the"} ${d.layout === "zone-agent-subnets" ? "agent " : ""}subnet ${l.subnet}`;
  const fix = d.layout === "vpc" ? `lower agentPools[].count, or ${d.rangePicked ? "set" : "use"} a larger ` +
      "network.cidr (an RFC 1918 range, a /16 at most)"
    : d.layout === "upper-half"
      ? "lower agentPools[].count, or use a larger network.cidr (the agents get its upper half)"
      : `lower agentPools[].count, or spread the agents over more zones (${d.provider}.zones): each zone gets ` +
        `one /${prefix} of network.cidr, whatever its size`;
  return `${where} would need ${l.need} addresses (${parts.join(", ")}) and ${cloud} leaves ${l.usable} of ` +
    `a /${prefix} (it reserves ${SUBNET_RESERVED[d.provider]}); ${fix}`;
}

/** The subnet check over the raw config: the clouds' subnets must hold what the counts ask, or nothing is made. */
function subnetCapacity(raw: Raw, add: Add): void {
  const provider = providerOf(raw);
  if (provider !== "aws" && provider !== "gcp" && provider !== "openstack" && provider !== "digitalocean") return;
  const given = str(obj(raw.network)?.cidr);
  const rangePicked = provider === "digitalocean" && given === undefined;
  const cidr = given ?? (rangePicked ? "10.0.0.0/20" : DEFAULT_NETWORK_CIDR);
  if (!parseCidrV4(cidr)) return; // the schema reports it
  const block = obj(raw[provider]);
  const zones = arr(block?.zones).filter((z): z is string => typeof z === "string");
  const masters = obj(raw.masters)?.count;
  const egress = str(block?.agentEgress) ?? (block?.vpcId !== undefined ? "public" : "nat-per-zone");
  const layout: AgentLayout = provider === "digitalocean" ? "vpc" : provider === "gcp" ? "upper-half"
    : provider === "aws" && egress !== "public" ? "zone-agent-subnets" : "zones";
  const problem = subnetProblem({
    provider, cidr, zones, masters: typeof masters === "number" ? masters : DEFAULT_MASTER_COUNT,
    pools: poolCounts(raw), layout, ...(rangePicked ? { rangePicked } : {}),
    // The clouds that run pools as self-healing groups (issue 12): AWS, GCP, DigitalOcean.
    groups: provider !== "openstack",
  });
  // On the largest pool's count (the problem names every pool of the subnet): its value is what the user sees first.
  const counts = poolCounts(raw).map((p) => p.count);
  if (problem) add(["agentPools", counts.indexOf(Math.max(...counts)), "count"], problem);
}

/** The pools' names and counts (a count the schema rejects, 0 to 1000 whole, counts as 0: it is reported there). */
function poolCounts(raw: Raw): { name: string; count: number }[] {
  const valid = (c: unknown): c is number => typeof c === "number" && Number.isInteger(c) && c > 0 && c <= 1000;
  return pools(raw).map((p, i) => ({ name: str(p.name) ?? `agentPools[${i}]`, count: valid(p.count) ? p.count : 0 }));
}

/**
 * A local stack's machines count against local.maxHosts: refused here, before anything is created, rather
 * than capped. (Any network.cidr allowed, a /24 at the smallest, has room for the most maxHosts allows.)
 */
function localMachines(raw: Raw, add: Add): void {
  const cap = obj(raw.local)?.maxHosts;
  const max = typeof cap === "number" ? cap : DEFAULT_LOCAL_MAX_HOSTS;
  if (!Number.isInteger(max) || max < 1 || max > 240) return; // the schema reports an invalid maxHosts
  const masters = obj(raw.masters)?.count;
  let hosts = typeof masters === "number" ? masters : DEFAULT_MASTER_COUNT;
  for (const p of pools(raw)) hosts += typeof p.count === "number" && p.count > 0 ? p.count : 0;
  if (hosts > max)
    add(["local", "maxHosts"], `the stack asks for ${hosts} machines on this machine and local.maxHosts is ${max}; lower masters.count or agentPools[i].count, or raise local.maxHosts if this machine has the memory (each machine is a container)`, cap === undefined ? max : undefined);
}

/** Keys that only mean something on provider local, and what local does not take. */
function localRules(raw: Raw, add: Add): void {
  const provider = providerOf(raw);
  if (provider === "local") localMachines(raw, add);
  if (obj(raw.artifacts)?.testStandIns === true && provider !== "local")
    add(["artifacts", "testStandIns"], "only a local stack may run the project's test stand-ins; remove artifacts.testStandIns");
  if (obj(raw.artifacts)?.testStandIns === true && obj(raw.artifacts)?.mirror === undefined)
    add(["artifacts", "testStandIns"], "the stand-ins come from the project's test mirror; set artifacts.mirror to it (npm run up does), or remove artifacts.testStandIns");
  if (provider !== "local" && raw.adminCidrs === undefined)
    add(["adminCidrs"], "list at least one CIDR allowed to reach SSH, Mesos and Marathon, e.g. your address: [203.0.113.7/32]");
  const user = str(obj(raw.ssh)?.user);
  if (provider === "local" && user !== undefined && user !== "root")
    add(["ssh", "user"], `local machines have root as their only login (their image has no other account); remove ssh.user or set it to root`);
  if (provider === "local" && raw.baremetal !== undefined)
    add(["baremetal"], "provider local creates its own machines on this machine; for hosts you already have, set provider to baremetal (or remove the baremetal block)");
}

function baremetalRules(raw: Raw, add: Add): void {
  const bm = obj(raw.baremetal);
  if (!bm || providerOf(raw) !== "baremetal") return;
  const poolNames = pools(raw).map((p) => str(p.name)).filter((n): n is string => n !== undefined);
  const bastions = arr(bm.bastions).map((b) => str(obj(b)?.name));
  bastions.forEach((b, i) => {
    if (b !== undefined && bastions.indexOf(b) !== i) add(["baremetal", "bastions", i, "name"], `bastion names must be unique; "${b}" is also baremetal.bastions[${bastions.indexOf(b)}].name`);
  });
  const hosts = arr(bm.hosts).map((h) => obj(h) ?? {});
  /** The entry of baremetal.hosts at `address` (-1: none): a lost machine's address must not be one. */
  const listedAt = (address: unknown) => (address === undefined ? -1 : hosts.findIndex((o) => str(o.address) === address));
  arr(bm.lostMasters).forEach((a, i) => {
    const listed = listedAt(a);
    if (listed >= 0) add(["baremetal", "lostMasters", i], `${String(a)} is baremetal.hosts[${listed}], still in the cluster; ` +
      "lostMasters names the machines of removed masters that are lost for good");
  });
  const names = new Map<string, number>();
  const addresses = new Map<string, number>();
  const perPool = new Map<string, number>();
  let masters = 0;
  hosts.forEach((h, i) => {
    const at = (k: string) => ["baremetal", "hosts", i, k];
    const address = str(h.address);
    let sameAddress = false;
    if (address !== undefined) {
      const id = `${address}:${typeof h.port === "number" ? h.port : 22}`;
      sameAddress = addresses.has(id);
      if (sameAddress) add(at("address"), `each host is listed once; ${id} is also baremetal.hosts[${addresses.get(id)}]`);
      else addresses.set(id, i);
    }
    const name = str(h.name) ?? (address ? hostNameFrom(address) : undefined);
    // A name derived from a duplicate address is the same duplicate: report it once, on the address.
    if (name !== undefined && !(sameAddress && h.name === undefined)) {
      if (names.has(name)) add(at("name"), `host names must be unique; "${name}" is also the name of baremetal.hosts[${names.get(name)}]${h.name === undefined ? " (derived from its address; set name)" : ""}`);
      else names.set(name, i);
    }
    // An agent's node id is its host's name and its hostname <cluster>-<name> (components/topology.ts).
    if (name !== undefined && h.role === "agent") {
      const cluster = str(obj(raw.cluster)?.name) ?? DEFAULT_CLUSTER_NAME;
      const derived = h.name === undefined ? " (derived from its address; set a shorter name)" : "";
      if (`${cluster}-${name}`.length > 63)
        add(at("name"), `the agent's hostname "${cluster}-${name}" would exceed 63 characters; use a name of at most ${62 - cluster.length} characters${derived}`);
      const taken = /^m[0-9]+$/.test(name) ? "a master's node id" :
        poolNames.some((p) => new RegExp(`^${p}-[0-9]+$`).test(name)) ? "the node id earlier releases gave the agents of a pool" : "";
      if (taken) add(at("name"), `"${name}" has the form of ${taken} (m<n>, <pool>-<n>); an agent's node id is its name, so use another name${derived}`);
    }
    const pool = str(h.pool);
    if (h.role === "master") {
      masters++;
      if (h.pool !== undefined) add(at("pool"), "masters belong to no pool; remove pool from this host");
    } else if (h.role === "agent") {
      if (h.pool === undefined) add(at("pool"), `agents need a pool; use one of: ${poolNames.join(", ") || "(define agentPools first)"}`);
      else if (pool === undefined || !poolNames.includes(pool)) add(at("pool"), `use the name of an entry of agentPools: ${poolNames.join(", ") || "(none defined)"}`);
      else perPool.set(pool, (perPool.get(pool) ?? 0) + 1);
    }
    if (h.replaces !== undefined && h.role === "agent")
      add(at("replaces"), "only a master replaces a machine; an agent is replaced by removing its entry and adding the new " +
        "host under another name");
    const listed = listedAt(h.replaces);
    if (listed === i) add(at("replaces"), `replaces names the lost machine's address, not this host's own (${address}); remove replaces`);
    else if (listed >= 0)
      add(at("replaces"), `${String(h.replaces)} is baremetal.hosts[${listed}], still in the cluster; replaces names a lost machine's address`);
    if (h.bastion !== undefined && !bastions.includes(str(h.bastion)))
      add(at("bastion"), `use the name of an entry of baremetal.bastions: ${bastions.filter(Boolean).join(", ") || "(none defined)"}`);
  });
  // Counts are only meaningful when every role is valid (a bad role is reported on its own).
  if (hosts.some((h) => h.role !== "master" && h.role !== "agent")) return;
  if (hosts.length > 0 && masters !== 1 && masters !== 3 && masters !== 5)
    add(["baremetal", "hosts"], `${masters} hosts have role master; give exactly 1, 3 or 5 hosts role master (ZooKeeper needs an odd majority)`);
  const given = obj(raw.masters)?.count;
  if (given !== undefined && given !== masters)
    add(["masters", "count"], `baremetal.hosts lists ${masters} master host${masters === 1 ? "" : "s"}; set masters.count to ${masters} or remove it`);
  arr(raw.agentPools).forEach((p, i) => {
    const pool = obj(p);
    const name = str(pool?.name);
    const n = name ? (perPool.get(name) ?? 0) : 0;
    if (pool && name && pool.count !== undefined && pool.count !== n)
      add(["agentPools", i, "count"], `baremetal.hosts lists ${n} host${n === 1 ? "" : "s"} in pool "${name}"; set count to ${n} or remove it (on baremetal the hosts decide)`);
  });
}

/** All cross-field rules as one zod refinement over the raw config map. */
export function crossFieldRules(ctx: RuleContext) {
  return z.record(z.string(), z.unknown()).superRefine((raw, zctx) => {
    const add: Add = (path, message, usedDefault) =>
      zctx.addIssue({ code: "custom", path, message, ...(usedDefault !== undefined ? { params: { default: usedDefault } } : {}) });
    secrets(raw, ctx, add);
    adminAccess(raw, add);
    poolRules(raw, add);
    taskUsers(raw, add);
    networkRules(raw, add);
    cloudLimits(raw, add);
    subnetCapacity(raw, add);
    baremetalRules(raw, add);
    localRules(raw, add);
  });
}
