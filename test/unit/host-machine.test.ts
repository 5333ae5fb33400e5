// A cloud host's machine id (HostProps.machine): an OpenStack agent's server deleted outside Pulumi comes back on
// `pulumi up --refresh` (the refresh drops the server from the state, the up makes it again on the same port) with
// another id. Its host resource is then replaced: delete drains the old agent from a master, create adopts the new
// machine (waits for its first boot from the user-data) instead of an update that would run steps on a machine
// still booting, or find nothing to run and claim steps ran that never did.
// The pure decision, and the provider's diff/create/update/delete with an injected runner (exact commands).
import { describe, expect, it } from "vitest";
import { MesosHostProvider } from "../../provisioning/baremetal/provider";
import { machineChange } from "../../provisioning/baremetal/plan";
import type { HostPlan } from "../../provisioning/baremetal/render";
import type { HostInputs } from "../../provisioning/baremetal/types";
import { deriveCredentials } from "../../provisioning/credentials";
import { UNKNOWN } from "../../provisioning/dynamic/plain";
import { HostUnreachable } from "../../provisioning/ssh/errors";
import { fakeConfig, fakeRunner, hostInputs, testRender, TEST_CLUSTER_SECRET, type Sent } from "../fixtures/ssh-server";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n";
const FIRST_BOOT = { via: "cloud-init" as const, timeoutSeconds: 5 };
const base = testRender();
const render = (i: HostInputs, c: ReturnType<typeof deriveCredentials>): HostPlan =>
  ({ ...base(i, c), ...(i.firstBoot ? { firstBoot: i.firstBoot.via } : {}) });
const plan = (i: HostInputs) => render(i, deriveCredentials(TEST_CLUSTER_SECRET, "prod"));
const ranAll = (i: HostInputs) => Object.fromEntries(plan(i).steps.map((s) => [`${s.index}-${s.step}.sh`, s.hash]));
const probeOut = (state: string, ran: Record<string, string>) =>
  [`state=${state}`, ...Object.entries(ran).map(([f, h]) => `${h}  /var/lib/elastic-mesos/steps/${f}`), ""].join("\n");
const isProbe = (s: Sent) => s.label === "first-boot check";
const M1 = { id: "m1", connection: { host: "198.18.0.5", port: 22, user: "admin" },
  hostKeyFingerprint: "SHA256:" + "F".repeat(43) };
const agent = () => hostInputs({ firstBoot: FIRST_BOOT, drain: { ...hostInputs().drain!, masterHosts: [M1] } });

async function provider(respond: (s: Sent) => any) {
  const fr = fakeRunner(respond);
  const logs: string[] = [];
  const p = new MesosHostProvider({ runner: fr.make, log: (l) => logs.push(l), render, pollMs: 5 });
  await p.configure(fakeConfig({ sshPrivateKey: KEY, clusterSecret: TEST_CLUSTER_SECRET }));
  return { p, logs, ...fr };
}

describe("machineChange", () => {
  it("another id, or one not known yet, replaces the host; a first id is recorded; none is nothing", () => {
    expect(machineChange("srv-1", "srv-1")).toBe("");
    expect(machineChange("srv-1", "srv-2")).toBe("replace");
    expect(machineChange("srv-1", UNKNOWN)).toBe("replace");
    expect(machineChange(undefined, UNKNOWN)).toBe("replace");
    expect(machineChange(undefined, "srv-1")).toBe("record");
    // Hosts that are no cloud machine's (bare metal, local, clouds that give no id) are never told one.
    expect(machineChange(undefined, undefined)).toBe("");
    expect(machineChange("srv-1", undefined)).toBe("");
  });
});

describe("a cloud agent whose machine is made anew", () => {
  it("same machine: no change; another: replaced, delete before create; not known yet: replaced", async () => {
    const i = agent();
    const { p, sent } = await provider((s) => (isProbe(s) ? { stdout: probeOut("done", ranAll(i)) } : undefined));
    const outs = (await p.create({ spec: i, machine: "srv-1" })).outs!;
    expect(outs.machine).toBe("srv-1");
    sent.length = 0;
    expect(await p.diff("id", outs, { spec: i, machine: "srv-1" }))
      .toEqual({ changes: false, replaces: [], deleteBeforeReplace: true });
    expect(await p.diff("id", outs, { spec: i, machine: "srv-2" }))
      .toEqual({ changes: true, replaces: ["machine"], deleteBeforeReplace: true });
    // What the engine asks when it replaces the server delete-before-replace: only `machine` is unknown then.
    expect((await p.diff("id", outs, { spec: i, machine: UNKNOWN })).replaces).toEqual(["machine"]);
    // A preview whose addresses are not known yet (a pool growing) is no new machine: an update at most.
    expect((await p.diff("id", outs, { spec: UNKNOWN as any, machine: "srv-1" })).replaces).toBeUndefined();
    expect(sent).toEqual([]); // a diff sends nothing
  });

  it("the replacement drains the old agent from a master, then adopts the new machine after it boots", async () => {
    const i = agent();
    let looks = 0;
    let lost = false;
    const { p, sent, logs } = await provider((s) => {
      if (isProbe(s)) {
        looks++;
        if (lost && looks === 2) return new HostUnreachable("general-1 (10.0.0.21:22)", "ECONNREFUSED", 5, "booting");
        return { stdout: probeOut(lost && looks === 3 ? "running" : "done", ranAll(i)) };
      }
      // The lost agent is no longer registered with the masters (unreachable, then removed): nothing to drain.
      if (s.text.includes("GET_AGENTS")) return { stdout: JSON.stringify({ get_agents: { agents: [] } }) + "\n200" };
      return undefined;
    });
    const old = (await p.create({ spec: i, machine: "srv-1" })).outs!;
    expect(looks).toBe(1);
    lost = true;
    sent.length = 0;
    const d = await p.diff("id", old, { spec: i, machine: "srv-2" });
    expect(d.replaces).toEqual(["machine"]);
    // The engine's delete-before-replace: the old record's delete, then the new one's create.
    await p.delete("id", old);
    const outs = (await p.create({ spec: i, machine: "srv-2" })).outs!;
    const kinds = sent.map((s) => (isProbe(s) ? "probe" : s.text.includes("GET_AGENTS") ? "poll" : s.label));
    // Only the masters are asked about the old agent; the new machine is only probed until its first boot is done.
    expect(kinds).toEqual(["poll", "probe", "probe", "probe"]);
    expect(sent.filter((s) => s.text.includes("GET_AGENTS")).map((s) => s.host)).toEqual(["198.18.0.5"]);
    expect(sent.filter(isProbe).map((s) => s.host)).toEqual(["10.0.0.21", "10.0.0.21", "10.0.0.21"]);
    expect(outs.machine).toBe("srv-2");
    expect(outs.stepsRun).toBe(0);
    expect(outs.stepHashes).toEqual(Object.fromEntries(plan(i).steps.map((s) => [s.step, s.hash])));
    expect(logs.some((l) => l.includes("waiting for its first boot"))).toBe(true);
    expect(await p.diff("id", outs, { spec: i, machine: "srv-2" })).toMatchObject({ changes: false });
  }, 20_000);

  it("a host recorded by an earlier release (no id) records it in one update that sends nothing", async () => {
    const i = agent();
    const { p, sent } = await provider((s) => (isProbe(s) ? { stdout: probeOut("done", ranAll(i)) } : undefined));
    const { machine: _none, ...earlier } = (await p.create({ spec: i })).outs!;
    expect(earlier).not.toHaveProperty("machine");
    sent.length = 0;
    expect(await p.diff("id", earlier, { spec: i, machine: "srv-1" }))
      .toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
    const outs = (await p.update("id", earlier, { spec: i, machine: "srv-1" })).outs!;
    expect(sent).toEqual([]);
    expect(outs.machine).toBe("srv-1");
    expect(outs.stepHashes).toEqual(earlier.stepHashes);
  });
});
