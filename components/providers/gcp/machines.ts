// GCE instances: masters get their planned `networkIp` and a static external address reserved before the
// instance (so their user-data can advertise it: Mesos --hostname); the bootstrap goes in metadata as the guest
// agent's `startup-script` (bootMetadata); images come from the official image families unless overridden.
import * as pulumi from "@pulumi/pulumi";
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

/**
 * A master's planned address reserved in its subnetwork (a static INTERNAL address), so GCE never gives it to
 * another instance; the instance takes it as its networkIp (same value: a stack made before keeps its instance).
 * GCE promotes an address already in use by the master to a static one.
 */
export function reserveInternalAddress(model: ClusterModel, node: NodeSpec, subnetwork: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions) {
  const name = `${node.hostname}-internal-ip`;
  return new (gcpSdk.compute().Address)(name, {
    name,
    addressType: "INTERNAL",
    purpose: "GCE_ENDPOINT",
    address: node.plannedIp,
    subnetwork,
    region: model.gcp!.region,
    labels: nodeLabels(model.cluster.name, node),
  }, opts);
}

/**
 * Changes a running instance never gets from GCE: the image (a newer image in the family would replace the boot
 * disk, i.e. the instance) and the bootstrap (run at the first boot only, whichever key carries it). Running
 * hosts get later changes over SSH; new instances boot with the current image and bootstrap. The rest of the
 * metadata (ssh-keys) still applies in place.
 */
export const GCP_IGNORED = ["bootDisk.initializeParams.image", 'metadata["user-data"]', 'metadata["startup-script"]'];

/**
 * The metadata entry that delivers a rendered bootstrap: a startup script (render/startup-script.ts: `#!`), which
 * the guest agent of every GCE image runs, under `startup-script`; a #cloud-config under `user-data`, which only
 * images with cloud-init read (the program renders GCP's bootstrap as a startup script: providers/index.ts).
 */
export function bootMetadata(bootstrap: pulumi.Input<string>): pulumi.Output<Record<string, string>> {
  return pulumi.output(bootstrap)
    .apply((text): Record<string, string> => ({ [text.startsWith("#!") ? "startup-script" : "user-data"]: text }));
}

/** Logins: the cluster's SSH user and key only (the project's keys are blocked). */
export function loginMetadata(model: ClusterModel): Record<string, string> {
  return { "ssh-keys": `${model.ssh.user}:${model.ssh.publicKey}`, "block-project-ssh-keys": "true" };
}

/** `networkIp`: a master's reserved internal address; `dependsOn`: what the instance waits for (its pin...). */
export function createInstance(
  args: ProviderArgs,
  node: NodeSpec,
  subnetworkByZone: Map<string, pulumi.Input<string>>,
  opts: pulumi.CustomResourceOptions,
  publicIps: MasterPublicIps = {},
  place: { networkIp?: pulumi.Input<string>; dependsOn?: pulumi.Resource[] } = {},
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
        networkIp: place.networkIp ?? node.plannedIp,
        accessConfigs: [reserved ? { natIp: reserved } : {}],
      }],
      metadata: bootMetadata(args.userData(node, publicIps)).apply((boot) => ({ ...boot, ...loginMetadata(model) })),
      tags: [clusterTag(cluster), roleTag(cluster, node.role), ...(node.pool ? [poolTag(cluster, node.pool)] : [])],
      labels: nodeLabels(cluster, node),
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      allowStoppingForUpdate: true,
    },
    { ...opts, ignoreChanges: GCP_IGNORED, dependsOn: place.dependsOn ?? [] },
  );
  const nic = instance.networkInterfaces.apply((n) => n[0]);
  return {
    node,
    privateIp: nic.apply((n) => n?.networkIp ?? ""),
    publicIp: nic.apply((n) => n?.accessConfigs?.[0]?.natIp ?? ""),
    resource: instance,
  };
}
