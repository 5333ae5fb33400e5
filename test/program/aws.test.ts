// The whole program under mocks for an AWS stack: the exact resource set, the masters, and that the firewall
// and secrets are what we promise users. The agent pools (Auto Scaling groups), what a count or template change
// does to them and the agents' NAT egress: test/program/aws-groups.test.ts.
import { gunzipSync } from "node:zlib";
import { describe, it, expect, beforeAll } from "vitest";
import { runProgram, countByType, type RunResult } from "./harness";
import { isSecretInput, reveal } from "./mocks";
import { STACKS } from "./fixtures";
import { plainLeaks } from "./secrets";

const withPools = (general: number, gpu = 1) => ({
  ...STACKS.aws,
  agentPools: [
    { name: "general", count: general, size: "m6i.xlarge" },
    { name: "gpu", count: gpu, size: "g5.xlarge", resources: { gpus: 1 } },
  ],
});
const of = (r: RunResult, type: string) => r.resources.filter((x) => x.type === type);
const INSTANCE = "aws:ec2/instance:Instance";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";

describe("AWS: 3 masters, pools general×3 and gpu×1", () => {
  let base: RunResult;
  beforeAll(async () => {
    base = await runProgram(withPools(3));
  });

  it("registers exactly this resource set", () => {
    expect(countByType(base.resources)).toEqual({
      "pulumi-nodejs:dynamic/elastic-mesos/cluster:Masters": 1, // the masters pin, first of all (membership/pin.ts)
      "aws:autoscaling/group:Group": 2,
      "aws:autoscaling/lifecycleHook:LifecycleHook": 2,
      "aws:ec2/eip:Eip": 6, // 3 masters', 3 NAT gateways'
      "aws:ec2/eipAssociation:EipAssociation": 3,
      "aws:ec2/instance:Instance": 3, // the masters: agents are the pools' groups' machines
      "aws:ec2/internetGateway:InternetGateway": 1,
      "aws:ec2/keyPair:KeyPair": 1,
      "aws:ec2/launchTemplate:LaunchTemplate": 2,
      "aws:ec2/natGateway:NatGateway": 3,
      "aws:ec2/routeTable:RouteTable": 4,
      "aws:ec2/routeTableAssociation:RouteTableAssociation": 6,
      "aws:ec2/securityGroup:SecurityGroup": 2,
      "aws:ec2/subnet:Subnet": 6,
      "aws:ec2/subnetCidrReservation:SubnetCidrReservation": 3,
      "aws:ec2/vpc:Vpc": 1,
      "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": 1,
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 4,
      "elastic-mesos:index:Cluster": 1,
      "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host": 3,
      "pulumi-nodejs:dynamic/elastic-mesos/cloud:MasterPin": 3,
      "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness": 1,
      "pulumi:providers:aws": 1,
      "pulumi:pulumi:Stack": 1,
    });
    expect(of(base, INSTANCE).map((r) => r.name).sort()).toEqual(["prod-m1", "prod-m2", "prod-m3"]);
    expect(base.resources.find((r) => r.type === "pulumi:providers:aws")!.inputs.region).toBe("eu-west-1");
  });

  it("masters get planned private IPs in their zone's subnet; IMDSv2, encrypted disks, tags", () => {
    const m = (n: string) => of(base, INSTANCE).find((r) => r.name === n)!.inputs;
    expect([m("prod-m1").privateIp, m("prod-m2").privateIp, m("prod-m3").privateIp]).toEqual(["10.20.0.11", "10.20.1.12", "10.20.2.13"]);
    expect(m("prod-m2").subnetId).toBe("prod-subnet-1-id");
    // Each planned address is reserved (explicit: EC2 never assigns it by itself) in its master's subnet.
    const reserved = of(base, "aws:ec2/subnetCidrReservation:SubnetCidrReservation").map((x) => x.inputs);
    expect(reserved.map((x) => [x.cidrBlock, x.subnetId, x.reservationType]).sort()).toEqual([
      ["10.20.0.11/32", "prod-subnet-0-id", "explicit"],
      ["10.20.1.12/32", "prod-subnet-1-id", "explicit"],
      ["10.20.2.13/32", "prod-subnet-2-id", "explicit"],
    ]);
    for (const r of of(base, INSTANCE)) {
      expect(r.inputs.metadataOptions.httpTokens).toBe("required");
      expect(r.inputs.rootBlockDevice).toMatchObject({ encrypted: true, volumeType: "gp3" });
      expect(r.inputs.ami).toBe("ami-0mock");
      expect(r.inputs.instanceType).toBe("m6i.large");
      expect(r.inputs.tags).toMatchObject({ "elastic-mesos-cluster": "prod", "elastic-mesos-role": "master",
        "elastic-mesos-node": r.name.replace("prod-", "") });
    }
  });

  it("ingress: SSH/5050/8443 only from admin CIDRs, everything else only from the cluster's own group", () => {
    const rules = of(base, INGRESS).map((r) => r.inputs);
    const fromCidr = rules.filter((r) => r.cidrIpv4 !== undefined);
    expect(fromCidr.map((r) => [r.cidrIpv4, r.fromPort, r.toPort]).sort()).toEqual(
      [["203.0.113.0/24", 22, 22], ["203.0.113.0/24", 5050, 5050], ["203.0.113.0/24", 8443, 8443]].sort(),
    );
    const intra = rules.filter((r) => r.cidrIpv4 === undefined);
    expect(intra).toEqual([expect.objectContaining({ referencedSecurityGroupId: "prod-nodes-sg-id", securityGroupId: "prod-nodes-sg-id", ipProtocol: "-1" })]);
    // ZooKeeper ports are never opened to a CIDR.
    for (const r of fromCidr) for (const zk of [2181, 2888, 3888]) expect(zk >= r.fromPort && zk <= r.toPort).toBe(false);
    const m1 = of(base, INSTANCE).find((r) => r.name === "prod-m1")!.inputs;
    expect(m1.vpcSecurityGroupIds).toEqual(["prod-nodes-sg-id", "prod-masters-sg-id"]);
    // Agents: their pool's launch template, the nodes group only.
    for (const lt of of(base, "aws:ec2/launchTemplate:LaunchTemplate"))
      expect(lt.inputs.vpcSecurityGroupIds).toEqual(["prod-nodes-sg-id"]);
  });

  it("user-data is a secret gzip'ed cloud-config on every instance, and no input carries the cluster secret in plain text", () => {
    for (const r of of(base, INSTANCE)) {
      expect(r.inputs.userData).toBeUndefined();
      expect(isSecretInput(r.inputs.userDataBase64)).toBe(true);
      expect(gunzipSync(Buffer.from(reveal(r.inputs.userDataBase64), "base64")).toString()).toMatch(/^#cloud-config/);
    }
    const plain = JSON.stringify(base.resources.map((r) => ({ ...r.inputs, userDataBase64: undefined,
      userData: undefined })));
    expect(plain).not.toContain(STACKS.aws.clusterSecret as string);
    expect(plainLeaks(base.resources)).toEqual([]);
  });

  it("outputs: URLs, ZooKeeper string without credentials, masters, SSH hints; only the password is secret", () => {
    const o = base.outputs;
    // The first master's Elastic IP (test/program/leader-url.test.ts checks which one).
    expect(o.mesosUrl).toMatch(/^https:\/\/198\.18\.0\.\d+:5050$/);
    expect(o.marathonUrl).toMatch(/^https:\/\/198\.18\.0\.\d+:8443$/);
    expect(o.zookeeper).toBe("zk://10.20.0.11:2181,10.20.1.12:2181,10.20.2.13:2181/mesos");
    expect(o.masters.map((m: any) => m.id)).toEqual(["m1", "m2", "m3"]);
    // The pools' agents are their groups' machines: no address is known in advance.
    expect(Object.values(o.agents).flat()).toEqual([]);
    expect(o.sshHints).toHaveLength(3);
    expect(o.sshHints[0]).toMatch(/^ssh admin@198\.18\.0\.\d+$/);
    expect(o.adminUser).toBe("admin");
    expect(typeof o.adminPassword).toBe("string");
    expect(o.adminPassword.length).toBeGreaterThanOrEqual(16);
    expect(base.secretOutputs).toEqual(["adminPassword"]);
    expect(JSON.stringify({ ...o, adminPassword: undefined })).not.toContain(o.adminPassword);
  });
});
