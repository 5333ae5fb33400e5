// The shapes that flow between the stages: topology → provider machines → bootstrap → readiness.
// Kept in one small file so each stage can be written and tested on its own.
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterModel, Containerizer } from "./model";

/** One machine of the cluster, with an identity that never changes while it exists. */
export interface NodeSpec {
  /**
   * Stable id: "m1".."m5" for masters, "<pool>-<n>" for agents ("general-3"); a bare-metal agent's is its host's
   * name (a stack made by an earlier release keeps the positional id its agents were installed with).
   */
  id: string;
  /** `${cluster}-${id}`: machine name, hostname and resource-name suffix. */
  hostname: string;
  role: "master" | "agent";
  /** Agents: the pool name. */
  pool?: string;
  /** 1-based position within the masters or within its pool; never reused while the node exists (bare-metal agents: 0). */
  ordinal: number;
  /** Masters: ZooKeeper `myid` (= ordinal). */
  zkId?: number;
  size: string;
  image?: string;
  diskGb: number;
  /** Cloud zone the node is placed in (round-robin over the configured zones). */
  zone?: string;
  /** Masters on clouds: the fixed private address planned inside `network.cidr`. */
  plannedIp?: string;
  resources: Record<string, number | string>;
  attributes: Record<string, string | number>;
  containerizers: Containerizer[];
  /** Agents: the Linux user the pool's tasks run as. Masters: "" (they run no tasks). */
  taskUser: string;
}

export interface Topology {
  clusterName: string;
  masters: NodeSpec[];
  agents: NodeSpec[];
  /** Agents grouped by pool name, in config order. */
  pools: Record<string, NodeSpec[]>;
  /** floor(masters/2)+1: Mesos `--quorum`, and the ZooKeeper majority. */
  quorum: number;
}

/** What a provider module returns for each node. */
export interface Machine {
  node: NodeSpec;
  privateIp: pulumi.Output<string>;
  publicIp?: pulumi.Output<string>;
  /** The resource to depend on (the instance, droplet, or bare-metal host). */
  resource: pulumi.Resource;
  /** The host key the SSH bootstrap must see ("SHA256:..."), when the provider made the machine's keys (local). */
  hostKeyFingerprint?: pulumi.Output<string>;
  /**
   * The cloud's id of the machine (an instance id), where the provider gives it: a new id is a new machine, lost
   * and made anew or replaced, and its host resource is then replaced too, adopting the new machine (its create
   * waits for the first boot) instead of updating one that never ran it (provisioning/baremetal plan.ts
   * machineChange). A host recorded without one takes it in one bookkeeping update (no command is sent).
   */
  machineId?: pulumi.Output<string>;
}

/**
 * A pool the cloud runs as one self-healing group of identical machines (AWS Auto Scaling group, GCP regional
 * managed instance group, DigitalOcean autoscale pool). Its machines all boot from the pool's user-data
 * (`ProviderArgs.poolUserData`), join the cluster by themselves and drain themselves before they go; the cloud
 * replaces a lost one and rolls a template change. Their names and addresses are not known in advance, so no
 * host resource reaches them: the readiness counts the pool's registered agents against `desired`.
 */
export interface AgentGroup {
  /** The pool's name (config `agentPools[].name`). */
  pool: string;
  /** The pool's count: the group's desired size. */
  desired: number;
  /** The group resource (the readiness waits for it). */
  resource: pulumi.Resource;
}

export interface MachineSet {
  /** Every machine: masters, and the agents of the pools not run as groups. */
  machines: Machine[];
  /** Pools run as self-healing groups: `machines` holds none of their agents. */
  groups?: AgentGroup[];
  /** Address users connect to for SSH when masters have no public address (a bastion), if any. */
  sshEntry?: pulumi.Output<string>;
}

export interface ProviderArgs {
  model: ClusterModel;
  topology: Topology;
  /**
   * Cloud-init user-data for a node (rendered bootstrap); secret when it carries credentials. Providers that
   * reserve the masters' public addresses before the instances pass them (`masterPublicIps`, by node id, the
   * same map for every node): masters then advertise them to browsers and their certificates name them. A
   * node's user-data is rendered once: the first call decides.
   */
  userData(node: NodeSpec, masterPublicIps?: MasterPublicIps): pulumi.Input<string>;
  /**
   * Cloud-init user-data every machine of a pool's group boots from: the pool's template node
   * (topology `poolTemplateNode`) rendered like any agent's (secret). Its agents find their address at boot.
   * Providers whose masters have no planned address (SSH delivery: DigitalOcean) pass the master machines they
   * made (`masters`, in master order): the user-data names their actual addresses.
   */
  poolUserData(pool: string, masterPublicIps?: MasterPublicIps, masters?: Machine[]): pulumi.Input<string>;
}

/** Node id of a master → its reserved public IPv4 address. */
export type MasterPublicIps = Record<string, pulumi.Input<string>>;

/**
 * One module per cloud under `components/providers/<cloud>/`. It knows its cloud's network,
 * firewall and machines, and nothing about Mesos flags.
 */
export interface ProviderModule {
  createMachines(args: ProviderArgs, parent: pulumi.Resource): MachineSet;
}
