// Cloud-init stacks (aws, gcp, openstack): the machines install themselves, and `pulumi up` waits for the
// readiness resource (SSH probes on the masters' public addresses) before it reports the outputs.
import { describe, it, expect, beforeAll } from "vitest";
import { runProgram, diffRuns, type RunResult } from "./harness";
import { isSecretInput, reveal } from "./mocks";
import { STACKS } from "./fixtures";
import { plainLeaks } from "./secrets";
import { cloudMasterConnections, cloudGeneration } from "../../components/readiness";
import { sshHostKey } from "../../provisioning/tls";
import { shimText } from "../../provisioning/dynamic/shim-text";

const READY = "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness";
const INSTANCE = "aws:ec2/instance:Instance";
const ASG = "aws:autoscaling/group:Group";
const MASTERS = ["prod-m1", "prod-m2", "prod-m3"];
const of = (r: RunResult, type: string) => r.resources.filter((x) => x.type === type);
const ready = (r: RunResult) => of(r, READY)[0];

describe("aws: readiness after the masters' instances and the pools' Auto Scaling groups", () => {
  let base: RunResult;
  beforeAll(async () => {
    base = await runProgram(STACKS.aws);
  });

  it("one readiness, registered after every master's instance and every pool's group", () => {
    expect(of(base, READY)).toHaveLength(1);
    const deps = ready(base).dependencies;
    for (const n of MASTERS) expect(deps.some((u) => u.endsWith(`${INSTANCE}::${n}`)), n).toBe(true);
    for (const n of ["prod-general-group", "prod-gpu-group"]) {
      expect(deps.some((u) => u.endsWith(`${ASG}::${n}`)), n).toBe(true);
    }
  });

  it("probes each master at its public address as ssh.user, counts each pool's agents (no names: groups)", () => {
    const r = ready(base).inputs;
    const publicIp = (n: string) => of(base, INSTANCE).find((i) => i.name === n)!;
    expect(r.masters).toHaveLength(3);
    expect(r.masters.map((m: any) => [m.id, m.ip])).toEqual([["m1", "10.20.0.11"], ["m2", "10.20.1.12"], ["m3", "10.20.2.13"]]);
    for (const m of r.masters) {
      // Its Elastic IP, and the host key its user-data installs (derived from clusterSecret): pinned, never trusted on first use.
      const key = sshHostKey(STACKS.aws.clusterSecret as string, "prod", m.id);
      expect(m.connection).toEqual({ host: expect.stringMatching(/^198\.18\.0\.\d+$/), port: 22, user: "admin",
        hostKeyFingerprint: key.fingerprint, hostKeyAlgorithm: "ecdsa-sha2-nistp256" });
      expect(publicIp(`prod-${m.id}`)).toBeDefined();
    }
    expect(r.agents).toEqual([]);
    expect(r.pools).toEqual([{ pool: "general", desired: 3 }, { pool: "gpu", desired: 1 }]);
    expect(r).toMatchObject({ quorum: 2, timeoutSeconds: 1200, adminUser: "admin", ports: { zookeeper: 2181, mesos: 5050, marathon: 8443 } });
  });

  it("its inputs hold no credential (the provider derives the password), a secret generation, no user-data", () => {
    const r = ready(base).inputs;
    expect(r).not.toHaveProperty("adminPassword");
    expect(isSecretInput(r.generation)).toBe(true);
    expect(reveal(r.generation)).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(r)).not.toContain("#cloud-config");
    expect(r.__provider).toBe(shimText("elastic-mesos/health:Readiness"));
    expect(plainLeaks(base.resources)).toEqual([]);
  });

  it("a no-change run changes nothing: the readiness would check nothing", async () => {
    const again = await runProgram(STACKS.aws);
    expect(diffRuns(base, again)).toEqual({ added: [], removed: [], changed: [] });
  });

  it("a change to one pool's user-data: that pool's launch template and group, the readiness generation", async () => {
    const pools = [
      { name: "general", count: 3, size: "m6i.xlarge" },
      { name: "gpu", count: 1, size: "g5.xlarge", resources: { gpus: 1 }, attributes: { accelerator: "a10g" } },
    ];
    const changed = await runProgram({ ...STACKS.aws, agentPools: pools });
    expect(diffRuns(base, changed)).toEqual({
      added: [],
      removed: [],
      changed: [
        // The group rolls it (instance refresh: aws.test.ts); no host resource reaches a group's agents.
        { key: "aws:ec2/launchTemplate:LaunchTemplate::prod-gpu-template", keys: ["userData"] },
        { key: `${ASG}::prod-gpu-group`, keys: ["launchTemplate"] }, // the template's new version
        { key: `${READY}::prod-ready`, keys: ["generation"] },
      ],
    });
  });

  it("a pool's count: that group's size and the readiness' pools and generation, nothing else", async () => {
    const pools = [{ name: "general", count: 3, size: "m6i.xlarge" }, { name: "gpu", count: 4, size: "g5.xlarge",
      resources: { gpus: 1 } }];
    const grown = await runProgram({ ...STACKS.aws, agentPools: pools });
    const d = diffRuns(base, grown);
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(d.changed.map((c) => c.key)).toEqual([`${ASG}::prod-gpu-group`, `${READY}::prod-ready`]);
    expect(d.changed[1].keys).toEqual(["generation", "pools"]);
    expect(ready(grown).inputs.pools).toEqual([{ pool: "general", desired: 3 }, { pool: "gpu", desired: 4 }]);
  });

  it("the user-facing outputs resolve only after the readiness is through", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    let raw: Record<string, any> = {};
    const run = runProgram(STACKS.aws, { hold: (type) => (type === READY ? gate : undefined), onOutputs: (o) => (raw = o) });
    // Wait until everything but the readiness has answered: the ungated outputs resolve, the gated do not.
    for (let i = 0; i < 200 && !raw.sshHints; i++) await new Promise((r) => setTimeout(r, 10));
    const names = ["mesosUrl", "marathonUrl", "zookeeper", "masters", "agents", "sshHints", "adminUser"];
    for (const k of names) (raw[k] as any).promise().then(() => seen.push(k));
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.sort()).toEqual(["adminUser", "sshHints"]);
    release();
    const result = await run;
    expect(seen.sort()).toEqual([...names].sort());
    expect(result.outputs.mesosUrl).toMatch(/^https:\/\/198\.18\.0\.\d+:5050$/);
    expect(result.secretOutputs).toEqual(["adminPassword"]);
  });
});

describe("gcp and openstack get the same readiness", () => {
  it("gcp: masters at their reserved external IPs", async () => {
    const r = await runProgram(STACKS.gcp);
    expect(of(r, READY)).toHaveLength(1);
    expect(ready(r).inputs.masters.map((m: any) => m.connection.host)).toEqual(
      ["prod-m1", "prod-m2", "prod-m3"].map(() => expect.stringMatching(/^198\.18\.0\.\d+$/)),
    );
    // After the masters' instances and the pools' groups (regional managed instance groups: gcp-groups.test.ts).
    expect(ready(r).dependencies.filter((u) => u.includes("gcp:compute/instance:Instance"))).toHaveLength(3);
    const groups = ["prod-general-group", "prod-gpu-group"]
      .map((n) => `gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager::${n}`);
    for (const g of groups) expect(ready(r).dependencies.some((u) => u.endsWith(g)), g).toBe(true);
  });

  it("openstack: masters at their floating IPs; agents (no floating IP) are probed from the masters", async () => {
    const r = await runProgram(STACKS.openstack);
    const fip = (n: string) => r.resources.find((x) => x.name === `${n}-fip`)!;
    expect(fip("prod-m1")).toBeDefined();
    expect(ready(r).inputs.masters.map((m: any) => m.connection.host)).toEqual(
      ["prod-m1", "prod-m2", "prod-m3"].map(() => expect.stringMatching(/^192\.0\.2\.\d+$/)),
    );
    expect(ready(r).inputs.agents.map((a: any) => a.id)).toEqual(["general-1", "general-2", "general-3", "gpu-1"]);
    expect(plainLeaks(r.resources)).toEqual([]);
    // Each host follows its server's id (a server made anew replaces its host, which adopts it).
    const host = (n: string) => r.resources.find((x) => x.name === `prod-${n}-bootstrap`)!;
    for (const n of ["m1", "general-1", "gpu-1"]) expect(host(n).inputs.machine).toBe(`prod-${n}-id`);
  });
});

describe("cloudMasterConnections (pure)", () => {
  const m = (id: string, privateIp: string, publicIp?: string) => ({ id, privateIp, publicIp });

  it("a master without a public address is reached through the first master that has one", () => {
    expect(cloudMasterConnections("aws", "admin", [m("m1", "10.0.0.11", ""), m("m2", "10.0.1.12", "203.0.113.5"), m("m3", "10.0.2.13", "203.0.113.6")])).toEqual([
      { host: "10.0.0.11", port: 22, user: "admin", bastion: { name: "m2", host: "203.0.113.5", port: 22, user: "admin" } },
      { host: "203.0.113.5", port: 22, user: "admin" },
      { host: "203.0.113.6", port: 22, user: "admin" },
    ]);
  });

  it("no master with a public address: an error naming the masters and the config to change", () => {
    expect(() => cloudMasterConnections("openstack", "debian", [m("m1", "10.0.0.11"), m("m2", "10.0.0.12", "")])).toThrow(
      /none of the masters \(m1 10\.0\.0\.11, m2 10\.0\.0\.12\) has a public address.*set openstack\.externalNetwork/,
    );
  });

  it("cloudGeneration changes with any node's hash and with the node set", () => {
    const g = cloudGeneration([{ id: "m1", hash: "a" }, { id: "general-1", hash: "b" }]);
    expect(cloudGeneration([{ id: "m1", hash: "a" }, { id: "general-1", hash: "b" }])).toBe(g);
    expect(cloudGeneration([{ id: "m1", hash: "a" }, { id: "general-1", hash: "c" }])).not.toBe(g);
    expect(cloudGeneration([{ id: "m1", hash: "a" }])).not.toBe(g);
  });
});
