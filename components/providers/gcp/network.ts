// GCP network: a custom-mode VPC and one subnetwork per zone index (GCP subnets are regional; one per
// zone keeps the plan identical to the other clouds, so master addresses do not depend on the cloud).
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "../../model";
import type { NetworkPlan } from "../../topology";
import { resourceName } from "../../naming";
import { gcpSdk } from "./sdk";

export interface GcpNetwork {
  network: pulumi.Output<string>;
  subnetworks: pulumi.Output<string>[];
}

export function createNetwork(model: ClusterModel, plan: NetworkPlan, opts: pulumi.CustomResourceOptions): GcpNetwork {
  const compute = gcpSdk.compute();
  const cluster = model.cluster.name;
  const net = new compute.Network(resourceName(cluster, "net"), { autoCreateSubnetworks: false }, opts);
  const subnetworks = plan.subnets.map(
    (s) =>
      new compute.Subnetwork(
        resourceName(cluster, `subnet-${s.zoneIndex}`),
        { network: net.id, ipCidrRange: s.cidr, region: model.gcp!.region, privateIpGoogleAccess: true },
        opts,
      ),
  );
  return { network: net.id, subnetworks: subnetworks.map((s) => s.id) };
}
