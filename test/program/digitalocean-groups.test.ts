// DigitalOcean under mocks (issue 12): masters are droplets bootstrapped over SSH; each agent pool is one droplet
// autoscale pool of fixed size whose droplets boot from the pool's user-data, which names the master droplets'
// actual addresses. The account's SSH key is looked up by fingerprint and created only when absent. Every argument
// is checked against what @pulumi/digitalocean 4.80.1 documents (dropletAutoscale.d.ts, types/input.d.ts
// DropletAutoscaleConfig / DropletAutoscaleDropletTemplate, vpc.d.ts, getSshKeys.d.ts).
import { gunzipSync } from "node:zlib";
import { describe, expect, it, beforeAll } from "vitest";
import { parse } from "yaml";
import { runProgram, runProgramExpectingError, diffRuns, countByType, type RunResult } from "./harness";
import { fakeIp, isSecretInput, reveal, type Registered } from "./mocks";
import { STACKS, SSH_PUB } from "./fixtures";
import { doFingerprint, keyPlan } from "../../components/providers/digitalocean/ssh-key";
import { hostTls } from "../../provisioning/baremetal/render";
import { deriveCredentials } from "../../provisioning/credentials";

const POOL = "digitalocean:index/dropletAutoscale:DropletAutoscale";
const DROPLET = "digitalocean:index/droplet:Droplet";
const KEY = "digitalocean:index/sshKey:SshKey";
const HOST = "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host";
const READY = "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness";
const of = (r: RunResult, type: string) => r.resources.filter((x) => x.type === type);
const one = (r: RunResult, type: string, name: string) => r.resources.find((x) => x.type === type && x.name === name)!;
const dependsOn = (r: Registered, type: string, name: string) =>
  r.dependencies.some((u) => u.endsWith(`${type}::${name}`));

/** ssh-keygen -l -E md5 of SSH_PUB (and of an RSA key), computed outside this code. */
const SSH_PUB_MD5 = "9d:76:88:6c:99:d0:95:23:35:f9:a2:21:3d:8d:a0:15";
const RSA_PUB = "ssh-rsa " + [
  "AAAAB3NzaC1yc2EAAAADAQABAAABAQDoeU4Svtw2O5uqPaqPSRAHVsz/jmwR+fJCZCfE85KMTwYVrnt4VtUA6Pn8xiHzcw/0MNtTRCPtOD",
  "voZMgol5n0UkCcMVmj7FvgLA8wPdsn9+fQBgja8LCjxwYhhwUdeIqvHqgAMCZmmxW+Mfuw+O1O5uCyQttDfGA4HB5RDlrP5N98jEXrzhfAe",
  "Y44dyDWgn9UMS/4WxoLCrJusfkUNUPMdS8pcYUmhpkXWV+JRJHtiLTr2aQp7A9PRxOOaIDojAEVuwbeogPckw+EFvtGdtgYuKejUkbchCuO",
  "1jlt62S3GH7Rke8Wd0j+zh8Tm+4xBziDJt34aZVRh5QMMImfoTCz",
].join("") + " x";
const RSA_PUB_MD5 = "cd:e2:5c:f2:ea:b0:de:85:4c:6c:6e:c9:b8:08:6a:80";

const STACK = STACKS.digitalocean;
const pools = (general: object, gpu: object = {}) => ({
  ...STACK,
  agentPools: [
    { name: "general", count: 3, size: "m6i.xlarge", ...general },
    { name: "gpu", count: 1, size: "g5.xlarge", resources: { gpus: 1 }, ...gpu },
  ],
});

/** The #cloud-config with its step bundle unpacked (as test/program/agent-user-data.test.ts reads it). */
function unpacked(userData: string): string {
  const doc = parse(userData);
  const files = (doc.write_files ?? []).map((f: { encoding?: string; content: string }) =>
    f.encoding === "gz+b64" ? gunzipSync(Buffer.from(f.content, "base64")).toString("latin1") : f.content);
  return [userData, ...files].join("\n");
}

describe("digitalocean SSH key: DigitalOcean's MD5 fingerprint", () => {
  it("is ssh-keygen -E md5's, for ed25519 and RSA keys, whatever the comment", () => {
    expect(doFingerprint(SSH_PUB)).toBe(SSH_PUB_MD5);
    expect(doFingerprint(RSA_PUB)).toBe(RSA_PUB_MD5);
    expect(doFingerprint(SSH_PUB.replace("admin@example", "someone-else"))).toBe(SSH_PUB_MD5);
    expect(() => doFingerprint("not a key")).toThrow(/ssh.publicKey/);
    expect(() => doFingerprint(`ssh-rsa ${SSH_PUB.split(" ")[1]}`)).toThrow(/ssh.publicKey/);
  });

  it("plan: absent → create; the stack's own name → manage; another name → reuse", () => {
    const k = { id: 7, fingerprint: SSH_PUB_MD5, publicKey: SSH_PUB };
    expect(keyPlan(undefined, "prod-key")).toBe("create");
    expect(keyPlan({ ...k, name: "prod-key" }, "prod-key")).toBe("manage");
    expect(keyPlan({ ...k, name: "laptop" }, "prod-key")).toBe("reuse");
  });
});

describe("digitalocean: 3 masters, 2 pools", () => {
  let r: RunResult;
  beforeAll(async () => {
    r = await runProgram(STACK);
  });

  it("resource set: master droplets with their SSH bootstrap, one autoscale pool per agent pool, no agent droplet",
    () => {
    expect(countByType(r.resources)).toMatchObject({
      "digitalocean:index/vpc:Vpc": 1,
      [KEY]: 1,
      "digitalocean:index/tag:Tag": 5, // cluster, master, agent, and each pool's
      "digitalocean:index/firewall:Firewall": 2,
      [DROPLET]: 3,
      [POOL]: 2,
      [HOST]: 3,
      [READY]: 1,
    });
    expect(of(r, DROPLET).map((d) => d.name).sort()).toEqual(["prod-m1", "prod-m2", "prod-m3"]);
    expect(of(r, HOST).map((h) => h.name).sort())
      .toEqual(["prod-m1-bootstrap", "prod-m2-bootstrap", "prod-m3-bootstrap"]);
  });

  it("absent key: created as <cluster>-key, without import; droplets and pools use its fingerprint", () => {
    const key = one(r, KEY, "prod-key");
    expect(key.inputs).toEqual({ name: "prod-key", publicKey: SSH_PUB });
    expect(key.importId).toBeUndefined();
    for (const d of of(r, DROPLET)) {
      expect(d.inputs.sshKeys).toEqual(["fp:prod-key"]); // the mock's fingerprint output of the created key
      expect(dependsOn(d, KEY, "prod-key")).toBe(true);
    }
    for (const p of of(r, POOL)) {
      expect(reveal(p.inputs.dropletTemplate).sshKeys).toEqual(["fp:prod-key"]);
      expect(dependsOn(p, KEY, "prod-key")).toBe(true);
    }
  });

  it("each pool: fixed size = count, template as the SDK documents it, user-data naming the masters' addresses", () => {
    const masterIps = ["prod-m1", "prod-m2", "prod-m3"].map((n) => fakeIp("10.20.9", n));
    for (const [name, count, size] of [["general", 3, "m6i.xlarge"], ["gpu", 1, "g5.xlarge"]] as const) {
      const p = one(r, POOL, `prod-${name}-pool`);
      expect(p.inputs.name).toBe(`prod-${name}`);
      // DropletAutoscaleConfig: targetNumberInstances "cannot be used with any other config options"; API: 1..1000.
      expect(p.inputs.config).toEqual({ targetNumberInstances: count });
      // The whole template is a secret (its user-data is): read through it.
      expect(isSecretInput(p.inputs.dropletTemplate)).toBe(true);
      const t = reveal(p.inputs.dropletTemplate);
      // Required by the SDK: image, region, size, sshKeys. Everything else it takes is optional; nothing unknown.
      expect(Object.keys(t).sort())
        .toEqual(["image", "region", "size", "sshKeys", "tags", "userData", "vpcUuid", "withDropletAgent"]);
      expect(t).toMatchObject({ image: "debian-12-x64", region: "ams3", size, vpcUuid: "prod-vpc-id",
        withDropletAgent: true });
      expect(t.tags).toEqual(["elastic-mesos-prod", "elastic-mesos-prod-agent", `elastic-mesos-prod-pool-${name}`]);
      // The firewall goes by the cluster tag: the pool's droplets are inside it like every node.
      expect(dependsOn(p, "digitalocean:index/tag:Tag", `elastic-mesos-prod-pool-${name}`)).toBe(true);
      expect(dependsOn(p, "digitalocean:index/vpc:Vpc", "prod-vpc")).toBe(true);
      // The user-data: the pool's template node, the masters' private addresses as the droplets report them.
      const ud: string = t.userData;
      expect(ud).toMatch(/^#cloud-config\n/);
      const text = unpacked(ud);
      for (const ip of masterIps) expect(text).toContain(ip);
      expect(text).toContain(`prod-${name}-group`);
      // The attribute the readiness counts a group's agents by (probes.ts ExpectedPool).
      expect(text).toMatch(new RegExp(`--attributes=pool:${name}(;|\\s|')`));
      // Agents' certificates name no address: libprocess does not verify peers' addresses (as on cloud-init clouds).
      expect(text).toContain("LIBPROCESS_SSL_VERIFY_SERVER_CERT=false");
      for (const m of ["prod-m1", "prod-m2", "prod-m3"]) expect(dependsOn(p, DROPLET, m)).toBe(true);
      // DigitalOcean's user_data is at most 64 KiB.
      expect(Buffer.byteLength(ud)).toBeLessThan(64 * 1024);
    }
  });

  it("the user-data carries the agent's own credential and none of the masters'", () => {
    const c = deriveCredentials(STACK.clusterSecret as string, "prod");
    const text = unpacked(reveal(one(r, POOL, "prod-general-pool").inputs.dropletTemplate).userData);
    expect(text).toContain(c.agentSecret);
    const mastersOnly =
      ["adminPassword", "marathonSecret", "zkMesosPassword", "zkMarathonPassword", "agentJwtRoot"] as const;
    for (const k of mastersOnly) {
      expect(text.includes(c[k]), k).toBe(false);
    }
  });

  it("masters: SSH bootstrap, peers unverified (agents' certificates name no address); readiness counts pools", () => {
    for (const h of of(r, HOST)) {
      expect(h.inputs.spec.unverifiedPeers).toBe(true);
      expect(hostTls(STACK.clusterSecret as string, h.inputs.spec).unverifiedPeers).toBe(true);
    }
    const ready = one(r, READY, "prod-ready");
    expect(ready.inputs.agents).toEqual([]);
    expect(ready.inputs.pools).toEqual([{ pool: "general", desired: 3 }, { pool: "gpu", desired: 1 }]);
    // It waits for the pools themselves (their droplets are theirs to make) and for every master's bootstrap.
    for (const p of ["prod-general-pool", "prod-gpu-pool"]) expect(dependsOn(ready, POOL, p)).toBe(true);
  });

  it("outputs: masters by address, no named agent, each pool's autoscale pool with its desired size", () => {
    const masterIps = ["prod-m1", "prod-m2", "prod-m3"].map((n) => fakeIp("10.20.9", n));
    expect(r.outputs.masters.map((m: any) => m.privateIp)).toEqual(masterIps);
    expect(r.outputs.agents).toEqual({}); // the pools whose agents are machines: none
    expect(r.outputs.agentGroups).toEqual({
      general: { desired: 3, group: "prod-general-pool", id: "prod-general-pool-id" },
      gpu: { desired: 1, group: "prod-gpu-pool", id: "prod-gpu-pool-id" },
    });
  });

  it("the master droplets carry no user-data (SSH delivery) and the key's fingerprint", () => {
    for (const d of of(r, DROPLET)) {
      expect(d.inputs.userData).toBeUndefined();
      expect(d.inputs.tags).toEqual(["elastic-mesos-prod", "elastic-mesos-prod-master"]);
    }
  });

  it("a no-change run changes nothing", async () => {
    expect(diffRuns(r, await runProgram(STACK))).toEqual({ added: [], removed: [], changed: [] });
  });

  it("raising a pool's count changes only that pool's config (and what the readiness expects of it)", async () => {
    const grown = await runProgram(pools({ count: 5 }));
    const d = diffRuns(r, grown);
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    const changed = Object.fromEntries(d.changed.map((c) => [c.key, c.keys]));
    expect(changed[`${POOL}::prod-general-pool`]).toEqual(["config"]);
    expect(one(grown, POOL, "prod-general-pool").inputs.config).toEqual({ targetNumberInstances: 5 });
    expect(changed[`${READY}::prod-ready`]).toEqual(["pools"]);
    expect(one(grown, READY, "prod-ready").inputs.pools)
      .toEqual([{ pool: "general", desired: 5 }, { pool: "gpu", desired: 1 }]);
    for (const key of Object.keys(changed)) {
      expect([`${POOL}::prod-general-pool`, `${READY}::prod-ready`]).toContain(key);
    }
  });

  it("a template change (size, image) rolls only that pool: an in-place update of its template", async () => {
    for (const change of [{ size: "s-8vcpu-16gb" }, { image: "ubuntu-24-04-x64" }]) {
      const d = diffRuns(r, await runProgram(pools(change)));
      const template = { key: `${POOL}::prod-general-pool`, keys: ["dropletTemplate"] };
      expect(d).toEqual({ added: [], removed: [], changed: [template] });
    }
  });

  it("a pool's attributes change its user-data only (that pool's template)", async () => {
    const d = diffRuns(r, await runProgram(pools({ attributes: { rack: "b" } })));
    expect(d.changed.filter((c) => !c.key.startsWith(READY)))
      .toEqual([{ key: `${POOL}::prod-general-pool`, keys: ["dropletTemplate"] }]);
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
  });

  it("a pool of 0 has no autoscale pool (the API takes 1 to 1000); a pool added adds its pool and tag", async () => {
    const none = await runProgram(pools({ count: 0 }));
    expect(of(none, POOL).map((p) => p.name)).toEqual(["prod-gpu-pool"]);
    // No pool at all: the masters keep their inputs (peers unverified: a provider that runs groups), no restart.
    const empty = await runProgram(pools({ count: 0 }, { count: 0 }));
    expect(of(empty, POOL)).toEqual([]);
    expect(diffRuns(r, empty).changed.filter((c) => c.key.startsWith(HOST))).toEqual([]);
    expect(one(empty, READY, "prod-ready").inputs.pools).toBeUndefined();
    const more = await runProgram({ ...STACK,
      agentPools: [...(STACK.agentPools as object[]), { name: "db", count: 2 }] });
    const d = diffRuns(r, more);
    expect(d.added.sort()).toEqual([`${POOL}::prod-db-pool`, "digitalocean:index/tag:Tag::elastic-mesos-prod-pool-db"]);
    expect(d.removed).toEqual([]);
  });

  it("masters are never replaced: no change to pools touches a master droplet or its bootstrap", async () => {
    const changes = [
      pools({ count: 7 }, { count: 0 }),
      pools({ size: "s-8vcpu-16gb", attributes: { rack: "b" } }),
      { ...STACK, agentPools: [{ name: "general", count: 3, size: "m6i.xlarge" }] },
    ];
    for (const config of changes) {
      const d = diffRuns(r, await runProgram(config)); // one at a time: a run holds the process-wide mocks
      const touched = [...d.added, ...d.removed, ...d.changed.map((c) => c.key)];
      expect(touched.filter((k) => k.startsWith(`${DROPLET}::`) || k.startsWith(`${HOST}::`))).toEqual([]);
    }
  });
});

describe("digitalocean: an SSH key already in the account (getSshKeys, filter by fingerprint)", () => {
  const account = (name: string) => [
    { id: 41, name: "someone-elses", fingerprint: RSA_PUB_MD5, publicKey: RSA_PUB },
    { id: 42, name, fingerprint: SSH_PUB_MD5, publicKey: SSH_PUB },
  ];

  it("under another name: reused by fingerprint, no SshKey resource (never created, never deleted)", async () => {
    const r = await runProgram(STACK, { doSshKeys: account("laptop") });
    expect(of(r, KEY)).toEqual([]);
    for (const d of of(r, DROPLET)) expect(d.inputs.sshKeys).toEqual([SSH_PUB_MD5]);
    for (const p of of(r, POOL)) expect(reveal(p.inputs.dropletTemplate).sshKeys).toEqual([SSH_PUB_MD5]);
  });

  it("under the stack's own name (an earlier up made it): kept under management with import of its id", async () => {
    const r = await runProgram(STACK, { doSshKeys: account("prod-key") });
    const key = one(r, KEY, "prod-key");
    expect(key.importId).toBe("42");
    expect(key.inputs).toEqual({ name: "prod-key", publicKey: SSH_PUB });
    // The same resource, same inputs as the run that created it: no change for the engine.
    expect(diffRuns(await runProgram(STACK), r)).toEqual({ added: [], removed: [], changed: [] });
  });

  it("another key of the account does not count: only the fingerprint of ssh.publicKey", async () => {
    const r = await runProgram(STACK, { doSshKeys: account("laptop").slice(0, 1) });
    expect(one(r, KEY, "prod-key").importId).toBeUndefined();
  });
});

describe("digitalocean VPC: a range the API takes", () => {
  it("network.cidr set: the VPC's ipRange; its delete waits for the pools' droplets to leave it", async () => {
    const r = await runProgram(STACK);
    const vpc = one(r, "digitalocean:index/vpc:Vpc", "prod-vpc");
    expect(vpc.inputs).toEqual({ name: "prod-vpc", region: "ams3", ipRange: "10.20.0.0/16" });
    expect(vpc.ignoreChanges).toEqual([]);
    // The provider retries DigitalOcean's 403 (members left) until this timeout; its own default is 2 minutes.
    expect(vpc.customTimeouts).toMatchObject({ delete: "20m" });
  });

  it("network.cidr not set: DigitalOcean picks the range (no ipRange); an earlier release's is kept", async () => {
    const { network: _, ...unset } = STACK;
    const r = await runProgram(unset);
    const vpc = one(r, "digitalocean:index/vpc:Vpc", "prod-vpc");
    // vpc.d.ts: ipRange optional; "If no IP range is specified, a /20 network range is generated that won't
    // conflict with other VPC networks in your account" (DigitalOcean's API reference).
    expect(vpc.inputs).toEqual({ name: "prod-vpc", region: "ams3" });
    expect(vpc.ignoreChanges).toEqual(["ipRange"]);
    // From a stack an earlier release made with the default range: ipRange is the one input that differs, and
    // ignoreChanges keeps it from the state (no replacement). Nothing else uses the range (firewalls go by tags).
    const d = diffRuns(await runProgram(STACK), r);
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(d.changed).toEqual([{ key: "digitalocean:index/vpc:Vpc::prod-vpc", keys: ["ipRange"] }]);
  });

  const refused = ["10.20.0.0/25", "10.20.0.0/22", "100.64.0.0/16", "10.0.0.0/15"];
  it.each(refused)("refuses %s before any resource", async (cidr) => {
    const { error, resources } = await runProgramExpectingError({ ...STACK, network: { cidr } });
    expect(String(error?.message ?? error)).toMatch(/network\.cidr/);
    expect(resources.filter((x) => x.custom)).toEqual([]);
  });
});
