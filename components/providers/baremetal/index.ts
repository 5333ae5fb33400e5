// Bare-metal provider module: no cloud resources; each configured host becomes one ExistingHost.
// Hosts are matched to topology nodes in config order per role/pool: the k-th master host plays m<k>,
// the k-th host of pool P plays P-<k>. Appending hosts never re-maps existing ones.
import type * as pulumi from "@pulumi/pulumi";
import type { BaremetalHostModel, ClusterModel } from "../../model";
import type { MachineSet, NodeSpec, ProviderArgs, ProviderModule } from "../../contracts";
import { existingMachine } from "./host";

const groupOf = (role: string, pool?: string) => (role === "master" ? "master" : `agent:${pool}`);
/** Hosts by group, per host list: matchHosts is asked once per node (connectionFor), thousands of times. */
const groupsCache = new WeakMap<BaremetalHostModel[], Map<string, BaremetalHostModel[]>>();

function groupsOf(hosts: BaremetalHostModel[]): Map<string, BaremetalHostModel[]> {
  let byGroup = groupsCache.get(hosts);
  if (!byGroup) {
    byGroup = new Map();
    for (const h of hosts) {
      const g = groupOf(h.role, h.pool);
      const list = byGroup.get(g);
      if (list) list.push(h); else byGroup.set(g, [h]);
    }
    groupsCache.set(hosts, byGroup);
  }
  return byGroup;
}

/** Pairs every node with its host; throws naming `baremetal.hosts` when the counts disagree. */
export function matchHosts(model: ClusterModel, nodes: NodeSpec[]): { node: NodeSpec; host: BaremetalHostModel }[] {
  const byGroup = groupsOf(model.baremetal?.hosts ?? []);
  return nodes.map((node) => {
    const group = byGroup.get(groupOf(node.role, node.pool)) ?? [];
    const host = group[node.ordinal - 1];
    if (!host) {
      const what = node.role === "master" ? "masters.count" : `the count of pool "${node.pool}"`;
      throw new Error(
        `baremetal.hosts: ${what} needs ${node.role === "master" ? "a master" : "an agent"} host number ${node.ordinal} for ${node.id}, ` +
          `but only ${group.length} ${node.role === "master" ? 'have role "master"' : `have pool "${node.pool}"`}; add hosts or lower the count`,
      );
    }
    return { node, host };
  });
}

export const baremetal: ProviderModule = {
  createMachines(args: ProviderArgs, parent: pulumi.Resource): MachineSet {
    const { model, topology } = args;
    const pairs = matchHosts(model, [...topology.masters, ...topology.agents]);
    return { machines: pairs.map(({ node, host }) => existingMachine(node, host.address, host.port, host.user, parent)) };
  },
};
