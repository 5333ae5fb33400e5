// OpenStack provider module: masters' pins → network + router → security groups → key pair → masters'
// floating IPs → ports → instances (booting from volumes of the images Glance finds) → floating IP associations.
// No self-healing group: every agent is an instance of its own with its host resource (components/cloud-hosts.ts).
import type * as pulumi from "@pulumi/pulumi";
import type { MachineSet, NodeSpec, ProviderArgs, ProviderModule } from "../../contracts";
import { networkPlanFor, zonesOf } from "../../topology";
import { resourceName } from "../../naming";
import { osSdk } from "./sdk";
import { createNetwork } from "./network";
import { createFirewall } from "./firewall";
import { createInstance, imageResolver, reserveAddress } from "./machines";
import { pinMasters } from "../master-pin";

export const openstack: ProviderModule = {
  createMachines(args: ProviderArgs, parent: pulumi.Resource): MachineSet {
    const { model, topology } = args;
    const cluster = model.cluster.name;
    const provider = new (osSdk.Provider())(resourceName(cluster, "openstack"), { region: model.openstack!.region }, { parent });
    const opts = { parent, provider };
    // First: a refused master change (masters.size, zones...) stops the engine before anything below.
    const pins = pinMasters(model, topology, "openstack", parent);
    const net = createNetwork(model, networkPlanFor(model)!, opts);
    const sg = createFirewall(model, opts);
    const key = new (osSdk.compute().Keypair)(resourceName(cluster, "key"), { name: resourceName(cluster, "key"), publicKey: model.ssh.publicKey! }, opts);
    const zones = zonesOf(model);
    const zoneIndex = (n: NodeSpec) => (zones.length ? (n.ordinal - 1) % zones.length : 0);
    const deps = { networkId: net.networkId, subnetIdByZoneIndex: net.subnetIds, zoneIndex, sg, keyPair: key.name,
      imageOf: imageResolver(model, opts), routerInterfaces: net.routerInterfaces, opts };
    const fips = new Map(topology.masters.map((n) => [n.id, reserveAddress(model, n, opts)] as const));
    const publicIps = Object.fromEntries([...fips].map(([id, fip]) => [id, fip.address]));
    const machines = [...topology.masters, ...topology.agents]
      .map((n) => createInstance(args, n, deps, publicIps, fips.get(n.id),
        n.role === "master" ? [pins.get(n.id)!] : []));
    return { machines };
  },
};
