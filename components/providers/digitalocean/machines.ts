// Droplets in the cluster VPC. DigitalOcean cannot pin a droplet's private address, so masters have no
// planned IP here: the provider registry marks this cloud for the SSH bootstrap, which learns the
// masters' addresses from the droplets' outputs after they exist.
import type * as pulumi from "@pulumi/pulumi";
import type { OsFamily } from "../../model";
import type { Machine, NodeSpec, ProviderArgs } from "../../contracts";
import { poolTag } from "../../naming";
import { doSdk } from "./sdk";

export const IMAGE_SLUGS: Record<OsFamily, string> = {
  "debian-12": "debian-12-x64",
  "ubuntu-22.04": "ubuntu-22-04-x64",
  "ubuntu-24.04": "ubuntu-24-04-x64",
  "rocky-9": "rockylinux-9-x64",
};

export interface DropletDeps {
  vpcUuid: pulumi.Input<string>;
  sshKeyFingerprint: pulumi.Input<string>;
  tags: { nodes: pulumi.Input<string>; masters: pulumi.Input<string>; agents: pulumi.Input<string> };
  opts: pulumi.CustomResourceOptions;
}

export function createDroplet(args: ProviderArgs, node: NodeSpec, deps: DropletDeps): Machine {
  const { model } = args;
  const droplet = new (doSdk.Droplet())(
    node.hostname,
    {
      name: node.hostname,
      image: node.image ?? IMAGE_SLUGS[model.os],
      size: node.size,
      region: model.digitalocean!.region,
      vpcUuid: deps.vpcUuid,
      sshKeys: [deps.sshKeyFingerprint],
      // Empty under SSH delivery: DigitalOcean then only installs the SSH key.
      userData: args.userData(node) || undefined,
      monitoring: true,
      tags: [
        deps.tags.nodes,
        node.role === "master" ? deps.tags.masters : deps.tags.agents,
        ...(node.pool ? [poolTag(model.cluster.name, node.pool)] : []),
      ],
    },
    deps.opts,
  );
  return { node, privateIp: droplet.ipv4AddressPrivate, publicIp: droplet.ipv4Address, resource: droplet };
}
