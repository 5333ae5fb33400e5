// The SSH bootstrap for existing hosts (baremetal, local lab): one MesosHost per node running its steps
// (rendered by its provider from compact inputs), masters first, agents after every master is up, then
// one readiness resource.
// This is the function MesosCluster calls through its `sshBootstrap` seam (components/cluster.ts).
import * as pulumi from "@pulumi/pulumi";
import type { SshBootstrapInput } from "../../components/cluster";
import type { Machine, NodeSpec, Topology } from "../../components/contracts";
import { matchHosts, positionalHostname } from "../../components/providers/baremetal";
import type { BaremetalHostModel, ClusterModel } from "../../components/model";
import { resolveArtifacts } from "../artifacts";
import { ADMIN_USER } from "../credentials";
import { rolloutSpec, type RolloutSpec } from "../rollout/plan";
import { addressRuns } from "../steps/firewall";
import type { BootstrapInput } from "../steps/types";
import { ClusterReadiness, sshGeneration } from "../health/readiness";
import { ONLINE_MEMBERSHIP } from "../membership/pin";
import { DEFAULT_PORTS } from "../health/probes";
import { MesosHost } from "./resource";
import type { DrainMaster, HostConnection, HostInputs } from "./types";

export interface SshBootstrapOptions {
  /** Seconds to wait for tasks to leave a removed agent. Default 600. */
  drainTimeoutSeconds?: number;
  /** Seconds the readiness check waits. Default 900. */
  readyTimeoutSeconds?: number;
  /** Seconds per step. Default 900. */
  stepTimeoutSeconds?: number;
}

/** Position of each host in its list, per list: connectionFor is called for every node (thousands). */
const positions = new WeakMap<BaremetalHostModel[], Map<BaremetalHostModel, number>>();

function indexOf(hosts: BaremetalHostModel[], host: BaremetalHostModel): number {
  let p = positions.get(hosts);
  if (!p) positions.set(hosts, (p = new Map(hosts.map((h, i) => [h, i]))));
  return p.get(host) ?? -1;
}

/** Connection of a machine: its `baremetal.hosts` entry when there is one, else its address, port 22, `ssh.user`. */
export function connectionFor(model: ClusterModel, m: Machine): pulumi.Output<HostConnection> {
  const hosts = model.baremetal?.hosts ?? [];
  // The same host the provider module gave this node (the k-th host of its role or pool plays node k).
  const host: BaremetalHostModel | undefined = hosts.length ? matchHosts(model, [m.node])[0].host : undefined;
  if (!host) {
    // A machine the provider made (local) comes with its host key: pinned like a configured fingerprint.
    return pulumi.all([m.publicIp ?? m.privateIp, m.hostKeyFingerprint]).apply(([address, fingerprint]) =>
      ({ host: address, port: 22, user: model.ssh.user, ...(fingerprint ? { hostKeyFingerprint: fingerprint } : {}) }));
  }
  const index = indexOf(hosts, host);
  const bastion = host.bastion ? model.baremetal!.bastions.find((b) => b.name === host.bastion) : undefined;
  if (host.bastion && !bastion) throw new Error(`baremetal.hosts[${index}].bastion: no bastion named "${host.bastion}" in baremetal.bastions`);
  return pulumi.output({
    host: host.address, port: host.port, user: host.user, hostKeyFingerprint: host.hostKeyFingerprint,
    // By name, not by place: removing another entry must not change this host's inputs (nor its messages' path).
    configPath: `baremetal.hosts[name=${host.name}]`,
    ...(host.replaces ? { replaces: host.replaces } : {}),
    bastion: bastion && { name: bastion.name, host: bastion.address, port: bastion.port, user: bastion.user, hostKeyFingerprint: bastion.hostKeyFingerprint },
  });
}

/**
 * Pure: the aliases of a node's host resource. A bare-metal agent's resources were named by its place in its
 * pool (`<cluster>-<pool>-<n>-bootstrap`) by earlier releases and are named by its host now: the alias renames
 * them, and the provider keeps the id the host was installed with (identity.ts), so nothing runs on it.
 */
export function hostAliases(model: ClusterModel, m: Machine): { name: string }[] {
  const hosts = model.baremetal?.hosts ?? [];
  if (!hosts.length) return [];
  const former = positionalHostname(model, m.node, matchHosts(model, [m.node])[0].host);
  return former && former !== m.node.hostname ? [{ name: `${former}-bootstrap` }] : [];
}

/** The admin HTTP principal (defined with the credentials; re-exported for the cloud readiness). */
export { ADMIN_USER };

/**
 * Pure: how an agent is drained before removal (masters' addresses and ports, no credential). `masterHosts`:
 * the masters the drain runs on over SSH, with the host keys they must present.
 */
export function drainSpecOf(role: "master" | "agent", masterIps: string[], opts: SshBootstrapOptions = {},
  masterHosts?: DrainMaster[]): HostInputs["drain"] {
  return role === "agent"
    ? { masters: masterIps, masterPort: DEFAULT_PORTS.mesos, agentPort: 5051, timeoutSeconds: opts.drainTimeoutSeconds ?? 600,
      ...(masterHosts ? { masterHosts } : {}) }
    : undefined;
}

/**
 * Pure: a node's provider inputs from its bootstrap input without credentials (the provider derives them
 * from the stack config and renders the steps). createSshBootstrap registers exactly this; the lab tests
 * and the benchmark drive the provider with it.
 */
export function hostInputsFor(b: Omit<BootstrapInput, "credentials">, connection: HostConnection, masterIps: string[],
  opts: SshBootstrapOptions = {}, masterHosts?: DrainMaster[]): HostInputs {
  // Task users only on masters (ACLs, Marathon's default user); an agent has its own node.taskUser.
  const taskUsers = b.node.role === "master" && b.taskUsers?.length ? { taskUsers: b.taskUsers } : {};
  return {
    cluster: b.cluster, os: b.os, node: b.node, selfIp: b.selfIp ?? connection.host, masters: b.masters, quorum: b.quorum,
    artifacts: b.artifacts, connection, ...(b.firewall ? { firewall: b.firewall } : {}), ...taskUsers,
    drain: drainSpecOf(b.node.role, masterIps, opts, masterHosts), stepTimeoutSeconds: opts.stepTimeoutSeconds ?? 900,
  };
}

/** Pure: the pools' task users, distinct and sorted (the same bytes whatever the order of the pools). */
export function poolTaskUsers(pools: { taskUser: string }[]): string[] {
  return [...new Set(pools.map((p) => p.taskUser))].sort();
}

/**
 * The host firewall's inputs, built once for all hosts: only bare metal and local have no cloud firewall in
 * front of them (DigitalOcean, also bootstrapped over SSH, has its own). Undefined elsewhere.
 */
export function hostFirewall(model: ClusterModel, machines: Machine[]): pulumi.Output<BootstrapInput["firewall"]> {
  if (model.provider !== "baremetal" && model.provider !== "local") return pulumi.output(undefined);
  return pulumi.all(machines.map((m) => m.privateIp))
    .apply((ips) => ({ adminCidrs: model.adminCidrs, members: addressRuns(sortedAddresses(ips)) }));
}

/** Pure: distinct IPv4 addresses in numeric order (stable bytes for a stable membership, whatever the config order). */
export function sortedAddresses(ips: string[]): string[] {
  const key = (ip: string) => ip.split(".").map((o) => o.padStart(3, "0")).join(".");
  return [...new Set(ips)].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The rollout spec of each node: masters one at a time, a pool's agents `rollout.maxUnavailable` at once. */
export function rolloutSpecs(model: Pick<ClusterModel, "rollout">, topology: Pick<Topology, "masters" | "agents">): (n: NodeSpec) => RolloutSpec {
  const poolSize = new Map<string, number>();
  for (const a of topology.agents) poolSize.set(a.pool ?? "", (poolSize.get(a.pool ?? "") ?? 0) + 1);
  const maxUnavailable = model.rollout?.maxUnavailable ?? 1;
  return (n) => rolloutSpec(n.role, n.role === "master" ? topology.masters.length : (poolSize.get(n.pool ?? "") ?? 1), maxUnavailable, n.pool);
}

/**
 * The masters as every host's steps name them: private address, and the public one where a master has one besides
 * (DigitalOcean droplets; a bare-metal host's is its address): Mesos advertises it to browsers and the master's
 * certificate names it. One Output for all hosts (thousands). The same list names the masters in the user-data of
 * a group's agents on SSH-delivery clouds (components/cluster.ts), so those agents see the masters byte for byte
 * as the SSH-installed hosts do.
 */
export function mastersOf(topology: Pick<Topology, "masters">,
  machines: Machine[]): pulumi.Output<BootstrapInput["masters"]> {
  const byId = new Map(machines.map((m) => [m.node.id, m]));
  const ms = topology.masters.map((n) => {
    const m = byId.get(n.id);
    if (!m) throw new Error(`master ${n.id}: no machine for it`);
    return m;
  });
  const addresses = pulumi.all(ms.map((m) => pulumi.all([m.privateIp, m.publicIp ?? ""])));
  return addresses.apply((ips) => topology.masters.map((n, i) => ({
    id: n.id, zkId: n.zkId!, ip: ips[i][0], hostname: n.hostname,
    ...(ips[i][1] && ips[i][1] !== ips[i][0] ? { publicAddress: ips[i][1] } : {}) })));
}

/**
 * Each master's part in a growth from one master (the masters pin's `seeded`, membership/seed.ts): the running one
 * sends a copy of its log to the new ones (their connections from the config), which start from it. One Output for
 * all hosts; agents and every master of a cluster not growing from one get none.
 */
export function logSeeds(seeded: SshBootstrapInput["seeded"], ids: string[],
  connections: pulumi.Output<HostConnection[]>): pulumi.Output<(id: string) => HostInputs["logSeed"]> {
  return pulumi.all([seeded ?? pulumi.output(undefined), connections])
    .apply(([s, cs]) => (id: string) => logSeedOf(s, id, (to) => cs[ids.indexOf(to)]));
}

/** Pure: master `id`'s part in the growth `seeded` (the masters pin's record; undefined: none, or not its). */
export function logSeedOf(seeded: { from: string; to: string[] } | undefined, id: string,
  connectionOf: (id: string) => HostConnection | undefined): HostInputs["logSeed"] {
  if (!seeded?.to.length) return undefined;
  if (id === seeded.from) {
    return { to: seeded.to.flatMap((to) => { const c = connectionOf(to); return c ? [{ id: to, connection: c }] : []; }) };
  }
  return seeded.to.includes(id) ? { from: seeded.from } : undefined;
}

/**
 * Pure: a master whose cluster changes its masters online (membership/pin.ts ONLINE_MEMBERSHIP). Its steps render
 * what a joining master takes; bare metal and local say so by their host firewall, so of the SSH bootstrap's hosts
 * only DigitalOcean's masters carry it as an input (HostInputs.onlineMembership; a cloud master that joins gets it
 * from components/cloud-hosts.ts).
 */
/**
 * Pure: a host's part in a clusterSecret rotation (provisioning/rotation/README.md). While it rotates
 * (previousClusterSecret set; the masters pin refuses it unless it is the running secret) every host renders both
 * generations; once it rotated, principals are named by `generation` (the pin's). A cluster that never rotated gets
 * neither: its hosts' inputs stay what they were.
 */
export function rotationInputs(model: Pick<ClusterModel, "previousClusterSecret">, generation: number | undefined):
  Pick<HostInputs, "generation" | "rotating"> {
  return { ...(generation ? { generation } : {}), ...(model.previousClusterSecret ? { rotating: true as const } : {}) };
}

export function joinsOnline(model: Pick<ClusterModel, "provider">, node: Pick<NodeSpec, "role">): boolean {
  return node.role === "master" && ONLINE_MEMBERSHIP.has(model.provider);
}

/**
 * The masters removed from the config (the masters pin's `departing`), each its old host resource registered to
 * leave (membership/leave.ts): they leave first, one at a time (Mesos' order for shrinking: they stop for good before
 * the others restart with the lower --quorum), so the masters kept depend on them. Those whose machines the config
 * says are lost leave without being reached (baremetal.lostMasters). Every provider, clouds included.
 */
export function leavingMasters(model: Pick<ClusterModel, "cluster" | "baremetal">,
  departing: pulumi.Output<string[] | undefined> | undefined, parent: pulumi.Resource): pulumi.Output<MesosHost[]> | undefined {
  const lost = model.baremetal?.lostMasters.length ? { lost: model.baremetal.lostMasters } : {};
  return departing?.apply((ids) => (ids ?? []).map((id) =>
    new MesosHost(`${model.cluster.name}-${id}-bootstrap`, { leave: { cluster: model.cluster.name, id, ...lost } }, { parent })));
}

/** The SshBootstrap seam: returns every host resource and the readiness resource. */
export function createSshBootstrap(input: SshBootstrapInput, opts: SshBootstrapOptions = {}): pulumi.Resource[] {
  const { name, model, topology, machines, parent } = input;
  // Agents of a group (DigitalOcean autoscale pools) boot with certificates that name no address (their user-data
  // is rendered before they exist): no host can verify its peers' addresses then (HostInputs.unverifiedPeers). Set
  // for every provider that runs groups (MachineSet.groups given, even empty): a pool set to 0 and back must not
  // restart the masters twice.
  const peers = input.groups ? { unverifiedPeers: true as const } : {};
  const artifacts = resolveArtifacts(model.versions, model.artifacts, model.os);
  const byId = new Map(machines.map((m) => [m.node.id, m]));
  const masterMachines = topology.masters.map((n) => byId.get(n.id)!);
  // A group's agents have no machine here: they join by themselves, and the readiness counts them.
  const grouped = new Set((input.groups ?? []).map((g) => g.pool));
  const agentMachines = topology.agents.filter((n) => !grouped.has(n.pool!)).map((n) => byId.get(n.id)!);
  const masterIps = pulumi.all(masterMachines.map((m) => m.privateIp));
  // Each host's spec is hostInputsFor in one apply: no credential goes in (the provider derives them from
  // the stack config and renders the steps itself), so every input is plain, small and shown as it is by
  // previews and diffs. The masters' list is built once and shared (thousands of hosts).
  const masters = mastersOf(topology, masterMachines);
  const firewall = hostFirewall(model, machines);
  const taskUsers = poolTaskUsers(model.agentPools);
  const rollouts = rolloutSpecs(model, topology);
  const seeds = logSeeds(input.seeded, masterMachines.map((m) => m.node.id),
    pulumi.all(masterMachines.map((m) => connectionFor(model, m))));
  const generation = input.generation ?? pulumi.output(undefined);
  const host = (m: Machine, dependsOn: pulumi.Resource[] | pulumi.Output<pulumi.Resource[]>,
    drainVia?: pulumi.Output<DrainMaster[]>) => {
    const rollout = rollouts(m.node);
    // Masters only: an agent's inputs do not wait for the pin (it would be checked at `up` only, not in the preview).
    const seedOf = m.node.role === "master" ? seeds : pulumi.output(undefined);
    const spec = pulumi.all([masters, masterIps, m.privateIp, connectionFor(model, m), firewall, seedOf, generation])
      .apply(([ms, ips, selfIp, connection, fw, seed, g]) => {
      const logSeed = seed?.(m.node.id);
      const i = { ...hostInputsFor({ cluster: model.cluster.name, os: model.os, node: m.node, selfIp, masters: ms, quorum: topology.quorum,
        artifacts, taskUsers, ...(fw ? { firewall: fw } : {}) }, connection as HostConnection, ips, opts), rollout,
        ...peers, ...(logSeed ? { logSeed } : {}), ...(!fw && joinsOnline(model, m.node) ? { onlineMembership: true as const } : {}),
        ...rotationInputs(model, g) };
      // The masters' keys stay an Output of their own inside `drain`: in a preview where the masters change
      // (a grow re-runs their firewall step) only they are unknown, and the provider's diff takes an unknown
      // in `drain` (bookkeeping) for no change, instead of the whole spec unknown and every agent "updating".
      return i.drain && drainVia ? { ...i, drain: { ...i.drain, masterHosts: drainVia } } : i;
    });
    const aliases = hostAliases(model, m);
    const after = Array.isArray(dependsOn) ? [m.resource, ...dependsOn] : dependsOn.apply((d) => [m.resource, ...d]);
    return new MesosHost(`${m.node.hostname}-bootstrap`, { spec },
      { parent, dependsOn: after, ...(aliases.length ? { aliases } : {}) });
  };

  const leaving = leavingMasters(model, input.departing, parent);
  // Masters together (ZooKeeper's gate needs its peers), agents once every master is through. The one master of a
  // cluster growing from one sends its log to the new ones in its turn: it waits for their machines (local makes them).
  const seeding = (m: Machine) => seeds.apply((seed) => {
    const s = seed(m.node.id);
    return s && "to" in s ? s.to.flatMap((t) => { const r = byId.get(t.id)?.resource; return r ? [r] : []; }) : [];
  });
  const masterHosts = masterMachines.map((m) => host(m, pulumi.all([leaving ?? [], seeding(m)])
    .apply(([l, s]) => [...l, ...s])));
  // Where agents are drained (over SSH, with the keys the masters' resources recorded): one Output for all.
  const drainVia = pulumi.all(masterMachines.map((m, i) => pulumi.all([connectionFor(model, m), masterHosts[i].hostKey])
    .apply(([c, key]): DrainMaster => {
      const connection = c as HostConnection;
      // A pinned key wins anyway: recorded only when there is no pin (state is stored twice per agent).
      const recorded = !connection.hostKeyFingerprint && key?.fingerprint ? { hostKeyFingerprint: key.fingerprint } : {};
      return { id: m.node.id, connection, ...recorded };
    })));
  const agents = agentMachines.map((m) => host(m, masterHosts, drainVia));
  const all = [...masterHosts, ...agents];

  const readiness = new ClusterReadiness(`${name}-ready`, {
    cluster: model.cluster.name,
    masters: pulumi.all(masterMachines.map((m, i) => pulumi.all([m.privateIp, connectionFor(model, m), masterHosts[i].hostKey])
      .apply(([ip, connection, key]) => ({ id: m.node.id, ip, connection: connection as HostConnection, hostKeyFingerprint: key?.fingerprint })))),
    // One Output for the whole list (not two per agent): thousands of agents.
    agents: pulumi.all(agentMachines.map((m) => m.privateIp))
      .apply((ips) => agentMachines.map(({ node: n }, i) => ({ id: n.id, pool: n.pool, hostname: n.hostname, ip: ips[i] }))),
    // Groups' agents are counted by pool (absent without groups: the inputs of a stack without any stay the same).
    ...(input.groups?.length ? { pools: input.groups.map((g) => ({ pool: g.pool, desired: g.desired })) } : {}),
    quorum: topology.quorum,
    // Masters the pin let go (they left before the masters kept rolled): not a removal to refuse.
    ...(input.departing ? { departing: input.departing.apply((d) => (d?.length ? d : undefined)) } : {}),
    ports: DEFAULT_PORTS,
    adminUser: ADMIN_USER,
    timeoutSeconds: opts.readyTimeoutSeconds ?? 900,
    generation: pulumi.all([pulumi.all(all.map((h) => h.stepHashes)), pulumi.all(all.map((h) => h.repairs))])
      .apply(([hashes, repairs]) => sshGeneration(hashes, repairs)),
  }, { parent, dependsOn: [...all, ...(input.groups ?? []).map((g) => g.resource)] });
  return [...all, readiness];
}
