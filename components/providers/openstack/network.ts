// OpenStack network: a tenant network, one subnet per zone index (the shared plan), and a router to the
// configured external network so nodes can download packages and masters can carry floating IPs.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "../../model";
import type { NetworkPlan } from "../../topology";
import { resourceName } from "../../naming";
import { osSdk } from "./sdk";

export interface OsNetwork {
  networkId: pulumi.Output<string>;
  subnetIds: pulumi.Output<string>[];
}

export function createNetwork(model: ClusterModel, plan: NetworkPlan, opts: pulumi.CustomResourceOptions): OsNetwork {
  const net = osSdk.networking();
  const cluster = model.cluster.name;
  const external = net.getNetworkOutput({ name: model.openstack!.externalNetwork, external: true }, { parent: opts.parent, provider: opts.provider });
  const network = new net.Network(resourceName(cluster, "net"), { name: resourceName(cluster, "net"), adminStateUp: true }, opts);
  const router = new net.Router(resourceName(cluster, "router"), { name: resourceName(cluster, "router"), externalNetworkId: external.id }, opts);
  const subnets = plan.subnets.map((s) => {
    const subnet = new net.Subnet(
      resourceName(cluster, `subnet-${s.zoneIndex}`),
      { networkId: network.id, cidr: s.cidr, ipVersion: 4, enableDhcp: true },
      opts,
    );
    new net.RouterInterface(resourceName(cluster, `router-if-${s.zoneIndex}`), { routerId: router.id, subnetId: subnet.id }, opts);
    return subnet.id;
  });
  return { networkId: network.id, subnetIds: subnets };
}
