// The SSH-delivery stacks (baremetal, local, digitalocean) under mocks, as index.ts wires them: one
// MesosHost per node running its steps (agents only after every master), one readiness after all of
// them, and stack outputs that wait for the readiness. No secret among the inputs at all (the providers
// derive every credential from the stack config), and each stored provider is the small fixed shim.
import { expandRuns } from "../../provisioning/steps/firewall";
import { describe, it, expect, beforeAll } from "vitest";
import { runProgram, diffRuns, countByType, type RunResult } from "./harness";
import { SECRET_SIG, fakeIp, type Registered } from "./mocks";
import { shimText } from "../../provisioning/dynamic/shim-text";
import { STACKS } from "./fixtures";
import { plainLeaks, secretStrings } from "./secrets";
import { hostTls, renderHost } from "../../provisioning/baremetal/render";
import { deriveCredentials } from "../../provisioning/credentials";
import type { HostInputs } from "../../provisioning/baremetal/types";

const HOST = "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host";
const READY = "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness";
const MACHINE = "elastic-mesos:baremetal:Host";
const of = (r: RunResult, type: string) => r.resources.filter((x) => x.type === type);
const one = (r: RunResult, type: string, name: string) => r.resources.find((x) => x.type === type && x.name === name)!;
/** Mock URNs end with `<type>::<name>` (the type possibly prefixed by the parent's). */
const dependsOn = (r: Registered, type: string, name: string) => r.dependencies.some((u) => u.endsWith(`${type}::${name}`));

const withAgents = (n: number) => ({
  ...STACKS.baremetal,
  agentPools: [{ name: "general", count: n }],
  baremetal: {
    hosts: [
      ...(STACKS.baremetal.baremetal as { hosts: unknown[] }).hosts,
      ...Array.from({ length: n - 2 }, (_, i) => ({ name: `h${6 + i}`, address: `10.77.0.${16 + i}`, role: "agent", pool: "general" })),
    ],
  },
});

describe("baremetal: SSH bootstrap, then readiness, then outputs", () => {
  let base: RunResult;
  beforeAll(async () => {
    base = await runProgram(STACKS.baremetal);
  });

  it("one MesosHost per node and one readiness", () => {
    expect(countByType(base.resources)).toEqual({
      "pulumi-nodejs:dynamic/elastic-mesos/cluster:Masters": 1, // the masters pin, first of all (membership/pin.ts)
      [MACHINE]: 5,
      "elastic-mesos:index:Cluster": 1,
      [HOST]: 5,
      [READY]: 1,
      "pulumi:pulumi:Stack": 1,
    });
    expect(of(base, HOST).map((h) => h.name).sort()).toEqual(
      ["prod-h4", "prod-h5", "prod-m1", "prod-m2", "prod-m3"].map((n) => `${n}-bootstrap`),
    );
  });

  it("masters run together; every agent waits for every master; readiness waits for every host", () => {
    const masters = ["prod-m1", "prod-m2", "prod-m3"];
    const agents = ["prod-h4", "prod-h5"];
    // (A bare-metal machine record is a childless component: depending on it adds no URN.)
    for (const m of masters) expect(one(base, HOST, `${m}-bootstrap`).dependencies.filter((u) => u.includes(HOST))).toEqual([]);
    for (const a of agents) {
      const h = one(base, HOST, `${a}-bootstrap`);
      for (const m of masters) expect(dependsOn(h, HOST, `${m}-bootstrap`), `${a} after ${m}`).toBe(true);
    }
    const ready = one(base, READY, "prod-ready");
    for (const n of [...masters, ...agents]) expect(dependsOn(ready, HOST, `${n}-bootstrap`)).toBe(true);
  });

  it("hosts connect to the configured addresses; readiness probes the masters and expects every agent", () => {
    const m2 = one(base, HOST, "prod-m2-bootstrap").inputs.spec;
    expect(m2.connection).toMatchObject({ host: "10.77.0.12", port: 22, user: "admin", configPath: "baremetal.hosts[name=h2]" });
    expect(m2.node).toMatchObject({ id: "m2", role: "master", zkId: 2 });
    expect(m2.selfIp).toBe("10.77.0.12");
    expect(m2.masters.map((m: { ip: string }) => m.ip)).toEqual(["10.77.0.11", "10.77.0.12", "10.77.0.13"]);
    expect(m2).not.toHaveProperty("steps"); // rendered by the provider, never stored
    const r = one(base, READY, "prod-ready").inputs;
    expect(r.masters.map((m: any) => [m.id, m.ip, m.connection.host])).toEqual([
      ["m1", "10.77.0.11", "10.77.0.11"], ["m2", "10.77.0.12", "10.77.0.12"], ["m3", "10.77.0.13", "10.77.0.13"],
    ]);
    expect(r.agents).toEqual([
      { id: "h4", pool: "general", hostname: "prod-h4", ip: "10.77.0.14" },
      { id: "h5", pool: "general", hostname: "prod-h5", ip: "10.77.0.15" },
    ]);
    expect(r.quorum).toBe(2);
    expect(r).not.toHaveProperty("adminPassword"); // derived from clusterSecret by the provider
  });

  it("no input holds a credential or the private key, in plain text or as a secret; __provider is the shim", () => {
    expect(plainLeaks(base.resources)).toEqual([]);
    for (const r of [...of(base, HOST), ...of(base, READY)]) {
      expect(JSON.stringify(r.inputs).includes(SECRET_SIG), r.key).toBe(false);
      const text = JSON.stringify(r.inputs);
      for (const s of secretStrings()) expect(text).not.toContain(s);
    }
    expect(of(base, HOST).every((h) => h.inputs.__provider === shimText("elastic-mesos/baremetal:Host"))).toBe(true);
    expect(one(base, READY, "prod-ready").inputs.__provider).toBe(shimText("elastic-mesos/health:Readiness"));
  });

  it("state per host stays small: the inputs a host stores are a few KB", () => {
    for (const h of of(base, HOST)) {
      const bytes = JSON.stringify(h.inputs).length;
      expect(bytes, h.name).toBeLessThan(4_096);
    }
  });

  it("adding a host to a pool adds its machine record and MesosHost, updates the readiness and the other hosts' firewall members", async () => {
    const grown = await runProgram(withAgents(3));
    const others = ["m1", "m2", "m3", "h4", "h5"].map((n) => ({ key: `${HOST}::prod-${n}-bootstrap`, keys: ["spec"] }));
    expect(diffRuns(base, grown)).toEqual({
      added: [`${MACHINE}::prod-h6`, `${HOST}::prod-h6-bootstrap`],
      removed: [],
      changed: expect.arrayContaining([{ key: `${READY}::prod-ready`, keys: ["agents", "generation"] }, ...others]),
    });
    expect(diffRuns(base, grown).changed).toHaveLength(others.length + 1);
    // Only the firewall's members differ in the others' specs (so only their firewall step re-runs: firewall.test.ts).
    const spec = (r: typeof base, n: string) => one(r, HOST, `prod-${n}-bootstrap`).inputs.spec;
    for (const n of ["m1", "h4"]) {
      const [before, after] = [spec(base, n), spec(grown, n)];
      // (and the rollout's bookkeeping of the pool's size, which runs no step)
      expect({ ...after, firewall: before.firewall, rollout: before.rollout }).toEqual(before);
      expect(expandRuns(after.firewall.members)).toEqual([...expandRuns(before.firewall.members), spec(grown, "h6").selfIp].sort());
    }
    const newHost = one(grown, HOST, "prod-h6-bootstrap");
    for (const m of ["prod-m1", "prod-m2", "prod-m3"]) expect(dependsOn(newHost, HOST, `${m}-bootstrap`)).toBe(true);
  });

  it("a no-change run changes nothing (the readiness generation is stable)", async () => {
    const again = await runProgram(STACKS.baremetal);
    expect(diffRuns(base, again)).toEqual({ added: [], removed: [], changed: [] });
  });
});

describe("digitalocean: droplets bootstrapped over SSH at their public IPv4", () => {
  let r: RunResult;
  beforeAll(async () => {
    r = await runProgram(STACKS.digitalocean);
  });

  it("one MesosHost per (master) droplet, connecting to its public address, the cluster on its private one", () => {
    const droplets = of(r, "digitalocean:index/droplet:Droplet");
    expect(of(r, HOST)).toHaveLength(droplets.length);
    expect(droplets).toHaveLength(3); // the agents are autoscale pools' droplets (digitalocean-groups.test.ts)
    for (const d of droplets) {
      const h = one(r, HOST, `${d.name}-bootstrap`).inputs.spec;
      expect(h.connection).toEqual({ host: expect.stringMatching(/^198\.51\.100\.\d+$/), port: 22, user: "admin" });
      expect(h.selfIp).toMatch(/^10\.20\.9\.\d+$/);
      expect(one(r, HOST, `${d.name}-bootstrap`).dependencies.some((u) => u.endsWith(`droplet:Droplet::${d.name}`))).toBe(true);
    }
    const ready = one(r, READY, "prod-ready");
    expect(ready.inputs.masters.map((m: any) => m.connection.host)).toEqual(
      ["prod-m1", "prod-m2", "prod-m3"].map((n) => one(r, HOST, `${n}-bootstrap`).inputs.spec.connection.host),
    );
    expect(ready.inputs.agents).toHaveLength(0);
    expect(plainLeaks(r.resources)).toEqual([]);
  });
});

describe("digitalocean: masters change online (membership/pin.ts ONLINE_MEMBERSHIP)", () => {
  const SECRET = STACKS.digitalocean.clusterSecret as string;
  /** A host's ZooKeeper step as its provider renders it from its spec (credentials derived as the provider does). */
  const zkStep = (spec: HostInputs) =>
    renderHost(spec, deriveCredentials(SECRET, spec.cluster), hostTls(SECRET, spec)).steps.find((s) => s.step === "zookeeper")!.script;
  const spec = (r: RunResult, name: string): HostInputs => one(r, HOST, `${name}-bootstrap`).inputs.spec;

  it("each master renders what a joining one takes, without a host firewall; bare metal's say it by their firewall", async () => {
    const r = await runProgram(STACKS.digitalocean);
    for (const m of ["prod-m1", "prod-m2", "prod-m3"]) {
      const s = spec(r, m);
      expect(s.firewall).toBeUndefined(); // DigitalOcean's cloud firewall admits the cluster's droplets by tag
      expect(s.onlineMembership).toBe(true);
      // Its server asks the running ones for the members and adds itself; the kept ones prune the members not rendered.
      expect(zkStep(s)).toContain("zk_add ");
      expect(zkStep(s)).toContain("zk_prune ");
    }
    const bm = await runProgram(STACKS.baremetal);
    expect(spec(bm, "prod-m1").onlineMembership).toBeUndefined(); // its inputs are those of earlier releases
    expect(zkStep(spec(bm, "prod-m1"))).toContain("zk_add ");
    expect(spec(bm, "prod-h4").onlineMembership).toBeUndefined();
  });

  it("3 → 5 masters adds two droplets and their hosts; the running masters' hosts update, no droplet is replaced", async () => {
    const base = await runProgram(STACKS.digitalocean);
    const grown = await runProgram({ ...STACKS.digitalocean, masters: { ...(STACKS.digitalocean.masters as object), count: 5 } });
    const d = diffRuns(base, grown);
    expect(d.added.sort()).toEqual(["digitalocean:index/droplet:Droplet::prod-m4", "digitalocean:index/droplet:Droplet::prod-m5",
      `${HOST}::prod-m4-bootstrap`, `${HOST}::prod-m5-bootstrap`]);
    expect(d.removed).toEqual([]);
    expect(d.changed.filter((c) => c.key.includes("droplet:Droplet"))).toEqual([]);
    // The pools' user-data names the masters: their template changes, and DigitalOcean replaces their droplets after
    // its cooldown, each drained at its shutdown (README: Changing the masters).
    expect(d.changed.filter((c) => c.key.includes("DropletAutoscale"))).toEqual(["general", "gpu"].map((p) =>
      ({ key: `digitalocean:index/dropletAutoscale:DropletAutoscale::prod-${p}-pool`, keys: ["dropletTemplate"] })));
    for (const m of ["prod-m1", "prod-m2", "prod-m3"]) {
      const s = spec(grown, m);
      expect(s.masters.map((x) => x.id)).toEqual(["m1", "m2", "m3", "m4", "m5"]);
      expect(s.quorum).toBe(3);
    }
    // Each new master waits for its droplet; none waits for another host: the provider orders them (afterMasters).
    expect(one(grown, HOST, "prod-m4-bootstrap").dependencies.filter((u) => u.includes(HOST))).toEqual([]);
  });
});

describe("local: the machines it creates get the same SSH bootstrap, their host keys pinned", () => {
  it("one MesosHost per machine, connecting to its address as root with the key the machine recorded", async () => {
    const r = await runProgram(STACKS.local);
    const machines = of(r, "pulumi-nodejs:dynamic/elastic-mesos/local:Machine");
    for (const m of machines) {
      const spec = one(r, HOST, `${m.name}-bootstrap`).inputs.spec;
      expect(spec.connection.host).toBe(fakeIp("10.77.0", m.name));
      expect(spec.connection.user).toBe("root");
      expect(spec.connection.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    }
    expect(of(r, READY)).toHaveLength(1);
  });
});

describe("local: growing a middle pool never shifts another pool's machines", () => {
  it("adds that pool's machine and its bootstrap; every existing machine keeps its inputs (so its address and disk)", async () => {
    const two = { ...STACKS.local, agentPools: [{ name: "web", count: 1 }, { name: "db", count: 1 }] };
    const base = await runProgram(two);
    const grown = await runProgram({ ...two, agentPools: [{ name: "web", count: 2 }, { name: "db", count: 1 }] });
    const d = diffRuns(base, grown);
    expect(d.added).toEqual([`pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host::prod-web-2-bootstrap`,
      `pulumi-nodejs:dynamic/elastic-mesos/local:Machine::prod-web-2`]);
    expect(d.removed).toEqual([]);
    expect(d.changed.filter((c) => c.key.includes("/local:"))).toEqual([]);
  });
});
