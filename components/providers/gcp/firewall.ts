// GCP firewalls by network tag: SSH to every node and Mesos/Marathon to masters only from the admin
// CIDRs; everything between cluster nodes (source tag = target tag). ZooKeeper is never open to outside. SSH from a
// master to an agent (the step runner reaches agents through the first master as a jump host) is part of intra-cluster.
// GCP refuses a rule whose sourceRanges mix IPv4 and IPv6, so each admin rule is made once per family
// present: "admin-ssh"/"admin-ui" for IPv4 (the names older stacks have) and "...-ipv6" for IPv6.
import type * as pulumi from "@pulumi/pulumi";
import { splitByFamily } from "../../config/cidrs";
import type { ClusterModel } from "../../model";
import { ADMIN_PORTS, clusterTag, resourceName, roleTag } from "../../naming";
import { gcpSdk } from "./sdk";

export function createFirewall(model: ClusterModel, network: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): void {
  const compute = gcpSdk.compute();
  const cluster = model.cluster.name;
  const nodes = clusterTag(cluster);
  const families = splitByFamily(model.adminCidrs);
  for (const [family, suffix] of [["ipv4", ""], ["ipv6", "-ipv6"]] as const) {
    const sourceRanges = families[family];
    if (sourceRanges.length === 0) continue;
    new compute.Firewall(
      resourceName(cluster, `admin-ssh${suffix}`),
      { network, direction: "INGRESS", sourceRanges, targetTags: [nodes], allows: [{ protocol: "tcp", ports: [String(ADMIN_PORTS.ssh)] }] },
      opts,
    );
    new compute.Firewall(
      resourceName(cluster, `admin-ui${suffix}`),
      {
        network,
        direction: "INGRESS",
        sourceRanges,
        targetTags: [roleTag(cluster, "master")],
        allows: [{ protocol: "tcp", ports: [String(ADMIN_PORTS.mesos), String(ADMIN_PORTS.marathon)] }],
      },
      opts,
    );
  }
  new compute.Firewall(
    resourceName(cluster, "intra-cluster"),
    { network, direction: "INGRESS", sourceTags: [nodes], targetTags: [nodes], allows: [{ protocol: "tcp" }, { protocol: "udp" }, { protocol: "icmp" }] },
    opts,
  );
}
