// The stack outputs users need, computed from the machines. Pure wiring of Outputs: no resources here.
// Nothing credential-bearing is plain: the admin password is a secret, the ZooKeeper string has no auth.
import * as pulumi from "@pulumi/pulumi";
import type { Credentials } from "../provisioning/steps/types";
import type { ClusterModel } from "./model";
import type { Machine, MachineSet } from "./contracts";
import { ADMIN_PORTS } from "./naming";

export interface NodeAddress {
  id: string;
  hostname: string;
  privateIp: string;
  /** Absent when the node has no public address (reach it through a master: see sshHints). */
  publicIp?: string;
}

export interface ClusterOutputs {
  mesosUrl: pulumi.Output<string>;
  marathonUrl: pulumi.Output<string>;
  /** `zk://ip:2181,.../mesos`, without credentials (ZooKeeper digest auth users are in the secrets). */
  zookeeper: pulumi.Output<string>;
  masters: pulumi.Output<NodeAddress[]>;
  /** Pool name → its agents, in ordinal order. */
  agents: pulumi.Output<Record<string, NodeAddress[]>>;
  /** One ready-to-paste command per node, masters first. */
  sshHints: pulumi.Output<string[]>;
  /** HTTP principal for Mesos and Marathon basic auth. */
  adminUser: pulumi.Output<string>;
  adminPassword: pulumi.Output<string>;
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

export function clusterOutputs(model: ClusterModel, set: MachineSet, credentials: pulumi.Output<Credentials>): ClusterOutputs {
  const masterMachines = set.machines.filter((m) => m.node.role === "master");
  const agentMachines = set.machines.filter((m) => m.node.role === "agent");
  const masters = pulumi.all(masterMachines.map(address));
  const agentList = pulumi.all(agentMachines.map(address));
  const pools = model.agentPools.map((p) => p.name);
  const agents = agentList.apply((list) => {
    const byPool: Record<string, NodeAddress[]> = Object.fromEntries(pools.map((p) => [p, []]));
    list.forEach((a, i) => byPool[agentMachines[i].node.pool!].push(a));
    return byPool;
  });
  // The first master's address: every master redirects the UI/API to the current leader.
  const entry = masters.apply((ms) => ms[0].publicIp ?? ms[0].privateIp);
  const user = model.ssh.user;
  return {
    mesosUrl: pulumi.interpolate`http://${entry}:${ADMIN_PORTS.mesos}`,
    marathonUrl: pulumi.interpolate`http://${entry}:${ADMIN_PORTS.marathon}`,
    zookeeper: masters.apply((ms) => `zk://${ms.map((m) => `${m.privateIp}:2181`).join(",")}/mesos`),
    masters,
    agents,
    sshHints: pulumi.all([masters, agentList]).apply(([ms, as]) => [
      ...ms.map((m) => sshHint(user, m)),
      ...as.map((a) => sshHint(user, a, ms[0])),
    ]),
    adminUser: pulumi.output(ADMIN_USER),
    adminPassword: pulumi.secret(credentials.apply((c) => c.adminPassword)),
  };
}
