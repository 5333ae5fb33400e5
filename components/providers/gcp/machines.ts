// GCE instances: masters get their planned `networkIp` and a static external address reserved before the
// instance (so their user-data can advertise it: Mesos --hostname); user-data goes in metadata for
// cloud-init; images come from the official image families unless overridden.
import type * as pulumi from "@pulumi/pulumi";
import type { OsFamily } from "../../model";
import type { ClusterModel } from "../../model";
import type { Machine, MasterPublicIps, NodeSpec, ProviderArgs } from "../../contracts";
import { clusterTag, nodeLabels, poolTag, roleTag } from "../../naming";
import { gcpSdk } from "./sdk";

export const IMAGE_FAMILIES: Record<OsFamily, string> = {
  "debian-12": "debian-cloud/debian-12",
  "ubuntu-22.04": "ubuntu-os-cloud/ubuntu-2204-lts",
  "ubuntu-24.04": "ubuntu-os-cloud/ubuntu-2404-lts-amd64",
  "rocky-9": "rocky-linux-cloud/rocky-linux-9",
};

/** A master's regional static external address, reserved before its instance (its access config's natIp). */
export function reserveAddress(model: ClusterModel, node: NodeSpec, opts: pulumi.CustomResourceOptions) {
  const name = `${node.hostname}-ip`;
  const labels = nodeLabels(model.cluster.name, node);
  const region = model.gcp!.region;
  return new (gcpSdk.compute().Address)(name, { name, addressType: "EXTERNAL", region, labels }, opts).address;
}

export function createInstance(
  args: ProviderArgs,
  node: NodeSpec,
  subnetworkByZone: Map<string, pulumi.Input<string>>,
  opts: pulumi.CustomResourceOptions,
  publicIps: MasterPublicIps = {},
): Machine {
  const { model } = args;
  const cluster = model.cluster.name;
  const reserved = publicIps[node.id];
  const instance = new (gcpSdk.compute().Instance)(
    node.hostname,
    {
      name: node.hostname,
      machineType: node.size,
      zone: node.zone!,
      bootDisk: { initializeParams: { image: node.image ?? IMAGE_FAMILIES[model.os], size: node.diskGb } },
      // Agents: an ephemeral external address. Masters: their reserved one.
      networkInterfaces: [{
        subnetwork: subnetworkByZone.get(node.zone!)!,
        networkIp: node.plannedIp,
        accessConfigs: [reserved ? { natIp: reserved } : {}],
      }],
      metadata: {
        "user-data": args.userData(node, publicIps),
        "ssh-keys": `${model.ssh.user}:${model.ssh.publicKey}`,
        "block-project-ssh-keys": "true",
      },
      tags: [clusterTag(cluster), roleTag(cluster, node.role), ...(node.pool ? [poolTag(cluster, node.pool)] : [])],
      labels: nodeLabels(cluster, node),
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      allowStoppingForUpdate: true,
    },
    opts,
  );
  const nic = instance.networkInterfaces.apply((n) => n[0]);
  return {
    node,
    privateIp: nic.apply((n) => n?.networkIp ?? ""),
    publicIp: nic.apply((n) => n?.accessConfigs?.[0]?.natIp ?? ""),
    resource: instance,
  };
}
