// createSshBootstrap under Pulumi mocks: what MesosCluster's SSH seam registers for a 3-master, 2-agent
// bare-metal stack (the dynamic providers do not run under mocks), and what the host provider renders
// from those inputs.
import { addressRuns } from "../../provisioning/steps/firewall";
import { describe, it, expect } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { parseModel } from "../../components/config";
import { buildTopology } from "../../components/topology";
import { PROVIDER_MODULES } from "../../components/providers";
import { deriveCredentials } from "../../provisioning/credentials";
import { createSshBootstrap, hostInputsFor } from "../../provisioning/baremetal/bootstrap";
import { cleanupPlan } from "../../provisioning/baremetal/cleanup";
import { bootstrapInputOf, renderHost } from "../../provisioning/baremetal/render";
import type { HostInputs } from "../../provisioning/baremetal/types";
import { ACLS_FILE } from "../../provisioning/steps/acls";
import { shimText } from "../../provisioning/dynamic/shim-text";
import { resolveArtifacts } from "../../provisioning/artifacts";
import { renderSteps } from "../../provisioning/steps";
import { renderStepScripts } from "../../provisioning/render/ssh-plan";
import { STACKS, SSH_PRIVATE } from "../program/fixtures";

const SIG = "4dabf18193072939515e22adb298388d";
const reveal = (v: any) => (v && typeof v === "object" && SIG in v ? v.value : v);

describe("createSshBootstrap", () => {
  it("registers one host per node (agents after masters) and one readiness check, with no secret input at all", async () => {
    const seen: pulumi.runtime.MockResourceArgs[] = [];
    await pulumi.runtime.setMocks({
      newResource: (a) => {
        seen.push(a);
        const state = { ...a.inputs };
        if (a.type.endsWith("baremetal:Host") && a.custom) Object.assign(state, { stepHashes: { install: "h1" }, hostKey: { fingerprint: `SHA256:${a.name}`, type: "ssh-ed25519", source: "tofu" } });
        return { id: `${a.name}-id`, state };
      },
      call: (a) => a.inputs,
    }, "elastic-mesos", "dev");
    const cfg = { ...STACKS.baremetal, baremetal: { ...(STACKS.baremetal.baremetal as object),
      bastions: [{ name: "jump", address: "10.77.0.10", hostKeyFingerprint: "SHA256:" + "B".repeat(43) }] } } as any;
    cfg.baremetal.hosts = cfg.baremetal.hosts.map((h: any, i: number) => ({ ...h, bastion: "jump", ...(i === 0 ? { hostKeyFingerprint: "SHA256:" + "C".repeat(43) } : {}),
      ...(i === 2 ? { replaces: "10.77.0.99" } : {}) }));
    const model = parseModel(cfg, {});
    const topology = buildTopology(model);
    class Root extends pulumi.ComponentResource { constructor() { super("test:index:Root", "root", {}); } }
    const parent = new Root();
    const set = PROVIDER_MODULES.baremetal.module.createMachines({ model, topology, userData: () => "", poolUserData: () => "" }, parent);
    const credentials = pulumi.secret(model.clusterSecret.apply((s) => deriveCredentials(s, model.cluster.name)));
    const resources = createSshBootstrap({ name: "prod", model, topology, machines: set.machines, credentials, parent });
    await (pulumi.runtime as any).waitForRPCs();

    expect(resources).toHaveLength(6);
    const hosts = seen.filter((r) => r.type === "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host");
    expect(hosts.map((h) => h.name)).toEqual(["prod-m1-bootstrap", "prod-m2-bootstrap", "prod-m3-bootstrap", "prod-h4-bootstrap", "prod-h5-bootstrap"]);
    const m1 = hosts[0].inputs.spec;
    // A master's entry that names the lost machine it replaces passes it on (the provider's check reads it).
    expect(reveal(hosts[2].inputs.spec.connection).replaces).toBe("10.77.0.99");
    expect(reveal(m1.connection).replaces).toBeUndefined();
    expect(reveal(m1.connection)).toEqual({ host: "10.77.0.11", port: 22, user: "admin", configPath: "baremetal.hosts[name=h1]",
      hostKeyFingerprint: "SHA256:" + "C".repeat(43), bastion: { name: "jump", host: "10.77.0.10", port: 22, user: "admin", hostKeyFingerprint: "SHA256:" + "B".repeat(43) } });
    // No credential is an input (the provider derives them from clusterSecret), so nothing is secret: every
    // input shows in previews and diffs as it is. The provider is the fixed shim, not a serialized closure.
    const secretInputs = (i: Record<string, any>) => Object.keys(i).filter((k) => i[k] && typeof i[k] === "object" && SIG in i[k]).sort();
    for (const h of hosts) expect([h.name, secretInputs(h.inputs)]).toEqual([h.name, []]);
    for (const h of hosts) expect(h.inputs.__provider).toBe(shimText("elastic-mesos/baremetal:Host"));
    // Exactly what hostInputsFor gives (the lab tests and the benchmark drive the provider with it).
    const masters = topology.masters.map((n, i) => ({ id: n.id, zkId: n.zkId!, ip: `10.77.0.1${i + 1}`, hostname: n.hostname }));
    const artifacts = resolveArtifacts(model.versions, model.artifacts, model.os);
    hosts.forEach((h, k) => {
      const node = [...topology.masters, ...topology.agents][k];
      // Bare metal: the host firewall with the config's admin CIDRs and every host of the cluster.
      const firewall = { adminCidrs: model.adminCidrs, members: addressRuns(hosts.map((_, j) => `10.77.0.1${j + 1}`)) };
      const b = { cluster: "prod", os: model.os, node, selfIp: `10.77.0.1${k + 1}`, quorum: topology.quorum, artifacts, masters, firewall,
        taskUsers: ["mesos-task"] };
      // Agents are drained from a master, reached with the key its own host resource recorded (m1's is pinned).
      const via = hosts.slice(0, 3).map((m, j) => ({ id: `m${j + 1}`, connection: reveal(m.inputs.spec.connection),
        ...(j > 0 ? { hostKeyFingerprint: `SHA256:${m.name}` } : {}) }));
      expect(Object.keys(h.inputs).sort()).toEqual(["__provider", "spec"]); // one property: see HostProps
      // ... and the rollout group it takes turns in: the masters one at a time, its pool's agents one at a time.
      const pool = node.role === "agent" ? topology.agents.filter((a) => a.pool === node.pool).length : 0;
      const rollout = node.role === "master" ? { group: "masters", slots: 1, size: 3 } : { group: `pool:${node.pool}`, slots: 1, size: pool };
      expect(h.inputs.spec).toEqual(JSON.parse(JSON.stringify({ ...hostInputsFor(b, h.inputs.spec.connection, masters.map((m) => m.ip), {}, via), rollout })));
    });
    expect(m1.node).toMatchObject({ id: "m1", role: "master", hostname: "prod-m1", zkId: 1 });
    expect(m1.drain).toBeUndefined();
    expect(m1.taskUsers).toEqual(["mesos-task"]);
    const agent = hosts[3].inputs.spec;
    expect(agent).not.toHaveProperty("taskUsers"); // an agent has its own node.taskUser
    expect({ ...agent.drain, masterHosts: undefined }).toEqual({ masters: ["10.77.0.11", "10.77.0.12", "10.77.0.13"], masterPort: 5050,
      agentPort: 5051, timeoutSeconds: 600, masterHosts: undefined });
    expect(agent.drain.masterHosts.map((m: any) => [m.id, m.connection.host, m.connection.hostKeyFingerprint ?? m.hostKeyFingerprint])).toEqual([
      ["m1", "10.77.0.11", "SHA256:" + "C".repeat(43)], ["m2", "10.77.0.12", "SHA256:prod-m2-bootstrap"], ["m3", "10.77.0.13", "SHA256:prod-m3-bootstrap"]]);
    expect(JSON.stringify(seen.map((r) => r.inputs))).not.toContain(STACKS.baremetal.clusterSecret as string);
    for (const h of hosts) {
      const { __provider, ...rest } = h.inputs;
      expect(JSON.stringify(rest)).not.toContain("PRIVATE KEY");
      void __provider;
    }
    expect(JSON.stringify(seen.map((r) => ({ ...r.inputs, __provider: undefined })))).not.toContain(SSH_PRIVATE.split("\n")[1]);

    const ready = seen.find((r) => r.type === "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness")!;
    expect(ready.name).toBe("prod-ready");
    const ri = Object.fromEntries(Object.entries(ready.inputs).map(([k, v]) => [k, reveal(v)]));
    expect(ri.quorum).toBe(2);
    expect(ri.masters.map((m: any) => [m.id, m.ip, m.hostKeyFingerprint])).toEqual([["m1", "10.77.0.11", "SHA256:prod-m1-bootstrap"], ["m2", "10.77.0.12", "SHA256:prod-m2-bootstrap"], ["m3", "10.77.0.13", "SHA256:prod-m3-bootstrap"]]);
    expect(ri.agents.map((a: any) => a.hostname)).toEqual(["prod-h4", "prod-h5"]);
    expect(secretInputs(ready.inputs)).toEqual([]);
    expect(ready.inputs.__provider).toBe(shimText("elastic-mesos/health:Readiness"));
    expect(ri.generation).toMatch(/^sha256:[0-9a-f]{64}$/);
  }, 60_000);

  it("bare-metal masters allow and default to every pool's task user (sorted, distinct); agents keep their own", async () => {
    const seen: pulumi.runtime.MockResourceArgs[] = [];
    await pulumi.runtime.setMocks({
      newResource: (a) => (seen.push(a), { id: `${a.name}-id`, state: { ...a.inputs, stepHashes: {}, hostKey: { fingerprint: `SHA256:${a.name}` } } }),
      call: (a) => a.inputs,
    }, "elastic-mesos", "dev");
    const base = STACKS.baremetal as any;
    const cfg = { ...base, agentPools: [{ name: "general", count: 1 }, { name: "ci", count: 1, taskUser: "ci-runner" }],
      baremetal: { hosts: [...base.baremetal.hosts.slice(0, 4), { name: "h5", address: "10.77.0.15", role: "agent", pool: "ci" }] } };
    const model = parseModel(cfg, {});
    const topology = buildTopology(model);
    class Root extends pulumi.ComponentResource { constructor() { super("test:index:Root", "root2", {}); } }
    const parent = new Root();
    const set = PROVIDER_MODULES.baremetal.module.createMachines({ model, topology, userData: () => "", poolUserData: () => "" }, parent);
    const credentials = pulumi.secret(model.clusterSecret.apply((s) => deriveCredentials(s, model.cluster.name)));
    createSshBootstrap({ name: "prod", model, topology, machines: set.machines, credentials, parent });
    await (pulumi.runtime as any).waitForRPCs();
    const specs = seen.filter((r) => r.type === "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host").map((r) => r.inputs.spec as HostInputs);
    const c = deriveCredentials(STACKS.baremetal.clusterSecret as string, "prod");
    const fileOf = (i: HostInputs, path: string) => renderSteps(bootstrapInputOf(i, c)).flatMap((st) => st.files).find((f) => f.path === path);
    for (const m of specs.filter((i) => i.node.role === "master")) {
      expect(m.taskUsers).toEqual(["ci-runner", "mesos-task"]);
      const acl = JSON.parse(fileOf(m, ACLS_FILE)!.content);
      expect(acl.run_tasks[0]).toEqual({ principals: { values: ["marathon"] }, users: { values: ["ci-runner", "mesos-task"] } });
      // Marathon's default user is mesos-task while a pool uses it (the cloud-init path agrees: acls.ts).
      expect(fileOf(m, "/etc/systemd/system/marathon.service")!.content).toMatch(/--mesos_user[= ]'?mesos-task\b/);
    }
    const agents = specs.filter((i) => i.node.role === "agent");
    expect(agents.map((a) => [a.node.pool, a.node.taskUser, a.taskUsers])).toEqual([["general", "mesos-task", undefined], ["ci", "ci-runner", undefined]]);
    expect(JSON.parse(fileOf(agents[1], ACLS_FILE)!.content).run_tasks[0].users).toEqual({ values: ["ci-runner"] });
  }, 60_000);

  it("in a preview where the masters' keys are not known yet, only the agents' drain.masterHosts is unknown", async () => {
    const seen: pulumi.runtime.MockResourceArgs[] = [];
    await pulumi.runtime.setMocks({
      // Masters updating in a preview: no hostKey yet (the engine leaves outputs that are not inputs unknown).
      newResource: (a) => (seen.push(a), { id: `${a.name}-id`, state: { ...a.inputs } }),
      call: (a) => a.inputs,
    }, "elastic-mesos", "dev", true);
    const model = parseModel(STACKS.baremetal as any, {});
    const topology = buildTopology(model);
    class Root extends pulumi.ComponentResource { constructor() { super("test:index:Root", "root3", {}); } }
    const parent = new Root();
    const set = PROVIDER_MODULES.baremetal.module.createMachines({ model, topology, userData: () => "", poolUserData: () => "" }, parent);
    const credentials = pulumi.secret(model.clusterSecret.apply((s) => deriveCredentials(s, model.cluster.name)));
    createSshBootstrap({ name: "prod", model, topology, machines: set.machines, credentials, parent });
    await (pulumi.runtime as any).waitForRPCs();
    const agents = seen.filter((r) => r.type.endsWith("baremetal:Host") && r.custom && r.inputs.spec?.node?.role === "agent");
    expect(agents).toHaveLength(2);
    for (const a of agents) {
      const { drain, ...rest } = a.inputs.spec;
      // (Mocks hand unknowns over as such; the engine sends the provider its placeholder string there.)
      expect(pulumi.isUnknown(drain.masterHosts)).toBe(true);
      expect(pulumi.containsUnknowns({ ...rest, drain: { ...drain, masterHosts: [] } })).toBe(false);
      expect(rest.connection.host).toMatch(/^10\.77\.0\.1[45]$/);
    }
  }, 60_000);

  it("the provider renders each node's steps and cleanup plan from the compact inputs (the plan holds no credential)", () => {
    const model = parseModel(STACKS.baremetal as any, {});
    const topology = buildTopology(model);
    const artifacts = resolveArtifacts(model.versions, model.artifacts, model.os);
    const masters = topology.masters.map((n, i) => ({ id: n.id, zkId: n.zkId!, ip: `10.0.0.1${i + 1}`, hostname: n.hostname }));
    for (const node of [topology.masters[0], topology.agents[0]]) {
      const b = { cluster: "prod", os: model.os, node, selfIp: node.role === "master" ? masters[0].ip : "10.0.0.21", quorum: topology.quorum, artifacts, masters, credentials: deriveCredentials("s3cret-value-for-the-test-0001", "prod") };
      const real = renderSteps(b);
      const plan = renderHost(hostInputsFor(b, { host: b.selfIp, port: 22, user: "root" }, masters.map((m) => m.ip)), b.credentials);
      expect(plan.cleanup).toEqual(cleanupPlan(real));
      expect(plan.steps).toEqual(renderStepScripts(real));
      expect(plan.node).toEqual({ id: node.id, role: node.role, pool: node.pool, hostname: node.hostname, ip: b.selfIp });
      expect(plan.cleanup.units).toEqual(expect.arrayContaining(node.role === "master" ? ["zookeeper.service", "mesos-master.service", "marathon.service"] : ["mesos-agent.service"]));
      expect(JSON.stringify(plan.cleanup)).not.toContain(b.credentials.adminPassword);
    }
  });
});
