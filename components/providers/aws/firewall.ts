// AWS security groups. Two groups:
//  - "nodes" (every machine): SSH from the admin CIDRs, and all traffic from members of this same group
//    (ZooKeeper 2181/2888/3888, Mesos 5050/5051, task ports) — nothing else from anywhere;
//  - "masters": Mesos 5050 and Marathon 8443 (HTTPS) from the admin CIDRs.
// ZooKeeper is therefore reachable only from cluster members, never from outside. SSH from a master to an agent
// (the step runner reaches agents through the first master as a jump host) is part of the intra-group rule.
// An admin rule takes its CIDR as cidrIpv4 or cidrIpv6 by family: EC2 refuses an IPv6 range in cidrIpv4
// (the same split as cidrBlocks / ipv6CidrBlocks on the older aws.ec2.SecurityGroupRule).
import type * as pulumi from "@pulumi/pulumi";
import { familyOf } from "../../config/cidrs";
import type { ClusterModel } from "../../model";
import { ADMIN_PORTS, resourceName } from "../../naming";
import { awsSdk } from "./sdk";

export interface AwsFirewall {
  nodesSgId: pulumi.Output<string>;
  mastersSgId: pulumi.Output<string>;
}

export function createFirewall(model: ClusterModel, vpcId: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): AwsFirewall {
  const ec2 = awsSdk.ec2();
  const vpc = awsSdk.vpc();
  const cluster = model.cluster.name;
  const tags = (what: string) => ({ Name: resourceName(cluster, what), "elastic-mesos-cluster": cluster });

  const nodes = new ec2.SecurityGroup(
    resourceName(cluster, "nodes-sg"),
    { vpcId, description: `elastic-mesos ${cluster}: every node`, tags: tags("nodes-sg") },
    opts,
  );
  const masters = new ec2.SecurityGroup(
    resourceName(cluster, "masters-sg"),
    { vpcId, description: `elastic-mesos ${cluster}: masters (Mesos, Marathon)`, tags: tags("masters-sg") },
    opts,
  );

  new vpc.SecurityGroupIngressRule(
    resourceName(cluster, "intra-cluster"),
    { securityGroupId: nodes.id, referencedSecurityGroupId: nodes.id, ipProtocol: "-1", description: "all traffic between cluster nodes" },
    opts,
  );
  new vpc.SecurityGroupEgressRule(
    resourceName(cluster, "egress"),
    { securityGroupId: nodes.id, cidrIpv4: "0.0.0.0/0", ipProtocol: "-1", description: "packages, images, registries" },
    opts,
  );
  model.adminCidrs.forEach((cidr, i) => {
    const rule = (sg: typeof nodes, port: number, what: string) =>
      new vpc.SecurityGroupIngressRule(
        resourceName(cluster, `admin-${what}-${i}`),
        {
          securityGroupId: sg.id,
          ...(familyOf(cidr) === "ipv6" ? { cidrIpv6: cidr } : { cidrIpv4: cidr }),
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          description: `${what} from admin CIDR ${cidr}`,
        },
        opts,
      );
    rule(nodes, ADMIN_PORTS.ssh, "ssh");
    rule(masters, ADMIN_PORTS.mesos, "mesos");
    rule(masters, ADMIN_PORTS.marathon, "marathon");
  });
  return { nodesSgId: nodes.id, mastersSgId: masters.id };
}
