// GCP provider module: masters' pins → VPC, subnetworks, Cloud NAT → firewalls → masters' static external and
// internal addresses → master instances; every agent pool a regional managed instance group (groups.ts).
import type * as pulumi from "@pulumi/pulumi";
import type { MachineSet, ProviderArgs, ProviderModule } from "../../contracts";
import { networkPlanFor } from "../../topology";
import { resourceName } from "../../naming";
import { gcpSdk } from "./sdk";
import { agentSubnetCidr, createNetwork } from "./network";
import { createFirewall } from "./firewall";
import { createInstance, reserveAddress, reserveInternalAddress } from "./machines";
import { createAgentGroup, createAgentHealthCheck } from "./groups";
import { pinMasters } from "../master-pin";

export const gcp: ProviderModule = {
  createMachines(args: ProviderArgs, parent: pulumi.Resource): MachineSet {
    const { model, topology } = args;
    const g = model.gcp!;
    const plan = networkPlanFor(model)!;
    // Before any resource: a network.cidr with no room for the agents' subnetwork is refused here.
    agentSubnetCidr(plan);
    const provider = new (gcpSdk.Provider())(resourceName(model.cluster.name, "gcp"), { project: g.project, region: g.region }, { parent });
    const opts = { parent, provider };
    // First: a refused master change (masters.size, zones...) stops the engine before anything below.
    const pins = pinMasters(model, topology, "gcp", parent);
    const net = createNetwork(model, plan, opts);
    createFirewall(model, net.network, opts);
    const byZone = new Map(g.zones.map((z, i) => [z, net.subnetworks[i]] as const));
    const publicIps = Object.fromEntries(topology.masters.map((n) => [n.id, reserveAddress(model, n, opts)]));
    // Masters' internal addresses reserved before any instance is made: no agent can be given one.
    const internal = topology.masters.map((n) => reserveInternalAddress(model, n, byZone.get(n.zone!)!, opts));
    const machines = topology.masters.map((n, i) => createInstance(args, n, byZone, opts, publicIps,
      { networkIp: internal[i].address, dependsOn: [pins.get(n.id)!] }));
    const healthCheck = createAgentHealthCheck(model, net.network, opts);
    const deps = { subnetwork: net.agents, healthCheck: healthCheck.id, opts, dependsOn: internal };
    const groups = model.agentPools.map((pool) => createAgentGroup(args, pool, deps, publicIps));
    return { machines, groups };
  },
};
