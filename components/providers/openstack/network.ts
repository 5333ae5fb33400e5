// OpenStack network: a tenant network, one subnet per zone index (the shared plan), and a router to the
// configured external network so nodes can download packages and masters can carry floating IPs.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "../../model";
import { MASTER_HOST_BASE, ipToString, parseCidr, type NetworkPlan } from "../../topology";
import { resourceName } from "../../naming";
import { osSdk } from "./sdk";

export interface OsNetwork {
  networkId: pulumi.Output<string>;
  subnetIds: pulumi.Output<string>[];
  /**
   * By zone index: the interface joining that subnet to the router. Neutron refuses to associate a floating IP
   * with a port whose subnet has no router to the external network yet ("External network ... is not reachable
   * from subnet ..."): an association waits for its subnet's interface.
   */
  routerInterfaces: pulumi.Resource[];
}

/** masters.count is 1, 3 or 5: master k's planned address is host MASTER_HOST_BASE + k of its zone's subnet. */
const MAX_MASTERS = 5;

/**
 * Pure: the DHCP allocation pools of a zone subnet, every host address but the gateway (.1, Neutron's default)
 * and the masters' planned ones (.11-.15): an agent's port never takes a master's address, even one whose master
 * is being made at the same moment. Ports given a fixed address (the masters') may use any address of the subnet.
 */
export function dhcpPools(cidr: string): { start: string; end: string }[] {
  const { base, prefix } = parseCidr(cidr);
  const last = base + 2 ** (32 - prefix) - 2; // the broadcast address is no host's
  return [
    { start: ipToString(base + 2), end: ipToString(base + MASTER_HOST_BASE) },
    { start: ipToString(base + MASTER_HOST_BASE + MAX_MASTERS + 1), end: ipToString(last) },
  ];
}

export function createNetwork(model: ClusterModel, plan: NetworkPlan, opts: pulumi.CustomResourceOptions): OsNetwork {
  const net = osSdk.networking();
  const cluster = model.cluster.name;
  const external = net.getNetworkOutput({ name: model.openstack!.externalNetwork, external: true }, { parent: opts.parent, provider: opts.provider });
  const network = new net.Network(resourceName(cluster, "net"), { name: resourceName(cluster, "net"), adminStateUp: true }, opts);
  const router = new net.Router(resourceName(cluster, "router"), { name: resourceName(cluster, "router"), externalNetworkId: external.id }, opts);
  const interfaces: pulumi.Resource[] = [];
  const subnets = plan.subnets.map((s) => {
    const subnet = new net.Subnet(
      resourceName(cluster, `subnet-${s.zoneIndex}`),
      // DHCP never hands out a master's planned address (dhcpPools).
      {
        networkId: network.id, cidr: s.cidr, ipVersion: 4, enableDhcp: true,
        allocationPools: dhcpPools(s.cidr),
      },
      opts,
    );
    interfaces.push(new net.RouterInterface(resourceName(cluster, `router-if-${s.zoneIndex}`),
      { routerId: router.id, subnetId: subnet.id }, opts));
    return subnet.id;
  });
  return { networkId: network.id, subnetIds: subnets, routerInterfaces: interfaces };
}
