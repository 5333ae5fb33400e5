// GCP network: a custom-mode VPC and one subnetwork per zone index (GCP subnets are regional; one per
// zone keeps the plan identical to the other clouds, so master addresses do not depend on the cloud).
// The agent pools' groups get a subnetwork of their own, the upper half of network.cidr (a regional MIG's template
// names one subnetwork for all its zones), with no external addresses: a Cloud Router's NAT gives them egress
// (packages, images) and nothing reaches them from outside. Masters keep their reserved external addresses.
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "../../model";
import { ipToString, parseCidr, type NetworkPlan } from "../../topology";
import { resourceName } from "../../naming";
import { gcpSdk } from "./sdk";

export interface GcpNetwork {
  network: pulumi.Output<string>;
  subnetworks: pulumi.Output<string>[];
  /** The agent groups' subnetwork (NAT egress only). */
  agents: pulumi.Output<string>;
}

/**
 * Pure: the agents' range, the upper half of network.cidr (a /17 of a /16: 32,766 addresses), when the zone
 * subnets leave it free; a clear refusal before any resource otherwise.
 */
export function agentSubnetCidr(plan: NetworkPlan): string {
  const net = parseCidr(plan.cidr);
  const half = 2 ** (32 - net.prefix - 1);
  const last = plan.subnets[plan.subnets.length - 1];
  const zonesEnd = parseCidr(last.cidr).base + 2 ** (32 - parseCidr(last.cidr).prefix);
  if (net.prefix >= 31 || zonesEnd > net.base + half) {
    throw new Error(
      `network.cidr: ${plan.cidr} has no room for the GCP agent pools' subnetwork (its upper half) next to the ` +
        `${plan.subnets.length} zone subnet(s) (${plan.subnets.map((s) => s.cidr).join(", ")}); use a larger ` +
        "network.cidr, such as a /16. Nothing was created.",
    );
  }
  return `${ipToString(net.base + half)}/${net.prefix + 1}`;
}

export function createNetwork(model: ClusterModel, plan: NetworkPlan, opts: pulumi.CustomResourceOptions): GcpNetwork {
  const compute = gcpSdk.compute();
  const cluster = model.cluster.name;
  const region = model.gcp!.region;
  const agentsCidr = agentSubnetCidr(plan);
  const net = new compute.Network(resourceName(cluster, "net"), { autoCreateSubnetworks: false }, opts);
  const subnetworks = plan.subnets.map(
    (s) =>
      new compute.Subnetwork(
        resourceName(cluster, `subnet-${s.zoneIndex}`),
        { network: net.id, ipCidrRange: s.cidr, region, privateIpGoogleAccess: true },
        opts,
      ),
  );
  const agents = new compute.Subnetwork(resourceName(cluster, "agents"),
    { network: net.id, ipCidrRange: agentsCidr, region, privateIpGoogleAccess: true }, opts);
  const router = new compute.Router(resourceName(cluster, "router"), { network: net.id, region }, opts);
  new compute.RouterNat(resourceName(cluster, "nat"), {
    router: router.name,
    region,
    natIpAllocateOption: "AUTO_ONLY",
    // Only the agents' subnetwork: masters go out through their own external addresses.
    sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
    subnetworks: [{ name: agents.id, sourceIpRangesToNats: ["ALL_IP_RANGES"] }],
    logConfig: { enable: true, filter: "ERRORS_ONLY" },
  }, opts);
  return { network: net.id, subnetworks: subnetworks.map((s) => s.id), agents: agents.id };
}
