// Day 2 on AWS, GCP and OpenStack, under mocks: the cloud never replaces, stops or rebuilds a running machine.
// - A change of user-data (a version bump, an agent attribute) or of image (a newer AMI, an image override) reaches
//   no instance: every input that differs between the two runs is one the instance tells the engine to ignore
//   (its ignoreChanges, as the registration request carries it), so the engine plans no change of any instance.
//   (The running hosts get the change over SSH instead: cloud-hosts.test.ts.)
// - A change the cloud would apply to a master by replacing or stopping it (masters.size, zones, network.cidr...)
//   is refused by the master's pin, which the instance depends on, with a message naming the config key.
// - Masters' planned addresses are reserved in their subnets before any instance is made.
import { beforeAll, describe, expect, it } from "vitest";
import { diffRuns, runProgram, stable, type RunResult } from "./harness";
import { isSecretInput, type Registered } from "./mocks";
import { SSH_PUB, STACKS, type ConfigMap } from "./fixtures";
import { execFileSync } from "node:child_process";
import { newKeyPair } from "../fixtures/ssh-server";
import { MasterPinProvider, type MasterPinInputs } from "../../provisioning/cloud/master-pin";
import { publicKeyFingerprint } from "../../components/providers/master-pin";

const CLOUDS = ["aws", "gcp", "openstack"] as const;
type Cloud = (typeof CLOUDS)[number];
const INSTANCE: Record<Cloud, string> = {
  aws: "aws:ec2/instance:Instance",
  gcp: "gcp:compute/instance:Instance",
  openstack: "openstack:compute/instance:Instance",
};
const PIN = "pulumi-nodejs:dynamic/elastic-mesos/cloud:MasterPin";
const NODES = ["prod-m1", "prod-m2", "prod-m3", "prod-general-1", "prod-general-2", "prod-general-3", "prod-gpu-1"];
/** The nodes that are instances: AWS and GCP run agent pools as groups (test/program/<cloud>-groups.test.ts). */
const MASTERS = ["prod-m1", "prod-m2", "prod-m3"];
const MACHINES: Record<Cloud, string[]> = { aws: MASTERS, gcp: MASTERS, openstack: NODES };
/** AWS: a day-2 change rolls each pool through a new launch template version (its group's launchTemplate). */
const GROUP_SIDE: Record<Cloud, string[]> = {
  aws: ["general", "gpu"].flatMap((p) => [`aws:ec2/launchTemplate:LaunchTemplate::prod-${p}-template`,
    `aws:autoscaling/group:Group::prod-${p}-group`]),
  // GCP: a new instance template per pool (immutable in GCE), its regional group's version.
  gcp: ["general", "gpu"].flatMap((p) => [`gcp:compute/instanceTemplate:InstanceTemplate::prod-${p}-template`,
    `gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager::prod-${p}-group`]),
  openstack: [],
};

/** Secrets unwrapped at any depth (the engine's ignoreChanges paths go through secrets too). */
function revealAll(v: any): any {
  if (isSecretInput(v)) return revealAll(v.value);
  if (Array.isArray(v)) return v.map(revealAll);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revealAll(x)]));
  return v;
}

/** The paths (as segment lists) of every leaf that differs between two input trees. */
function differingPaths(a: any, b: any, at: (string | number)[] = []): (string | number)[][] {
  const obj = (x: any) => x !== null && typeof x === "object" && !Array.isArray(x);
  if (obj(a) && obj(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((k) => differingPaths(a[k], b[k], [...at, k]));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.flatMap((x, i) => differingPaths(x, b[i], [...at, i]));
  }
  return stable(a) === stable(b) ? [] : [at];
}

/** A Pulumi property path (`metadata["user-data"]`, `bootDisk.initializeParams.image`, `a[0]`) as segments. */
function parsePath(p: string): (string | number)[] {
  return [...p.matchAll(/\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|([^.[\]]+)/g)].map((m) =>
    m[1] !== undefined ? m[1] : m[2] !== undefined ? Number(m[2]) : m[3]);
}

/** The changed inputs of `after` that its ignoreChanges does not cover (what the engine would plan to change). */
function uncovered(before: Registered, after: Registered): string[] {
  const ignored = (after.ignoreChanges ?? []).map(parsePath);
  const covered = (path: (string | number)[]) =>
    ignored.some((ig) => ig.length <= path.length && ig.every((seg, i) => seg === "*" || seg === path[i]));
  return differingPaths(revealAll(before.inputs), revealAll(after.inputs), [])
    .filter((p) => !covered(p)).map((p) => JSON.stringify(p));
}

const of = (r: RunResult, type: string) => r.resources.filter((x) => x.type === type);
const byName = (r: RunResult, type: string, name: string) => of(r, type).find((x) => x.name === name)!;
const dependsOn = (r: Registered, name: string) => r.dependencies.some((u) => u.endsWith(`::${name}`));

/** A change of every node's user-data (versions; an agent attribute) and, where the config sets it, of images. */
function day2(cloud: Cloud): ConfigMap {
  const base = STACKS[cloud] as any;
  const image = cloud === "aws" ? {} : { image: `${cloud}-custom-image-2` };
  return {
    ...base,
    versions: { zookeeper: "3.9.5", mesos: "1.11.0-0.9.1" },
    masters: { ...base.masters, ...image },
    agentPools: base.agentPools.map((p: any) => ({ ...p, ...image, attributes: { rack: "r2" } })),
  };
}

for (const cloud of CLOUDS) {
  describe(`${cloud}: user-data and image changes replace, stop or rebuild no machine`, () => {
    let base: RunResult;
    let changed: RunResult;
    beforeAll(async () => {
      base = await runProgram(STACKS[cloud]);
      // AWS: the AMI lookup (newest image) finds an image published since the first run.
      changed = await runProgram(day2(cloud), cloud === "aws" ? { amiId: "ami-0newer" } : {});
    });

    it("every changed input of every master and agent instance is one it ignores", () => {
      const instances = of(changed, INSTANCE[cloud]);
      expect(instances.map((i) => i.name).sort()).toEqual([...MACHINES[cloud]].sort());
      for (const after of instances) {
        const before = byName(base, INSTANCE[cloud], after.name);
        // The runs do differ for every machine (user-data, image): the check below is not vacuous.
        expect(differingPaths(revealAll(before.inputs), revealAll(after.inputs)).length, after.name).toBeGreaterThan(0);
        expect(uncovered(before, after), after.name).toEqual([]);
      }
    });

    it("what changed is the user-data and the image, nothing the instances must not ignore", () => {
      const changes = new Set(of(changed, INSTANCE[cloud]).flatMap((after) =>
        differingPaths(revealAll(byName(base, INSTANCE[cloud], after.name).inputs), revealAll(after.inputs))
          .map((p) => p.join("."))));
      const expected: Record<Cloud, string[]> = {
        aws: ["ami", "userDataBase64"],
        // The bootstrap's entry: the startup script (or a #cloud-config's user-data where one is rendered).
        gcp: ["bootDisk.initializeParams.image", `metadata.${cloud === "gcp" && "startup-script" in
          revealAll(byName(changed, INSTANCE.gcp, "prod-m1").inputs.metadata) ? "startup-script" : "user-data"}`],
        openstack: ["blockDevices.0.uuid", "userData"],
      };
      expect([...changes].sort()).toEqual(expected[cloud]);
    });

    it("pins, address reservations and networks are untouched by the change", () => {
      const d = diffRuns(base, changed);
      expect(d.added).toEqual([]);
      expect(d.removed).toEqual([]);
      const cloudSide = d.changed.filter((c) => !c.key.startsWith("pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host")
        && !c.key.startsWith("pulumi-nodejs:dynamic/elastic-mesos/health:Readiness"));
      expect(cloudSide.map((c) => c.key).sort())
        .toEqual([...MACHINES[cloud].map((n) => `${INSTANCE[cloud]}::${n}`), ...GROUP_SIDE[cloud]].sort());
    });

    it("each master's instance depends on its pin; the pins come before the network", () => {
      for (const m of ["m1", "m2", "m3"]) {
        expect(dependsOn(byName(base, INSTANCE[cloud], `prod-${m}`), `prod-${m}-pin`), m).toBe(true);
      }
      const order = base.resources.map((r) => r.type);
      const firstPin = order.indexOf(PIN);
      const firstNetwork = order.findIndex((t) => /[:/](vpc|network):(Vpc|Network)$/.test(t));
      expect(firstPin).toBeGreaterThanOrEqual(0);
      expect(firstNetwork).toBeGreaterThan(firstPin);
    });
  });
}

describe("the masters' planned addresses are reserved before any instance", () => {
  it("aws: an explicit /32 reservation per master in its zone's subnet; masters and groups wait for them", async () => {
    const r = await runProgram(STACKS.aws);
    const rsv = of(r, "aws:ec2/subnetCidrReservation:SubnetCidrReservation");
    expect(rsv.map((x) => x.name).sort()).toEqual(["prod-m1-private-ip", "prod-m2-private-ip", "prod-m3-private-ip"]);
    for (const name of MACHINES.aws)
      expect(dependsOn(byName(r, INSTANCE.aws, name), `${name}-private-ip`), name).toBe(true);
    for (const g of of(r, "aws:autoscaling/group:Group"))
      for (const w of rsv) expect(dependsOn(g, w.name), `${g.name} after ${w.name}`).toBe(true);
  });

  it("gcp: a static INTERNAL address per master, its instance's networkIp; pools' templates after them", async () => {
    const r = await runProgram(STACKS.gcp);
    const internal = of(r, "gcp:compute/address:Address").filter((x) => x.inputs.addressType === "INTERNAL");
    expect(internal).toHaveLength(3);
    for (const a of internal) expect(a.inputs.purpose).toBe("GCE_ENDPOINT");
    const m1 = byName(r, INSTANCE.gcp, "prod-m1");
    expect(m1.inputs.networkInterfaces[0].networkIp).toBe("10.20.0.11");
    expect(dependsOn(m1, "prod-m1-internal-ip")).toBe(true);
    for (const t of of(r, "gcp:compute/instanceTemplate:InstanceTemplate"))
      for (const a of internal) expect(dependsOn(t, a.name), `${t.name} after ${a.name}`).toBe(true);
  });
});

describe("SSH from a master to the agents (the step runner's jump host) is open on every cloud", () => {
  it("aws: all traffic from the nodes group, which masters and agents are in", async () => {
    const r = await runProgram(STACKS.aws);
    const intra = byName(r, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "prod-intra-cluster");
    expect(intra.inputs).toMatchObject({ ipProtocol: "-1", securityGroupId: "prod-nodes-sg-id",
      referencedSecurityGroupId: "prod-nodes-sg-id" });
    for (const n of MACHINES.aws)
      expect(byName(r, INSTANCE.aws, n).inputs.vpcSecurityGroupIds).toContain("prod-nodes-sg-id");
    // The agents: every pool's launch template.
    const templates = of(r, "aws:ec2/launchTemplate:LaunchTemplate");
    expect(templates).toHaveLength(2);
    for (const t of templates) expect(t.inputs.vpcSecurityGroupIds).toEqual(["prod-nodes-sg-id"]);
  });

  it("gcp: every TCP port from the cluster tag to the cluster tag, which every instance carries", async () => {
    const r = await runProgram(STACKS.gcp);
    const intra = byName(r, "gcp:compute/firewall:Firewall", "prod-intra-cluster").inputs;
    expect(intra).toMatchObject({ sourceTags: ["elastic-mesos-prod"], targetTags: ["elastic-mesos-prod"] });
    expect(intra.allows).toContainEqual({ protocol: "tcp" }); // no ports: every port, 22 included
    for (const n of MACHINES.gcp) expect(byName(r, INSTANCE.gcp, n).inputs.tags).toContain("elastic-mesos-prod");
    // The agents: every pool's instance template.
    const templates = of(r, "gcp:compute/instanceTemplate:InstanceTemplate");
    expect(templates).toHaveLength(2);
    for (const t of templates) expect(t.inputs.tags).toContain("elastic-mesos-prod");
  });

  it("openstack: every TCP port from the nodes group, which every port is in", async () => {
    const r = await runProgram(STACKS.openstack);
    const tcp = byName(r, "openstack:networking/secGroupRule:SecGroupRule", "prod-intra-tcp").inputs;
    expect(tcp).toMatchObject({ protocol: "tcp", remoteGroupId: "prod-nodes-sg-id",
      securityGroupId: "prod-nodes-sg-id" });
    expect(tcp.portRangeMin).toBeUndefined();
    for (const p of of(r, "openstack:networking/port:Port")) {
      expect(p.inputs.securityGroupIds).toContain("prod-nodes-sg-id");
    }
  });
});

/** The recorded inputs of a pin, as the engine passes them to check (without the stored provider). */
function pinInputs(r: RunResult, node: string): MasterPinInputs {
  const { __provider, ...rest } = byName(r, PIN, `prod-${node}-pin`).inputs;
  void __provider;
  return rest as MasterPinInputs;
}

/** Another key pair, as a user rotating keys would set both halves. */
function otherKeyPair(): { ssh: ConfigMap; sshPrivateKey: string } {
  const kp = newKeyPair();
  return { ssh: { user: "admin", publicKey: kp.public }, sshPrivateKey: kp.private };
}

async function failures(cloud: Cloud, change: ConfigMap, node = "m1"): Promise<string[]> {
  const before = pinInputs(await runProgram(STACKS[cloud]), node);
  const after = pinInputs(await runProgram({ ...STACKS[cloud], ...change }), node);
  const res = await new MasterPinProvider().check(before, after);
  return (res.failures ?? []).map((f) => f.reason);
}

describe("a change the cloud would make by replacing or stopping a master is refused, naming the key", () => {
  const masters = (extra: object) => ({ masters: { ...(STACKS.aws.masters as object), ...extra } });

  for (const cloud of CLOUDS) {
    it(`${cloud}: masters.size`, async () => {
      const f = await failures(cloud, masters({ size: "m6i.2xlarge" }));
      expect(f).toHaveLength(1);
      expect(f[0]).toMatch(/^masters\.size: changing master m1's size from "m6i\.large" to "m6i\.2xlarge"/);
      expect(f[0]).toContain("refused");
      expect(f[0]).toContain('stays "m6i.large"');
    });

    it(`${cloud}: network.cidr (the masters' planned addresses move)`, async () => {
      const f = await failures(cloud, { network: { cidr: "10.30.0.0/16" } });
      expect(f.some((x) => x.startsWith("network.cidr") && x.includes('"10.20.0.11" to "10.30.0.11"'))).toBe(true);
    });

    it(`${cloud}: a version bump, an agent attribute or an image is no master change`, async () => {
      const bumped = { ...day2(cloud) } as any;
      delete bumped.provider;
      expect(await failures(cloud, bumped)).toEqual([]);
    });
  }

  it("aws: zones (a master moved), ssh.publicKey (a new key pair), a shrunk disk; a grown disk is not", async () => {
    const swapped = { aws: { region: "eu-west-1", zones: ["eu-west-1b", "eu-west-1a", "eu-west-1c"] } };
    const zones = await failures("aws", swapped);
    expect(zones.some((x) => x.startsWith('aws.zones: changing master m1\'s zone from "eu-west-1a" to "eu-west-1b"')))
      .toBe(true);
    const key = await failures("aws", otherKeyPair());
    expect(key).toHaveLength(1);
    expect(key[0]).toMatch(/^ssh\.publicKey: .*new EC2 key pair/);
    expect(await failures("aws", masters({ diskGb: 40 })))
      .toEqual([expect.stringMatching(/^masters\.diskGb: .*cannot shrink/)]);
    expect(await failures("aws", masters({ diskGb: 80 }))).toEqual([]);
  });

  it("gcp: any disk size change (the boot disk would be made anew); region/project", async () => {
    expect(await failures("gcp", masters({ diskGb: 80 }))).toEqual([expect.stringMatching(/^masters\.diskGb: /)]);
    const g = STACKS.gcp.gcp as any;
    const f = await failures("gcp", { gcp: { ...g, project: "other-proj" } });
    expect(f).toEqual([expect.stringMatching(/^gcp\.project \/ gcp\.region: /)]);
  });

  it("openstack: zones", async () => {
    const o = STACKS.openstack.openstack as any;
    const f = await failures("openstack", { openstack: { ...o, zones: ["az2"] } });
    expect(f.some((x) => x.startsWith('openstack.zones: changing master m1\'s zone from "nova" to "az2"'))).toBe(true);
  });

  it("a pin made by an older release (no facts recorded) refuses nothing", async () => {
    const after = pinInputs(await runProgram(STACKS.aws), "m1");
    expect((await new MasterPinProvider().check({} as MasterPinInputs, after)).failures).toEqual([]);
  });
});

it("the pin's key fingerprint is the one ssh-keygen prints", () => {
  const printed = execFileSync("ssh-keygen", ["-lf", "-"], { input: SSH_PUB }).toString().split(" ")[1];
  expect(publicKeyFingerprint(SSH_PUB)).toBe(printed);
});

describe("the masters of a running cluster change on the clouds: those that go leave over SSH, new ones join", () => {
  const HOST = "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host";
  const READY = "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness";
  const MASTERS_PIN = "pulumi-nodejs:dynamic/elastic-mesos/cluster:Masters";
  for (const cloud of CLOUDS) {
    it(`${cloud}: m4 and m5 leave before the masters kept roll; no kept master's instance changes`, async () => {
      // Cluster "east": the mocks' fake reserved addresses of prod-m2 and prod-m4 collide (mocks.ts fakeIp).
      const east = { ...STACKS[cloud], cluster: { name: "east" } };
      const five = await runProgram({ ...east, masters: { ...(STACKS[cloud].masters as object), count: 5 } });
      // What the masters pin's check records for this change (membership/pin.ts departingMasters).
      const three = await runProgram(east, { outputs: { [MASTERS_PIN]: { departing: ["m4", "m5"] } } });
      const d = diffRuns(five, three);
      const host = (r: RunResult, id: string) => byName(r, HOST, `east-${id}-bootstrap`);
      for (const id of ["m4", "m5"]) {
        // Its old resource, registered to leave: the provider reaches it with the connection its state recorded.
        expect(host(three, id).inputs.leave).toEqual({ cluster: "east", id });
        expect(host(three, id).inputs.spec).toBeUndefined();
        expect(d.removed).toContain(`${INSTANCE[cloud]}::east-${id}`); // the engine deletes it at the end of the up
        for (const m of ["m1", "m2", "m3"]) expect(dependsOn(host(three, m), `east-${id}-bootstrap`), m).toBe(true);
      }
      for (const m of ["m1", "m2", "m3"]) {
        expect(uncovered(byName(five, INSTANCE[cloud], `east-${m}`), byName(three, INSTANCE[cloud], `east-${m}`)), m).toEqual([]);
        expect(host(three, m).inputs.spec.quorum).toBe(2);
      }
      expect(of(three, READY)[0].inputs.departing).toEqual(["m4", "m5"]); // planned: not a removal the readiness refuses
      expect(of(five, READY)[0].inputs.departing).toBeUndefined();
    });

    it(`${cloud}: 3 → 5 adds m4 and m5 (machines, pins, hosts); no running master's instance changes`, async () => {
      const east = { ...STACKS[cloud], cluster: { name: "east" } };
      const three = await runProgram(east);
      const five = await runProgram({ ...east, masters: { ...(STACKS[cloud].masters as object), count: 5 } },
        { outputs: { [MASTERS_PIN]: { joining: ["m4", "m5"] } } });
      const d = diffRuns(three, five);
      for (const id of ["m4", "m5"]) {
        expect(d.added).toContain(`${INSTANCE[cloud]}::east-${id}`);
        expect(d.added).toContain(`${HOST}::east-${id}-bootstrap`);
      }
      expect(d.removed).toEqual([]);
      for (const m of ["m1", "m2", "m3"]) {
        expect(uncovered(byName(three, INSTANCE[cloud], `east-${m}`), byName(five, INSTANCE[cloud], `east-${m}`)), m).toEqual([]);
      }
    });
  }
});
