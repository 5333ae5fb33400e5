// GCP firewalls by network tag: SSH to every node and Mesos/Marathon to masters only from the admin
// CIDRs; everything between cluster nodes (source tag = target tag). ZooKeeper is never open to outside.
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "../../model";
import { ADMIN_PORTS, clusterTag, resourceName, roleTag } from "../../naming";
import { gcpSdk } from "./sdk";

export function createFirewall(model: ClusterModel, network: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): void {
  const compute = gcpSdk.compute();
  const cluster = model.cluster.name;
  const nodes = clusterTag(cluster);
  new compute.Firewall(
    resourceName(cluster, "admin-ssh"),
    { network, direction: "INGRESS", sourceRanges: model.adminCidrs, targetTags: [nodes], allows: [{ protocol: "tcp", ports: [String(ADMIN_PORTS.ssh)] }] },
    opts,
  );
  new compute.Firewall(
    resourceName(cluster, "admin-ui"),
    {
      network,
      direction: "INGRESS",
      sourceRanges: model.adminCidrs,
      targetTags: [roleTag(cluster, "master")],
      allows: [{ protocol: "tcp", ports: [String(ADMIN_PORTS.mesos), String(ADMIN_PORTS.marathon)] }],
    },
    opts,
  );
  new compute.Firewall(
    resourceName(cluster, "intra-cluster"),
    { network, direction: "INGRESS", sourceTags: [nodes], targetTags: [nodes], allows: [{ protocol: "tcp" }, { protocol: "udp" }, { protocol: "icmp" }] },
    opts,
  );
}
