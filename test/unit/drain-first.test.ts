// Draining an agent before a restart Mesos cannot recover (issue 11): the rule (identityChange) against the step's
// own shell rule (em_identity_additive, run for real with bash and the hosts' awk), the provider's decision
// (drainBeforeRestart) and its order inside the agent's rollout turn: drain through a master, then the steps, then
// a reactivation only when the agent came back under the drained id. A fake Mesos answers the drain's curl calls.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { drainBeforeRestart } from "../../provisioning/baremetal/plan";
import { MesosHostProvider } from "../../provisioning/baremetal/provider";
import { renderHost, hostTls } from "../../provisioning/baremetal/render";
import type { DrainMaster, HostInputs } from "../../provisioning/baremetal/types";
import { deriveCredentials } from "../../provisioning/credentials";
import { identityChange } from "../../provisioning/steps/mesos-agent";
import { sq } from "../../provisioning/steps/shell";
import type { SshTarget } from "../../provisioning/ssh/target";
import {
  fakeConfig, fakeRunner, hostInputs, masterInputs, testRender, TEST_CLUSTER_SECRET, type Sent,
} from "../fixtures/ssh-server";

const LIB = path.join(__dirname, "../../provisioning/render/em-lib.sh");

/** em_identity_additive OLD NEW as the step runs it: true when the shell keeps the agent. */
function shellAdditive(had: string, want: string): boolean {
  const script = `set -euo pipefail\n. ${LIB}\nem_identity_additive ${sq(had)} ${sq(want)}`;
  const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
  if (r.status !== 0 && r.status !== 1) throw new Error(`em_identity_additive: exit ${r.status}: ${r.stderr}`);
  return r.status === 0;
}

const id = (...lines: string[]) => lines.join("\n");
const BASE = id("attribute pool general", "attribute rack r1", "resource cpus 4", "resource mem 8192",
  "resource ports [31000-32000]");

describe("identityChange: the step's rule (em_identity_additive) in TypeScript", () => {
  // [old, new, what the rule says]: the same cases through both implementations.
  const CASES: [string, string, string | undefined][] = [
    [BASE, BASE, undefined],
    [BASE, id(BASE, "attribute zone z1"), undefined], // an attribute added
    [BASE, BASE.replace("cpus 4", "cpus 8"), undefined], // a resource grown
    [BASE, BASE.replace("mem 8192", "mem 8192.5"), undefined],
    [BASE, id(BASE, "resource gpus 1"), undefined], // a resource added
    [BASE, id(...BASE.split("\n").reverse()), undefined], // order does not matter
    [BASE, `\n${BASE}\n\n`, undefined], // blank lines do not count
    [id("attribute pool general", "", "attribute rack r1"), id("attribute rack r1", "attribute pool general"),
      undefined],
    [BASE, BASE.replace("rack r1", "rack r2"), "attribute rack changed from r1 to r2"],
    [BASE, BASE.replace("attribute rack r1\n", ""), "attribute rack removed"],
    [BASE, BASE.replace("cpus 4", "cpus 2"), "resource cpus shrank from 4 to 2"],
    [BASE, BASE.replace("resource mem 8192\n", ""), "resource mem removed"],
    [BASE, BASE.replace("[31000-32000]", "[31000-31500]"),
      "resource ports changed from [31000-32000] to [31000-31500]"],
    [BASE, BASE.replace("[31000-32000]", "[30000-32000]"), // ranges: only identical ones count as kept
      "resource ports changed from [31000-32000] to [30000-32000]"],
    [BASE, BASE.replace("pool general", "pool batch"), "attribute pool changed from general to batch"],
    [id("resource disk 1.2.3"), id("resource disk 1.2"), undefined], // awk's numbers: the leading number (1.2)
    [id("resource disk 1.5"), id("resource disk 1.4.9"), "resource disk shrank from 1.5 to 1.4.9"],
    [id("resource disk ."), id("resource disk 0"), undefined],
    [id("resource cpus 4"), id("resource cpus four"), "resource cpus changed from 4 to four"],
    [id("attribute pool general"), id("attribute  pool\tgeneral "), undefined], // awk's fields: blanks and tabs
    [id("attribute pool general"), "", "attribute pool removed"],
    ["", id("attribute pool general"), undefined],
    // Set where the agent had detected them (8 cores detected, 4 set: a shrink Mesos refuses); gpus are not detected.
    [id("attribute pool general"), id("attribute pool general", "resource cpus 4"),
      "resource cpus set where Mesos detected it (the detected value may be larger)"],
    [id("attribute pool general"), id("attribute pool general", "resource mem 4096"),
      "resource mem set where Mesos detected it (the detected value may be larger)"],
    [id("attribute pool general"), id("attribute pool general", "resource ports [31000-32000]"),
      "resource ports set where Mesos detected it (the detected value may be larger)"],
    [id("attribute pool general"), id("attribute pool general", "resource gpus 1"), undefined],
  ];

  const cases = CASES.map((c, i) => [i, ...c] as const);
  it.each(cases)("case %i: the TypeScript rule and the shell agree", (_, had, want, why) => {
    expect(identityChange(had, want)).toBe(why);
    expect(shellAdditive(had, want)).toBe(why === undefined);
  });

  it("number spellings: the shell (awk) may keep what the TypeScript rule calls a change, never the reverse", () => {
    // awk compares two number-like fields as numbers; the provider then drains for nothing and reactivates the agent.
    for (const [had, want] of [["attribute rack 1", "attribute rack 1.0"],
      ["attribute rack 1e3", "attribute rack 1000"],
      ["resource cpus 4", "resource cpus +4"], ["attribute rack 0x10", "attribute rack 16"]]) {
      expect(identityChange(had, want)).toMatch(/changed/);
      expect(shellAdditive(had, want)).toBe(true);
    }
    // The implication that matters (no restart the step forgets without a drain first), on every case above.
    for (const [had, want] of CASES) if (!shellAdditive(had, want)) expect(identityChange(had, want)).toBeDefined();
  });
});

describe("drainBeforeRestart", () => {
  const mesos = [{ step: "mesos" as const }];
  it("drains only when the mesos step runs and Mesos cannot recover the agent", () => {
    expect(drainBeforeRestart(BASE, BASE.replace("rack r1", "rack r2"), mesos))
      .toBe("attribute rack changed from r1 to r2");
    expect(drainBeforeRestart(BASE, id(BASE, "attribute zone z1"), mesos)).toBe("");
    // A version bump: the same identity, recovered.
    expect(drainBeforeRestart(BASE, BASE, [{ step: "install" }, { step: "mesos" }])).toBe("");
    expect(drainBeforeRestart(BASE, BASE.replace("rack r1", "rack r2"), [{ step: "firewall" }])).toBe(""); // no restart
    expect(drainBeforeRestart(undefined, undefined, mesos)).toBe(""); // a master declares no identity
  });

  it("state of an earlier release (no identity recorded): drained, on the safe side", () => {
    expect(drainBeforeRestart(undefined, BASE, mesos)).toMatch(/no agent identity recorded by an earlier release/);
    expect(drainBeforeRestart(undefined, BASE, [{ step: "install" }])).toBe("");
  });

  it("the real agent plan declares the identity its mesos step passes to em_agent_identity; a master's none", () => {
    const i = hostInputs({ node: { ...hostInputs().node, attributes: { rack: "r1" }, resources: { cpus: 4 } } });
    const plan = renderHost(i, deriveCredentials(TEST_CLUSTER_SECRET, i.cluster), hostTls(TEST_CLUSTER_SECRET, i));
    expect(plan.agentIdentity).toBe(id("attribute pool general", "attribute rack r1", "resource cpus 4"));
    expect(plan.steps.find((s) => s.step === "mesos")!.script)
      .toContain(`em_agent_identity ${sq(plan.agentIdentity!)} `);
    const m = masterInputs();
    const mplan = renderHost(m, deriveCredentials(TEST_CLUSTER_SECRET, m.cluster), hostTls(TEST_CLUSTER_SECRET, m));
    expect(mplan.agentIdentity).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The provider: a fake cluster whose masters answer the drain's curl calls and whose agents' mesos step restarts
// them, under a new id or the same one.
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n";
const MASTER_KEY = "SHA256:" + "1".repeat(43);
const AGENT_KEY = "SHA256:" + "F".repeat(43);
const masterHosts: DrainMaster[] =
  [{ id: "m1", connection: { host: "10.0.0.11", port: 22, user: "root" }, hostKeyFingerprint: MASTER_KEY }];

/** testRender's steps (step 3 follows the attributes), and the identity the real mesos step would declare. */
const render = (i: HostInputs, c: ReturnType<typeof deriveCredentials>) => ({
  ...testRender()(i, c),
  agentIdentity: Object.entries({ pool: i.node.pool, ...i.node.attributes })
    .map(([k, v]) => `attribute ${k} ${v}`).join("\n"),
});

/**
 * Mesos as the drain sees it: agents by address, DRAIN_AGENT marks one DRAINING, DRAINED at the next GET_AGENTS
 * (no tasks); a mesos step restarts the agent under a new id unless `recovers` says Mesos recovers it. Every
 * call and step lands in `events` in order.
 */
function fakeMesos(recovers: (ip: string) => boolean = () => false) {
  const events: string[] = [];
  const agents = new Map<string, { id: string; drain?: string }>(
    [["10.0.0.21", { id: "c1-S1" }], ["10.0.0.22", { id: "c1-S2" }]]);
  let next = 3;
  const ipOf = (agentId: string) => [...agents].find(([, a]) => a.id === agentId)?.[0];
  const respond = (s: Sent) => {
    const where = s.host;
    if (s.text.includes("GET_AGENTS")) {
      const list = [...agents].map(([ip, a]) => ({
        agent_info: { id: { value: a.id }, hostname: ip, port: 5051 }, pid: `slave(1)@${ip}:5051`,
        ...(a.drain ? { drain_info: { state: a.drain } } : {}) }));
      for (const a of agents.values()) if (a.drain === "DRAINING") a.drain = "DRAINED";
      return { stdout: `${JSON.stringify({ get_agents: { agents: list } })}\n200` };
    }
    const call = /"type":"(DRAIN_AGENT|REACTIVATE_AGENT)".*"value":"([^"]+)"/.exec(s.text);
    if (call) {
      const ip = ipOf(call[2])!;
      events.push(`${call[1]} ${ip} ${call[2]} via ${where}`);
      agents.get(ip)!.drain = call[1] === "DRAIN_AGENT" ? "DRAINING" : undefined;
      return { stdout: "\n200" };
    }
    if (s.label?.startsWith("step ")) {
      const drain = agents.get(where)?.drain;
      events.push(`${s.label.split(" ")[2]} on ${where}${drain ? ` (${drain})` : ""}`);
      if (s.label.includes(" mesos ") && !recovers(where)) agents.set(where, { id: `c1-S${next++}` }); // a new agent
      return { stdout: "done\n" };
    }
    return undefined;
  };
  return { events, agents, respond };
}

async function provider(respond: (s: Sent) => unknown) {
  const fr = fakeRunner(respond as never, (t: SshTarget) => (t.host === "10.0.0.11" ? MASTER_KEY : AGENT_KEY));
  const logs: string[] = [];
  const p = new MesosHostProvider({ runner: fr.make, log: (l) => logs.push(l), render });
  await p.configure(fakeConfig({ sshPrivateKey: KEY, clusterSecret: TEST_CLUSTER_SECRET }));
  return { p, logs, ...fr };
}

/** Agent general-k at 10.0.0.2k, in a pool of two rolling `slots` at a time, of cluster `cluster`. */
const agent = (k: number, cluster: string, rack: string, slots = 1): HostInputs => {
  const i = hostInputs();
  return hostInputs({
    cluster, node: { ...i.node, id: `general-${k}`, hostname: `prod-general-${k}`, attributes: { rack } },
    selfIp: `10.0.0.2${k}`,
    connection: { ...i.connection, host: `10.0.0.2${k}` }, drain: { ...i.drain!, masters: ["10.0.0.11"], masterHosts },
    rollout: { group: "pool:general", slots, size: 2 },
  });
};

describe("the provider drains an agent before a restart Mesos cannot recover, inside its turn", () => {
  it("a changed attribute value: drained through a master, then the step; a new agent: no reactivation", async () => {
    const mesos = fakeMesos();
    const { p, logs, sent } = await provider(mesos.respond);
    const { outs } = await p.create({ spec: agent(1, "df1", "r1") });
    expect(outs!.agentIdentity).toBe("attribute pool general\nattribute rack r1"); // recorded for the next update
    // Created: nothing to drain.
    expect(mesos.events).toEqual(["install on 10.0.0.21", "zookeeper on 10.0.0.21", "mesos on 10.0.0.21"]);
    mesos.events.length = 0;
    sent.length = 0;

    const up = await p.update("id", outs!, { spec: agent(1, "df1", "r2") });
    expect(mesos.events).toEqual(["DRAIN_AGENT 10.0.0.21 c1-S3 via 10.0.0.11", "mesos on 10.0.0.21 (DRAINED)"]);
    expect(logs)
      .toContain("general-1: draining before a restart Mesos cannot recover (attribute rack changed from r1 to r2)");
    expect(logs.some((l) => /^general-1: drained \(agent c1-S3\) in \d+ s$/.test(l))).toBe(true);
    // The Mesos calls run on the master (its key verified), none on the agent; after the step, one look: a new id.
    const curls = sent.filter((s) => s.text.startsWith("curl "));
    expect(new Set(curls.map((s) => s.host))).toEqual(new Set(["10.0.0.11"]));
    expect(curls.at(-1)!.text).toContain("GET_AGENTS");
    expect(sent.findIndex((s) => s.text.includes("DRAIN_AGENT")))
      .toBeLessThan(sent.findIndex((s) => s.label?.startsWith("step ")));
    expect(up.outs!.agentIdentity).toBe("attribute pool general\nattribute rack r2");
  });

  it("an additive change (an attribute added) restarts the agent undrained", async () => {
    const mesos = fakeMesos(() => true);
    const { p, sent } = await provider(mesos.respond);
    const { outs } = await p.create({ spec: agent(1, "df2", "r1") });
    sent.length = 0;
    const added = agent(1, "df2", "r1");
    added.node.attributes.zone = "z1";
    await p.update("id", outs!, { spec: added });
    expect(sent.filter((s) => s.text.startsWith("curl "))).toEqual([]);
    expect(sent.map((s) => s.label)).toEqual(["step 3/3 mesos (mesos title)"]);
  });

  it("drained for nothing (Mesos recovers the agent): reactivated after the step, under the drained id", async () => {
    const mesos = fakeMesos(() => true); // Mesos recovers it: same id
    const { p, logs } = await provider(mesos.respond);
    const { outs } = await p.create({ spec: agent(1, "df3", "1") });
    mesos.events.length = 0;
    await p.update("id", outs!, { spec: agent(1, "df3", "1.0") }); // awk: equal numbers; the TypeScript rule: changed
    expect(mesos.events).toEqual(["DRAIN_AGENT 10.0.0.21 c1-S1 via 10.0.0.11", "mesos on 10.0.0.21 (DRAINED)",
      "REACTIVATE_AGENT 10.0.0.21 c1-S1 via 10.0.0.11"]);
    expect(mesos.agents.get("10.0.0.21")).toEqual({ id: "c1-S1", drain: undefined }); // not left DRAINED
    expect(logs)
      .toContain("general-1 (10.0.0.21): came back as the same agent c1-S1 (Mesos recovered it): reactivated");
  });

  it("state of an earlier release (no identity): drained before the mesos step runs", async () => {
    const mesos = fakeMesos();
    const { p } = await provider(mesos.respond);
    const { outs } = await p.create({ spec: agent(1, "df4", "r1") });
    const { agentIdentity: _none, ...older } = outs!;
    mesos.events.length = 0;
    const added = agent(1, "df4", "r1");
    added.node.attributes.zone = "z1"; // additive, but nothing says what the agent runs with now
    await p.update("id", older, { spec: added });
    expect(mesos.events).toEqual([expect.stringMatching(/^DRAIN_AGENT 10\.0\.0\.21 /), "mesos on 10.0.0.21 (DRAINED)"]);
  });

  it("maxUnavailable 1: the second agent is drained only after the first one's steps (in the turn)", async () => {
    const mesos = fakeMesos();
    const { p } = await provider(mesos.respond);
    const outs = await Promise.all([1, 2].map(async (k) => (await p.create({ spec: agent(k, "df5", "r1") })).outs!));
    mesos.events.length = 0;
    const news = [1, 2].map((k) => agent(k, "df5", "r2"));
    // The engine diffs first: the rollout expects both.
    for (const [k, n] of news.entries()) await p.diff("id", outs[k], { spec: n });
    await Promise.all(news.map((n, k) => p.update("id", outs[k], { spec: n })));
    const drains = mesos.events.map((e, i) => [e, i] as const).filter(([e]) => e.startsWith("DRAIN_AGENT"));
    expect(drains).toHaveLength(2);
    // Never two agents drained or restarting at once: drain, step of one agent, then drain, step of the other.
    const order = mesos.events.map((e) => /10\.0\.0\.2(\d)/.exec(e)![1]);
    expect(order).toEqual([order[0], order[0], order[2], order[2]]);
    expect(order[0]).not.toBe(order[2]);
    expect(mesos.events.filter((e) => e.startsWith("mesos ")).every((e) => e.endsWith("(DRAINED)"))).toBe(true);
  });
});
