// The drain before an agent goes (provisioning/baremetal/drain.ts), against a fake runner that answers the curl
// calls the drain sends to the masters: a master restarting or electing a leader is waited out, a refused
// credential is not.
import { describe, expect, it, vi } from "vitest";
import { drainAgent } from "../../provisioning/baremetal/drain";
import type { Runner } from "../../provisioning/baremetal/runner";
import type { SshTarget } from "../../provisioning/ssh/target";

const AGENT = { id: "general-1", role: "agent" as const, pool: "general", hostname: "c-general-1", ip: "10.0.0.21" };
const SPEC = { masters: ["10.0.0.11"], masterPort: 5050, agentPort: 5051, timeoutSeconds: 600 };
const target = { name: "m1", host: "10.0.0.11", port: 22, user: "root" } as SshTarget;
const listed = (state?: string) => JSON.stringify({ get_agents: { agents: [{ pid: "slave(1)@10.0.0.21:5051",
  agent_info: { id: { value: "A-S0" }, hostname: "10.0.0.21" }, ...(state ? { drain_info: { state } } : {}) }] } });

/** A runner whose master answers `answers[i]` ("<status> <body>") to the i-th curl, then the last one forever. */
function runner(answers: string[]): { runner: Runner; calls: string[] } {
  const calls: string[] = [];
  const r = {
    runScript: async (_t: SshTarget, script: string) => {
      calls.push(script.includes("DRAIN_AGENT") ? "DRAIN_AGENT" : "GET_AGENTS");
      const [status, ...body] = answers[Math.min(calls.length - 1, answers.length - 1)].split(" ");
      return { stdout: `${body.join(" ")}\n${status}\n`, stderr: "", code: 0 };
    },
  } as unknown as Runner;
  return { runner: r, calls };
}

describe("drainAgent", () => {
  it("waits out a master that does not answer or has no leader yet, then drains", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true, advanceTimeDelta: 500 });
    try {
      const { runner: r, calls } = runner(["0 ", "503 No leader elected", `200 ${listed()}`, "202 ", `200 ${listed("DRAINED")}`]);
      const log: string[] = [];
      const result = await drainAgent(r, target, "h21", AGENT, SPEC, { user: "admin", password: "p" }, (l) => log.push(l));
      expect(result).toMatchObject({ outcome: "drained", agentId: "A-S0" });
      expect(calls).toEqual(["GET_AGENTS", "GET_AGENTS", "GET_AGENTS", "DRAIN_AGENT", "GET_AGENTS"]);
      expect(log.some((l) => l.includes("no master accepted DRAIN_AGENT yet") && l.includes("HTTP unreachable"))).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a refused credential stops at once, naming the master and what to check", async () => {
    const { runner: r, calls } = runner(["401 Unauthorized"]);
    await expect(drainAgent(r, target, "h21", AGENT, SPEC, { user: "admin", password: "wrong" }))
      .rejects.toThrow(/no master accepted DRAIN_AGENT \(10\.0\.0\.11: HTTP 401 Unauthorized\).*admin credentials/);
    expect(calls).toEqual(["GET_AGENTS"]);
  });

  it("gives up after the wait (at most the drain timeout) when no master ever answers", async () => {
    const { runner: r, calls } = runner(["0 "]);
    const t0 = Date.now();
    await expect(drainAgent(r, target, "h21", AGENT, { ...SPEC, timeoutSeconds: 4 }, {})).rejects.toThrow(/HTTP unreachable/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4_000);
    expect(calls.length).toBeGreaterThan(1);
  }, 30_000);
});
