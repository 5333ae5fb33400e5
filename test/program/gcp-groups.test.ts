// GCP agent pools as regional managed instance groups, under mocks (the whole program, STACKS.gcp: 3 masters, pools
// general (3) and gpu (1) over 3 zones): the resource set, every argument against the SDK's documented fields, a
// count change that touches only that group's target size, a template change that rolls only that pool, and
// masters never replaced by any pool change.
import { beforeAll, describe, expect, it } from "vitest";
import { countByType, diffRuns, runProgram, type RunResult } from "./harness";
import { STACKS } from "./fixtures";
import { reveal } from "./mocks";
import { agentSubnetCidr } from "../../components/providers/gcp/network";
import { AUTOHEAL_DELAY_SECONDS, HEALTH_CHECK_RANGES, updateLimits } from "../../components/providers/gcp/groups";
import { bootMetadata } from "../../components/providers/gcp/machines";
import { PROVIDER_MODULES } from "../../components/providers";
import { renderStartupScript } from "../../provisioning/render/startup-script";
import { renderAwsCloudConfig } from "../../provisioning/render/cloud-config";
import { planNetwork } from "../../components/topology";
import { sshHostKey } from "../../provisioning/tls";
import * as pulumi from "@pulumi/pulumi";

const T = {
  template: "gcp:compute/instanceTemplate:InstanceTemplate",
  group: "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager",
  instance: "gcp:compute/instance:Instance",
  check: "gcp:compute/healthCheck:HealthCheck",
  firewall: "gcp:compute/firewall:Firewall",
  subnet: "gcp:compute/subnetwork:Subnetwork",
  router: "gcp:compute/router:Router",
  nat: "gcp:compute/routerNat:RouterNat",
  address: "gcp:compute/address:Address",
  pin: "pulumi-nodejs:dynamic/elastic-mesos/cloud:MasterPin",
  host: "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host",
};
const SECRET = STACKS.gcp.clusterSecret as string;
const ZONES = ["europe-west1-b", "europe-west1-c", "europe-west1-d"];
const of = (r: RunResult, type: string) => r.resources.filter((x) => x.type === type);
const one = (r: RunResult, type: string, name: string) => {
  const found = r.resources.find((x) => x.type === type && x.name === name);
  if (!found) throw new Error(`no ${type} ${name}`);
  return found;
};
const dependsOn = (r: { dependencies: string[] }, name: string) => r.dependencies.some((u) => u.endsWith(`::${name}`));
const pools = (general: object, gpu: object = {}) => ({
  ...STACKS.gcp,
  agentPools: [
    { name: "general", count: 3, size: "m6i.xlarge", ...general },
    { name: "gpu", count: 1, size: "g5.xlarge", resources: { gpus: 1 }, ...gpu },
  ],
});
/** The cloud's side of a diff: GCE resources only (hosts and readiness are the core's, tested there). */
const gcpSide = (keys: { key: string; keys: string[] }[]) => keys.filter((c) => c.key.startsWith("gcp:"));
/** The one bootstrap entry of a metadata map (startup-script, or user-data before cluster.ts renders scripts). */
const bootOf = (metadata: any): string => {
  const md = reveal(metadata);
  const keys = Object.keys(md).filter((k) => k === "startup-script" || k === "user-data");
  expect(keys).toHaveLength(1);
  return md[keys[0]];
};

describe("gcp: 3 masters, 2 pools as regional managed instance groups", () => {
  let r: RunResult;
  beforeAll(async () => {
    r = await runProgram(STACKS.gcp);
  });

  it("resource set: master instances only, per pool a template and a group, one health check, Cloud NAT", () => {
    const gcp = Object.fromEntries(Object.entries(countByType(r.resources)).filter(([t]) => t.startsWith("gcp:")));
    expect(gcp).toEqual({
      "gcp:compute/address:Address": 6,
      "gcp:compute/firewall:Firewall": 4,
      "gcp:compute/healthCheck:HealthCheck": 1,
      "gcp:compute/instance:Instance": 3,
      "gcp:compute/instanceTemplate:InstanceTemplate": 2,
      "gcp:compute/network:Network": 1,
      "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": 2,
      "gcp:compute/router:Router": 1,
      "gcp:compute/routerNat:RouterNat": 1,
      "gcp:compute/subnetwork:Subnetwork": 4,
    });
    expect(of(r, T.instance).map((i) => i.name).sort()).toEqual(["prod-m1", "prod-m2", "prod-m3"]);
    // No host resource reaches a group's agent (their names are the group's to pick): the masters' only.
    expect(of(r, T.host).map((h) => h.name).sort())
      .toEqual(["prod-m1-bootstrap", "prod-m2-bootstrap", "prod-m3-bootstrap"]);
  });

  it("each group: regional over the zones, target size = count, its template, autohealing, update policy", () => {
    const check = one(r, T.check, "prod-agent-health");
    for (const [pool, count] of [["general", 3], ["gpu", 1]] as const) {
      const group = one(r, T.group, `prod-${pool}-group`).inputs;
      const template = one(r, T.template, `prod-${pool}-template`);
      expect(group).toMatchObject({
        name: `prod-${pool}`, baseInstanceName: `prod-${pool}`, region: "europe-west1", distributionPolicyZones: ZONES,
        targetSize: count,
        autoHealingPolicies: { healthCheck: `${check.name}-id`, initialDelaySec: AUTOHEAL_DELAY_SECONDS },
        // rollout.maxUnavailable 1 < 3 zones: GCE takes 0 or >= 3 fixed, so none unavailable, 3 new ones first.
        updatePolicy: { type: "PROACTIVE", minimalAction: "REPLACE", replacementMethod: "SUBSTITUTE", maxSurgeFixed: 3,
          maxUnavailableFixed: 0 },
      });
      expect(group.versions).toHaveLength(1);
      expect(group.versions[0].instanceTemplate)
        .toMatch(new RegExp(`/instanceTemplates/prod-${pool}-[0-9a-f]+\\?uniqueId=`));
      expect(AUTOHEAL_DELAY_SECONDS).toBeLessThanOrEqual(3600); // the API's range
      expect(dependsOn(one(r, T.group, `prod-${pool}-group`), template.name)).toBe(true);
    }
  });

  it("each template: the pool's machine, image and disk, no external address, tags, the pool's bootstrap", () => {
    for (const pool of ["general", "gpu"]) {
      const t = one(r, T.template, `prod-${pool}-template`);
      expect(t.inputs).toMatchObject({
        namePrefix: `prod-${pool}-`,
        machineType: pool === "general" ? "m6i.xlarge" : "g5.xlarge",
        disks: [{ boot: true, autoDelete: true, sourceImage: "debian-cloud/debian-12", diskSizeGb: 100 }],
        networkInterfaces: [{ subnetwork: "prod-agents-id" }],
        tags: ["elastic-mesos-prod", "elastic-mesos-prod-agent", `elastic-mesos-prod-pool-${pool}`],
        shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      });
      expect(t.inputs.networkInterfaces[0].accessConfigs).toBeUndefined();
      // Every template waits for the masters' internal address reservations (no agent can take one).
      for (const m of ["m1", "m2", "m3"]) expect(dependsOn(t, `prod-${m}-internal-ip`), `${pool} ${m}`).toBe(true);
      // The bootstrap is the pool's template node's: its derived host key, a secret like all of the metadata.
      const boot = bootOf(t.inputs.metadata);
      const key = sshHostKey(SECRET, "prod", `${pool}-group`).privatePem.split("\n")[1];
      expect(boot).toContain(key);
      for (const other of ["m1", `${pool}-1`]) {
        expect(boot).not.toContain(sshHostKey(SECRET, "prod", other).privatePem.split("\n")[1]);
      }
      expect(reveal(t.inputs.metadata)).toMatchObject({ "ssh-keys": expect.stringMatching(/^admin:ssh-ed25519 /),
        "block-project-ssh-keys": "true" });
      expect(t.inputs.metadata).not.toEqual(reveal(t.inputs.metadata)); // secret
    }
  });

  it("health check on the agent's HTTPS port, from Google's checkers only; NAT for the agents' subnetwork", () => {
    expect(one(r, T.check, "prod-agent-health").inputs).toMatchObject({
      httpsHealthCheck: { port: 5051, requestPath: "/health" }, checkIntervalSec: 10, timeoutSec: 5,
      healthyThreshold: 2, unhealthyThreshold: 3,
    });
    expect(one(r, T.firewall, "prod-agent-health-checks").inputs).toMatchObject({
      network: "prod-net-id", direction: "INGRESS", sourceRanges: HEALTH_CHECK_RANGES,
      targetTags: ["elastic-mesos-prod-agent"], allows: [{ protocol: "tcp", ports: ["5051"] }],
    });
    expect(one(r, T.subnet, "prod-agents").inputs).toMatchObject({ ipCidrRange: "10.20.128.0/17",
      region: "europe-west1", privateIpGoogleAccess: true, network: "prod-net-id" });
    expect(one(r, T.router, "prod-router").inputs).toMatchObject({ network: "prod-net-id", region: "europe-west1" });
    const nat = one(r, T.nat, "prod-nat");
    expect(dependsOn(nat, "prod-router")).toBe(true);
    expect(nat.inputs).toMatchObject({
      router: "prod-router", region: "europe-west1", natIpAllocateOption: "AUTO_ONLY",
      sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
      subnetworks: [{ name: "prod-agents-id", sourceIpRangesToNats: ["ALL_IP_RANGES"] }],
    });
  });

  it("a no-change run changes nothing", async () => {
    expect(diffRuns(r, await runProgram(STACKS.gcp))).toEqual({ added: [], removed: [], changed: [] });
  });

  it("raising a pool's count changes only that group's target size", async () => {
    const d = diffRuns(r, await runProgram(pools({ count: 5 })));
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(gcpSide(d.changed)).toEqual([{ key: `${T.group}::prod-general-group`, keys: ["targetSize"] }]);
    // The cluster's other resources: only the readiness (what it counts), no master's host.
    for (const c of d.changed) expect(c.key.startsWith("gcp:") || c.key.includes("health:Readiness"), c.key).toBe(true);
  });

  it("a template change (size, image, attributes) rolls only that pool: a new template, its version", async () => {
    for (const change of [{ size: "e2-standard-8" }, { image: "debian-cloud/debian-12-bookworm-v20260101" },
      { attributes: { rack: "b" } }]) {
      const d = diffRuns(r, await runProgram(pools(change)));
      expect(d.added).toEqual([]);
      expect(d.removed).toEqual([]);
      expect(gcpSide(d.changed), JSON.stringify(change)).toEqual([
        { key: `${T.template}::prod-general-template`, keys: [Object.keys(change)[0] === "size" ? "machineType"
          : Object.keys(change)[0] === "image" ? "disks" : "metadata"] },
        { key: `${T.group}::prod-general-group`, keys: ["versions"] },
      ]);
    }
  });

  it("masters are never replaced: no pool change touches a master's instance, addresses, pin or host", async () => {
    // One after the other: the mocks' runtime is global.
    for (const change of [pools({ count: 7 }, { count: 0 }),
      pools({ size: "e2-standard-8", attributes: { rack: "b" } })]) {
      const d = diffRuns(r, await runProgram(change));
      expect(d.changed.length).toBeGreaterThan(0);
      const touched = [...d.changed.map((c) => c.key), ...d.added, ...d.removed];
      for (const k of touched) {
        expect(k.startsWith(`${T.instance}::`) || k.startsWith(`${T.address}::`) || k.startsWith(`${T.pin}::`)
          || k.startsWith(`${T.host}::`), k).toBe(false);
      }
    }
  });

  it("a pool of 0 keeps its group at size 0; a pool added adds its template and group", async () => {
    const none = await runProgram(pools({}, { count: 0 }));
    expect(one(none, T.group, "prod-gpu-group").inputs).toMatchObject({ targetSize: 0,
      updatePolicy: { maxSurgeFixed: 3, maxUnavailableFixed: 0 } });
    const more = await runProgram({ ...STACKS.gcp,
      agentPools: [...(STACKS.gcp.agentPools as object[]), { name: "db", count: 2 }] });
    const d = diffRuns(r, more);
    expect(d.added.filter((k) => k.startsWith("gcp:")).sort()).toEqual([`${T.template}::prod-db-template`,
      `${T.group}::prod-db-group`].sort());
    expect(d.removed).toEqual([]);
  });
});

describe("gcp groups: pure rules", () => {
  it("update limits: fixed values GCE accepts (0 or >= zones, one > 0), never more unavailable than allowed", () => {
    expect(updateLimits(1, 3, 3)).toEqual({ maxSurgeFixed: 3, maxUnavailableFixed: 0 });
    expect(updateLimits(3, 6, 3)).toEqual({ maxSurgeFixed: 3, maxUnavailableFixed: 3 });
    expect(updateLimits(5, 3, 3)).toEqual({ maxSurgeFixed: 3, maxUnavailableFixed: 3 }); // at most the pool
    expect(updateLimits("50%", 10, 3)).toEqual({ maxSurgeFixed: 3, maxUnavailableFixed: 5 });
    expect(updateLimits("25%", 10, 3)).toEqual({ maxSurgeFixed: 3, maxUnavailableFixed: 0 }); // 2 < 3 zones
    expect(updateLimits(1, 4, 1)).toEqual({ maxSurgeFixed: 1, maxUnavailableFixed: 1 });
    expect(updateLimits(2, 0, 2)).toEqual({ maxSurgeFixed: 2, maxUnavailableFixed: 0 });
    for (const [u, c, z] of [[1, 3, 3], [2, 9, 2], ["30%", 20, 3], [4, 4, 4]] as const) {
      const l = updateLimits(u, c, z);
      for (const v of [l.maxSurgeFixed, l.maxUnavailableFixed]) expect(v === 0 || v >= z).toBe(true);
      expect(l.maxSurgeFixed + l.maxUnavailableFixed).toBeGreaterThan(0);
    }
  });

  it("the agents' subnetwork is network.cidr's upper half, refused where the zone subnets leave no room", () => {
    expect(agentSubnetCidr(planNetwork("10.20.0.0/16", 3))).toBe("10.20.128.0/17");
    expect(agentSubnetCidr(planNetwork("10.0.0.0/22", 2))).toBe("10.0.2.0/23");
    expect(() => agentSubnetCidr(planNetwork("10.0.0.0/23", 2))).toThrow(/no room/);
    expect(() => agentSubnetCidr(planNetwork("10.0.0.0/24", 3))).toThrow(/network\.cidr: 10\.0\.0\.0\/24 has no room/);
  });

  it("the bootstrap's metadata key follows what was rendered: a startup script, or a #cloud-config", async () => {
    const md = async (text: string) => await (bootMetadata(text) as any).promise();
    expect(await md("#!/bin/bash\ntrue\n")).toEqual({ "startup-script": "#!/bin/bash\ntrue\n" });
    expect(await md("#cloud-config\n{}\n")).toEqual({ "user-data": "#cloud-config\n{}\n" });
    // The registry renders GCP's bootstrap as the startup script every GCE image runs.
    expect(PROVIDER_MODULES.gcp.render).toBe(renderStartupScript);
    // AWS: a #cloud-config with its pieces as plain files (gzip'ed whole); OpenStack: the default one, its bundle.
    expect(PROVIDER_MODULES.aws.render).toBe(renderAwsCloudConfig);
    expect(PROVIDER_MODULES.openstack.render).toBeUndefined();
    void pulumi;
  });
});
