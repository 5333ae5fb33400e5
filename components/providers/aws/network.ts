// AWS network: a VPC (or the user's vpcId), one public subnet per zone carved by planNetwork, and an
// internet gateway with a default route. Nodes get public addresses for egress (package downloads);
// the security groups, not the subnets, decide who can reach them.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "../../model";
import type { NetworkPlan } from "../../topology";
import { resourceName } from "../../naming";
import { awsSdk } from "./sdk";

export interface AwsNetwork {
  vpcId: pulumi.Output<string>;
  /** Subnet id per zone index (same order as the configured zones). */
  subnetIds: pulumi.Output<string>[];
}

export function createNetwork(model: ClusterModel, plan: NetworkPlan, opts: pulumi.CustomResourceOptions): AwsNetwork {
  const ec2 = awsSdk.ec2();
  const cluster = model.cluster.name;
  const zones = model.aws!.zones;
  const tags = (what: string) => ({ Name: resourceName(cluster, what), "elastic-mesos-cluster": cluster });

  const ownVpc = model.aws!.vpcId
    ? undefined
    : new ec2.Vpc(resourceName(cluster, "vpc"), { cidrBlock: plan.cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tags("vpc") }, opts);
  const vpcId = ownVpc ? ownVpc.id : pulumi.output(model.aws!.vpcId!);

  const subnets = plan.subnets.map(
    (s) =>
      new ec2.Subnet(
        resourceName(cluster, `subnet-${s.zoneIndex}`),
        { vpcId, cidrBlock: s.cidr, availabilityZone: zones[s.zoneIndex], mapPublicIpOnLaunch: true, tags: tags(`subnet-${zones[s.zoneIndex]}`) },
        opts,
      ),
  );

  // An existing VPC already has its gateway and main route table (AWS allows one gateway per VPC).
  if (ownVpc) {
    const igw = new ec2.InternetGateway(resourceName(cluster, "igw"), { vpcId, tags: tags("igw") }, opts);
    const rt = new ec2.RouteTable(
      resourceName(cluster, "rt"),
      { vpcId, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: tags("rt") },
      opts,
    );
    subnets.forEach(
      (s, i) => new ec2.RouteTableAssociation(resourceName(cluster, `rt-${i}`), { subnetId: s.id, routeTableId: rt.id }, opts),
    );
  }
  return { vpcId, subnetIds: subnets.map((s) => s.id) };
}
