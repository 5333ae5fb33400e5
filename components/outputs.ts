// The stack outputs users need, computed from the machines. Pure wiring of Outputs: no resources here.
// Nothing credential-bearing is plain: the admin password is a secret, the ZooKeeper string has no auth.
// The addresses users act on (URLs, ZooKeeper, masters, agents) resolve only after the readiness check:
// `pulumi up` prints them once the cluster answers, never for a cluster that is still booting.
import * as pulumi from "@pulumi/pulumi";
import type { Credentials } from "../provisioning/steps/types";
import type { ClusterModel } from "./model";
import type { AgentGroup, Machine, MachineSet } from "./contracts";
import { ADMIN_PORTS } from "./naming";
import { caCertificate } from "../provisioning/tls";

export interface NodeAddress {
  id: string;
  hostname: string;
  privateIp: string;
  /** Absent when the node has no public address (reach it through a master: see sshHints). */
  publicIp?: string;
}

/**
 * A pool run as a self-healing group (contracts AgentGroup), as the stack outputs show it. Its machines come and
 * go with the group (replaced when lost, rolled on a template change), so their addresses are no part of the
 * stack: list them in the cloud (the AWS Auto Scaling group's instances, the GCP managed instance group's, the
 * DigitalOcean autoscale pool's droplets) or in Mesos (`/master/slaves`, attribute `pool`).
 */
export interface AgentGroupOutput {
  /** The pool's count: how many agents its group runs (the readiness counted them registered and active). */
  desired: number;
  /** The group's Pulumi resource name (as `pulumi stack --show-urns` lists it). */
  group: string;
  /** The group's id in the cloud (Auto Scaling group name, instance group manager, autoscale pool id). */
  id: string;
}

export interface ClusterOutputs {
  /**
   * The first master's: any master's UI and /redirect send the browser to the leader's advertised address,
   * its public one on clouds (Mesos --hostname), so this URL works whichever master leads.
   */
  mesosUrl: pulumi.Output<string>;
  /** Every master's Mesos URL, in master order: any of them reaches the leader (the first may be down). */
  mesosUrls: pulumi.Output<string[]>;
  /** The first master's: Marathon standbys proxy every API call and UI request to the leader. */
  marathonUrl: pulumi.Output<string>;
  /** `zk://ip:2181,.../mesos`, without credentials (ZooKeeper digest auth users are in the secrets). */
  zookeeper: pulumi.Output<string>;
  masters: pulumi.Output<NodeAddress[]>;
  /** Pool name → its agents, in ordinal order: the pools whose agents are machines of the stack (no group's). */
  agents: pulumi.Output<Record<string, NodeAddress[]>>;
  /** Pool name → its group, for the pools run as self-healing groups (none: {}); see AgentGroupOutput. */
  agentGroups: pulumi.Output<Record<string, AgentGroupOutput>>;
  /** One ready-to-paste command per node, masters first. */
  sshHints: pulumi.Output<string[]>;
  /** HTTP principal for Mesos and Marathon basic auth. */
  adminUser: pulumi.Output<string>;
  adminPassword: pulumi.Output<string>;
  /** The cluster CA certificate (PEM, public): trust it to reach Mesos, Marathon and ZooKeeper over TLS. */
  caCertificate: pulumi.Output<string>;
}

/** The HTTP principal the bootstrap configures for operators (see provisioning/credentials). */
export const ADMIN_USER = "admin";

function address(m: Machine): pulumi.Output<NodeAddress> {
  return pulumi.all([m.privateIp, m.publicIp]).apply(([privateIp, publicIp]) => ({
    id: m.node.id,
    hostname: m.node.hostname,
    privateIp,
    ...(publicIp ? { publicIp } : {}),
  }));
}

export function sshHint(user: string, node: NodeAddress, jump?: NodeAddress): string {
  if (node.publicIp) return `ssh ${user}@${node.publicIp}`;
  return jump?.publicIp ? `ssh -J ${user}@${jump.publicIp} ${user}@${node.privateIp}` : `ssh ${user}@${node.privateIp}`;
}

/** The groups as stack outputs: desired size, resource name (the last part of its URN) and cloud id. */
export function agentGroupOutputs(groups: AgentGroup[]): pulumi.Output<Record<string, AgentGroupOutput>> {
  return pulumi.all(groups.map((g) => {
    const id = pulumi.CustomResource.isInstance(g.resource) ? g.resource.id : pulumi.output("");
    return pulumi.all([g.resource.urn, id]).apply(([urn, cloudId]) =>
      [g.pool, { desired: g.desired, group: urn.split("::").pop()!, id: cloudId }] as const);
  })).apply((entries) => Object.fromEntries(entries));
}

/**
 * A function that delays an Output until every resource of `ready` has been created or updated (the
 * engine answers a registration only when the resource's create/update has finished, and its URN
 * resolves then). Secrecy and unknown-ness (preview) carry over. One `pulumi.all` over the URNs, shared
 * by every gated output (thousands of hosts on bare metal).
 */
export function afterReady(ready: pulumi.Resource[]): <T>(o: pulumi.Output<T>) => pulumi.Output<T> {
  if (ready.length === 0) return (o) => o;
  const gate = pulumi.all(ready.map((r) => r.urn));
  return <T>(o: pulumi.Output<T>) => pulumi.all([gate, o]).apply(([, v]) => v) as pulumi.Output<T>;
}

export function clusterOutputs(model: ClusterModel, set: MachineSet, credentials: pulumi.Output<Credentials>, ready: pulumi.Resource[] = []): ClusterOutputs {
  const masterMachines = set.machines.filter((m) => m.node.role === "master");
  const agentMachines = set.machines.filter((m) => m.node.role === "agent");
  const masters = pulumi.all(masterMachines.map(address));
  const agentList = pulumi.all(agentMachines.map(address));
  const groups = set.groups ?? [];
  const pools = model.agentPools.map((p) => p.name).filter((p) => !groups.some((g) => g.pool === p));
  const agents = agentList.apply((list) => {
    const byPool: Record<string, NodeAddress[]> = Object.fromEntries(pools.map((p) => [p, []]));
    list.forEach((a, i) => byPool[agentMachines[i].node.pool!].push(a));
    return byPool;
  });
  // The first master's address: every master redirects the Mesos UI/API to the current leader (its advertised
  // public address), and Marathon's standbys proxy to theirs over the private network.
  const reach = (m: NodeAddress) => m.publicIp ?? m.privateIp;
  const entry = masters.apply((ms) => reach(ms[0]));
  const user = model.ssh.user;
  const gated = afterReady(ready);
  return {
    // HTTPS from the cluster CA: `pulumi stack output caCertificate > ca.pem; curl --cacert ca.pem …`.
    mesosUrl: gated(pulumi.interpolate`https://${entry}:${ADMIN_PORTS.mesos}`),
    mesosUrls: gated(masters.apply((ms) => ms.map((m) => `https://${reach(m)}:${ADMIN_PORTS.mesos}`))),
    marathonUrl: gated(pulumi.interpolate`https://${entry}:${ADMIN_PORTS.marathon}`),
    zookeeper: gated(masters.apply((ms) => `zk://${ms.map((m) => `${m.privateIp}:2181`).join(",")}/mesos`)),
    masters: gated(masters),
    agents: gated(agents),
    agentGroups: gated(agentGroupOutputs(groups)),
    // Not gated: the hints and the admin credentials are what a user needs to debug a cluster that
    // never became ready.
    sshHints: pulumi.all([masters, agentList]).apply(([ms, as]) => [
      ...ms.map((m) => sshHint(user, m)),
      ...as.map((a) => sshHint(user, a, ms[0])),
    ]),
    adminUser: pulumi.output(ADMIN_USER),
    adminPassword: pulumi.secret(credentials.apply((c) => c.adminPassword)),
    // Derived from the secret clusterSecret but public by nature (a certificate): unsecret, so users can
    // `pulumi stack output caCertificate > ca.pem` without --show-secrets.
    caCertificate: pulumi.unsecret(model.clusterSecret.apply((s) => caCertificate(s, model.cluster.name))),
  };
}
