// Every provider's stack runs end to end under mocks: the right machines, network and firewall for that
// cloud, masters with their planned addresses where the cloud can pin them, and the same outputs.
import { describe, it, expect } from "vitest";
import { runProgram, countByType, type RunResult } from "./harness";
import { fakeIp, isSecretInput, reveal } from "./mocks";
import { STACKS } from "./fixtures";

const of = (r: RunResult, type: string) => r.resources.filter((x) => x.type === type);
const names = (r: RunResult, type: string) => of(r, type).map((x) => x.name).sort();
const NODES = ["prod-general-1", "prod-general-2", "prod-general-3", "prod-gpu-1", "prod-m1", "prod-m2", "prod-m3"];

function commonOutputs(r: RunResult, masters: number) {
  expect(r.outputs.masters).toHaveLength(masters);
  expect(r.outputs.zookeeper).toMatch(new RegExp(`^zk://(\\d+\\.\\d+\\.\\d+\\.\\d+:2181,?){${masters}}/mesos$`));
  expect(r.secretOutputs).toEqual(["adminPassword"]);
}

describe("gcp", () => {
  it("VPC, subnetworks (zones, agents), tag-based admin firewalls, masters with networkIp, pools as groups",
    async () => {
    const r = await runProgram(STACKS.gcp);
    expect(countByType(r.resources)).toMatchObject({
      "gcp:compute/network:Network": 1,
      "gcp:compute/subnetwork:Subnetwork": 4, // one per zone, and the agent groups' (gcp-groups.test.ts)
      "gcp:compute/firewall:Firewall": 4, // and Google's health checkers to the agents' port
      "gcp:compute/instance:Instance": 3, // the masters: the pools are regional managed instance groups
      "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": 2,
      "gcp:compute/address:Address": 6, // per master: its external address and its internal one
      "pulumi-nodejs:dynamic/elastic-mesos/cloud:MasterPin": 3,
      "pulumi:providers:gcp": 1,
      "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness": 1,
    });
    expect(names(r, "gcp:compute/instance:Instance")).toEqual(NODES.filter((n) => /-m\d$/.test(n)));
    const fw = Object.fromEntries(of(r, "gcp:compute/firewall:Firewall").map((f) => [f.name, f.inputs]));
    expect(fw["prod-admin-ssh"].sourceRanges).toEqual(["203.0.113.0/24"]);
    expect(fw["prod-admin-ui"]).toMatchObject({ sourceRanges: ["203.0.113.0/24"], targetTags: ["elastic-mesos-prod-master"] });
    expect(fw["prod-intra-cluster"].sourceRanges).toBeUndefined();
    expect(fw["prod-intra-cluster"].sourceTags).toEqual(["elastic-mesos-prod"]);
    const m2 = of(r, "gcp:compute/instance:Instance").find((i) => i.name === "prod-m2")!.inputs;
    expect(m2.networkInterfaces[0]).toMatchObject({ networkIp: "10.20.1.12", subnetwork: "prod-subnet-1-id" });
    expect(m2.zone).toBe("europe-west1-c");
    expect(m2.bootDisk.initializeParams.image).toBe("debian-cloud/debian-12");
    // Each master's planned address is a static INTERNAL address of its subnetwork, and its instance takes it.
    const internal = of(r, "gcp:compute/address:Address").filter((x) => x.inputs.addressType === "INTERNAL");
    expect(internal.map((x) => [x.name, x.inputs.address, x.inputs.subnetwork]).sort()).toEqual([
      ["prod-m1-internal-ip", "10.20.0.11", "prod-subnet-0-id"],
      ["prod-m2-internal-ip", "10.20.1.12", "prod-subnet-1-id"],
      ["prod-m3-internal-ip", "10.20.2.13", "prod-subnet-2-id"],
    ]);
    // The provider serialises the metadata map as one value: the bootstrap makes the whole map secret. It is the
    // guest agent's startup script (every GCE image runs it) once the program renders GCP's as one.
    expect(isSecretInput(m2.metadata)).toBe(true);
    const md = reveal(m2.metadata);
    expect(md["startup-script"] ?? md["user-data"])
      .toMatch(md["startup-script"] ? /^#!\/bin\/bash\n/ : /^#cloud-config/);
    commonOutputs(r, 3);
  });
});

describe("digitalocean", () => {
  it("VPC over network.cidr, tags, admin-only cloud firewalls, master droplets bootstrapped over SSH, one autoscale pool per agent pool", async () => {
    const r = await runProgram(STACKS.digitalocean);
    expect(countByType(r.resources)).toMatchObject({
      "digitalocean:index/vpc:Vpc": 1,
      "digitalocean:index/sshKey:SshKey": 1,
      "digitalocean:index/tag:Tag": 5,
      "digitalocean:index/firewall:Firewall": 2,
      "digitalocean:index/droplet:Droplet": 3,
      "digitalocean:index/dropletAutoscale:DropletAutoscale": 2,
      "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host": 3,
      "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness": 1,
    });
    expect(of(r, "digitalocean:index/vpc:Vpc")[0].inputs).toMatchObject({ ipRange: "10.20.0.0/16", region: "ams3" });
    const fw = Object.fromEntries(of(r, "digitalocean:index/firewall:Firewall").map((f) => [f.name, f.inputs]));
    const inbound = [...fw["prod-nodes-fw"].inboundRules, ...fw["prod-masters-fw"].inboundRules];
    for (const rule of inbound) {
      if (rule.sourceAddresses) expect(rule.sourceAddresses).toEqual(["203.0.113.0/24"]);
      else expect(rule.sourceTags).toEqual(["elastic-mesos-prod"]);
    }
    const m1 = of(r, "digitalocean:index/droplet:Droplet").find((d) => d.name === "prod-m1")!.inputs;
    expect(m1).toMatchObject({ vpcUuid: "prod-vpc-id", sshKeys: ["fp:prod-key"], image: "debian-12-x64" });
    expect(m1.tags).toEqual(["elastic-mesos-prod", "elastic-mesos-prod-master"]);
    expect(m1.userData).toBeUndefined();
    commonOutputs(r, 3);
  });
});

describe("openstack", () => {
  it("network, subnet, router to the external network, security groups, master ports with fixed IPs and floating IPs", async () => {
    const r = await runProgram(STACKS.openstack);
    expect(countByType(r.resources)).toMatchObject({
      "openstack:networking/network:Network": 1,
      "openstack:networking/subnet:Subnet": 1,
      "openstack:networking/router:Router": 1,
      "openstack:networking/routerInterface:RouterInterface": 1,
      "openstack:networking/secGroup:SecGroup": 2,
      "openstack:networking/secGroupRule:SecGroupRule": 6,
      "openstack:networking/port:Port": 7,
      "openstack:networking/floatingIp:FloatingIp": 3,
      "openstack:networking/floatingIpAssociate:FloatingIpAssociate": 3,
      "openstack:compute/keypair:Keypair": 1,
      "openstack:compute/instance:Instance": 7,
      "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness": 1,
    });
    expect(of(r, "openstack:networking/router:Router")[0].inputs.externalNetworkId).toBe("ext-net-id");
    const port = (n: string) => of(r, "openstack:networking/port:Port").find((p) => p.name === `${n}-port`)!.inputs;
    expect(port("prod-m3").fixedIps).toEqual([{ subnetId: "prod-subnet-0-id", ipAddress: "10.20.0.13" }]);
    expect(port("prod-general-1").fixedIps[0].ipAddress).toBeUndefined();
    // DHCP (the agents' ports) never hands out the masters' planned addresses .11-.15, nor the gateway.
    expect(of(r, "openstack:networking/subnet:Subnet")[0].inputs.allocationPools).toEqual([
      { start: "10.20.0.2", end: "10.20.0.10" }, { start: "10.20.0.16", end: "10.20.0.254" },
    ]);
    const rules = of(r, "openstack:networking/secGroupRule:SecGroupRule").map((x) => x.inputs);
    for (const rule of rules) expect(rule.remoteIpPrefix === "203.0.113.0/24" || rule.remoteGroupId === "prod-nodes-sg-id").toBe(true);
    expect(r.outputs.zookeeper).toBe("zk://10.20.0.11:2181,10.20.0.12:2181,10.20.0.13:2181/mesos");
    commonOutputs(r, 3);
  });
});

describe("baremetal and local", () => {
  it("baremetal: one host record and one SSH bootstrap per configured host, a readiness, no cloud resources", async () => {
    const r = await runProgram(STACKS.baremetal);
    expect(countByType(r.resources)).toEqual({
      "pulumi-nodejs:dynamic/elastic-mesos/cluster:Masters": 1, // the masters pin, first of all (membership/pin.ts)
      "elastic-mesos:baremetal:Host": 5,
      "elastic-mesos:index:Cluster": 1,
      "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host": 5,
      "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness": 1,
      "pulumi:pulumi:Stack": 1,
    });
    expect(r.outputs.masters.map((m: any) => m.privateIp)).toEqual(["10.77.0.11", "10.77.0.12", "10.77.0.13"]);
    expect(r.outputs.agents.general.map((a: any) => a.privateIp)).toEqual(["10.77.0.14", "10.77.0.15"]);
    expect(r.outputs.sshHints[0]).toBe("ssh admin@10.77.0.11");
    commonOutputs(r, 3);
  });

  it("local: an image, a network and one machine per node it creates, then the same SSH bootstrap", async () => {
    const r = await runProgram(STACKS.local);
    expect(countByType(r.resources)).toEqual({
      "pulumi-nodejs:dynamic/elastic-mesos/cluster:Masters": 1, // the masters pin, first of all (membership/pin.ts)
      "elastic-mesos:index:Cluster": 1,
      "pulumi-nodejs:dynamic/elastic-mesos/local:Image": 1,
      "pulumi-nodejs:dynamic/elastic-mesos/local:Network": 1,
      "pulumi-nodejs:dynamic/elastic-mesos/local:Machine": 3,
      "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host": 3,
      "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness": 1,
      "pulumi:pulumi:Stack": 1,
    });
    expect(names(r, "pulumi-nodejs:dynamic/elastic-mesos/local:Machine")).toEqual(["prod-general-1", "prod-general-2", "prod-m1"]);
    const m1 = fakeIp("10.77.0", "prod-m1");
    expect(r.outputs.zookeeper).toBe(`zk://${m1}:2181/mesos`);
    expect(r.outputs.agents.general.map((a: any) => a.privateIp)).toEqual(["prod-general-1", "prod-general-2"].map((n) => fakeIp("10.77.0", n)));
    commonOutputs(r, 1);
  });

  it("local: no private key in any input; machines accept its public half", async () => {
    const r = await runProgram(STACKS.local);
    const machines = of(r, "pulumi-nodejs:dynamic/elastic-mesos/local:Machine");
    for (const m of machines) {
      expect(reveal(m.inputs.authorizedKey)).toMatch(/^ssh-ed25519 AAAA/);
      expect(JSON.stringify(m.inputs)).not.toContain("PRIVATE KEY");
    }
  });
});
