// EC2 instances, one per node. Masters get their planned private address (ZooKeeper and Mesos peers are
// rendered into user-data before the instances exist); IMDSv2 only; encrypted root volumes; tags that
// say cluster / role / pool / node id.
import * as pulumi from "@pulumi/pulumi";
import { awsUserData } from "../../../provisioning/render/cloud-config";
import type { ClusterModel } from "../../model";
import type { Machine, NodeSpec, ProviderArgs } from "../../contracts";
import { nodeLabels } from "../../naming";
import { awsSdk } from "./sdk";
import { lookupAmi } from "./ami";

export interface AwsMachineDeps {
  subnetIdByZone: Map<string, pulumi.Input<string>>;
  nodesSgId: pulumi.Input<string>;
  mastersSgId: pulumi.Input<string>;
  keyName: pulumi.Input<string>;
  opts: pulumi.CustomResourceOptions;
}

export function createInstance(args: ProviderArgs, node: NodeSpec, deps: AwsMachineDeps, ami: () => pulumi.Input<string>): Machine {
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
      userDataBase64: pulumi.output(args.userData(node)).apply(awsUserData),
      metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
      rootBlockDevice: { encrypted: true, volumeSize: node.diskGb, volumeType: "gp3", deleteOnTermination: true },
      tags: { Name: node.hostname, ...nodeLabels(model.cluster.name, node) },
    },
    deps.opts,
  );
  return { node, privateIp: instance.privateIp, publicIp: instance.publicIp, resource: instance };
}

/** One AMI lookup per run, and only if some node has no image override. */
export function amiResolver(model: ClusterModel, opts: pulumi.InvokeOptions): () => pulumi.Output<string> {
  let cached: pulumi.Output<string> | undefined;
  return () => (cached ??= lookupAmi(model.os, opts));
}
