// OpenStack instances on pre-created ports: a master's port carries its planned fixed IP and a floating
// IP from the external network (admins reach Mesos/Marathon there), allocated before the instance so its
// user-data can advertise it (Mesos --hostname) and associated once the instance is up; agents' ports get
// a DHCP address.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "../../model";
import type { Machine, MasterPublicIps, NodeSpec, ProviderArgs } from "../../contracts";
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

/** A master's floating IP, allocated from the external network before its instance (createInstance associates it). */
export function reserveAddress(model: ClusterModel, node: NodeSpec, opts: pulumi.CustomResourceOptions) {
  const pool = model.openstack!.externalNetwork;
  return new (osSdk.networking().FloatingIp)(`${node.hostname}-fip`, { pool, description: node.hostname }, opts);
}

export type OsFloatingIp = ReturnType<typeof reserveAddress>;

/**
 * Changes a running server never gets from Nova: the image (Nova would rebuild the server: its disk wiped) and the
 * user-data (Nova would replace the server; cloud-init reads it at the first boot only). Running hosts get later
 * changes over SSH; new servers boot with the current image and user-data.
 */
export const OPENSTACK_IGNORED = ["imageName", "userData"];

/** `dependsOn`: what the server waits for (a master's pin). */
export function createInstance(args: ProviderArgs, node: NodeSpec, deps: OsMachineDeps, publicIps: MasterPublicIps = {},
  fip?: OsFloatingIp, dependsOn: pulumi.Resource[] = []): Machine {
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
      userData: args.userData(node, publicIps),
      networks: [{ port: port.id }],
      metadata: nodeLabels(model.cluster.name, node),
    },
    { ...deps.opts, ignoreChanges: OPENSTACK_IGNORED, dependsOn },
  );
  const privateIp = port.allFixedIps.apply((ips) => ips[0] ?? "");
  if (!fip) return { node, privateIp, resource: instance };
  const assoc = new net.FloatingIpAssociate(
    `${node.hostname}-fip`, { floatingIp: fip.address, portId: port.id }, { ...deps.opts, dependsOn: [instance] });
  // The address once it is the port's (the readiness connects to it).
  const publicIp = pulumi.all([fip.address, assoc.id]).apply(([ip]) => ip);
  return { node, privateIp, publicIp, resource: instance };
}
