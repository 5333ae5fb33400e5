// Right after an election the other masters may not know the leader yet. Mesos: the probe reads each master's own
// /metrics/snapshot (master/elected), which a standby serves at once, so there is no 503 window any more; Marathon's
// standbys answer 502 ("Could not determine the current leader") until they learn it. The readiness verdict must
// wait that window out, never fail on it, and a standby answering 502 is a live master.
import { describe, expect, it } from "vitest";
import { evaluate, parseProbe, type ExpectedAgent } from "../../provisioning/health/probes";

const agents: ExpectedAgent[] = [{ id: "general-1", pool: "general", hostname: "prod-general-1", ip: "10.0.0.21" }];
const metrics = (elected: boolean) => `"master/elected": ${elected ? "1.0" : "0.0"}\n"registrar/log/recovered": 1.0\n` +
  `${elected ? '"master/frameworks/marathon/fw-1/subscribed": 1.0\n' : ""}200 1000`;
const AGENTS = "10.0.0.21:5051 prod-general-1\n200 200";
const probeOut = (mode: string, elected: boolean, marathon: string, marathonStatus: number) =>
  `### zk\nMode: ${mode}\n### metrics\n${metrics(elected)}\n${elected ? `### agents\n${AGENTS}\n` : ""}` +
  `### marathon\n${marathon}\n${marathonStatus}\n`;
const healthy = (i: number) => probeOut(i ? "follower" : "leader", i === 0, '{"leader":"10.0.0.11:8080"}', 200);
const unsure = (i: number) => probeOut(i ? "follower" : "leader", i === 0, "Could not determine the current leader", 502);
const IPS = ["10.0.0.11", "10.0.0.12", "10.0.0.13"];

describe("a master that has not learned the leader yet", () => {
  it("is a live master, and does not hold the cluster back while another master sees the leader", () => {
    const probes = IPS.map((ip, i) => parseProbe(`m${i + 1}`, ip, i === 1 ? unsure(i) : healthy(i)));
    expect(probes[1].marathonDetail).toBe("Marathon answered HTTP 502");
    expect(evaluate(probes, agents, 2).every((c) => c.ok)).toBe(true);
  });

  it("fails the Marathon leader check only when no master sees a Marathon leader", () => {
    const checks = evaluate(IPS.map((ip, i) => parseProbe(`m${i + 1}`, ip, unsure(i))), agents, 2);
    const marathon = checks.find((c) => c.name === "Marathon leader")!;
    expect(marathon).toMatchObject({ ok: false });
    expect(marathon.detail).toContain("m2 (10.0.0.12): Marathon answered HTTP 502");
    expect(checks.find((c) => c.name === "masters")!.ok).toBe(true); // all three answer
    expect(checks.find((c) => c.name === "Mesos leader")!.ok).toBe(true);
  });
});
