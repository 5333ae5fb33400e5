// What the bare-metal dynamic provider receives and records. Plain data only: the engine hands the
// provider plain values and stores what it returns. No credential is an input or an output: the provider
// derives them from the stack config's clusterSecret (provisioning/credentials.ts) when it renders.
import type { NodeSpec } from "../../components/contracts";
import type { OsFamily } from "../../components/model";
import type { RolloutSpec } from "../rollout/plan";
import type { StepWatch } from "./drift";
import type { BootstrapInput, ResolvedArtifacts } from "../steps/types";

/** How to reach the host. The private key is NOT here: it comes from stack config in configure(). */
export interface HostConnection {
  /** Address the provider connects to. */
  host: string;
  port: number;
  user: string;
  /** Pinned "SHA256:..." fingerprint from config; absent = trust on first use. */
  hostKeyFingerprint?: string;
  /** Cloud machines: the algorithm of their derived host key (the only one asked for). */
  hostKeyAlgorithm?: string;
  /** Cloud machines, while clusterSecret rotates: the previous secret's derived key, accepted too (SshTarget). */
  previousHostKeyFingerprint?: string;
  bastion?: { name?: string; host: string; port: number; user: string; hostKeyFingerprint?: string; hostKeyAlgorithm?: string;
    previousHostKeyFingerprint?: string };
  /** Where the host sits in the stack config, for messages ("baremetal.hosts[2]"). */
  configPath?: string;
  /** A master's: the address of the lost machine it replaces (baremetal.hosts[].replaces; provider.ts masterMove). */
  replaces?: string;
}

export interface HostNode {
  /** Stable node id ("m1", "general-2"). */
  id: string;
  role: "master" | "agent";
  pool?: string;
  hostname: string;
  /** Address the cluster knows the node by (Mesos --ip); the agent's API is reached there. */
  ip: string;
}

/** What `delete` removes. Built from the steps (files, units) plus the product's footprint (cleanup.ts). */
export interface CleanupPlan {
  units: string[];
  files: string[];
  dirs: string[];
  users: string[];
  packages: string[];
  /** Container images we pulled or loaded (Marathon's). */
  images?: string[];
}

/**
 * A master the drain runs on over SSH, and the host key it must present: a pin in `connection` wins, else
 * `hostKeyFingerprint`, the key the master's own MesosHost recorded. Neither: the master is not used.
 */
export interface DrainMaster {
  id: string;
  connection: HostConnection;
  hostKeyFingerprint?: string;
}

/** A new master the running one sends its log to: its connection from the config (it is not installed yet). */
export interface LogSeedTarget {
  id: string;
  connection: HostConnection;
}

/** How to drain an agent before removing it (Mesos operator API on the masters). */
export interface DrainSpec {
  /** Master addresses, tried in order; a non-leader redirects to the leader. */
  masters: string[];
  masterPort: number;
  agentPort: number;
  /** How long to wait for tasks to leave. */
  timeoutSeconds: number;
  /**
   * Where the drain's calls run (they carry the admin password, which agents never hold): the first of
   * these masters that answers over SSH. Absent in state recorded by earlier releases: the drain then
   * runs on the agent itself, as it did then.
   */
  masterHosts?: DrainMaster[];
}

/**
 * The node's bootstrap input without its credentials (a few KB): the provider renders the steps from it
 * (provisioning/baremetal/render.ts), so the scripts (about 50 KB, with credentials) are never stored.
 */
export interface HostInputs {
  cluster: string;
  os: OsFamily;
  node: NodeSpec;
  /** The node's private address (Mesos --ip, ZooKeeper's own entry). */
  selfIp: string;
  masters: BootstrapInput["masters"];
  quorum: number;
  artifacts: ResolvedArtifacts;
  connection: HostConnection;
  /** Bare metal and local: the host firewall's admin CIDRs and every cluster host's address (sorted). */
  firewall?: BootstrapInput["firewall"];
  /**
   * Masters that join a running cluster without a host firewall to imply it (BootstrapInput.onlineMembership):
   * DigitalOcean's, and a cloud master added to a running cluster (the masters pin's `joining`).
   */
  onlineMembership?: true;
  /**
   * Cloud masters of a running cluster that masters join (the masters pin's `joining`): the joining ones, whose first
   * boot a running master waits for before it restarts with the new --quorum. Until they run Mesos, that --quorum
   * needs every running master: waiting keeps that time short (their ZooKeeper and Mesos then install over SSH).
   */
  joiners?: LogSeedTarget[];
  /** Masters only: every pool's task user, sorted and distinct (Mesos ACLs, Marathon's --mesos_user). */
  taskUsers?: string[];
  /** Agents only. */
  drain?: DrainSpec;
  /**
   * Masters, while the cluster grows from one master (the masters pin's `seeded`, membership/seed.ts): the running
   * master sends a copy of its replicated log `to` the new masters in its turn; a new master starts `from` it.
   */
  logSeed?: { to: LogSeedTarget[] } | { from: string };
  /** How many times clusterSecret rotated (the masters pin's `generation`): BootstrapInput.generation. Absent: 0. */
  generation?: number;
  /**
   * clusterSecret rotates in this `up` (stack config previousClusterSecret, checked by the masters pin): the provider
   * renders the previous generation too (BootstrapInput.previous), from previousClusterSecret.
   */
  rotating?: true;
  /** Deadline per step, seconds. Default 900. */
  stepTimeoutSeconds?: number;
  /** Which hosts take turns with this one when an update may restart a daemon (provisioning/rollout/). */
  rollout?: RolloutSpec;
  /**
   * Clouds: the machine's first boot ran the steps from cloud-init user-data. create then waits for it and
   * records what ran (adopt.ts) instead of running the steps, and delete removes nothing (the machine goes);
   * the steps render exactly as the user-data's (render.ts). Absent: the host is installed over SSH.
   */
  firstBoot?: { via: "cloud-init"; timeoutSeconds: number };
  /**
   * Some of the cluster's agents boot from a group's user-data (DigitalOcean autoscale pools): their certificates
   * name no address, so this host does not verify its libprocess peers' addresses either (as on cloud-init clouds).
   */
  unverifiedPeers?: true;
}

/**
 * What MesosHost registers: the compact inputs as one property. Each resource property costs the program
 * its own Output and a few dozen promises while the registration is in flight; with one property instead
 * of ten, 5,000 hosts evaluate in about 40% less memory (bench/program-scale.js).
 */
export type HostProps = InstallProps | LeaveProps;

/** A host the provider installs and keeps converged. */
export interface InstallProps {
  leave?: undefined;
  spec: HostInputs;
  /**
   * Clouds: the cloud's id of the node's machine (its instance). Another id is another machine: the host is
   * replaced and its create adopts the new machine (plan.ts machineChange). A property of its own, not part of
   * `spec`: when the engine replaces a server delete-before-replace it asks each dependent whether it must go
   * first with only the properties that come from that server unknown, and only this one does.
   */
  machine?: string;
}

/**
 * A master removed from the config that leaves the running cluster (membership/leave.ts): the masters pin names it
 * (`departing`), and the masters kept depend on it. Its update removes its ZooKeeper server by reconfiguration and
 * stops and removes everything on it, through the connection and host key its own state recorded; afterwards it is
 * a record that touches nothing (HostOutputs.left) until `pulumi destroy` or until the id is a master again.
 */
export interface LeaveProps {
  /** `lost`: addresses of removed masters whose machines are lost for good (baremetal.lostMasters; absent: none). */
  leave: { cluster: string; id: string; lost?: string[] };
  spec?: undefined;
  machine?: undefined;
}

export interface RecordedHostKey {
  fingerprint: string;
  type: string;
  /** "config": pinned by the user; "tofu": recorded on first use. */
  source: "config" | "tofu";
}

/**
 * Stored state. `delete` sees only this (never the current program), so it carries all delete needs; the
 * admin password for the drain is derived again from the stack config.
 */
export interface HostOutputs {
  cluster: string;
  node: HostNode;
  connection: HostConnection;
  /** step name → content hash of what last ran successfully. */
  stepHashes: Record<string, string>;
  hostKey: RecordedHostKey;
  cleanup: CleanupPlan;
  /** Users, packages and dirs of the cleanup plan that existed before we came: never removed. */
  preexisting: string[];
  drain?: DrainSpec;
  /**
   * Agents: the identity (attributes and resources) the agent last started with, as its mesos step declares it
   * (Step.agentIdentity): the next update drains the agent first when Mesos cannot recover it under the new one
   * (plan.ts drainBeforeRestart). Absent in state of earlier releases and on masters.
   */
  agentIdentity?: string;
  /** Steps executed by the last create/update (0 on a no-op update). */
  stepsRun: number;
  /** SSH commands sent by the last create/update. */
  commandsSent: number;
  /** What `pulumi refresh` checks each step against (drift.ts); absent in state of earlier releases. */
  watch?: Record<string, StepWatch>;
  /** "cloud-init": a cloud machine (HostInputs.firstBoot): delete drains an agent and removes nothing. */
  firstBoot?: "cloud-init";
  /** Drift repairs made on the host so far (absent in state of earlier releases: none); the readiness re-checks after each (provider.ts). */
  repairs?: number;
  /** Clouds: the id of the machine this host adopted or runs on (HostProps.machine); absent in earlier state. */
  machine?: string;
  /** A master that left the cluster (LeaveProps): when, and what its departure did. Nothing on the host is ours. */
  left?: { at: string; summary: string };
}

/** Outputs written by releases before the shim (0.1): they also held the admin principal and password. */
export type LegacyHostOutputs = HostOutputs & { adminUser?: string; adminPassword?: string; __provider?: string };
