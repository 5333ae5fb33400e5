// A cloud-init cluster whose provider runs a pool as a self-healing group (components/contracts AgentGroup): the
// real MesosCluster under Pulumi's mocks, with a test-only provider module in PROVIDER_MODULES (machines for the
// masters and the pool "general", one group for the pool "gpu", as the AWS, GCP and DigitalOcean modules return
// them). What the cloud-independent half must do with it: no host resource for a group's agents, the readiness
// waits for the group and counts its agents, its generation follows the group's user-data and size, the
// outputs say what is known.
import { afterEach, describe, expect, it, vi } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { cloudGeneration } from "../../components/readiness";
import type { Machine, MachineSet, ProviderArgs, ProviderModule } from "../../components/contracts";
import { isSecretInput, reveal, type Registered } from "./mocks";
import { diffRuns, runProgram, runProgramExpectingError } from "./harness";
import { STACKS } from "./fixtures";
import { plainLeaks } from "./secrets";

const READY = "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness";
const HOST = "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host";

class Vm extends pulumi.CustomResource {
  declare public readonly privateIp: pulumi.Output<string>;
  declare public readonly publicIp: pulumi.Output<string>;
  constructor(name: string, args: Record<string, pulumi.Input<unknown>>, opts: pulumi.CustomResourceOptions) {
    super("test:index:Vm", name, { privateIp: undefined, publicIp: undefined, ...args }, opts);
  }
}
class Group extends pulumi.CustomResource {
  constructor(name: string, args: Record<string, pulumi.Input<unknown>>, opts: pulumi.CustomResourceOptions) {
    super("test:index:Group", name, args, opts);
  }
}

/** A cloud of the test's own: each master and each agent of the machine pools a Vm; the `groupPools` each one Group. */
function groupingModule(groupPools: string[]): ProviderModule {
  return {
    createMachines({ topology, userData, poolUserData, model }: ProviderArgs, parent: pulumi.Resource): MachineSet {
      const opts = { parent };
      const machines: Machine[] = [...topology.masters, ...topology.agents.filter((n) => !groupPools.includes(n.pool!))]
        .map((node) => {
          const privateIp = node.plannedIp ?? `10.20.9.${node.ordinal}`;
          const publicIp = node.role === "master" ? `198.18.0.${node.ordinal}` : "";
          const vm = new Vm(node.hostname, { userData: userData(node), privateIp, publicIp, size: node.size }, opts);
          return { node, resource: vm, privateIp: vm.privateIp, ...(publicIp ? { publicIp: vm.publicIp } : {}) };
        });
      const groups = groupPools.map((pool) => {
        const spec = model.agentPools.find((p) => p.name === pool)!;
        const resource = new Group(`${model.cluster.name}-${pool}-group`,
          { userData: poolUserData(pool), desiredCapacity: spec.count, size: spec.size }, opts);
        return { pool, desired: spec.count, resource };
      });
      return { machines, groups };
    },
  };
}

/** The aws fixture stack (gpu: 2 agents, an attribute), changed by `change`, its provider module being `module`. */
function stack(module: ProviderModule, change: (raw: any) => void) {
  // The program (index.ts) is loaded afresh per run (harness): it gets this registry, the real one but for aws.
  vi.doMock("../../components/providers", async (importOriginal) => {
    const real = await importOriginal<typeof import("../../components/providers")>();
    return { ...real, PROVIDER_MODULES: { ...real.PROVIDER_MODULES, aws: { module, delivery: "cloud-init" } } };
  });
  const raw = structuredClone(STACKS.aws) as any;
  raw.agentPools[1] = { ...raw.agentPools[1], count: 2, attributes: { accelerator: "a10g" } };
  change(raw);
  return raw;
}

/** Runs the real program (index.ts → MesosCluster) under mocks with the provider `module`. */
async function build(module: ProviderModule, change: (raw: any) => void = () => {}) {
  const r = await runProgram(stack(module, change));
  return { registered: r.resources, outputs: r.outputs };
}
const of = (r: Registered[], type: string) => r.filter((x) => x.type === type);
const ready = (r: Registered[]) => of(r, READY)[0];

describe("a pool run as a group, through the real MesosCluster", () => {
  afterEach(() => { vi.doUnmock("../../components/providers"); });

  it("no host resource for the group's agents; the readiness waits for the group and counts its agents", async () => {
    const { registered } = await build(groupingModule(["gpu"]));
    expect(of(registered, HOST).map((h) => h.name).sort()).toEqual(
      ["prod-general-1", "prod-general-2", "prod-general-3", "prod-m1", "prod-m2", "prod-m3"].map((n) => `${n}-bootstrap`));
    const r = ready(registered);
    expect(r.inputs.agents.map((a: any) => a.id)).toEqual(["general-1", "general-2", "general-3"]);
    expect(r.inputs.pools).toEqual([{ pool: "gpu", desired: 2 }]);
    expect(r.dependencies).toContainEqual(expect.stringMatching(/test:index:Group::prod-gpu-group$/));
    // The group boots from the pool's one user-data: secret, rendered for the pool's template node.
    const group = of(registered, "test:index:Group")[0];
    expect(isSecretInput(group.inputs.userData)).toBe(true);
    expect(reveal(group.inputs.userData)).toMatch(/^#cloud-config\n# elastic-mesos bootstrap/);
    expect(group.inputs.desiredCapacity).toBe(2);
    expect(plainLeaks(registered)).toEqual([]);
  });

  it("a no-change run changes nothing", async () => {
    const a = await build(groupingModule(["gpu"]));
    const b = await build(groupingModule(["gpu"]));
    expect(diffRuns(a.registered, b.registered)).toEqual({ added: [], removed: [], changed: [] });
  });

  it("a count change: only the group's size and the readiness (its pools and generation)", async () => {
    const a = await build(groupingModule(["gpu"]));
    const b = await build(groupingModule(["gpu"]), (raw) => { raw.agentPools[1].count = 5; });
    expect(diffRuns(a.registered, b.registered)).toEqual({ added: [], removed: [], changed: [
      { key: "test:index:Group::prod-gpu-group", keys: ["desiredCapacity"] },
      { key: `${READY}::prod-ready`, keys: ["generation", "pools"] },
    ] });
    expect(reveal(ready(b.registered).inputs.generation)).not.toBe(reveal(ready(a.registered).inputs.generation));
  });

  it("a template change (the pool's attributes): the group's user-data and the readiness generation, no host", async () => {
    const a = await build(groupingModule(["gpu"]));
    const b = await build(groupingModule(["gpu"]), (raw) => { raw.agentPools[1].attributes = { accelerator: "l4" }; });
    expect(diffRuns(a.registered, b.registered)).toEqual({ added: [], removed: [], changed: [
      { key: "test:index:Group::prod-gpu-group", keys: ["userData"] },
      { key: `${READY}::prod-ready`, keys: ["generation"] },
    ] });
  });

  it("stack outputs: machine pools' agents by address, a group's desired size and resource, no address", async () => {
    const { outputs } = await build(groupingModule(["gpu"]));
    expect(Object.keys(outputs.agents)).toEqual(["general"]);
    expect(outputs.agentGroups).toEqual({ gpu: { desired: 2, group: "prod-gpu-group", id: "prod-gpu-group-id" } });
    expect(outputs.sshHints.filter((h: string) => h.includes("10.20.9."))).toHaveLength(3); // general's only
  });

  it("every pool a group: hosts for the masters only, the readiness expects no named agent", async () => {
    const { registered, outputs } = await build(groupingModule(["general", "gpu"]));
    expect(of(registered, HOST).map((h) => h.name)).toEqual(["prod-m1-bootstrap", "prod-m2-bootstrap", "prod-m3-bootstrap"]);
    expect(ready(registered).inputs.agents).toEqual([]);
    expect(ready(registered).inputs.pools).toEqual([{ pool: "general", desired: 3 }, { pool: "gpu", desired: 2 }]);
    expect(outputs.agents).toEqual({});
    expect(Object.keys(outputs.agentGroups)).toEqual(["general", "gpu"]);
  });

  it("without groups: the readiness inputs have no pools and the generation is as it was", async () => {
    const { registered, outputs } = await build(groupingModule([]));
    expect(ready(registered).inputs).not.toHaveProperty("pools");
    expect(outputs).not.toHaveProperty("agentGroups"); // a stack without groups keeps the outputs it had
    expect(of(registered, HOST)).toHaveLength(8);
    const h = [{ id: "m1", hash: "a" }];
    expect(cloudGeneration(h, [], [])).toBe(cloudGeneration(h));
    expect(cloudGeneration(h, [], [{ pool: "gpu", hash: "b", desired: 2 }])).not.toBe(cloudGeneration(h));
    expect(cloudGeneration(h, [], [{ pool: "gpu", hash: "b", desired: 2 }]))
      .not.toBe(cloudGeneration(h, [], [{ pool: "gpu", hash: "b", desired: 3 }]));
  });

  it("a provider that leaves out an agent of a pool it runs no group for: an error naming it", async () => {
    const broken: ProviderModule = {
      createMachines(args, parent) {
        const set = groupingModule(["gpu"]).createMachines(args, parent);
        return { ...set, machines: set.machines.filter((m) => m.node.id !== "general-2") };
      },
    };
    const { error } = await runProgramExpectingError(stack(broken, () => {}));
    expect(String(error?.message ?? error)).toMatch(/no machine for agent general-2: pool "general" is not run as a group/);
  });
});
