// Bare-metal provider module: no cloud resources; each configured host becomes one ExistingHost.
// A host's identity is its name (baremetal.hosts[].name), never its place in the list: agent nodes are
// named after their hosts (topology.ts), so removing a host from the middle of a list or reordering it
// changes no other host. Masters are m1..mN by their order among the master entries (their ZooKeeper ids).
import type * as pulumi from "@pulumi/pulumi";
import type { BaremetalHostModel, ClusterModel } from "../../model";
import type { MachineSet, NodeSpec, ProviderArgs, ProviderModule } from "../../contracts";
import { existingMachine } from "./host";

interface HostIndex {
  masters: BaremetalHostModel[];
  byName: Map<string, BaremetalHostModel>;
  /** Each agent host's 1-based place in its pool's list: the positional id earlier releases gave it. */
  poolPlace: Map<BaremetalHostModel, number>;
}
/** Per host list: matchHosts is asked once per node (connectionFor), thousands of times. */
const indexCache = new WeakMap<BaremetalHostModel[], HostIndex>();

function indexOfHosts(hosts: BaremetalHostModel[]): HostIndex {
  let ix = indexCache.get(hosts);
  if (!ix) {
    ix = { masters: [], byName: new Map(), poolPlace: new Map() };
    const perPool = new Map<string, number>();
    for (const h of hosts) {
      ix.byName.set(h.name, h);
      if (h.role === "master") ix.masters.push(h);
      else {
        const n = (perPool.get(h.pool ?? "") ?? 0) + 1;
        perPool.set(h.pool ?? "", n);
        ix.poolPlace.set(h, n);
      }
    }
    indexCache.set(hosts, ix);
  }
  return ix;
}

/** Pairs every node with its host; throws naming `baremetal.hosts` when a node has none. */
export function matchHosts(model: ClusterModel, nodes: NodeSpec[]): { node: NodeSpec; host: BaremetalHostModel }[] {
  const ix = indexOfHosts(model.baremetal?.hosts ?? []);
  return nodes.map((node) => {
    const host = node.role === "master" ? ix.masters[node.ordinal - 1] : ix.byName.get(node.id);
    if (!host || host.role !== node.role || (node.role === "agent" && host.pool !== node.pool)) {
      const what = node.role === "master" ? `master host number ${node.ordinal}` : `an agent host named "${node.id}" in pool "${node.pool}"`;
      throw new Error(`baremetal.hosts: ${node.id} needs ${what}, and there is none; add the host or lower the count`);
    }
    return { node, host };
  });
}

/**
 * The name earlier releases gave a bare-metal node's resources (`<cluster>-<pool>-<n>` for the n-th host of a
 * pool): an alias, so a stack they made keeps its resources (renamed, not replaced). Masters kept their
 * names (undefined: no alias needed). Pure.
 */
export function positionalHostname(model: ClusterModel, node: NodeSpec, host: BaremetalHostModel): string | undefined {
  if (node.role === "master") return undefined;
  const place = indexOfHosts(model.baremetal?.hosts ?? []).poolPlace.get(host);
  return place === undefined ? undefined : `${model.cluster.name}-${node.pool}-${place}`;
}

export const baremetal: ProviderModule = {
  createMachines(args: ProviderArgs, parent: pulumi.Resource): MachineSet {
    const { model, topology } = args;
    const pairs = matchHosts(model, [...topology.masters, ...topology.agents]);
    return {
      machines: pairs.map(({ node, host }) =>
        existingMachine(node, host.address, host.port, host.user, parent, positionalHostname(model, node, host))),
    };
  },
};
