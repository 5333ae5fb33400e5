// Local provider module: the project's lab hosts on this machine (systemd-nspawn containers on a private
// bridge, see lab/). If `baremetal.hosts` is given they are used as-is; otherwise addresses follow the
// lab's convention inside `network.cidr`: host i is .(10+i), masters first (m1 = .11), then agents
// in pool order. Nothing leaves the machine, so no cloud SDK is loaded.
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "../../model";
import type { MachineSet, NodeSpec, ProviderArgs, ProviderModule } from "../../contracts";
import { ipToString, parseCidr } from "../../topology";
import { existingMachine } from "../baremetal/host";
import { matchHosts } from "../baremetal";

/** Lab addresses for nodes in order (config refuses more than `local.maxHosts`). */
export function labAddresses(model: ClusterModel, nodes: NodeSpec[]): string[] {
  const { base, prefix } = parseCidr(model.network.cidr);
  if (10 + nodes.length >= 2 ** (32 - prefix) - 1) {
    throw new Error(`network.cidr: ${model.network.cidr} cannot hold ${nodes.length} lab hosts from .11 on; use a /24`);
  }
  return nodes.map((_, i) => ipToString(base + 11 + i));
}

export const local: ProviderModule = {
  createMachines(args: ProviderArgs, parent: pulumi.Resource): MachineSet {
    const { model, topology } = args;
    const nodes = [...topology.masters, ...topology.agents];
    if (model.baremetal?.hosts.length) {
      return { machines: matchHosts(model, nodes).map(({ node, host }) => existingMachine(node, host.address, host.port, host.user, parent)) };
    }
    const addresses = labAddresses(model, nodes);
    return { machines: nodes.map((node, i) => existingMachine(node, addresses[i], 22, model.ssh.user, parent)) };
  },
};
