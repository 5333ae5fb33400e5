// Readiness for cloud-init providers (aws, gcp, openstack): the machines bootstrap themselves at first boot,
// each machine's host resource waits for that (cloud-hosts.ts), and this waits until the cluster they form is
// healthy. It is the same ClusterReadiness resource the SSH bootstrap registers (provisioning/health/readiness.ts):
// one SSH probe per master per round (ZooKeeper quorum, Mesos leader, every agent registered, Marathon leader;
// a pool run as a self-healing group: as many of its agents as its desired size), run on the masters themselves, reached as their host resources reach them (public address, host key pinned).
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterModel, ProviderName } from "./model";
import type { AgentGroup, Machine, NodeSpec, Topology } from "./contracts";
import type { HostConnection } from "../provisioning/baremetal/types";
import { ClusterReadiness } from "../provisioning/health/readiness";
import type { CloudHosts } from "./cloud-hosts";
import { DEFAULT_PORTS } from "../provisioning/health/probes";
import { ADMIN_USER } from "./outputs";

/**
 * Default deadline on clouds: the machine boots, cloud-init installs Java, ZooKeeper, Mesos and
 * Marathon from the (pinned) repositories, then the masters elect and the agents register. 20 minutes
 * leaves room for a slow mirror without hiding a cluster that will never come up.
 */
export const CLOUD_READY_TIMEOUT_SECONDS = 1200;

/** What the readiness needs to know about one master to reach it. Plain values (inside an apply). */
export interface MasterAddress {
  id: string;
  privateIp: string;
  /** "" or undefined when the machine has no public address. */
  publicIp?: string;
}

/** Where each provider gives masters their public address: the hint when none has one. */
const PUBLIC_ADDRESS_HINT: Partial<Record<ProviderName, string>> = {
  aws: "the cluster's subnets launch instances with a public IPv4 (mapPublicIpOnLaunch); check that no SCP or account setting strips it, or that aws.vpcId's routing allows it",
  gcp: "each master has an ephemeral external IP (access config); check that the organisation policy constraints/compute.vmExternalIpAccess allows it for the masters",
  openstack: "each master gets a floating IP from openstack.externalNetwork; set openstack.externalNetwork to a network that has floating IPs (`openstack network list --external`)",
};

/**
 * Pure: how the readiness reaches each master. Directly at its public address (port 22, `ssh.user`,
 * host key trusted on first use); a master without one through the first master that has one (a jump,
 * as `ssh -J` would). No master with a public address is an error naming what to change.
 */
export function cloudMasterConnections(provider: ProviderName, user: string, masters: MasterAddress[]): HostConnection[] {
  const entry = masters.find((m) => !!m.publicIp);
  if (!entry) {
    throw new Error(
      `readiness: none of the masters (${masters.map((m) => `${m.id} ${m.privateIp}`).join(", ")}) has a public address, so ` +
        `\`pulumi up\` cannot reach any of them over SSH to check the cluster; ${PUBLIC_ADDRESS_HINT[provider] ?? "give the masters public addresses"}`,
    );
  }
  const jump = { name: entry.id, host: entry.publicIp!, port: 22, user };
  return masters.map((m) => (m.publicIp ? { host: m.publicIp, port: 22, user } : { host: m.privateIp, port: 22, user, bastion: jump }));
}

/** A pool run as a group, as the generation sees it: its one user-data's hash and its desired size. */
export interface GroupGeneration { pool: string; hash: string; desired: number }

/**
 * Pure: the readiness generation of a cloud cluster, from each node's user-data hash (node order is the
 * topology's, so adding a node changes it and so does any byte of any user-data), and from each pool run as a
 * group its user-data's hash and desired size (a template change or a new count re-checks the cluster). A cluster
 * without groups keeps the generation it had.
 */
export function cloudGeneration(hashes: { id: string; hash: string }[], repairs: (number | undefined)[] = [],
  groups: GroupGeneration[] = []): string {
  const h = createHash("sha256");
  for (const { id, hash } of hashes) h.update(`${id}=${hash}\n`);
  for (const g of groups) h.update(`group ${g.pool}=${g.hash} desired=${g.desired}\n`);
  // The hosts' drift repairs, once there was one (a repair changes no user-data): the readiness re-checks after it.
  if (repairs.some((n) => (n ?? 0) > 0)) h.update(`repairs=${repairs.map((n) => n ?? 0).join(",")}\n`);
  return h.digest("hex");
}

/** SHA-256 of one node's user-data (computed inside the secret apply that renders it). */
export function userDataHash(userData: string): string {
  return createHash("sha256").update(userData).digest("hex");
}

export interface CloudReadinessArgs {
  /** Resource-name prefix (the component's name). */
  name: string;
  model: ClusterModel;
  topology: Topology;
  machines: Machine[];
  /**
   * Secret: changes whenever any node's user-data changes (cloudGeneration). The readiness re-checks
   * only then: a no-change `pulumi up` sends nothing to the machines.
   */
  generation: pulumi.Output<string>;
  /** Seconds to wait. Default CLOUD_READY_TIMEOUT_SECONDS. */
  timeoutSeconds?: number;
  /** The nodes' host resources (cloud-hosts.ts): waited for; the masters are reached as they are (keys pinned). */
  hosts: CloudHosts;
  /** Pools run as self-healing groups (MachineSet.groups): their group resources are waited for, their agents counted. */
  groups?: AgentGroup[];
  /** Masters the masters pin let go (they left before the masters kept rolled): not a removal to refuse. */
  departing?: pulumi.Output<string[] | undefined>;
  parent: pulumi.Resource;
}

/**
 * Registers the readiness resource of a cloud-init cluster, after (dependsOn) every machine, host resource and group.
 * Agents that are machines are expected by name and address; a group's are counted against its desired size.
 */
export function createCloudReadiness(args: CloudReadinessArgs): ClusterReadiness {
  const { name, model, topology, machines, parent } = args;
  const byId = new Map(machines.map((m) => [m.node.id, m]));
  const machineOf = (n: NodeSpec) => byId.get(n.id)!;
  const masterMachines = topology.masters.map(machineOf);
  const masters = pulumi.all([pulumi.all(masterMachines.map((m) => m.privateIp)), args.hosts.connections])
    .apply(([ips, conns]) => ips.map((ip, i) => ({ id: masterMachines[i].node.id, ip, connection: conns.masters[i] })));
  const agents = pulumi.all(args.hosts.agentMachines.map(({ node: n, privateIp }) =>
    privateIp.apply((ip) => ({ id: n.id, pool: n.pool, hostname: n.hostname, ip }))));
  const groups = args.groups ?? [];
  return new ClusterReadiness(
    `${name}-ready`,
    {
      cluster: model.cluster.name,
      masters,
      agents,
      // Only with groups: a cluster without them keeps the inputs it had (no diff, nothing re-checked).
      ...(groups.length ? { pools: groups.map((g) => ({ pool: g.pool, desired: g.desired })) } : {}),
      quorum: topology.quorum,
      // As on bare metal (absent when none: a stack's inputs stay those of earlier releases).
      ...(args.departing ? { departing: args.departing.apply((d) => (d?.length ? d : undefined)) } : {}),
      ports: DEFAULT_PORTS,
      adminUser: ADMIN_USER,
      timeoutSeconds: args.timeoutSeconds ?? CLOUD_READY_TIMEOUT_SECONDS,
      generation: pulumi.secret(args.generation),
    },
    { parent, dependsOn: [...machines.map((m) => m.resource), ...args.hosts.masters, ...args.hosts.agents,
      ...groups.map((g) => g.resource)] },
  );
}
