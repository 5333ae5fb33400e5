// A bare-metal host is its name, not its place in baremetal.hosts (issue 11): under mocks, the whole program
// with a middle agent removed, the list reordered, an address changed, and the hosts of a stack made by the
// release that named agents by position (3a34515); the provider's own check and diff decide the last two.
import { beforeAll, describe, expect, it } from "vitest";
import { diffRuns, runProgram, type RunResult } from "./harness";
import { STACKS } from "./fixtures";
import { MesosHostProvider } from "../../provisioning/baremetal/provider";
import { REPLACE_HOW } from "../../provisioning/baremetal/identity";
import { hostTls, renderHost } from "../../provisioning/baremetal/render";
import { changedSteps, hashesOf, replaceReasons } from "../../provisioning/baremetal/plan";
import { deriveCredentials } from "../../provisioning/credentials";
import { fakeConfig } from "../fixtures/ssh-server";
import type { HostInputs, HostOutputs } from "../../provisioning/baremetal/types";

const HOST = "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host";
const READY = "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness";
const MACHINE = "elastic-mesos:baremetal:Host";
const SECRET = STACKS.baremetal.clusterSecret as string;
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n";

type Host = { name: string; address: string; role: string; pool?: string };
const MASTERS: Host[] = [1, 2, 3].map((k) => ({ name: `h${k}`, address: `10.77.0.1${k}`, role: "master" }));
const AGENTS: Host[] = [4, 5, 6, 7].map((k) => ({ name: `h${k}`, address: `10.77.0.1${k}`, role: "agent", pool: "general" }));
const stack = (hosts: Host[]) => ({
  ...STACKS.baremetal,
  agentPools: [{ name: "general" }],
  masters: undefined,
  baremetal: { hosts },
});
const spec = (r: RunResult, name: string): HostInputs => r.resources.find((x) => x.key === `${HOST}::${name}-bootstrap`)!.inputs.spec;
const hostKeys = (r: RunResult) => r.resources.filter((x) => x.type === HOST).map((x) => x.key).sort();

async function provider(): Promise<MesosHostProvider> {
  const p = new MesosHostProvider({ runner: () => { throw new Error("no host may be contacted"); } });
  await p.configure(fakeConfig({ sshPrivateKey: KEY, clusterSecret: SECRET }));
  return p;
}

/** The outputs the provider recorded after creating a host from these inputs (what `diff` compares against). */
function recorded(i: HostInputs): HostOutputs {
  const plan = renderHost(i, deriveCredentials(SECRET, i.cluster), hostTls(SECRET, i));
  return { cluster: plan.cluster, node: plan.node, connection: plan.connection, stepHashes: hashesOf(plan.steps),
    cleanup: plan.cleanup, drain: plan.drain, hostKey: { fingerprint: "SHA256:" + "K".repeat(43), type: "ssh-ed25519", source: "tofu" },
    // With its drift watch: a state without one gets a bookkeeping update of its own (baremetal.test.ts), not tested here.
    preexisting: [], stepsRun: plan.steps.length, commandsSent: 9, watch: plan.watch };
}

describe("bare metal: a host is its name", () => {
  let base: RunResult;
  beforeAll(async () => {
    base = await runProgram(stack([...MASTERS, ...AGENTS]));
  });

  it("agents are named by their hosts; masters keep m1..m3 in the order of the master entries", () => {
    expect(hostKeys(base)).toEqual(["h4", "h5", "h6", "h7", "m1", "m2", "m3"].map((n) => `${HOST}::prod-${n}-bootstrap`));
    expect(spec(base, "prod-h5").node).toMatchObject({ id: "h5", hostname: "prod-h5", pool: "general" });
    expect(spec(base, "prod-h5").connection).toMatchObject({ host: "10.77.0.15", configPath: "baremetal.hosts[name=h5]" });
    expect(spec(base, "prod-m2").node).toMatchObject({ id: "m2", zkId: 2 });
  });

  it("removing the middle agent removes its two resources; every other host's inputs differ only in the firewall's members (steps: only the firewall)", async () => {
    const removed = await runProgram(stack([...MASTERS, ...AGENTS.filter((h) => h.name !== "h5")]));
    const d = diffRuns(base, removed);
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([`${MACHINE}::prod-h5`, `${HOST}::prod-h5-bootstrap`]);
    const others = ["m1", "m2", "m3", "h4", "h6", "h7"];
    expect(d.changed).toEqual(expect.arrayContaining([{ key: `${READY}::prod-ready`, keys: ["agents", "generation"] },
      ...others.map((n) => ({ key: `${HOST}::prod-${n}-bootstrap`, keys: ["spec"] }))]));
    expect(d.changed).toHaveLength(others.length + 1); // the machine records of the others: no change at all
    for (const n of others) {
      const [before, after] = [spec(base, `prod-${n}`), spec(removed, `prod-${n}`)];
      // `rollout` (the rollout's batch bookkeeping: its group's size) is no step and no identity.
      expect({ ...after, firewall: before.firewall, rollout: (before as any).rollout }, n).toEqual(before);
      expect(JSON.stringify(after.firewall)).not.toContain("10.77.0.15");
      // What the provider would run on it: the firewall step only (its members), nothing else.
      const plan = renderHost(after, deriveCredentials(SECRET, after.cluster), hostTls(SECRET, after));
      expect(changedSteps(recorded(before).stepHashes, plan.steps).map((x) => x.step), n).toEqual(["firewall"]);
      expect(replaceReasons(recorded(before), plan), n).toEqual([]);
    }
    expect(removed.resources.find((x) => x.key === `${READY}::prod-ready`)!.inputs.agents.map((a: any) => a.id)).toEqual(["h4", "h6", "h7"]);
  });

  it("reordering the list (agents reversed, masters after them in their own order) changes nothing", async () => {
    const reordered = await runProgram(stack([...[...AGENTS].reverse(), ...MASTERS]));
    expect(diffRuns(base, reordered)).toEqual({ added: [], removed: [], changed: [] });
  });

  it("swapping two master entries is refused by check (masters are m1..mN in the order of their entries: ZooKeeper ids)", async () => {
    const swapped = await runProgram(stack([MASTERS[1], MASTERS[0], MASTERS[2], ...AGENTS]));
    const p = await provider();
    const { failures } = await p.check({ spec: spec(base, "prod-m1") }, { spec: spec(swapped, "prod-m1") });
    expect(failures?.map((f) => f.reason)).toEqual([expect.stringMatching(
      /^baremetal\.hosts\[name=h2\]\.address: moving master m1 from 10\.77\.0\.11 to 10\.77\.0\.12 .*if you reordered those entries, put them back in that order/)]);
  });

  it("a new address under an existing name is refused by check, naming the key and saying how to replace a host", async () => {
    const moved = await runProgram(stack([...MASTERS, ...AGENTS.map((h) => (h.name === "h5" ? { ...h, address: "10.77.0.25" } : h))]));
    const p = await provider();
    const { failures } = await p.check({ spec: spec(base, "prod-h5") }, { spec: spec(moved, "prod-h5") });
    expect(failures?.map((f) => f.reason)).toEqual([
      "baremetal.hosts[name=h5].address: the host there is 10.77.0.15; changing its address to 10.77.0.25 is refused (a " +
        "host's name is its identity: the new address would be another machine, and the old one would be drained and " +
        `wiped). Put the address back (10.77.0.15). ${REPLACE_HOW}.`,
    ]);
    // The same change under another name is the replacement the message describes: a new host, the old one removed.
    const replaced = await runProgram(stack([...MASTERS, ...AGENTS.map((h) => (h.name === "h5" ? { ...h, name: "h5b", address: "10.77.0.25" } : h))]));
    expect(diffRuns(base, replaced)).toMatchObject({ added: [`${MACHINE}::prod-h5b`, `${HOST}::prod-h5b-bootstrap`],
      removed: [`${MACHINE}::prod-h5`, `${HOST}::prod-h5-bootstrap`] });
    expect((await p.check(undefined as never, { spec: spec(replaced, "prod-h5b") })).failures).toEqual([]);
    // A master's address: refused too (it could not be replaced at all).
    const master = await runProgram(stack([...MASTERS.map((h) => (h.name === "h2" ? { ...h, address: "10.77.0.22" } : h)), ...AGENTS]));
    const mf = (await p.check({ spec: spec(base, "prod-m2") }, { spec: spec(master, "prod-m2") })).failures!;
    expect(mf.map((f) => f.reason)).toEqual([expect.stringMatching(/^baremetal\.hosts\[name=h2\]\.address: moving master m2 from 10\.77\.0\.12 to 10\.77\.0\.22 .* refused/)]);
  });

  describe("a stack made by the release that named agents by position (3a34515)", () => {
    // What that release registered for the k-th agent of pool general: node general-k (hostname prod-general-k,
    // ordinal k), its place in the list as configPath, and resources named after the node.
    const legacy = (s: HostInputs, k: number, index: number): HostInputs => ({
      ...s, node: { ...s.node, id: `general-${k}`, hostname: `prod-general-${k}`, ordinal: k },
      connection: { ...s.connection, configPath: `baremetal.hosts[${index}]` },
    });

    it("every agent's resources carry the positional name as an alias (masters kept theirs)", () => {
      for (const [k, h] of AGENTS.entries()) {
        expect(base.resources.find((x) => x.key === `${HOST}::prod-${h.name}-bootstrap`)!.aliases).toEqual([`prod-general-${k + 1}-bootstrap`]);
        expect(base.resources.find((x) => x.key === `${MACHINE}::prod-${h.name}`)!.aliases).toEqual([`prod-general-${k + 1}`]);
      }
      for (const m of ["m1", "m2", "m3"]) expect(base.resources.find((x) => x.key === `${HOST}::prod-${m}-bootstrap`)!.aliases).toEqual([]);
    });

    it("the provider keeps each agent's positional identity: no failure, no change, nothing to run or replace", async () => {
      const p = await provider();
      for (const [k, h] of AGENTS.entries()) {
        const news = spec(base, `prod-${h.name}`);
        const olds = legacy(news, k + 1, MASTERS.length + k);
        const checked = await p.check({ spec: olds }, { spec: news });
        expect(checked.failures).toEqual([]);
        expect(checked.inputs!.spec!.node).toEqual(olds.node);
        const d = await p.diff("id", recorded(olds), checked.inputs!);
        expect(d, h.name).toMatchObject({ changes: false, replaces: [] });
        // Without it the agent's certificate and JWT key would change (its steps re-run: a restart for nothing).
        expect((await p.diff("id", recorded(olds), { spec: news })).changes).toBe(true);
      }
    });

    it("the list changed in the same first `up` (the alias meets another host): refused, saying to upgrade first", async () => {
      const p = await provider();
      // h6 is now the second agent: its alias prod-general-2-bootstrap is h5's old resource.
      const h5 = legacy(spec(base, "prod-h5"), 2, 4);
      const { failures } = await p.check({ spec: h5 }, { spec: spec(base, "prod-h6") });
      expect(failures?.map((f) => f.reason)).toEqual([expect.stringContaining(
        "the host there is 10.77.0.15 (installed by an earlier release as agent general-2); changing its address to 10.77.0.16 is refused")]);
      expect(failures![0].reason).toContain("put baremetal.hosts back as it was, run `pulumi up` once");
    });
  });
});
