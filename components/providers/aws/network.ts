// AWS network: a VPC (or the user's vpcId), one public subnet per zone carved by planNetwork (the masters, with
// their Elastic IPs, and the NAT gateways), and an internet gateway with a default route. Agents (the pools'
// Auto Scaling groups, groups.ts) go by `aws.agentEgress`:
//  - nat-per-zone (default in a VPC of ours): one private subnet per zone, carved right after the public ones,
//    no public addresses, each zone's default route through a NAT gateway in that zone: a zone that goes down
//    takes only its own agents' way out with it. One gateway per zone costs money (hourly, plus per GB);
//  - nat-single: the same private subnets, all routed through one NAT gateway in the first zone (cheaper; agents
//    of the other zones lose their way out, so new agents cannot install and Docker cannot pull, while that
//    zone is down);
//  - public (default with vpcId): agents in the public subnets with public addresses, as masters.
// The security groups, not the subnets, decide who can reach any node.
import * as pulumi from "@pulumi/pulumi";
import type { AwsAgentEgress, AwsModel, ClusterModel } from "../../model";
import { ipToString, parseCidr, type NetworkPlan } from "../../topology";
import { resourceName } from "../../naming";
import { awsSdk } from "./sdk";

export interface AwsNetwork {
  vpcId: pulumi.Output<string>;
  /** Public subnet id per zone index (same order as the configured zones): masters, NAT gateways. */
  subnetIds: pulumi.Output<string>[];
  /** The subnets the agents' groups launch into, per zone index (private ones behind NAT, or the public ones). */
  agentSubnetIds: pulumi.Output<string>[];
}

/** `aws.agentEgress`, or its default: NAT gateways per zone in a VPC of ours; the VPC's own routing with vpcId. */
export function agentEgressOf(aws: AwsModel): AwsAgentEgress {
  return aws.agentEgress ?? (aws.vpcId ? "public" : "nat-per-zone");
}

/**
 * The agents' private subnets (NAT egress): one per zone, the size of the public ones, right after them in
 * `network.cidr`. Throws, naming the keys, when the cluster network has no room for them: called before any
 * resource (index.ts), so `pulumi preview` already says so.
 */
export function privateSubnetCidrs(model: ClusterModel, plan: NetworkPlan): string[] {
  if (agentEgressOf(model.aws!) === "public") return [];
  const net = parseCidr(plan.cidr);
  const zones = plan.subnets.length;
  const size = 2 ** (32 - parseCidr(plan.subnets[0].cidr).prefix);
  const first = parseCidr(plan.subnets[0].cidr).base + zones * size;
  if (first + zones * size > net.base + 2 ** (32 - net.prefix)) {
    const prefix = 32 - Math.log2(size);
    throw new Error(
      `aws.agentEgress ${agentEgressOf(model.aws!)}: network.cidr ${plan.cidr} has no room for a private ` +
        `/${prefix} per zone next to the ${zones} public ones (${2 * zones} subnets); use a larger network.cidr ` +
        "(such as a /16), fewer aws.zones, or aws.agentEgress public (agents with public addresses). " +
        "Nothing was created.",
    );
  }
  return Array.from({ length: zones }, (_, i) => `${ipToString(first + i * size)}/${32 - Math.log2(size)}`);
}

export function createNetwork(model: ClusterModel, plan: NetworkPlan, opts: pulumi.CustomResourceOptions): AwsNetwork {
  const ec2 = awsSdk.ec2();
  const cluster = model.cluster.name;
  const zones = model.aws!.zones;
  const egress = agentEgressOf(model.aws!);
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
  const subnetIds = subnets.map((s) => s.id);

  // An existing VPC already has its gateway and main route table (AWS allows one gateway per VPC); the config
  // refuses NAT egress there (config/providers.ts), so everything below is for a VPC of ours.
  if (!ownVpc) return { vpcId, subnetIds, agentSubnetIds: subnetIds };
  const igw = new ec2.InternetGateway(resourceName(cluster, "igw"), { vpcId, tags: tags("igw") }, opts);
  const rt = new ec2.RouteTable(
    resourceName(cluster, "rt"),
    { vpcId, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: tags("rt") },
    opts,
  );
  subnets.forEach((s, i) =>
    new ec2.RouteTableAssociation(resourceName(cluster, `rt-${i}`), { subnetId: s.id, routeTableId: rt.id }, opts));
  if (egress === "public") return { vpcId, subnetIds, agentSubnetIds: subnetIds };

  // A NAT gateway lives in a public subnet and sends through the internet gateway: it waits for the gateway's
  // route (AWS: "create the NAT gateway after the internet gateway is attached").
  const natZones = egress === "nat-per-zone" ? zones.map((_, i) => i) : [0];
  const nats = natZones.map((i) => {
    const nameTags = tags(`nat-${zones[i]}`);
    const eip = new ec2.Eip(resourceName(cluster, `nat-eip-${i}`), { domain: "vpc", tags: nameTags }, opts);
    return new ec2.NatGateway(
      resourceName(cluster, `nat-${i}`),
      { allocationId: eip.allocationId, subnetId: subnets[i].id, connectivityType: "public", tags: nameTags },
      { ...opts, dependsOn: [igw] },
    );
  });
  const agentSubnetIds = privateSubnetCidrs(model, plan).map((cidr, i) => {
    const subnet = new ec2.Subnet(
      resourceName(cluster, `agents-${i}`),
      { vpcId, cidrBlock: cidr, availabilityZone: zones[i], mapPublicIpOnLaunch: false,
        tags: tags(`agents-${zones[i]}`) },
      opts,
    );
    const nat = nats[egress === "nat-per-zone" ? i : 0];
    const table = new ec2.RouteTable(
      resourceName(cluster, `agents-rt-${i}`),
      { vpcId, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags: tags(`agents-rt-${zones[i]}`) },
      opts,
    );
    new ec2.RouteTableAssociation(resourceName(cluster, `agents-rta-${i}`),
      { subnetId: subnet.id, routeTableId: table.id }, opts);
    return subnet.id;
  });
  return { vpcId, subnetIds, agentSubnetIds };
}
