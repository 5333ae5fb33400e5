// AWS agent pools as Auto Scaling groups (components/providers/aws/groups.ts) and the agents' NAT egress
// (network.ts), the whole program under mocks: the resource set of a 3-master, 2-pool cluster, every argument
// of the new resources against what the SDK (@pulumi/aws 7.48 .d.ts) and the AWS API references say, what a
// count change, a template change and a newer AMI do, and that no change ever replaces a master.
// What the mocks cannot show: that AWS accepts these (none of this has run against the real API). The watcher's
// script runs here against a stand-in metadata service; systemd-analyze checks its unit.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { parse, stringify } from "yaml";
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { runProgram, runProgramExpectingError, diffRuns, countByType, type RunResult } from "./harness";
import { isSecretInput, reveal } from "./mocks";
import { STACKS, type ConfigMap } from "./fixtures";
import { plainLeaks } from "./secrets";
import {
  AGENT_DRAIN_SECONDS, AGENT_WARMUP_SECONDS, TERMINATE_HOOK_SECONDS, TERMINATE_WATCH_UNIT, groupUserData,
  refreshPreferences, surgeOf, terminateWatchScript, terminateWatchUnit,
} from "../../components/providers/aws/groups";
import { AWS_IGNORED } from "../../components/providers/aws/machines";
import { LIB_PART, PARTS_DIR, awsUserData } from "../../provisioning/render/cloud-config";

const T = {
  group: "aws:autoscaling/group:Group",
  hook: "aws:autoscaling/lifecycleHook:LifecycleHook",
  template: "aws:ec2/launchTemplate:LaunchTemplate",
  instance: "aws:ec2/instance:Instance",
  nat: "aws:ec2/natGateway:NatGateway",
  eip: "aws:ec2/eip:Eip",
  subnet: "aws:ec2/subnet:Subnet",
  routeTable: "aws:ec2/routeTable:RouteTable",
  assoc: "aws:ec2/routeTableAssociation:RouteTableAssociation",
  igw: "aws:ec2/internetGateway:InternetGateway",
  reservation: "aws:ec2/subnetCidrReservation:SubnetCidrReservation",
  pin: "pulumi-nodejs:dynamic/elastic-mesos/cloud:MasterPin",
  ready: "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness",
};
const stack = (over: ConfigMap = {}, aws: Record<string, unknown> = {}): ConfigMap => ({
  ...STACKS.aws, ...over, aws: { ...(STACKS.aws.aws as object), ...aws },
});
const pools = (general = 3, gpu = 1, gpuAttributes: Record<string, string> = {}) => ({
  agentPools: [
    { name: "general", count: general, size: "m6i.xlarge" },
    { name: "gpu", count: gpu, size: "g5.xlarge", resources: { gpus: 1 }, attributes: gpuAttributes, diskGb: 200 },
  ],
});
const one = (r: RunResult, type: string, name: string) => {
  const x = r.resources.find((y) => y.type === type && y.name === name);
  if (!x) throw new Error(`no ${type} ${name}`);
  return x;
};
const of = (r: RunResult, type: string) => r.resources.filter((x) => x.type === type);
const urn = (type: string, name: string) =>
  `urn:pulumi:dev::elastic-mesos::elastic-mesos:index:Cluster$${type}::${name}`;
/** The agents' private subnets (NAT egress) and the public ones (masters; agents with public egress). */
const PRIVATE = ["prod-agents-0-id", "prod-agents-1-id", "prod-agents-2-id"];
const PUBLIC = ["prod-subnet-0-id", "prod-subnet-1-id", "prod-subnet-2-id"];
const exceptReadiness = (changed: { key: string; keys: string[] }[]) =>
  changed.filter((c) => !c.key.startsWith(T.ready));

/** A group's user-data as cloud-init reads it: gunzip'ed, its YAML document. */
function cloudConfigOf(userDataBase64: string): { text: string; doc: any } {
  const text = gunzipSync(Buffer.from(userDataBase64, "base64")).toString("utf8");
  return { text, doc: parse(text) };
}

/** What systemd runs for ExecStart=/bin/sh -c '<script>' (`$$` is a literal `$` there). */
function execStartScript(unit: string): string {
  const m = /^ExecStart=\/bin\/sh -c '([^']*)'$/m.exec(unit);
  if (!m) throw new Error(`no ExecStart=/bin/sh -c '...' in ${unit}`);
  return m[1].replace(/\$\$/g, "$");
}

describe("AWS groups: 3 masters, pools general×3 and gpu×1, default egress (NAT gateway per zone)", () => {
  let base: RunResult;
  beforeAll(async () => {
    base = await runProgram(stack(pools()));
  });

  it("registers exactly this resource set: master instances only, one template, group and hook per pool", () => {
    expect(countByType(base.resources)).toMatchObject({
      [T.group]: 2, [T.hook]: 2, [T.template]: 2,
      [T.instance]: 3, // the masters; no agent is an instance
      [T.nat]: 3, [T.eip]: 6, // 3 masters' + 3 NAT gateways'
      [T.subnet]: 6, [T.routeTable]: 4, [T.assoc]: 6, [T.igw]: 1, [T.reservation]: 3, [T.pin]: 3,
    });
    expect(of(base, T.instance).map((r) => r.name).sort()).toEqual(["prod-m1", "prod-m2", "prod-m3"]);
    expect(of(base, T.group).map((r) => r.name).sort()).toEqual(["prod-general-group", "prod-gpu-group"]);
    expect(of(base, T.template).map((r) => r.name).sort()).toEqual(["prod-general-template", "prod-gpu-template"]);
    expect(of(base, T.hook).map((r) => r.name).sort()).toEqual(["prod-general-drain-hook", "prod-gpu-drain-hook"]);
    // No SSH host resource for a group's agents (their machines are not known in advance).
    expect(base.resources.filter((r) => r.type.endsWith("baremetal:Host")).map((r) => r.name).sort())
      .toEqual(["prod-m1-bootstrap", "prod-m2-bootstrap", "prod-m3-bootstrap"]);
    expect(Object.values(base.outputs.agents).flat()).toEqual([]);
  });

  it("template: the pool's type, image, key, the nodes group, IMDSv2 only, an encrypted gp3 root of diskGb", () => {
    for (const [pool, type, disk] of [["general", "m6i.xlarge", 100], ["gpu", "g5.xlarge", 200]] as const) {
      const lt = one(base, T.template, `prod-${pool}-template`).inputs;
      expect(lt).toMatchObject({
        imageId: "ami-0mock",
        instanceType: type,
        keyName: "prod-key-key",
        vpcSecurityGroupIds: ["prod-nodes-sg-id"],
        // LaunchTemplateMetadataOptions: httpTokens "required" is IMDSv2 only; hop limit 1 keeps containers out.
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
        // The AMI's own root device name (getAmi rootDeviceName); LaunchTemplateBlockDeviceMappingEbs takes
        // encrypted and deleteOnTermination as strings.
        blockDeviceMappings: [{
          deviceName: "/dev/xvda",
          ebs: { volumeSize: disk, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
        }],
        updateDefaultVersion: true,
      });
      const tags = { Name: `prod-${pool}`, "elastic-mesos-cluster": "prod", "elastic-mesos-role": "agent",
        "elastic-mesos-pool": pool };
      expect(lt.tags).toEqual(tags);
      expect(lt.tagSpecifications).toEqual([{ resourceType: "instance", tags }, { resourceType: "volume", tags }]);
      // Not the masters' group: no Mesos or Marathon port from the admin networks on an agent.
      expect(lt.vpcSecurityGroupIds).not.toContain("prod-masters-sg-id");
    }
  });

  it("template user-data: the pool's secret gzip'ed cloud-config plus the terminate watcher, under 16 KB", () => {
    const texts: string[] = [];
    for (const pool of ["general", "gpu"]) {
      const ud = one(base, T.template, `prod-${pool}-template`).inputs.userData;
      expect(isSecretInput(ud)).toBe(true);
      const { text, doc } = cloudConfigOf(reveal(ud));
      expect(text).toMatch(/^#cloud-config\n/);
      // The watcher: its unit among the files, enabled and started first (before the first-boot unit's run).
      const unit = doc.write_files.find((f: any) => f.path === `/etc/systemd/system/${TERMINATE_WATCH_UNIT}`);
      expect(unit.content).toBe(terminateWatchUnit());
      expect(doc.runcmd[0]).toBe(`systemctl enable --now ${TERMINATE_WATCH_UNIT}`);
      // The rest is the pool's rendering: its step bundle and first-boot unit, its derived host key.
      // AWS's form: the pieces as plain files (the library once, each step's head and body), the whole gzip'ed.
      const paths: string[] = doc.write_files.map((f: any) => f.path);
      expect(paths.filter((p) => p.startsWith(`${PARTS_DIR}/`))).toEqual([`${PARTS_DIR}/${LIB_PART}`,
        ...["1-firewall", "2-install", "3-zookeeper", "4-mesos"].flatMap((s) => [`${PARTS_DIR}/${s}.sh.head`, `${PARTS_DIR}/${s}.sh.body`])]);
      expect(paths.filter((p) => !p.startsWith(`${PARTS_DIR}/`))).toEqual([
        "/etc/systemd/system/elastic-mesos-firstboot.service", `/etc/systemd/system/${TERMINATE_WATCH_UNIT}`]);
      expect(doc.runcmd).toHaveLength(2);
      expect(Object.keys(doc.ssh_keys)).toEqual(["ecdsa_private"]);
      // EC2 takes 16 KB of user-data before base64 (RequestLaunchTemplateData.UserData), else refuses the template.
      const size = Buffer.from(reveal(ud), "base64").length;
      const head = text.split("\n").filter((l) => l.startsWith("#")).join("\n");
      const without = stringify({ ...doc, write_files: doc.write_files.slice(0, -1), runcmd: doc.runcmd.slice(1) },
        { lineWidth: 0 });
      const own = size - Buffer.from(awsUserData(`${head}\n${without}`), "base64").length;
      expect(size, `${pool}: ${size} bytes gzip'ed, of which the watcher about ${own}`).toBeLessThan(16 * 1024);
      texts.push(text);
    }
    // Each pool boots from its own rendering (its template node `<pool>-group`).
    expect(texts[0]).not.toEqual(texts[1]);
    expect(plainLeaks(base.resources)).toEqual([]);
  });

  it("group: the zones' private subnets, desired = min = max = count, the template's version, EC2 health", () => {
    for (const [pool, count] of [["general", 3], ["gpu", 1]] as const) {
      const g = one(base, T.group, `prod-${pool}-group`);
      expect(g.inputs).toMatchObject({
        vpcZoneIdentifiers: PRIVATE,
        desiredCapacity: count,
        minSize: count,
        maxSize: count,
        // A version number, not "$Latest": only a changed version starts an instance refresh.
        launchTemplate: { id: `prod-${pool}-template-id`, version: expect.stringMatching(/^\d+$/) },
        healthCheckType: "EC2",
        defaultInstanceWarmup: AGENT_WARMUP_SECONDS,
        tags: expect.arrayContaining([{ key: "elastic-mesos-pool", value: pool, propagateAtLaunch: false }]),
      });
      expect(g.inputs.availabilityZones).toBeUndefined(); // conflicts with vpcZoneIdentifiers
      expect(g.inputs.launchConfiguration).toBeUndefined();
      // maxUnavailable 1 (default): 3 agents keep ceil(66% of 3) = 2 in service; 1 agent keeps 0.
      expect(g.inputs.instanceRefresh).toEqual({
        strategy: "Rolling",
        preferences: { minHealthyPercentage: count === 3 ? 66 : 0, maxHealthyPercentage: 100, skipMatching: true },
        triggers: ["vpc_zone_identifier"],
      });
      expect(g.ignoreChanges).toEqual([]);
      // Deleting the group waits for every instance's drain hook (the provider's default is 10 minutes).
      expect(g.customTimeouts?.delete).toBe(`${Math.ceil(TERMINATE_HOOK_SECONDS / 60) + 10}m`);
      // The masters' address reservations exist before any agent launches.
      for (const m of ["m1", "m2", "m3"]) expect(g.dependencies).toContain(urn(T.reservation, `prod-${m}-private-ip`));
    }
  });

  it("terminate hook: EC2_INSTANCE_TERMINATING, heartbeat = the drain's bound + margin, CONTINUE, deletedWith", () => {
    for (const pool of ["general", "gpu"]) {
      const h = one(base, T.hook, `prod-${pool}-drain-hook`);
      expect(h.inputs).toEqual({
        autoscalingGroupName: `prod-${pool}-group-asg`,
        lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
        heartbeatTimeout: TERMINATE_HOOK_SECONDS,
        defaultResult: "CONTINUE",
      });
      expect(h.deletedWith).toBe(urn(T.group, `prod-${pool}-group`));
    }
    // PutLifecycleHook: HeartbeatTimeout 30 to 7200 s; the agent's own drain fits inside with room for the rest.
    expect(TERMINATE_HOOK_SECONDS).toBeGreaterThanOrEqual(30);
    expect(TERMINATE_HOOK_SECONDS).toBeLessThanOrEqual(7200);
    expect(TERMINATE_HOOK_SECONDS).toBeGreaterThanOrEqual(AGENT_DRAIN_SECONDS + 60);
  });

  it("NAT per zone: an Elastic IP and a gateway in each public subnet, each zone's agents routed through it", () => {
    const zones = [0, 1, 2];
    for (const i of zones) {
      expect(one(base, T.eip, `prod-nat-eip-${i}`).inputs).toMatchObject({ domain: "vpc" });
      const nat = one(base, T.nat, `prod-nat-${i}`);
      expect(nat.inputs).toMatchObject({ allocationId: `eipalloc-prod-nat-eip-${i}`, subnetId: PUBLIC[i],
        connectivityType: "public" });
      expect(nat.dependencies).toContain(urn(T.igw, "prod-igw"));
      expect(one(base, T.subnet, `prod-agents-${i}`).inputs).toMatchObject({
        vpcId: "prod-vpc-id", cidrBlock: `10.20.${3 + i}.0/24`, availabilityZone: `eu-west-1${"abc"[i]}`,
        mapPublicIpOnLaunch: false,
      });
      expect(one(base, T.routeTable, `prod-agents-rt-${i}`).inputs.routes)
        .toEqual([{ cidrBlock: "0.0.0.0/0", natGatewayId: `prod-nat-${i}-id` }]);
      expect(one(base, T.assoc, `prod-agents-rta-${i}`).inputs)
        .toEqual({ subnetId: PRIVATE[i], routeTableId: `prod-agents-rt-${i}-id` });
    }
    // The masters' public subnets and their internet route are as before.
    expect(one(base, T.subnet, "prod-subnet-0").inputs)
      .toMatchObject({ cidrBlock: "10.20.0.0/24", mapPublicIpOnLaunch: true });
    expect(one(base, T.routeTable, "prod-rt").inputs.routes)
      .toEqual([{ cidrBlock: "0.0.0.0/0", gatewayId: "prod-igw-id" }]);
  });

  it("masters stay individual instances exactly as before: planned addresses, Elastic IPs, pins, reservations", () => {
    const m = (n: string) => one(base, T.instance, n).inputs;
    expect(["prod-m1", "prod-m2", "prod-m3"].map((n) => m(n).privateIp))
      .toEqual(["10.20.0.11", "10.20.1.12", "10.20.2.13"]);
    expect(m("prod-m2").subnetId).toBe("prod-subnet-1-id");
    for (const n of ["prod-m1", "prod-m2", "prod-m3"]) {
      expect(one(base, T.instance, n).ignoreChanges).toEqual(AWS_IGNORED);
      expect(one(base, T.instance, n).dependencies).toContain(urn(T.pin, `${n}-pin`));
    }
  });

  it("a pool's count raised changes only its group's size (and refresh percentage, in place), no refresh", async () => {
    const grown = await runProgram(stack(pools(5)));
    const d = diffRuns(base, grown);
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    // A count maxUnavailable (1) is a percentage of the group's size: 3 agents 66%, 5 agents 80%.
    expect(exceptReadiness(d.changed)).toEqual([
      { key: `${T.group}::prod-general-group`, keys: ["desiredCapacity", "instanceRefresh", "maxSize", "minSize"] },
    ]);
    const g = one(grown, T.group, "prod-general-group").inputs;
    expect([g.desiredCapacity, g.minSize, g.maxSize, g.instanceRefresh.preferences.minHealthyPercentage])
      .toEqual([5, 5, 5, 80]);
    // The template is untouched: no new version, so the provider starts no instance refresh (launchTemplate unchanged).
    expect(g.launchTemplate).toEqual(one(base, T.group, "prod-general-group").inputs.launchTemplate);
  });

  it("with a percentage maxUnavailable a count change is the group's size alone", async () => {
    const pct = { rollout: { maxUnavailable: "25%" } };
    const [a, b] = [await runProgram(stack({ ...pools(3), ...pct })), await runProgram(stack({ ...pools(8), ...pct }))];
    expect(exceptReadiness(diffRuns(a, b).changed))
      .toEqual([{ key: `${T.group}::prod-general-group`, keys: ["desiredCapacity", "maxSize", "minSize"] }]);
    expect(one(b, T.group, "prod-general-group").inputs.instanceRefresh.preferences.minHealthyPercentage).toBe(75);
  });

  it("lowering a pool's count to 0 keeps the group (desired 0): its agents leave through the drain hook", async () => {
    const none = await runProgram(stack(pools(3, 0)));
    const d = diffRuns(base, none);
    expect([d.added, d.removed]).toEqual([[], []]);
    const g = one(none, T.group, "prod-gpu-group").inputs;
    expect([g.desiredCapacity, g.minSize, g.maxSize]).toEqual([0, 0, 0]);
  });

  it("a pool attribute change rolls only that pool: a new template version, its group's launchTemplate", async () => {
    const changed = await runProgram(stack(pools(3, 1, { rack: "r2" })));
    const d = diffRuns(base, changed);
    expect([d.added, d.removed]).toEqual([[], []]);
    expect(exceptReadiness(d.changed)).toEqual([
      { key: `${T.template}::prod-gpu-template`, keys: ["userData"] },
      { key: `${T.group}::prod-gpu-group`, keys: ["launchTemplate"] },
    ]);
    expect(one(changed, T.group, "prod-gpu-group").inputs.launchTemplate.version)
      .not.toBe(one(base, T.group, "prod-gpu-group").inputs.launchTemplate.version);
  });

  it("a pool's instance type change rolls only that pool", async () => {
    const [general, gpu] = pools().agentPools;
    const resized = await runProgram(stack({ agentPools: [{ ...general, size: "m6i.2xlarge" }, gpu] }));
    expect(exceptReadiness(diffRuns(base, resized).changed)).toEqual([
      { key: `${T.template}::prod-general-template`, keys: ["instanceType"] },
      { key: `${T.group}::prod-general-group`, keys: ["launchTemplate"] },
    ]);
  });

  it("a Mesos version bump rolls both pools; masters see only ignored user-data, nothing replaced", async () => {
    const bumped = await runProgram(stack({ ...pools(), versions: { mesos: "1.11.0-0.9.1" } }));
    const d = diffRuns(base, bumped);
    expect([d.added, d.removed]).toEqual([[], []]);
    const keys = Object.fromEntries(d.changed.map((c) => [c.key, c.keys]));
    for (const pool of ["general", "gpu"]) {
      expect(keys[`${T.template}::prod-${pool}-template`]).toEqual(["userData"]);
      expect(keys[`${T.group}::prod-${pool}-group`]).toEqual(["launchTemplate"]);
    }
    for (const m of ["m1", "m2", "m3"]) {
      expect(keys[`${T.instance}::prod-${m}`]).toEqual(["userDataBase64"]);
      expect(AWS_IGNORED).toContain("userDataBase64");
      expect(keys[`${T.pin}::prod-${m}-pin`]).toBeUndefined();
    }
  });

  it("a newer AMI from the publisher rolls every pool; the masters ignore it", async () => {
    const newer = await runProgram(stack(pools()), { amiId: "ami-0newer" });
    const d = diffRuns(base, newer);
    expect([d.added, d.removed]).toEqual([[], []]);
    const keys = Object.fromEntries(d.changed.map((c) => [c.key, c.keys]));
    for (const pool of ["general", "gpu"]) expect(keys[`${T.template}::prod-${pool}-template`]).toEqual(["imageId"]);
    for (const m of ["m1", "m2", "m3"]) expect(keys[`${T.instance}::prod-${m}`]).toEqual(["ami"]);
    expect(AWS_IGNORED).toContain("ami");
  });
});

describe("AWS agents' egress", () => {
  it("nat-single: one NAT gateway in the first zone, every zone's agents routed through it", async () => {
    const r = await runProgram(stack(pools(), { agentEgress: "nat-single" }));
    expect(of(r, T.nat).map((x) => [x.name, x.inputs.subnetId])).toEqual([["prod-nat-0", "prod-subnet-0-id"]]);
    expect(of(r, T.eip)).toHaveLength(4);
    for (const i of [0, 1, 2])
      expect(one(r, T.routeTable, `prod-agents-rt-${i}`).inputs.routes)
        .toEqual([{ cidrBlock: "0.0.0.0/0", natGatewayId: "prod-nat-0-id" }]);
    expect(one(r, T.group, "prod-general-group").inputs.vpcZoneIdentifiers).toEqual(PRIVATE);
  });

  it("a running cluster switched to NAT egress: only the groups' subnets change, which rolls them", async () => {
    const [pub, nat] = [await runProgram(stack(pools(), { agentEgress: "public" })), await runProgram(stack(pools()))];
    const d = diffRuns(pub, nat);
    expect(d.removed).toEqual([]);
    expect(d.added.every((k) => /::prod-(nat|agents)-/.test(k)), d.added.join(" ")).toBe(true);
    expect(exceptReadiness(d.changed)).toEqual(["general", "gpu"].map((p) =>
      ({ key: `${T.group}::prod-${p}-group`, keys: ["vpcZoneIdentifiers"] })));
    // terraform-provider-aws starts a refresh when a listed trigger attribute changes (d.HasChanges(triggers...)).
    expect(one(nat, T.group, "prod-general-group").inputs.instanceRefresh.triggers).toEqual(["vpc_zone_identifier"]);
  });

  it("public: no NAT, no private subnet; the groups launch into the public subnets", async () => {
    const r = await runProgram(stack(pools(), { agentEgress: "public" }));
    expect(of(r, T.nat)).toEqual([]);
    expect(of(r, T.subnet).map((x) => x.name).sort()).toEqual(["prod-subnet-0", "prod-subnet-1", "prod-subnet-2"]);
    expect(one(r, T.group, "prod-gpu-group").inputs.vpcZoneIdentifiers).toEqual(PUBLIC);
  });

  it("an existing VPC: public by default (its own routing), NAT refused before anything is registered", async () => {
    const vpcId = "vpc-0123456789abcdef0";
    const r = await runProgram(stack(pools(), { vpcId }));
    expect(of(r, T.nat)).toEqual([]);
    expect(one(r, T.group, "prod-general-group").inputs.vpcZoneIdentifiers).toEqual(PUBLIC);
    for (const agentEgress of ["nat-per-zone", "nat-single"]) {
      const { error, resources } = await runProgramExpectingError(stack(pools(), { vpcId, agentEgress }));
      expect(error?.name).toBe("ConfigError");
      expect(error.message).toContain("aws.agentEgress");
      expect(error.message).toContain("with aws.vpcId the VPC's own routing carries the agents' traffic");
      expect(resources).toEqual([]);
    }
    const { error } = await runProgramExpectingError(stack(pools(), { agentEgress: "nat" }));
    expect(error.message).toContain("use one of nat-per-zone, nat-single, public");
  });

  it("a cluster network with no room for a private subnet per zone is refused before any AWS resource", async () => {
    const zones = "abcdefghi".split("").map((z) => `eu-west-1${z}`); // 9 public + 9 private /24s: a /20 holds 16
    const small = { ...pools(), network: { cidr: "10.20.0.0/20" } };
    const { error, resources } = await runProgramExpectingError(stack(small, { zones }));
    expect(String(error?.message))
      .toContain("aws.agentEgress nat-per-zone: network.cidr 10.20.0.0/20 has no room for a private /24 per zone");
    expect(resources.filter((r) => r.type.startsWith("aws:") || r.type.includes("MasterPin"))).toEqual([]);
    // The same network with public agents is fine.
    const ok = await runProgram(stack(small, { zones, agentEgress: "public" }));
    expect(of(ok, T.group)).toHaveLength(2);
  });
});

describe("refreshPreferences: rollout.maxUnavailable as AWS's minimum healthy percentage", () => {
  it("percentages map directly", () => {
    expect(refreshPreferences("25%", 8)).toEqual({ minHealthyPercentage: 75, maxHealthyPercentage: 100 });
    expect(refreshPreferences("100%", 8)).toEqual({ minHealthyPercentage: 0, maxHealthyPercentage: 100 });
  });

  it("a count: never more than N out at once, always some progress (AWS rounds the healthy count up)", () => {
    for (let desired = 1; desired <= 400; desired++)
      for (const n of [1, 2, 3, 5, 10, 1000]) {
        const p = refreshPreferences(n, desired);
        expect(p.minHealthyPercentage).toBeGreaterThanOrEqual(0);
        expect(p.minHealthyPercentage).toBeLessThanOrEqual(100);
        expect(p.maxHealthyPercentage).toBeGreaterThanOrEqual(100);
        expect(p.maxHealthyPercentage).toBeLessThanOrEqual(200);
        expect(p.maxHealthyPercentage - p.minHealthyPercentage).toBeLessThanOrEqual(100);
        const healthy = Math.ceil((p.minHealthyPercentage * desired) / 100);
        expect(desired - healthy).toBeLessThanOrEqual(n);
        // Progress: either some may go out, or the refresh may launch some first (and max size allows them).
        expect(desired - healthy > 0 || surgeOf(p, desired) > 0).toBe(true);
      }
    expect(refreshPreferences(1, 3)).toEqual({ minHealthyPercentage: 66, maxHealthyPercentage: 100 });
    expect(refreshPreferences(1, 150)).toEqual({ minHealthyPercentage: 99, maxHealthyPercentage: 100 });
    // 250 agents, one at a time: 99% would let 3 go (ceil(247.5) = 248), 100% none: launch first instead.
    expect(refreshPreferences(1, 250)).toEqual({ minHealthyPercentage: 100, maxHealthyPercentage: 101 });
    expect(surgeOf(refreshPreferences(1, 250), 250)).toBe(3);
    expect(refreshPreferences(1, 0)).toEqual({ minHealthyPercentage: 0, maxHealthyPercentage: 100 });
    expect(refreshPreferences(2, 2)).toEqual({ minHealthyPercentage: 0, maxHealthyPercentage: 100 });
  });
});

describe("the terminate watcher, run with a stand-in instance metadata service", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "em-asg-watch-"));
    // curl: answers the IMDSv2 token PUT, then the target lifecycle state only with that token (as IMDSv2 does).
    writeFileSync(join(dir, "curl"), `#!/bin/bash
a="$*"
if [[ $a == *"-XPUT"* && $a == *"/latest/api/token"* && $a == *"X-aws-ec2-metadata-token-ttl-seconds: 300"* ]]; then
  [ -f "$DIR/no-token" ] && exit 22; echo -n tok-42; exit 0; fi
if [[ $a == *"/latest/meta-data/autoscaling/target-lifecycle-state"* ]]; then
  [[ $a == *"X-aws-ec2-metadata-token: tok-42"* ]] || exit 22
  cat "$DIR/state"; exit 0; fi
exit 22
`);
    writeFileSync(join(dir, "systemctl"), `#!/bin/bash\necho "$*" >> "$DIR/systemctl.log"\n`);
    writeFileSync(join(dir, "sleep"), `#!/bin/bash\necho "sleep $*" >> "$DIR/sleep.log"\nexec /bin/sleep 0.05\n`);
    for (const f of ["curl", "systemctl", "sleep"]) chmodSync(join(dir, f), 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (state: string, noToken = false) => {
    writeFileSync(join(dir, "state"), state);
    rmSync(join(dir, "systemctl.log"), { force: true });
    rmSync(join(dir, "no-token"), { force: true });
    if (noToken) writeFileSync(join(dir, "no-token"), "");
    const r = spawnSync("sh", ["-c", terminateWatchScript()], {
      env: { PATH: `${dir}:/usr/bin:/bin`, DIR: dir }, timeout: 1500, encoding: "utf8",
    });
    let log = "";
    try { log = readFileSync(join(dir, "systemctl.log"), "utf8"); } catch { /* none */ }
    return { r, log };
  };

  it("powers off as soon as Auto Scaling's target state is Terminated", () => {
    const { r, log } = run("Terminated");
    expect(log).toBe("poweroff\n");
    expect(r.status).toBe(0);
  });

  it("keeps polling (and never powers off) while the state is InService, Standby, or no token is given", () => {
    for (const [state, noToken] of [["InService", false], ["Standby", false], ["Terminated", true]] as const) {
      const { r, log } = run(state, noToken);
      expect(log).toBe("");
      expect(r.signal).toBe("SIGTERM"); // still looping when the test's timeout stopped it
    }
    expect(readFileSync(join(dir, "sleep.log"), "utf8")).toContain("sleep 5\n");
  });

  it("the unit runs that script under sh, systemd accepts it; the user-data keeps the pool's document", () => {
    const unit = terminateWatchUnit();
    expect(execStartScript(unit)).toBe(terminateWatchScript());
    expect(unit).toContain("\nRestart=always\n");
    expect(unit).toContain("\n[Install]\nWantedBy=multi-user.target\n");
    const file = join(dir, TERMINATE_WATCH_UNIT);
    writeFileSync(file, unit);
    const verify = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
    expect(verify.error, "systemd-analyze (systemd) is needed for this test").toBeUndefined();
    expect(`${verify.stdout}${verify.stderr}`).toBe("");
    expect(verify.status).toBe(0);
    // Added to any pool document without changing the rest (comment lines, keys, their order).
    const pool = "#cloud-config\n# a comment\nwrite_files:\n  - path: /a\n    content: x\n" +
      "runcmd:\n  - - bash\n    - -c\n    - echo hi\nssh_keys:\n  ecdsa_private: k\n";
    const { text, doc } = cloudConfigOf(groupUserData(pool));
    expect(text.startsWith("#cloud-config\n# a comment\nwrite_files:\n  - path: /a\n    content: x\n")).toBe(true);
    expect(doc).toEqual({
      write_files: [{ path: "/a", content: "x" },
        { path: `/etc/systemd/system/${TERMINATE_WATCH_UNIT}`, content: unit }],
      runcmd: [`systemctl enable --now ${TERMINATE_WATCH_UNIT}`, ["bash", "-c", "echo hi"]],
      ssh_keys: { ecdsa_private: "k" },
    });
  });
});
