// Day 2 on the cloud-init clouds (aws, gcp, openstack): cloud-init does a machine's first boot only; every
// later change reaches the running machines over SSH through the same per-host step runner as bare metal
// (one MesosHost per node, provisioning/baremetal/provider.ts), so it rolls host by host behind the same gates.
// The machines ignore later user-data and images (components/providers/<cloud>/machines.ts): a change never
// replaces or restarts a machine through the cloud's API. A host's create waits for its first boot and
// records what ran (provisioning/baremetal/adopt.ts); its steps render exactly as its user-data's.
// Masters are reached at their reserved public addresses, agents through the first such master (a jump).
import * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "./model";
import type { AgentGroup, Machine, MasterPublicIps, NodeSpec, Topology } from "./contracts";
import { cloudMasterConnections, CLOUD_READY_TIMEOUT_SECONDS } from "./readiness";
import { resolveArtifacts } from "../provisioning/artifacts";
import { drainSpecOf, leavingMasters, logSeeds, poolTaskUsers, rolloutSpecs, rotationInputs } from "../provisioning/baremetal/bootstrap";
import { MesosHost } from "../provisioning/baremetal/resource";
import type { DrainMaster, HostConnection, HostInputs } from "../provisioning/baremetal/types";
import type { BootstrapInput } from "../provisioning/steps/types";
import { sshHostKey } from "../provisioning/tls";

export interface CloudHostsArgs {
  model: ClusterModel;
  topology: Topology;
  machines: Machine[];
  /** The pools the provider runs as self-healing groups (MachineSet.groups): their agents get no host resource. */
  groups?: AgentGroup[];
  /** The masters' reserved public addresses, as the provider passed them to the user-data (may be empty). */
  masterPublicIps: MasterPublicIps;
  /** Seconds a new machine's first boot may take (the cloud readiness deadline). */
  firstBootTimeoutSeconds?: number;
  /** Masters removed from the config that leave (or have left) the running cluster: the masters pin's `departing`. */
  departing?: pulumi.Output<string[] | undefined>;
  /** Masters the last change of the masters added to the running cluster: the masters pin's `joining`. */
  joining?: pulumi.Output<string[] | undefined>;
  /** The cluster grows from one master: the new ones start from a copy of its log (the masters pin's `seeded`). */
  seeded?: pulumi.Output<{ from: string; to: string[] } | undefined>;
  /** How many times clusterSecret rotated (the masters pin's `generation`; undefined: 0). */
  generation?: pulumi.Output<number | undefined>;
  parent: pulumi.Resource;
}

/** What createCloudHosts returns: every host resource, masters first, in topology order. */
export interface CloudHosts {
  masters: MesosHost[];
  agents: MesosHost[];
  /** The agents that are machines (one host resource each, `agents` in the same order): no group pool's agent. */
  agentMachines: Machine[];
  /** How each node is reached (host keys pinned): the readiness connects to the masters the same way. */
  connections: pulumi.Output<{ masters: HostConnection[]; agents: HostConnection[] }>;
}

/**
 * Pure: the masters' list exactly as the user-data renders it (components/cluster.ts cloudInitUserData): planned
 * addresses, and a reserved public address where the provider gave one.
 */
export function cloudMastersList(topology: Pick<Topology, "masters">, publicIps: Record<string, string>): BootstrapInput["masters"] {
  return topology.masters.map((m) => ({
    id: m.id, zkId: m.zkId!, ip: m.plannedIp!, hostname: m.hostname,
    ...(publicIps[m.id] ? { publicAddress: publicIps[m.id] } : {}),
  }));
}

/** A node's derived SSH host key as a connection pins it (tls sshHostKey; its user-data installs the key). */
export interface PinnedKey {
  hostKeyFingerprint: string;
  hostKeyAlgorithm: string;
  /** While clusterSecret rotates: the previous secret's key, which a machine presents until its install step ran. */
  previousHostKeyFingerprint?: string;
}

/**
 * Pure: how the step runner reaches each node. Masters as the readiness does (cloudMasterConnections: their public
 * address, else through the first master that has one); agents at their private address through that master.
 * Every hop pins the node's derived host key (`keys`, by node id): nothing is trusted on first use.
 */
export function cloudConnections(model: Pick<ClusterModel, "provider" | "ssh">, masters: { id: string; privateIp: string; publicIp?: string }[],
  agents: { id: string; ip: string }[], keys: Record<string, PinnedKey>): { masters: HostConnection[]; agents: HostConnection[] } {
  const user = model.ssh.user;
  const pin = (c: HostConnection, id: string): HostConnection =>
    ({ ...c, ...keys[id], ...(c.bastion ? { bastion: { ...c.bastion, ...keys[c.bastion.name!] } } : {}) });
  const conns = cloudMasterConnections(model.provider, user, masters).map((c, i) => pin(c, masters[i].id));
  const entry = masters.find((m) => !!m.publicIp)!;
  const bastion = { name: entry.id, host: entry.publicIp!, port: 22, user };
  return { masters: conns, agents: agents.map((a) => pin({ host: a.ip, port: 22, user, bastion }, a.id)) };
}

/**
 * The pinned host keys of every node, derived from clusterSecret (fingerprints are public: not secret). While it
 * rotates, the previous secret's key is accepted too: a machine presents it until its install step ran.
 */
export function pinnedKeys(model: Pick<ClusterModel, "clusterSecret" | "previousClusterSecret" | "cluster">,
  nodes: NodeSpec[]): pulumi.Output<Record<string, PinnedKey>> {
  const previous = model.previousClusterSecret ?? pulumi.output(undefined);
  return pulumi.unsecret(pulumi.all([model.clusterSecret, previous]).apply(([secret, before]) => Object.fromEntries(nodes.map((n) => {
    const k = sshHostKey(secret, model.cluster.name, n.id);
    const old = before ? { previousHostKeyFingerprint: sshHostKey(before, model.cluster.name, n.id).fingerprint } : {};
    return [n.id, { hostKeyFingerprint: k.fingerprint, hostKeyAlgorithm: k.algorithm, ...old }];
  }))));
}

/**
 * Pure: the machines of the topology's agents, in topology order, but for the agents of the pools run as groups
 * (`groupPools`), which have none. Any other agent without a machine is a provider's bug: an error naming it.
 */
export function agentsWithMachines(topology: Pick<Topology, "agents">, byId: ReadonlyMap<string, Machine>,
  groupPools: ReadonlySet<string> = new Set()): Machine[] {
  return topology.agents.flatMap((n) => {
    if (groupPools.has(n.pool!)) return [];
    const m = byId.get(n.id);
    if (!m) throw new Error(`no machine for agent ${n.id}: pool "${n.pool}" is not run as a group, so it needs one`);
    return [m];
  });
}

/**
 * Registers one MesosHost per cloud node that is a machine: masters after their machines, agents after every
 * master. The agents of pools run as groups are none of them (see agentsWithMachines).
 */
export function createCloudHosts(args: CloudHostsArgs): CloudHosts {
  const { model, topology, machines, parent } = args;
  const artifacts = resolveArtifacts(model.versions, model.artifacts, model.os);
  const byId = new Map(machines.map((m) => [m.node.id, m]));
  const masterMachines = topology.masters.map((n) => {
    const m = byId.get(n.id);
    if (!m) throw new Error(`provider "${model.provider}" made no machine for master ${n.id} (masters are machines)`);
    return m;
  });
  // Agents of a pool run as a group (contracts AgentGroup) have no machine and no host resource: their group
  // boots them from the pool's user-data, and the readiness counts them.
  const agentMachines = agentsWithMachines(topology, byId, new Set((args.groups ?? []).map((g) => g.pool)));
  const masterAddrs = pulumi.all(masterMachines.map((m) => pulumi.all([m.privateIp, m.publicIp ?? ""])))
    .apply((ips) => ips.map(([privateIp, publicIp], i) => ({ id: masterMachines[i].node.id, privateIp, publicIp })));
  const agentIps = pulumi.all(agentMachines.map((m) => m.privateIp));
  const keys = pinnedKeys(model, [...topology.masters, ...agentMachines.map((m) => m.node)]);
  const conns = pulumi.all([masterAddrs, agentIps, keys]).apply(([ms, ips, k]) =>
    cloudConnections(model, ms, ips.map((ip, i) => ({ id: agentMachines[i].node.id, ip })), k));
  const mastersList = pulumi.all(args.masterPublicIps).apply((ips) => cloudMastersList(topology, ips));
  const masterIps = topology.masters.map((m) => m.plannedIp!);
  const taskUsers = poolTaskUsers(model.agentPools);
  const rollouts = rolloutSpecs(model, topology);
  const firstBoot = { via: "cloud-init" as const, timeoutSeconds: args.firstBootTimeoutSeconds ?? CLOUD_READY_TIMEOUT_SECONDS };

  // A master's part in a growth (the pin's `joining`): it joins, or, running, waits for the joining ones' first boot
  // (reached as their hosts reach them, keys pinned). Masters only: an agent's inputs do not wait for the pin (it
  // would be checked at `up` only, not in the preview).
  const noJoin = { joins: false, joiners: [] as { id: string; connection: HostConnection }[] };
  const joinOf = (node: NodeSpec) => (node.role === "master" && args.joining
    ? pulumi.all([args.joining, conns]).apply(([j, cs]) => ((j ?? []).includes(node.id) ? { ...noJoin, joins: true }
      : { joins: false, joiners: (j ?? []).map((id) => ({ id, connection: cs.masters[topology.masters.findIndex((n) => n.id === id)] })) }))
    : pulumi.output(noJoin));
  // Growing from one master (as on bare metal, membership/seed.ts): it sends a copy of its log to the new ones in its
  // turn, once their machines booted (joiners), and they start from it.
  const seeds = logSeeds(args.seeded, topology.masters.map((n) => n.id), conns.apply((c) => c.masters));
  const seedOf = (node: NodeSpec) => (node.role === "master" ? seeds.apply((f) => f(node.id)) : pulumi.output(undefined));
  // As on bare metal (rotationInputs); a machine's install step also puts its new derived SSH host key in place once
  // clusterSecret rotated (render.ts rotatedHostKey).
  const generation = args.generation ?? pulumi.output(undefined);
  const spec = (m: Machine, connection: pulumi.Output<HostConnection>, drainVia?: pulumi.Output<DrainMaster[]>) =>
    pulumi.all([mastersList, m.privateIp, connection, joinOf(m.node), seedOf(m.node), generation])
      .apply(([ms, selfIp, c, { joins, joiners }, logSeed, g]) => {
      const node: NodeSpec = m.node;
      const base: HostInputs = {
        // A master's address is its planned one (the user-data's, reserved in its subnet); an agent's the cloud's.
        cluster: model.cluster.name, os: model.os, node, selfIp: node.plannedIp ?? selfIp, masters: ms, quorum: topology.quorum, artifacts,
        connection: c, ...(node.role === "master" && taskUsers.length ? { taskUsers } : {}),
        drain: drainSpecOf(node.role, masterIps), stepTimeoutSeconds: 900, rollout: rollouts(node), firstBoot,
        // A master added to the running cluster joins its ZooKeeper ensemble (by reconfig) when its host installs
        // ZooKeeper over SSH: its user-data carried no ZooKeeper step (components/cluster.ts BEFORE_ZOOKEEPER). The
        // others' steps stay exactly their user-data's (which has no room left for the joining functions on EC2).
        ...(joins ? { onlineMembership: true as const } : {}),
        // The running masters wait for the joining ones' first boot before they restart with the new --quorum.
        ...(joiners.length ? { joiners } : {}), ...(logSeed ? { logSeed } : {}),
        ...rotationInputs(model, g),
      };
      // As on bare metal, the masters' keys stay an Output of their own inside `drain` (bootstrap.ts says why).
      return base.drain && drainVia ? { ...base, drain: { ...base.drain, masterHosts: drainVia } } : base;
    });
  const host = (m: Machine, connection: pulumi.Output<HostConnection>, dependsOn: pulumi.Input<pulumi.Resource[]>,
    drainVia?: pulumi.Output<DrainMaster[]>) =>
    // The machine's cloud id where the provider gives one: a machine made anew replaces its host, which adopts it.
    new MesosHost(`${m.node.hostname}-bootstrap`, { spec: spec(m, connection, drainVia), machine: m.machineId },
      { parent, dependsOn: Array.isArray(dependsOn) ? [m.resource, ...dependsOn]
        : pulumi.output(dependsOn).apply((d) => [m.resource, ...d]) });

  // Masters removed from the config leave first (as on bare metal): the masters kept wait for them. Their machines
  // are the cloud's to delete, at the end of the `up`, once they left.
  const leaving = leavingMasters(model, args.departing, parent) ?? [];
  const masters = masterMachines.map((m, i) => host(m, conns.apply((c) => c.masters[i]), leaving));
  // Agents are drained from a master (over SSH, its derived key pinned in its connection), never from themselves.
  const drainVia = conns.apply((c) => masterMachines.map((m, i): DrainMaster => ({ id: m.node.id, connection: c.masters[i] })));
  const agents = agentMachines.map((m, i) => host(m, conns.apply((c) => c.agents[i]), masters, drainVia));
  return { masters, agents, agentMachines, connections: conns };
}
