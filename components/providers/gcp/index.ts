// GCP provider module: VPC + subnetworks → firewalls → masters' static external addresses → instances.
import type * as pulumi from "@pulumi/pulumi";
import type { MachineSet, ProviderArgs, ProviderModule } from "../../contracts";
import { networkPlanFor } from "../../topology";
import { resourceName } from "../../naming";
import { gcpSdk } from "./sdk";
import { createNetwork } from "./network";
import { createFirewall } from "./firewall";
import { createInstance, reserveAddress } from "./machines";

export const gcp: ProviderModule = {
  createMachines(args: ProviderArgs, parent: pulumi.Resource): MachineSet {
    const { model, topology } = args;
    const g = model.gcp!;
    const provider = new (gcpSdk.Provider())(resourceName(model.cluster.name, "gcp"), { project: g.project, region: g.region }, { parent });
    const opts = { parent, provider };
    const net = createNetwork(model, networkPlanFor(model)!, opts);
    createFirewall(model, net.network, opts);
    const byZone = new Map(g.zones.map((z, i) => [z, net.subnetworks[i]] as const));
    const publicIps = Object.fromEntries(topology.masters.map((n) => [n.id, reserveAddress(model, n, opts)]));
    const machines = [...topology.masters, ...topology.agents]
      .map((n) => createInstance(args, n, byZone, opts, publicIps));
    return { machines };
  },
};
