// Local provider module: machines this stack creates on this Linux machine (systemd-nspawn containers from
// a cached Debian image, on a bridge of their own; provisioning/local). Each machine's address and host
// key come from its resource: the SSH bootstrap pins that key, as on bare metal with hostKeyFingerprint.
// Nothing leaves the machine, so no cloud SDK is loaded.
import type * as pulumi from "@pulumi/pulumi";
import type { MachineSet, ProviderArgs, ProviderModule } from "../../contracts";
import { createLocalHosts } from "../../../provisioning/local";

export const local: ProviderModule = {
  createMachines(args: ProviderArgs, parent: pulumi.Resource): MachineSet {
    const { model, topology } = args;
    const nodes = [...topology.masters, ...topology.agents];
    const { machines } = createLocalHosts(model, nodes, parent);
    return {
      machines: machines.map((m) => ({
        node: m.node, privateIp: m.ip, publicIp: m.ip, resource: m.resource, hostKeyFingerprint: m.hostKeyFingerprint,
      })),
    };
  },
};
