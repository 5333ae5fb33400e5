// Pure: what the bare-metal provider makes of its compact inputs. The steps are rendered here, inside the
// provider, with credentials derived from the stack config, so neither the scripts nor any credential
// is ever a resource input or output; only their hashes and the cleanup plan are recorded.
import { renderStepScripts, type StepScript } from "../render/ssh-plan";
import { renderSteps } from "../steps";
import type { BootstrapInput, Credentials, NodeTls, Step } from "../steps/types";
import { nodeMaterial, rotatingMaterial, sshHostKey } from "../tls";
import { cleanupPlan } from "./cleanup";
import { watchOf, type StepWatch } from "./drift";
import type { CleanupPlan, HostInputs, HostNode } from "./types";

/** Everything the provider compares, runs and records for one node. */
export interface HostPlan {
  cluster: string;
  node: HostNode;
  /** Agents: the identity their mesos step starts them with (Step.agentIdentity); absent on masters. */
  agentIdentity?: string;
  connection: HostInputs["connection"];
  /** The node's steps, in order (renderStepScripts). */
  steps: StepScript[];
  cleanup: CleanupPlan;
  drain: HostInputs["drain"];
  /** What a refresh checks each step against (drift.ts); absent: not checked. */
  watch?: Record<string, StepWatch>;
  /** A cloud machine bootstrapped by cloud-init (HostInputs.firstBoot). */
  firstBoot?: "cloud-init";
}

export function bootstrapInputOf(i: HostInputs, credentials: Credentials, tls?: NodeTls, previous?: Credentials,
  hostKey?: { privatePem: string }): BootstrapInput {
  // A cloud agent's user-data finds its own address at boot: rendered the same way, its scripts are the
  // user-data's byte for byte (and adopt.ts can compare what ran with what is planned).
  const selfIp = i.firstBoot && i.node.role === "agent" ? {} : { selfIp: i.selfIp };
  return { cluster: i.cluster, os: i.os, node: i.node, ...selfIp, masters: i.masters, quorum: i.quorum, artifacts: i.artifacts, credentials, ...(tls ? { tls } : {}),
    ...(i.firewall ? { firewall: i.firewall } : {}), ...(i.onlineMembership ? { onlineMembership: true as const } : {}),
    ...(i.taskUsers?.length ? { taskUsers: i.taskUsers } : {}),
    ...(i.logSeed && "to" in i.logSeed ? { seedsNewMasters: true as const } : {}),
    ...(i.generation ? { generation: i.generation } : {}), ...(previous ? { previous } : {}),
    ...(hostKey ? { sshHostKey: hostKey } : {}) };
}

/**
 * A cloud machine's SSH host key, once clusterSecret rotated (HostInputs.generation): derived from the current
 * secret, which its install step installs (steps/install.ts) in place of the one its first boot had. None before:
 * the key its user-data installed is the current one, and the plan renders as it always did.
 */
export function rotatedHostKey(clusterSecret: string,
  i: Pick<HostInputs, "cluster" | "generation"> & { node: { id: string }; firstBoot?: unknown }):
  { privatePem: string } | undefined {
  return i.firstBoot && i.generation ? { privatePem: sshHostKey(clusterSecret, i.cluster, i.node.id).privatePem } : undefined;
}

/**
 * The node's certificate and key from the cluster CA, derived from clusterSecret like its credentials. On a
 * cloud machine, the certificate its user-data carries (components/cluster.ts cloudInitUserData): an agent's
 * names no address, so no node verifies its peers' addresses there; nor where some agents boot from a group's
 * user-data (HostInputs.unverifiedPeers).
 */
export function hostTls(clusterSecret: string, i: HostInputs, previousSecret?: string): NodeTls {
  const pub = i.masters.find((m) => m.id === i.node.id && i.node.role === "master")?.publicAddress;
  const cloudAgent = i.firstBoot && i.node.role === "agent";
  const subject = { id: i.node.id, hostname: i.node.hostname, ...(cloudAgent ? {} : { ip: i.selfIp }), ...(pub ? { extraIps: [pub] } : {}) };
  const made = nodeMaterial(clusterSecret, i.cluster, subject, i.node.role);
  // While clusterSecret rotates: both CAs trusted, the cross-signed new CA sent along (tls rotatingMaterial).
  const material = previousSecret ? rotatingMaterial(made, clusterSecret, previousSecret, i.cluster) : made;
  return i.firstBoot || i.unverifiedPeers ? { ...material, unverifiedPeers: true } : material;
}

/** The node as the provider records it (no credential in it). */
export function hostNodeOf(node: BootstrapInput["node"], ip: string): HostNode {
  return { id: node.id, role: node.role, pool: node.pool, hostname: node.hostname, ip };
}

/** The identity an agent's mesos step declares, as a HostPlan member (none on masters). */
export function agentIdentityOf(steps: readonly Step[]): { agentIdentity?: string } {
  const identity = steps.find((s) => s.agentIdentity !== undefined)?.agentIdentity;
  return identity === undefined ? {} : { agentIdentity: identity };
}

/** The plan of one node: its rendered steps and what `delete` removes (from the same steps). */
export function renderHost(i: HostInputs, credentials: Credentials, tls?: NodeTls, previous?: Credentials,
  hostKey?: { privatePem: string }): HostPlan {
  const steps = renderSteps(bootstrapInputOf(i, credentials, tls, previous, hostKey));
  const cleanup = cleanupPlan(steps);
  return {
    cluster: i.cluster,
    node: hostNodeOf(i.node, i.selfIp),
    ...agentIdentityOf(steps),
    connection: i.connection,
    steps: renderStepScripts(steps),
    cleanup,
    drain: i.drain,
    watch: watchOf(steps, cleanup.files),
    ...(i.firstBoot ? { firstBoot: i.firstBoot.via } : {}),
  };
}
