// Topology: a pure function from the validated model to the nodes of the cluster, with identities that
// never change while a node exists. Everything here is plain data, so it is unit-tested without Pulumi.
//
// Why identities matter: a node's id is part of its Pulumi resource name. If growing pool "a" renamed a
// node of pool "b", Pulumi would replace a healthy machine. So ids depend only on (role, pool, ordinal):
// masters are m1..mN (ZooKeeper myid = ordinal), agents are `<pool>-<n>`; shrinking drops the highest n.
// Bare metal is the exception for agents: there the user lists the hosts, and removing one from the middle
// of a list must not shift the others, so a bare-metal agent's id is its host's name (baremetal.hosts[].name,
// unique, from the address by default) and it has no position (ordinal 0). Masters keep m<k> by their order
// among the master entries: their ZooKeeper ids must not change, and their membership never does.
import type { ClusterModel, AgentPoolModel } from "./model";
import type { NodeSpec, Topology } from "./contracts";

/** Providers whose machines can be given a fixed private address before they exist. */
const PINNABLE: ReadonlySet<string> = new Set(["aws", "gcp", "openstack"]);

/** Host number of master k inside its zone subnet: .11, .12, ... (clear of cloud-reserved .0-.3). */
export const MASTER_HOST_BASE = 10;

export interface SubnetPlan {
  /** 0-based index of the zone this subnet serves. */
  zoneIndex: number;
  cidr: string;
}

export interface NetworkPlan {
  cidr: string;
  /** One subnet per zone, carved from the cluster CIDR in zone order. */
  subnets: SubnetPlan[];
}

/** The zones a provider spreads nodes over (empty = no zones: DigitalOcean region, bare metal). */
export function zonesOf(model: ClusterModel): string[] {
  switch (model.provider) {
    case "aws":
      return model.aws?.zones ?? [];
    case "gcp":
      return model.gcp?.zones ?? [];
    case "openstack":
      return model.openstack?.zones ?? [];
    default:
      return [];
  }
}

/** Ordinal n (1-based) → zone, round-robin; stable because it depends on nothing but n. */
export function zoneFor(zones: readonly string[], ordinal: number): string | undefined {
  return zones.length ? zones[(ordinal - 1) % zones.length] : undefined;
}

export function quorumOf(masters: number): number {
  return Math.floor(masters / 2) + 1;
}

// ---- IPv4 arithmetic (no dependency needed for /xx math) -------------------------------------------

export function parseCidr(cidr: string): { base: number; prefix: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || prefix > 32) {
    throw new Error(`network.cidr: "${cidr}" is not an IPv4 CIDR; use e.g. 10.20.0.0/16`);
  }
  const raw = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  return { base: raw - (raw % size), prefix };
}

export function ipToString(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** The first address of a network: a local stack's bridge (this machine) in its network. */
export function gatewayOf(cidr: string): string {
  return ipToString(parseCidr(cidr).base + 1);
}

/**
 * Carves one subnet per zone out of `cidr`: a /24 each when the CIDR is big enough, else the largest
 * equal split. Throws (naming `network.cidr`) when the CIDR cannot hold the zones with room for masters.
 */
export function planNetwork(cidr: string, zoneCount: number): NetworkPlan {
  const { base, prefix } = parseCidr(cidr);
  const zones = Math.max(1, zoneCount);
  const bits = Math.ceil(Math.log2(zones));
  const subPrefix = Math.max(24, prefix + bits);
  if (subPrefix > 27) {
    throw new Error(
      `network.cidr: ${cidr} is too small for ${zones} zone subnet(s); use a /${Math.min(24, 27 - bits)} or larger`,
    );
  }
  const size = 2 ** (32 - subPrefix);
  const subnets = Array.from({ length: zones }, (_, i) => ({
    zoneIndex: i,
    cidr: `${ipToString(base + i * size)}/${subPrefix}`,
  }));
  return { cidr: `${ipToString(base)}/${prefix}`, subnets };
}

/** The fixed private address of master `ordinal` placed in subnet `zoneIndex`. */
export function masterIp(plan: NetworkPlan, zoneIndex: number, ordinal: number): string {
  const { base } = parseCidr(plan.subnets[zoneIndex].cidr);
  return ipToString(base + MASTER_HOST_BASE + ordinal);
}

// ---- nodes -----------------------------------------------------------------------------------------

function masterNodes(model: ClusterModel, zones: string[], plan?: NetworkPlan): NodeSpec[] {
  return Array.from({ length: model.masters.count }, (_, i) => {
    const ordinal = i + 1;
    const zoneIndex = zones.length ? i % zones.length : 0;
    return {
      id: `m${ordinal}`,
      hostname: `${model.cluster.name}-m${ordinal}`,
      role: "master" as const,
      ordinal,
      zkId: ordinal,
      size: model.masters.size,
      image: model.masters.image,
      diskGb: model.masters.diskGb,
      zone: zoneFor(zones, ordinal),
      plannedIp: plan ? masterIp(plan, zoneIndex, ordinal) : undefined,
      resources: {},
      attributes: {},
      containerizers: [],
      taskUser: "",
    };
  });
}

function poolNodes(cluster: string, pool: AgentPoolModel, zones: string[]): NodeSpec[] {
  return Array.from({ length: pool.count }, (_, i) => {
    const ordinal = i + 1;
    const id = `${pool.name}-${ordinal}`;
    return {
      id,
      hostname: `${cluster}-${id}`,
      role: "agent" as const,
      pool: pool.name,
      ordinal,
      size: pool.size,
      image: pool.image,
      diskGb: pool.diskGb,
      zone: zoneFor(zones, ordinal),
      resources: { ...pool.resources },
      attributes: { ...pool.attributes },
      containerizers: [...pool.containerizers],
      taskUser: pool.taskUser,
    };
  });
}

/**
 * The node a pool's self-healing group renders its one user-data from (contracts AgentGroup): an agent of the
 * pool with no place in it. Its id, `<pool>-group`, is no agent's (theirs end in a number), so the identities
 * derived from it (host key, the agent's JWT key) are the pool's, shared by the group's machines.
 */
export function poolTemplateNode(cluster: string, pool: AgentPoolModel): NodeSpec {
  const id = `${pool.name}-group`;
  return { ...poolNodes(cluster, { ...pool, count: 1 }, [])[0], id, hostname: `${cluster}-${id}`, ordinal: 0, zone: undefined };
}

/**
 * Bare-metal agents of one pool: one node per host of the pool, named by the host (never by its place in the
 * list), in the order of their names. Hosts that earlier releases installed keep the positional id they were
 * given (`<pool>-<n>`): their host resource records it and the provider keeps it (baremetal/identity.ts).
 */
function baremetalPoolNodes(model: ClusterModel, pool: AgentPoolModel): NodeSpec[] {
  // By name: the order of the list is no part of the cluster (readiness, outputs and firewall see the same).
  const hosts = (model.baremetal?.hosts ?? []).filter((h) => h.role === "agent" && h.pool === pool.name)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return hosts.map((h) => ({
    id: h.name,
    hostname: `${model.cluster.name}-${h.name}`,
    role: "agent" as const,
    pool: pool.name,
    ordinal: 0,
    size: pool.size,
    image: pool.image,
    diskGb: pool.diskGb,
    resources: { ...pool.resources },
    attributes: { ...pool.attributes },
    containerizers: [...pool.containerizers],
    taskUser: pool.taskUser,
  }));
}

/** Plans the network for providers that can pin master addresses; undefined elsewhere. */
export function networkPlanFor(model: ClusterModel): NetworkPlan | undefined {
  return PINNABLE.has(model.provider) ? planNetwork(model.network.cidr, zonesOf(model).length) : undefined;
}

export function buildTopology(model: ClusterModel): Topology {
  const zones = zonesOf(model);
  const masters = masterNodes(model, zones, networkPlanFor(model));
  const pools: Record<string, NodeSpec[]> = {};
  for (const pool of model.agentPools) {
    pools[pool.name] = model.provider === "baremetal" ? baremetalPoolNodes(model, pool) : poolNodes(model.cluster.name, pool, zones);
  }
  return {
    clusterName: model.cluster.name,
    masters,
    agents: Object.values(pools).flat(),
    pools,
    quorum: quorumOf(masters.length),
  };
}
