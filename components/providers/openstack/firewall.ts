// OpenStack security groups: "nodes" (SSH from admin CIDRs, everything from members of the group) and
// "masters" (Mesos/Marathon from admin CIDRs). Default egress rules are kept; ZooKeeper is members-only. SSH from a
// master to an agent (the step runner reaches agents through the first master as a jump host) is part of intra-tcp.
// Neutron refuses a rule whose remoteIpPrefix is not of its ethertype: IPv6 admin ranges get "IPv6".
import type * as pulumi from "@pulumi/pulumi";
import { familyOf } from "../../config/cidrs";
import type { ClusterModel } from "../../model";
import { ADMIN_PORTS, resourceName } from "../../naming";
import { osSdk } from "./sdk";

export function createFirewall(model: ClusterModel, opts: pulumi.CustomResourceOptions): { nodes: pulumi.Output<string>; masters: pulumi.Output<string> } {
  const net = osSdk.networking();
  const cluster = model.cluster.name;
  const nodes = new net.SecGroup(resourceName(cluster, "nodes-sg"), { name: resourceName(cluster, "nodes"), description: "elastic-mesos: every node" }, opts);
  const masters = new net.SecGroup(resourceName(cluster, "masters-sg"), { name: resourceName(cluster, "masters"), description: "elastic-mesos: masters" }, opts);
  for (const protocol of ["tcp", "udp", "icmp"]) {
    new net.SecGroupRule(
      resourceName(cluster, `intra-${protocol}`),
      { direction: "ingress", ethertype: "IPv4", protocol, remoteGroupId: nodes.id, securityGroupId: nodes.id },
      opts,
    );
  }
  model.adminCidrs.forEach((cidr, i) => {
    const rule = (sg: typeof nodes, port: number, what: string) =>
      new net.SecGroupRule(
        resourceName(cluster, `admin-${what}-${i}`),
        {
          direction: "ingress",
          ethertype: familyOf(cidr) === "ipv6" ? "IPv6" : "IPv4",
          protocol: "tcp",
          portRangeMin: port,
          portRangeMax: port,
          remoteIpPrefix: cidr,
          securityGroupId: sg.id,
        },
        opts,
      );
    rule(nodes, ADMIN_PORTS.ssh, "ssh");
    rule(masters, ADMIN_PORTS.mesos, "mesos");
    rule(masters, ADMIN_PORTS.marathon, "marathon");
  });
  return { nodes: nodes.id, masters: masters.id };
}
