// EC2 instances, one per node. Masters get their planned private address (ZooKeeper and Mesos peers are
// rendered into user-data before the instances exist) and an Elastic IP allocated before the instance, so
// their user-data can advertise it (Mesos --hostname) and it outlives any stop/start; IMDSv2 only;
// encrypted root volumes; tags that say cluster / role / pool / node id.
import * as pulumi from "@pulumi/pulumi";
import { awsUserData } from "../../../provisioning/render/cloud-config";
import type { ClusterModel } from "../../model";
import type { Machine, MasterPublicIps, NodeSpec, ProviderArgs } from "../../contracts";
import { nodeLabels } from "../../naming";
import { awsSdk } from "./sdk";
import { lookupImage, type AwsImage } from "./ami";

export interface AwsMachineDeps {
  subnetIdByZone: Map<string, pulumi.Input<string>>;
  nodesSgId: pulumi.Input<string>;
  mastersSgId: pulumi.Input<string>;
  keyName: pulumi.Input<string>;
  opts: pulumi.CustomResourceOptions;
}

/** A master's public address, allocated before its instance exists (associated by createInstance). */
export function reserveAddress(model: ClusterModel, node: NodeSpec, opts: pulumi.CustomResourceOptions) {
  const tags = { Name: node.hostname, ...nodeLabels(model.cluster.name, node) };
  return new (awsSdk.ec2().Eip)(`${node.hostname}-eip`, { domain: "vpc", tags }, opts);
}

export type AwsEip = ReturnType<typeof reserveAddress>;

/**
 * Changes a running instance never gets from EC2: the image (the AMI lookup picks the newest image, which would
 * replace every instance the day a new one is published) and the user-data (cloud-init reads it at the first
 * boot only; EC2 would stop and start the instance to change it). Running hosts get later changes over SSH; new
 * instances boot with the current image and user-data. userDataReplaceOnChange is never set: this list covers it.
 */
export const AWS_IGNORED = ["ami", "userDataBase64"];

/** A planned master address kept out of the subnet's automatic assignment (an explicit reservation, /32). */
export function reserveMasterIp(node: NodeSpec, subnetId: pulumi.Input<string>, opts: pulumi.CustomResourceOptions) {
  return new (awsSdk.ec2().SubnetCidrReservation)(`${node.hostname}-private-ip`, {
    subnetId,
    cidrBlock: `${node.plannedIp}/32`,
    reservationType: "explicit",
    description: `elastic-mesos master ${node.hostname}`,
  }, opts);
}

/** `dependsOn`: what a master's instance waits for (its pin, its address reservation). */
export function createInstance(args: ProviderArgs, node: NodeSpec, deps: AwsMachineDeps,
  ami: () => pulumi.Input<string>, publicIps: MasterPublicIps = {}, eip?: AwsEip,
  dependsOn: pulumi.Resource[] = []): Machine {
  const model = args.model;
  const instance = new (awsSdk.ec2().Instance)(
    node.hostname,
    {
      ami: node.image ?? ami(),
      instanceType: node.size,
      subnetId: deps.subnetIdByZone.get(node.zone!)!,
      privateIp: node.plannedIp,
      vpcSecurityGroupIds: node.role === "master" ? [deps.nodesSgId, deps.mastersSgId] : [deps.nodesSgId],
      keyName: deps.keyName,
      // Gzip'ed: a 5-master cluster's master carries more than AWS's 16 KB of text (render.test.ts).
      userDataBase64: pulumi.output(args.userData(node, publicIps)).apply((u) => awsUserData(u, node.hostname)),
      metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
      rootBlockDevice: { encrypted: true, volumeSize: node.diskGb, volumeType: "gp3", deleteOnTermination: true },
      tags: { Name: node.hostname, ...nodeLabels(model.cluster.name, node) },
    },
    { ...deps.opts, ignoreChanges: AWS_IGNORED, dependsOn },
  );
  if (!eip) return { node, privateIp: instance.privateIp, publicIp: instance.publicIp, resource: instance };
  const assoc = new (awsSdk.ec2().EipAssociation)(
    `${node.hostname}-eip-assoc`, { allocationId: eip.allocationId, instanceId: instance.id }, deps.opts);
  // The address once it is the instance's (the readiness connects to it): its launch address is gone then.
  const publicIp = pulumi.all([eip.publicIp, assoc.id]).apply(([ip]) => ip);
  return { node, privateIp: instance.privateIp, publicIp, resource: instance };
}

/** One lookup per image per run: the OS's newest (`undefined`) or an override; the masters' and groups' share it. */
export function imageResolver(model: ClusterModel,
  opts: pulumi.InvokeOptions): (image?: string) => pulumi.Output<AwsImage> {
  const cached = new Map<string, pulumi.Output<AwsImage>>();
  return (image) => {
    const key = image ?? "";
    if (!cached.has(key)) cached.set(key, lookupImage(model.os, image, opts));
    return cached.get(key)!;
  };
}
