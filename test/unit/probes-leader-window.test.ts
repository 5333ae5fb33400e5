// Right after a Mesos election the other masters may not know the leader yet: like Mesos 1.11, they answer
// 503 ("No leader elected") until their own ZooKeeper watch fires, and Marathon's standbys 502 ("Could not
// determine the current leader"). The readiness verdict must wait that window out, never fail on it.
import { describe, expect, it } from "vitest";
import { evaluate, parseProbe, type ExpectedAgent } from "../../provisioning/health/probes";

const agents: ExpectedAgent[] = [{ id: "general-1", pool: "general", hostname: "prod-general-1", ip: "10.0.0.21" }];
const SLAVES = [{ hostname: "prod-general-1", pid: "slave(1)@10.0.0.21:5051", active: true }];
const probeOut = (zk: string, mesos: string, mesosStatus: number, marathon: string, marathonStatus: number) =>
  `### zk\n${zk}\n### mesos\n${mesos}\n${mesosStatus}\n### marathon\n${marathon}\n${marathonStatus}\n`;
const healthy = (mode: string) =>
  probeOut(`Mode: ${mode}`, JSON.stringify({ leader: "master@10.0.0.11:5050", slaves: SLAVES }), 200, '{"leader":"10.0.0.11:8080"}', 200);
const unsure = (mode: string) => probeOut(`Mode: ${mode}`, "No leader elected", 503, "Could not determine the current leader", 502);
const IPS = ["10.0.0.11", "10.0.0.12", "10.0.0.13"];

describe("a master that has not learned the leader yet", () => {
  it("is named for what it is, and does not hold the cluster back while another master sees the leader", () => {
    const probes = IPS.map((ip, i) => parseProbe(`m${i + 1}`, ip, i === 1 ? unsure("follower") : healthy(i ? "follower" : "leader")));
    expect(probes[1].mesosDetail).toBe("this master does not know the leader yet (HTTP 503)");
    expect(evaluate(probes, agents, 2).every((c) => c.ok)).toBe(true);
  });

  it("fails the Mesos leader check only when no master sees a leader", () => {
    const checks = evaluate(IPS.map((ip, i) => parseProbe(`m${i + 1}`, ip, unsure(i ? "follower" : "leader"))), agents, 2);
    const mesos = checks.find((c) => c.name === "Mesos leader")!;
    expect(mesos.ok).toBe(false);
    expect(mesos.detail).toContain("m2 (10.0.0.12): this master does not know the leader yet (HTTP 503)");
    expect(checks.find((c) => c.name === "Marathon leader")!.detail).toContain("Marathon answered HTTP 502");
  });
});
