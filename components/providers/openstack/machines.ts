// OpenStack instances on pre-created ports: a master's port carries its planned fixed IP and a floating
// IP from the external network (admins reach Mesos/Marathon there); agents' ports get a DHCP address.
import type * as pulumi from "@pulumi/pulumi";
import type { Machine, NodeSpec, ProviderArgs } from "../../contracts";
import { nodeLabels } from "../../naming";
import { osSdk } from "./sdk";

export const IMAGE_NAMES = {
  "debian-12": "debian-12",
  "ubuntu-22.04": "ubuntu-22.04",
  "ubuntu-24.04": "ubuntu-24.04",
  "rocky-9": "rocky-9",
} as const;

export interface OsMachineDeps {
  networkId: pulumi.Input<string>;
  subnetIdByZoneIndex: pulumi.Input<string>[];
  zoneIndex: (node: NodeSpec) => number;
  sg: { nodes: pulumi.Input<string>; masters: pulumi.Input<string> };
  keyPair: pulumi.Input<string>;
  opts: pulumi.CustomResourceOptions;
}

export function createInstance(args: ProviderArgs, node: NodeSpec, deps: OsMachineDeps): Machine {
  const { model } = args;
  const net = osSdk.networking();
  const subnetId = deps.subnetIdByZoneIndex[deps.zoneIndex(node)];
  const port = new net.Port(
    `${node.hostname}-port`,
    {
      networkId: deps.networkId,
      adminStateUp: true,
      fixedIps: [{ subnetId, ipAddress: node.plannedIp }],
      securityGroupIds: node.role === "master" ? [deps.sg.nodes, deps.sg.masters] : [deps.sg.nodes],
    },
    deps.opts,
  );
  const instance = new (osSdk.compute().Instance)(
    node.hostname,
    {
      name: node.hostname,
      flavorName: node.size,
      imageName: node.image ?? IMAGE_NAMES[model.os],
      keyPair: deps.keyPair,
      availabilityZone: node.zone,
      userData: args.userData(node),
      networks: [{ port: port.id }],
      metadata: nodeLabels(model.cluster.name, node),
    },
    deps.opts,
  );
  const fip =
    node.role === "master"
      ? new net.FloatingIp(`${node.hostname}-fip`, { pool: model.openstack!.externalNetwork, portId: port.id }, { ...deps.opts, dependsOn: [instance] })
      : undefined;
  return { node, privateIp: port.allFixedIps.apply((ips) => ips[0] ?? ""), publicIp: fip?.address, resource: instance };
}
