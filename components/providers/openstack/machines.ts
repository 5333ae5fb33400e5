// OpenStack instances on pre-created ports: a master's port carries its planned fixed IP and a floating
// IP from the external network (admins reach Mesos/Marathon there), allocated before the instance so its
// user-data can advertise it (Mesos --hostname) and associated once the instance is up and its subnet reaches
// the router; agents' ports get a DHCP address and no floating IP (they reach out through the router's SNAT).
// Every server boots from a volume of its node's diskGb made from the image Glance finds for it.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterModel, OsFamily } from "../../model";
import type { Machine, MasterPublicIps, NodeSpec, ProviderArgs } from "../../contracts";
import { nodeLabels } from "../../naming";
import { osSdk } from "./sdk";

/**
 * Glance's common image properties (os_distro, os_version) of each `os`: with no image in the config, a node
 * boots from the newest image that carries both. Image names differ from cloud to cloud; these do not.
 */
export const IMAGE_PROPERTIES: Record<OsFamily, { os_distro: string; os_version: string }> = {
  "debian-12": { os_distro: "debian", os_version: "12" },
  "ubuntu-22.04": { os_distro: "ubuntu", os_version: "22.04" },
  "ubuntu-24.04": { os_distro: "ubuntu", os_version: "24.04" },
  "rocky-9": { os_distro: "rocky", os_version: "9" },
};

const IMAGE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type ImageQuery =
  | { id: string }
  | { name: string; mostRecent: true }
  | { properties: { os_distro: string; os_version: string }; mostRecent: true };

/**
 * Pure: how a node's image is found. An image id (a UUID) as it is; another override as a Glance image name
 * (the newest of that name); none: by the `os` properties (IMAGE_PROPERTIES), the newest match.
 */
export function imageQuery(os: OsFamily, image?: string): ImageQuery {
  if (image && IMAGE_ID.test(image)) return { id: image };
  if (image) return { name: image, mostRecent: true };
  return { properties: IMAGE_PROPERTIES[os], mostRecent: true };
}

/** One Glance lookup per distinct query of the stack (masters and pools mostly share one). */
export function imageResolver(model: ClusterModel, opts: pulumi.CustomResourceOptions):
  (node: NodeSpec) => pulumi.Input<string> {
  const found = new Map<string, pulumi.Input<string>>();
  return (node) => {
    const q = imageQuery(model.os, node.image);
    if ("id" in q) return q.id;
    const key = JSON.stringify(q);
    if (!found.has(key)) {
      found.set(key, osSdk.images().getImageOutput(q, { parent: opts.parent, provider: opts.provider }).id);
    }
    return found.get(key)!;
  };
}

export interface OsMachineDeps {
  networkId: pulumi.Input<string>;
  subnetIdByZoneIndex: pulumi.Input<string>[];
  zoneIndex: (node: NodeSpec) => number;
  sg: { nodes: pulumi.Input<string>; masters: pulumi.Input<string> };
  keyPair: pulumi.Input<string>;
  /** The image id a node boots from (imageResolver). */
  imageOf: (node: NodeSpec) => pulumi.Input<string>;
  /** By zone index: the router interface of that zone's subnet (a floating IP association waits for it). */
  routerInterfaces: pulumi.Resource[];
  opts: pulumi.CustomResourceOptions;
}

/** A master's floating IP, allocated from the external network before its instance (createInstance associates it). */
export function reserveAddress(model: ClusterModel, node: NodeSpec, opts: pulumi.CustomResourceOptions) {
  const pool = model.openstack!.externalNetwork;
  return new (osSdk.networking().FloatingIp)(`${node.hostname}-fip`, { pool, description: node.hostname }, opts);
}

export type OsFloatingIp = ReturnType<typeof reserveAddress>;

/**
 * Changes a running server never gets from Nova: the image (a newer one Glance finds, or an override: Nova would
 * replace the server, its boot volume made anew), the boot volume's size (the same), and the user-data (Nova
 * would replace the server; cloud-init reads it at the first boot only). Running hosts get later changes over
 * SSH; new servers boot with the current image, size and user-data. `imageName`: servers made by an earlier
 * release booted from an image name; their state keeps it (an ignored input absent from the new inputs is kept).
 */
export const OPENSTACK_IGNORED = ["imageName", "imageId", "blockDevices", "userData"];

/** Pure: the boot volume of a server: made from the image, `diskGb` large, deleted with the server. */
export function bootVolume(imageId: pulumi.Input<string>, diskGb: number) {
  return [{ bootIndex: 0, sourceType: "image", uuid: imageId, destinationType: "volume", volumeSize: diskGb,
    deleteOnTermination: true }];
}

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
      // Booting from a volume, the server names no image of its own (imageId/imageName: "do not specify").
      blockDevices: bootVolume(deps.imageOf(node), node.diskGb),
      keyPair: deps.keyPair,
      availabilityZone: node.zone,
      userData: args.userData(node, publicIps),
      networks: [{ port: port.id }],
      metadata: nodeLabels(model.cluster.name, node),
    },
    // A new server for a node takes its port, which the old one holds until it is deleted.
    { ...deps.opts, ignoreChanges: OPENSTACK_IGNORED, dependsOn, deleteBeforeReplace: true },
  );
  const privateIp = port.allFixedIps.apply((ips) => ips[0] ?? "");
  // A server deleted outside Pulumi and made again by `pulumi up --refresh` has another id: its host adopts it.
  const machineId = instance.id;
  if (!fip) return { node, privateIp, resource: instance, machineId };
  const assoc = new net.FloatingIpAssociate(`${node.hostname}-fip`, { floatingIp: fip.address, portId: port.id },
    { ...deps.opts, dependsOn: [instance, deps.routerInterfaces[deps.zoneIndex(node)]] });
  // The address once it is the port's (the readiness connects to it).
  const publicIp = pulumi.all([fip.address, assoc.id]).apply(([ip]) => ip);
  return { node, privateIp, publicIp, resource: instance, machineId };
}
