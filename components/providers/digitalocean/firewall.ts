// DigitalOcean cloud firewalls, applied by tag: SSH to every node and Mesos/Marathon to masters only
// from the admin CIDRs; all traffic between droplets carrying the cluster tag; outbound open.
// Inbound rules on a cloud firewall are allow-lists, so ZooKeeper is reachable only from cluster droplets.
// DigitalOcean takes IPv4 and IPv6 CIDRs together in one sourceAddresses list (its API's "addresses": IPv4
// and IPv6 addresses and CIDRs), as the outbound rules below do with 0.0.0.0/0 and ::/0: no split needed.
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "../../model";
import { ADMIN_PORTS, resourceName } from "../../naming";
import { doSdk } from "./sdk";

export function createFirewalls(
  model: ClusterModel,
  tags: { nodes: pulumi.Input<string>; masters: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): void {
  const Firewall = doSdk.Firewall();
  const cluster = model.cluster.name;
  const admin = model.adminCidrs;
  const everywhere = ["0.0.0.0/0", "::/0"];
  new Firewall(
    resourceName(cluster, "nodes-fw"),
    {
      tags: [tags.nodes],
      inboundRules: [
        { protocol: "tcp", portRange: String(ADMIN_PORTS.ssh), sourceAddresses: admin },
        { protocol: "tcp", portRange: "1-65535", sourceTags: [tags.nodes] },
        { protocol: "udp", portRange: "1-65535", sourceTags: [tags.nodes] },
        { protocol: "icmp", sourceTags: [tags.nodes] },
      ],
      outboundRules: [
        { protocol: "tcp", portRange: "1-65535", destinationAddresses: everywhere },
        { protocol: "udp", portRange: "1-65535", destinationAddresses: everywhere },
        { protocol: "icmp", destinationAddresses: everywhere },
      ],
    },
    opts,
  );
  new Firewall(
    resourceName(cluster, "masters-fw"),
    {
      tags: [tags.masters],
      inboundRules: [
        { protocol: "tcp", portRange: String(ADMIN_PORTS.mesos), sourceAddresses: admin },
        { protocol: "tcp", portRange: String(ADMIN_PORTS.marathon), sourceAddresses: admin },
      ],
    },
    opts,
  );
}
