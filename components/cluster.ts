// MesosCluster: the one place that wires the stages together, in order:
//   model → topology → provider machines → bootstrap (cloud-init user-data, or the SSH seam)
//   → readiness (ZooKeeper quorum, Mesos leader, agents registered, Marathon leader) → outputs.
// Each stage is a plain function tested on its own; this class only calls them and registers outputs.
// The user-facing outputs resolve only once readiness has passed, so `pulumi up` reports them when the
// cluster is healthy, on every provider.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "./model";
import type { AgentGroup, Machine, MachineSet, MasterPublicIps, NodeSpec, Topology } from "./contracts";
import type { BootstrapInput, Credentials, NodeTls, Step } from "../provisioning/steps/types";
import { buildTopology, poolTemplateNode } from "./topology";
import { MastersPin, ONLINE_MEMBERSHIP, ROTATES } from "../provisioning/membership/pin";
import { PROVIDER_MODULES } from "./providers";
import { clusterOutputs, type AgentGroupOutput, type ClusterOutputs, type NodeAddress } from "./outputs";
import { cloudGeneration, createCloudReadiness, userDataHash } from "./readiness";
import { createCloudHosts } from "./cloud-hosts";
import { resolveArtifacts } from "../provisioning/artifacts";
import { deriveCredentials, hostOwnerId } from "../provisioning/credentials";
import { renderSteps } from "../provisioning/steps";
import { renderCloudConfig } from "../provisioning/render/cloud-config";
import { nodeMaterial, rotatingMaterial, sshHostKey } from "../provisioning/tls";
import { rotatedHostKey } from "../provisioning/baremetal/render";
import { mastersOf, poolTaskUsers } from "../provisioning/baremetal/bootstrap";

/** What the SSH bootstrap receives: the machines exist, their addresses are Outputs. */
export interface SshBootstrapInput {
  /** Resource-name prefix (the component's name). */
  name: string;
  model: ClusterModel;
  topology: Topology;
  machines: Machine[];
  /** Pools run as self-healing groups (contracts AgentGroup): `machines` holds none of their agents. */
  groups?: AgentGroup[];
  /** Derived from the secret clusterSecret: a secret Output. */
  credentials: pulumi.Output<Credentials>;
  /** Masters removed from the config that leave (or have left) the running cluster: the masters pin's `departing`. */
  departing?: pulumi.Output<string[] | undefined>;
  /** The cluster grows from one master: the new ones start from a copy of its log (the masters pin's `seeded`). */
  seeded?: pulumi.Output<{ from: string; to: string[] } | undefined>;
  /** How many times clusterSecret rotated (the masters pin's `generation`; undefined: 0): names versioned principals. */
  generation?: pulumi.Output<number | undefined>;
  /** Parent for every resource the bootstrap registers. */
  parent: pulumi.Resource;
}

/**
 * THE SSH BOOTSTRAP SEAM. Providers whose delivery is "ssh" (baremetal, local, digitalocean) are
 * bootstrapped after their machines exist, by a function of this type (index.ts passes
 * provisioning/baremetal `createSshBootstrap`: one dynamic resource per host running the rendered steps,
 * plus a readiness resource). It returns the resources the outputs must wait for: the stack outputs
 * resolve only after every one of them has been created or updated.
 */
export type SshBootstrap = (input: SshBootstrapInput) => pulumi.Resource[];

export interface MesosClusterArgs {
  /** The validated model (components/config `loadModel`). */
  model: ClusterModel;
  /**
   * The SSH bootstrap for "ssh"-delivery providers (the program passes `createSshBootstrap`). A
   * programmatic user may leave it out to get bare machines (their own configuration management takes
   * over): the component then warns that nothing was installed and its outputs wait for nothing.
   * Cloud-init providers never use it.
   */
  sshBootstrap?: SshBootstrap;
  /** Cloud-init providers: seconds `pulumi up` waits for the cluster to be healthy. Default 1200. */
  readyTimeoutSeconds?: number;
}

export class MesosCluster extends pulumi.ComponentResource {
  /** Mesos UI/API on the first master (masters redirect to the leader). */
  declare public readonly mesosUrl: pulumi.Output<string>;
  /** Mesos UI/API on every master, in master order. */
  declare public readonly mesosUrls: pulumi.Output<string[]>;
  /** Marathon UI/API on the first master. */
  declare public readonly marathonUrl: pulumi.Output<string>;
  /** ZooKeeper connection string, without credentials. */
  declare public readonly zookeeper: pulumi.Output<string>;
  declare public readonly masters: pulumi.Output<NodeAddress[]>;
  /** Agents per pool (the pools whose agents are machines). */
  declare public readonly agents: pulumi.Output<Record<string, NodeAddress[]>>;
  /** Pools run as self-healing groups: desired size, group resource name and cloud id (outputs AgentGroupOutput). */
  declare public readonly agentGroups: pulumi.Output<Record<string, AgentGroupOutput>>;
  /** The pools the provider runs as self-healing groups (empty on providers without them). */
  declare public readonly groups: AgentGroup[];
  declare public readonly sshHints: pulumi.Output<string[]>;
  declare public readonly adminUser: pulumi.Output<string>;
  /** Secret. */
  declare public readonly adminPassword: pulumi.Output<string>;
  /** The cluster CA certificate (PEM, public). */
  declare public readonly caCertificate: pulumi.Output<string>;
  /** The plain topology this cluster was built from (ids, zones, planned addresses). */
  declare public readonly topology: Topology;
  /** What the outputs wait for: the bootstrap's resources and the readiness check (empty without a bootstrap). */
  declare public readonly ready: pulumi.Resource[];

  constructor(name: string, args: MesosClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    // No inputs are sent for the component itself: the model holds secrets and is large at scale.
    super("elastic-mesos:index:Cluster", name, {}, { ...opts, transformations: [...(opts?.transformations ?? []), afterPins()] });
    const outputs = withoutPromiseStackTraces(() => this.build(name, args));
    this.registerOutputs(outputs);
  }

  private build(name: string, args: MesosClusterArgs): ClusterOutputs {
    const { model } = args;
    const topology = buildTopology(model);
    const pin = new MastersPin(`${model.cluster.name}-masters`, {
      cluster: model.cluster.name,
      masters: topology.masters.map((m) => m.id),
      key: model.provider === "baremetal" ? "baremetal.hosts (its master entries)" : "masters.count",
      online: ONLINE_MEMBERSHIP.has(model.provider),
      // A secret input like the secret it identifies (the id alone reveals nothing of it).
      secretId: pulumi.secret(model.clusterSecret.apply((s) => hostOwnerId(s, model.cluster.name))),
      ...(model.previousClusterSecret ? {
        previousSecretId: pulumi.secret(model.previousClusterSecret.apply((s) => hostOwnerId(s, model.cluster.name))),
      } : {}),
      rotates: ROTATES.has(model.provider),
    }, { parent: this });
    const entry = PROVIDER_MODULES[model.provider];
    const credentials = pulumi.secret(model.clusterSecret.apply((s) => deriveCredentials(s, model.cluster.name)));

    let ready: pulumi.Resource[] = [];
    if (entry.delivery === "cloud-init") {
      const render = cloudInitUserData(model, topology, credentials, undefined, entry.render, undefined, pin.generation);
      // A master added to a running cluster boots only what comes before ZooKeeper: its host installs the rest over
      // SSH once the running masters restarted with the new --quorum (Mesos' order; baremetal/provider.ts adopt).
      const renderJoining = cloudInitUserData(model, topology, credentials, undefined, entry.render, BEFORE_ZOOKEEPER,
        pin.generation);
      // Providers pass one map of the masters' reserved addresses to every node: the hosts' steps name them too.
      let masterPublicIps: MasterPublicIps = {};
      const userData = (n: NodeSpec, ips?: MasterPublicIps) => {
        if (ips) masterPublicIps = ips;
        if (n.role !== "master") return render(n, ips).apply((r) => r.userData);
        // The full one now (memoised with the first call's addresses: the readiness renders it again without them);
        // a joining master's only when the pin says it joins (only this call renders it). Machines ignore later
        // user-data: the choice matters only when the machine is made. Once clusterSecret rotated, a master machine
        // made later (a replacement, a new member) boots that too: its other steps carry the ZooKeeper ACL passes of
        // a rotated cluster (steps/rotation.ts), over EC2's 16 KB; its host runs them over SSH (provider.ts adopt).
        const full = render(n, ips);
        return pulumi.all([pin.joining, pin.generation])
          .apply(([j, g]) => ((j ?? []).includes(n.id) || g ? renderJoining(n, ips) : full)).apply((r) => r.userData);
      };
      const poolUserData = (pool: string, ips?: MasterPublicIps) => {
        if (ips) masterPublicIps = ips;
        return render(poolTemplateNode(model.cluster.name, poolSpec(model, pool)), ips).apply((r) => r.userData);
      };
      const set = entry.module.createMachines({ model, topology, userData, poolUserData }, this);
      const groups = set.groups ?? [];
      // First boot from user-data; every later change over SSH, host by host (cloud-hosts.ts). A pool run as a
      // group has no host resource: its group boots and rolls its machines from the pool's one user-data.
      const hosts = createCloudHosts({ model, topology, machines: set.machines, groups, masterPublicIps,
        firstBootTimeoutSeconds: args.readyTimeoutSeconds, departing: pin.departing, joining: pin.joining,
        seeded: pin.seeded, generation: pin.generation, parent: this });
      const nodes = [...topology.masters, ...hosts.agentMachines.map((m) => m.node)];
      const repairs = pulumi.all([...hosts.masters, ...hosts.agents].map((h) => h.repairs));
      const hashes = pulumi.all(nodes.map((n) => render(n).apply((r) => ({ id: n.id, hash: r.hash }))));
      const groupHashes = pulumi.all(groups.map((g) => render(poolTemplateNode(model.cluster.name, poolSpec(model, g.pool)))
        .apply((r) => ({ pool: g.pool, hash: r.hash, desired: g.desired }))));
      const generation = pulumi.all([hashes, repairs, groupHashes]).apply(([h, r, g]) => cloudGeneration(h, r, g));
      ready = [...hosts.masters, ...hosts.agents, createCloudReadiness({ name, model, topology, machines: set.machines, hosts,
        groups, generation, timeoutSeconds: args.readyTimeoutSeconds, departing: pin.departing, parent: this })];
      return this.finish(model, set, credentials, topology, ready);
    }
    // SSH delivery: nothing in user-data, but a pool run as a group (DigitalOcean autoscale pools) boots from the
    // pool's user-data, naming the masters the provider made (their addresses are those machines' outputs).
    let render: ReturnType<typeof cloudInitUserData> | undefined;
    const poolUserData = (pool: string, _ips?: MasterPublicIps, masters?: Machine[]) => {
      const spec = model.agentPools.find((p) => p.name === pool);
      if (!spec) throw new Error(`poolUserData: no agent pool "${pool}"`);
      if (!masters) {
        throw new Error(`poolUserData: provider "${model.provider}" bootstraps over SSH: pass the master machines`);
      }
      render ??= cloudInitUserData(model, topology, credentials, mastersOf(topology, masters), undefined, undefined,
        pin.generation);
      return render(poolTemplateNode(model.cluster.name, spec)).apply((r) => r.userData);
    };
    const set = entry.module.createMachines({ model, topology, userData: () => "", poolUserData }, this);
    if (args.sshBootstrap) {
      ready = args.sshBootstrap({ name, model, topology, machines: set.machines, groups: set.groups, credentials,
        departing: pin.departing, seeded: pin.seeded, generation: pin.generation, parent: this });
    } else {
      void pulumi.log.warn(
        `provider "${model.provider}": ${set.machines.length} machines registered, but no SSH bootstrap was given to MesosCluster, so nothing was installed on them and nothing checks their health`,
        this,
      );
    }
    return this.finish(model, set, credentials, topology, ready);
  }

  private finish(model: ClusterModel, set: MachineSet, credentials: pulumi.Output<Credentials>, topology: Topology, ready: pulumi.Resource[]): ClusterOutputs {
    const outputs = clusterOutputs(model, set, credentials, ready);
    Object.assign(this, outputs, { topology, ready, groups: set.groups ?? [] });
    return outputs;
  }
}

/** The config of agent pool `pool` (a provider asking for a pool that does not exist is a bug: an error naming it). */
function poolSpec(model: ClusterModel, pool: string): ClusterModel["agentPools"][number] {
  const spec = model.agentPools.find((p) => p.name === pool);
  if (!spec) throw new Error(`poolUserData: no agent pool "${pool}"`);
  return spec;
}

/** The refusals that must keep everything else back: the masters pin, then the cloud master pins. */
const PIN_TYPES = new Set(["pulumi-nodejs:dynamic/elastic-mesos/cluster:Masters", "pulumi-nodejs:dynamic/elastic-mesos/cloud:MasterPin"]);

/**
 * A transformation making every resource of the cluster depend on the pins registered before it (the masters pin,
 * membership/pin.ts, comes first; a cloud module makes its master pins before its network). A pin whose check
 * fails never resolves, so nothing that depends on it is registered: nothing changes. Registering the pins first
 * is not enough, because the engine checks and runs registrations concurrently (seen through the CLI: hosts
 * rolled while the pin's refusal was being reported).
 */
function afterPins(): pulumi.ResourceTransformation {
  const pins: pulumi.Resource[] = [];
  return (a) => {
    const before = [...pins];
    if (PIN_TYPES.has(a.type)) pins.push(a.resource);
    return before.length === 0 ? undefined : { props: a.props, opts: pulumi.mergeOptions(a.opts, { dependsOn: before }) };
  };
}

/**
 * Runs `build` with V8 stack capture off. The SDK records `new Error().stack` for every internal promise
 * of every resource (runtime/debuggable.js), only to explain leaked promises; with thousands of resources
 * that is most of the run time and memory (bench/program-scale.js). `Error.stackTraceLimit` is the knob
 * it honours (the same as Node's `--stack-trace-limit`); it is restored right after the synchronous
 * construction, so errors raised later keep full stacks. PULUMI_DEBUG_PROMISE_LEAKS=1 (Pulumi's own
 * switch for leak reports) keeps every stack.
 */
export function withoutPromiseStackTraces<T>(build: () => T): T {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return build();
  const previous = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return build();
  } finally {
    Error.stackTraceLimit = previous;
  }
}

/** A node's cloud-init user-data and its SHA-256, both computed in the one secret apply. */
export interface RenderedUserData {
  userData: string;
  hash: string;
}

/** The steps a master joining a running cluster boots (those before ZooKeeper's: nothing that votes or serves). */
export const BEFORE_ZOOKEEPER = (step: Step): boolean => step.name !== "zookeeper" && step.name !== "mesos";

/**
 * Pure: the steps a first boot carries, those `boots` keeps of a node's plan. Each keeps its place in the whole
 * plan ("1/3", Step.of), so its script is byte for byte the one the host's SSH plan renders (adopt compares them).
 */
export function firstBootSteps(steps: Step[], boots: (step: Step) => boolean = () => true): Step[] {
  const kept = steps.filter(boots);
  return kept.length === steps.length ? steps : kept.map((s) => ({ ...s, of: steps.length }));
}

/**
 * Cloud-init delivery: each node's user-data is its rendered steps, built inside an apply over the
 * credentials (derived from the secret clusterSecret), so the user-data is itself a secret Output, and
 * so is its hash (the readiness generation; a hash of credential-bearing text stays encrypted in state).
 * Masters are addressed by their planned IPs; a node's own IP is discovered by the script at boot. The
 * masters' public addresses, when the provider reserved them (`masterPublicIps`), go into every node's
 * masters list: a master advertises its own to browsers and its certificate names it.
 * Rendered once per node (memoised, the first call's addresses): the machine and the readiness read the same Output.
 */
export function cloudInitUserData(
  model: ClusterModel,
  topology: Topology,
  credentials: pulumi.Output<Credentials>,
  /** The masters as their machines came up (SSH-delivery clouds' pools), instead of their planned addresses. */
  actualMasters?: pulumi.Output<BootstrapInput["masters"]>,
  /** How a node's steps become the text it boots from (the registry's ProviderEntry.render); default #cloud-config. */
  format: (steps: Step[], hostKey?: { privatePem: string }) => string = renderCloudConfig,
  /** The steps the first boot runs (default all): a master joining a running cluster boots only BEFORE_ZOOKEEPER. */
  boots: (step: Step) => boolean = () => true,
  /**
   * How many times clusterSecret rotated (the masters pin's `generation`): a machine made while it rotates boots both
   * generations, as its host's plan renders them (baremetal/render.ts), so adopting it runs nothing.
   */
  generation: pulumi.Output<number | undefined> = pulumi.output(undefined),
): (node: NodeSpec, masterPublicIps?: MasterPublicIps) => pulumi.Output<RenderedUserData> {
  const artifacts = resolveArtifacts(model.versions, model.artifacts, model.os);
  const masters: pulumi.Input<BootstrapInput["masters"]> = actualMasters ?? topology.masters.map((m) => {
    if (!m.plannedIp) throw new Error(`${m.id}: no planned address; provider "${model.provider}" cannot use cloud-init delivery`);
    return { id: m.id, zkId: m.zkId!, ip: m.plannedIp, hostname: m.hostname };
  });
  // Masters allow (Mesos ACLs) and default Marathon to the pools' task users (sorted: the same list, byte for
  // byte, as the hosts' SSH rendering, cloud-hosts.ts).
  const taskUsers = poolTaskUsers(model.agentPools);
  const cache = new Map<string, pulumi.Output<RenderedUserData>>();
  // Providers pass one map for every node: one Output for it, not one per node (thousands of agents).
  const resolved = new WeakMap<MasterPublicIps, pulumi.Output<Record<string, string>>>();
  const publicIpsOf = (ips: MasterPublicIps) => resolved.get(ips) ?? resolved.set(ips, pulumi.all(ips)).get(ips)!;
  return (node, masterPublicIps = {}) => {
    let rendered = cache.get(node.id);
    if (!rendered) {
      const inputs = pulumi.all([credentials, model.clusterSecret, publicIpsOf(masterPublicIps), masters, generation,
        model.previousClusterSecret ?? pulumi.output(undefined)]);
      rendered = inputs.apply(([c, secret, publicIps, masters, g, before]) => {
        const withPublic = masters.map((m) => (publicIps[m.id] ? { ...m, publicAddress: publicIps[m.id] } : m));
        // A master's certificate names its planned address and its public one; an agent's address is known
        // only at boot, so its certificate names its hostname alone.
        const me = withPublic.find((m) => m.id === node.id);
        const subject = {
          id: node.id, hostname: node.hostname,
          ...(me ? { ip: me.ip } : {}), ...(me?.publicAddress ? { extraIps: [me.publicAddress] } : {}),
        };
        // Agents' certificates name no address here, so no node can verify its libprocess peers by address.
        const made = nodeMaterial(secret, model.cluster.name, subject, node.role);
        // While clusterSecret rotates: both generations, as a rolled host's (baremetal/render.ts hostTls, renderHost).
        const material = before ? rotatingMaterial(made, secret, before, model.cluster.name) : made;
        const tls: NodeTls = { ...material, unverifiedPeers: true };
        const hostKey = rotatedHostKey(secret, { cluster: model.cluster.name, node, firstBoot: true, generation: g });
        const steps = renderSteps({
          cluster: model.cluster.name, os: model.os, node, masters: withPublic, quorum: topology.quorum, artifacts,
          credentials: c, tls, taskUsers, ...(g ? { generation: g } : {}),
          ...(before ? { previous: deriveCredentials(before, model.cluster.name) } : {}), ...(hostKey ? { sshHostKey: hostKey } : {}),
        });
        const userData = format(
          firstBootSteps(steps, boots),
          // Its SSH host key, derived: the step runner and the readiness pin it (cloud-hosts.ts), never trust on first use.
          sshHostKey(secret, model.cluster.name, node.id),
        );
        return { userData, hash: userDataHash(userData) };
      });
      cache.set(node.id, rendered);
    }
    return rendered;
  };
}
