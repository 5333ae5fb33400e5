// A cloud machine's host resource (HostInputs.firstBoot): create waits for the first boot that cloud-init runs,
// records what ran and runs only what differs; delete drains an agent and removes nothing (the machine goes).
// The probe's parsing, and the provider's lifecycle with an injected runner (exact commands).
import { describe, expect, it } from "vitest";
import { firstBootFailure, firstBootProbeScript, parseFirstBoot } from "../../provisioning/baremetal/adopt";
import { MesosHostProvider } from "../../provisioning/baremetal/provider";
import type { HostPlan } from "../../provisioning/baremetal/render";
import type { HostInputs } from "../../provisioning/baremetal/types";
import { deriveCredentials } from "../../provisioning/credentials";
import { HostUnreachable } from "../../provisioning/ssh/errors";
import { SETTLE_MS } from "../../provisioning/rollout/coordinator";
import { fakeConfig, fakeRunner, hostInputs, masterInputs, testRender, TEST_CLUSTER_SECRET, type Sent } from "../fixtures/ssh-server";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n";
const FIRST_BOOT = { via: "cloud-init" as const, timeoutSeconds: 5 };
const base = testRender();
const render = (i: HostInputs, c: ReturnType<typeof deriveCredentials>): HostPlan =>
  ({ ...base(i, c), ...(i.firstBoot ? { firstBoot: i.firstBoot.via } : {}) });
const plan = (i: HostInputs) => render(i, deriveCredentials(TEST_CLUSTER_SECRET, "prod"));
const probeOut = (state: string, ran: Record<string, string>, tail = "") =>
  [`state=${state}`, ...Object.entries(ran).map(([f, h]) => `${h}  /var/lib/elastic-mesos/steps/${f}`),
    ...(tail ? ["--- tail", tail] : []), ""].join("\n");
const ranAll = (i: HostInputs) => Object.fromEntries(plan(i).steps.map((s) => [`${s.index}-${s.step}.sh`, s.hash]));

async function provider(respond: (s: Sent) => any) {
  const fr = fakeRunner(respond);
  const logs: string[] = [];
  const p = new MesosHostProvider({ runner: fr.make, log: (l) => logs.push(l), render, pollMs: 5 });
  await p.configure(fakeConfig({ sshPrivateKey: KEY, clusterSecret: TEST_CLUSTER_SECRET }));
  return { p, logs, ...fr };
}
const isProbe = (s: Sent) => s.label === "first-boot check";

describe("first-boot probe", () => {
  it("parses state, the kept scripts' hashes by step, and the tail", () => {
    const h = "a".repeat(64);
    const p = parseFirstBoot(probeOut("running", { "1-install.sh": h, "3-mesos.sh": "b".repeat(64) }, "step 2/3 zookeeper: waiting for quorum"));
    expect(p).toEqual({ state: "running", ran: { install: h, mesos: "b".repeat(64) }, tail: "step 2/3 zookeeper: waiting for quorum" });
    expect(parseFirstBoot("").state).toBe("running");
    // An agent's recorded identity (base64 of em_agent_identity's record, its final newline dropped).
    const rec = Buffer.from("attribute pool general\nattribute rack r1\n").toString("base64");
    expect(parseFirstBoot(`state=done\nidentity=${rec}\n`).identity).toBe("attribute pool general\nattribute rack r1");
    expect(parseFirstBoot("state=done\n")).not.toHaveProperty("identity");
    expect(parseFirstBoot("state=done\n").state).toBe("done");
  });

  it("accepts machines of releases before the first-boot unit once cloud-init is done, and reads only what it prints", () => {
    const s = firstBootProbeScript();
    expect(s).toContain("firstboot.done");
    expect(s).toContain("cloud-init status");
    expect(s).toContain("sha256sum");
  });

  it("a failure names the host, the unit and the last output", () => {
    const m = firstBootFailure("m1 (198.18.0.5)", { state: "running", ran: {}, tail: "cannot download ZooKeeper" }, 1200);
    expect(m).toContain("m1 (198.18.0.5): first boot (cloud-init, elastic-mesos-firstboot.service) not finished after 1200 s");
    expect(m).toContain("    cannot download ZooKeeper");
    expect(m).toContain("journalctl -u elastic-mesos-firstboot.service");
  });
});

describe("create on a cloud machine", () => {
  it("waits through no SSH yet and a running first boot, then records what ran and runs nothing", async () => {
    const i = masterInputs({ firstBoot: FIRST_BOOT });
    let looks = 0;
    const { p, sent, logs } = await provider((s) => {
      if (!isProbe(s)) return undefined;
      looks++;
      if (looks === 1) return new HostUnreachable("m1 (10.0.0.11:22)", "ECONNREFUSED", 5, "wait");
      return { stdout: looks < 3 ? probeOut("running", {}) : probeOut("done", ranAll(i)) };
    });
    const outs = (await p.create({ spec: i })).outs!;
    expect(looks).toBe(3);
    expect(sent.filter((s) => !isProbe(s))).toEqual([]); // no step, no footprint probe
    expect(outs.stepsRun).toBe(0);
    expect(outs.stepHashes).toEqual(Object.fromEntries(plan(i).steps.map((s) => [s.step, s.hash])));
    expect(outs.firstBoot).toBe("cloud-init");
    expect(outs.hostKey.source).toBe("tofu");
    expect(logs.some((l) => l.includes("waiting for its first boot"))).toBe(true);
  });

  it("a machine booted from older user-data runs just the steps that differ", async () => {
    const i = hostInputs({ firstBoot: FIRST_BOOT });
    const old = { ...ranAll(i), "3-mesos.sh": "0".repeat(64) };
    const { p, sent } = await provider((s) => (isProbe(s) ? { stdout: probeOut("done", old) } : undefined));
    const outs = (await p.create({ spec: i })).outs!;
    expect(sent.filter((s) => !isProbe(s)).map((s) => s.label)).toEqual(["step 3/3 mesos (mesos title)"]);
    expect(outs.stepsRun).toBe(1);
    expect(outs.stepHashes.mesos).toBe(plan(i).steps[2].hash);
  });

  it("a master made for a running cluster booted what comes before ZooKeeper: the rest runs as a new master's", async () => {
    // components/cluster.ts BEFORE_ZOOKEEPER: its user-data carried the install step alone.
    const i = masterInputs({ cluster: "joins", firstBoot: FIRST_BOOT, rollout: { group: "masters", slots: 1, size: 5 } });
    const installOnly = Object.fromEntries(Object.entries(ranAll(i)).filter(([f]) => f.endsWith("-install.sh")));
    const { p, sent, logs } = await provider((s) => (isProbe(s) ? { stdout: probeOut("done", installOnly) } : undefined));
    const t0 = Date.now();
    const outs = (await p.create({ spec: i })).outs!;
    // No turn (no leadership probe: it leads nothing); after the masters' rollout (here none: it settles first).
    expect(sent.filter((s) => !isProbe(s)).map((s) => s.label)).toEqual(["step 2/3 zookeeper (zookeeper title)",
      "step 3/3 mesos (mesos title)"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(SETTLE_MS - 50);
    expect(logs.some((l) => l.includes("m1 (10.0.0.11): joining the running cluster: running zookeeper, mesos"))).toBe(true);
    expect(outs.stepHashes).toEqual(Object.fromEntries(plan(i).steps.map((s) => [s.step, s.hash])));
    expect(outs.stepsRun).toBe(2);
  });

  it("a master booted from older user-data that ran ZooKeeper rolls as an update (its turn first)", async () => {
    const i = masterInputs({ cluster: "older", firstBoot: FIRST_BOOT, rollout: { group: "masters", slots: 1, size: 3 } });
    const old = { ...ranAll(i), "3-mesos.sh": "0".repeat(64) };
    const { p, sent, logs } = await provider((s) => {
      if (isProbe(s)) return { stdout: probeOut("done", old) };
      return s.label === "leadership probe" ? { stdout: "zookeeper=follower mesos=standby\n" } : undefined;
    });
    await p.create({ spec: i });
    expect(sent.filter((s) => !isProbe(s)).map((s) => s.label)).toEqual(["leadership probe", "step 3/3 mesos (mesos title)"]);
    expect(logs.some((l) => l.includes("booted from older user-data: running mesos"))).toBe(true);
  });

  it("a running master waits for the joining masters' first boot before its turn; one that fails stops it unchanged", async () => {
    const kept = masterInputs({ cluster: "grows", firstBoot: FIRST_BOOT, rollout: { group: "masters", slots: 1, size: 5 } });
    const m4 = { id: "m4", connection: { host: "198.18.0.14", port: 22, user: "admin", hostKeyFingerprint: "SHA256:" + "J".repeat(43) } };
    let m4Boot = ["running", "running", "done"];
    const { p, sent } = await provider((s) => {
      if (isProbe(s) && s.host === m4.connection.host) return { stdout: probeOut(m4Boot.shift() ?? "done", {}, "installing Mesos") };
      if (isProbe(s)) return { stdout: probeOut("done", ranAll(kept)) };
      return s.label === "leadership probe" ? { stdout: "zookeeper=follower mesos=standby\n" } : undefined;
    });
    const outs = (await p.create({ spec: kept })).outs!;
    sent.length = 0;
    // Its mesos step changes (the test render follows the attributes, as the new --quorum would change it).
    const news = { ...kept, node: { ...kept.node, attributes: { quorum: "3" } }, joiners: [m4] };
    await p.update("id", outs, { spec: news });
    expect(sent.map((s) => `${s.host} ${s.label}`)).toEqual([...Array(3).fill("198.18.0.14 first-boot check"),
      "10.0.0.11 leadership probe", "10.0.0.11 step 3/3 mesos (mesos title)"]);
    // A joining machine whose first boot failed: this master is not changed at all.
    m4Boot = ["failed"];
    sent.length = 0;
    const err = await p.update("id", outs, { spec: { ...news, cluster: "grows2" } }).catch((e) => e);
    expect(err.message).toMatch(/^m1 \(10\.0\.0\.11\): not changed: joining master m4 \(198\.18\.0\.14\): first boot .* cloud-init reports an error[\s\S]*installing Mesos/);
    expect(sent.map((s) => s.host)).toEqual(["198.18.0.14"]);
  });

  it("a running master that fails before its turn stops the joining masters' wait for the rollout (no hang)", async () => {
    const rollout = { group: "masters", slots: 1, size: 5 };
    const kept = masterInputs({ cluster: "halts", firstBoot: FIRST_BOOT, rollout });
    const at = (k: number) => ({ ...kept.connection, host: `198.18.0.1${k}` });
    const m4 = masterInputs({ cluster: "halts", firstBoot: FIRST_BOOT, rollout, selfIp: "198.18.0.14", connection: at(4),
      node: { ...kept.node, id: "m4", hostname: "prod-m4", zkId: 4, ordinal: 4 } });
    const installOnly = Object.fromEntries(Object.entries(ranAll(m4)).filter(([f]) => f.endsWith("-install.sh")));
    const { p } = await provider((s) => {
      if (!isProbe(s)) return s.label === "leadership probe" ? { stdout: "zookeeper=follower mesos=standby\n" } : undefined;
      if (s.host === "198.18.0.14") return { stdout: probeOut("done", installOnly) };
      if (s.host === "198.18.0.15") return { stdout: probeOut("failed", {}, "apt-get: no mirror") }; // m5's machine
      return { stdout: probeOut("done", ranAll(kept)) };
    });
    const outs = (await p.create({ spec: kept })).outs!;
    const news = { ...kept, node: { ...kept.node, attributes: { quorum: "3" } },
      joiners: [{ id: "m4", connection: at(4) }, { id: "m5", connection: at(5) }] };
    expect((await p.diff("id", outs, { spec: news })).changes).toBe(true); // expected to take a turn
    const hang = new Promise((r) => setTimeout(() => r("hung"), 15_000));
    const [keptErr, joinErr] = await Promise.race([Promise.all([
      p.update("id", outs, { spec: news }).then(() => "updated", (e: Error) => e.message),
      p.create({ spec: m4 }).then(() => "created", (e: Error) => e.message),
    ]), hang.then(() => ["hung", "hung"])]);
    expect(keptErr).toMatch(/^m1 \(10\.0\.0\.11\): not changed: joining master m5 \(198\.18\.0\.15\): first boot .*cloud-init reports an error/);
    // m4 installs nothing: the running masters did not restart with the new --quorum.
    expect(joinErr).toMatch(/^m4 \(198\.18\.0\.14\): not installed: the rollout of the running masters stopped because m1 \(10\.0\.0\.11\) failed: .*joining master m5/);
  }, 30_000);

  it("a first boot that does not finish stops with the host and its last output; nothing runs", async () => {
    const i = masterInputs({ firstBoot: { via: "cloud-init", timeoutSeconds: 0 } });
    const { p, sent } = await provider((s) => (isProbe(s) ? { stdout: probeOut("running", {}, "apt-get: could not resolve mirror") } : undefined));
    await expect(p.create({ spec: i })).rejects.toThrow(/m1 \(10\.0\.0\.11\): first boot .* not finished after 0 s[\s\S]*could not resolve mirror/);
    expect(sent.filter((s) => !isProbe(s))).toEqual([]);
  });

  it("cloud-init's own error (a machine of an earlier release) stops at once", async () => {
    const i = masterInputs({ firstBoot: FIRST_BOOT });
    const { p } = await provider((s) => (isProbe(s) ? { stdout: probeOut("failed", {}, "runcmd failed") } : undefined));
    await expect(p.create({ spec: i })).rejects.toThrow(/cloud-init reports an error/);
  });
});

describe("delete on a cloud machine", () => {
  it("a master: nothing is sent (the machine is deleted next)", async () => {
    const i = masterInputs({ firstBoot: FIRST_BOOT });
    const { p, sent } = await provider((s) => (isProbe(s) ? { stdout: probeOut("done", ranAll(i)) } : undefined));
    const outs = (await p.create({ spec: i })).outs!;
    sent.length = 0;
    await p.delete("id", outs);
    expect(sent).toEqual([]);
  });

  it("an agent is drained from a master, and its files are left to the machine's deletion (no cleanup script)", async () => {
    const m1 = { id: "m1", connection: { host: "198.18.0.5", port: 22, user: "admin" }, hostKeyFingerprint: "SHA256:" + "F".repeat(43) };
    const i = hostInputs({ firstBoot: FIRST_BOOT, drain: { ...hostInputs().drain!, masterHosts: [m1] } });
    let polls = 0;
    const { p, sent } = await provider((s) => {
      if (isProbe(s)) return { stdout: probeOut("done", ranAll(i)) };
      if (s.text.includes("DRAIN_AGENT")) return { stdout: "\n202" };
      if (!s.text.includes("GET_AGENTS")) return undefined;
      const state = ++polls >= 2 ? "DRAINED" : "DRAINING";
      const agent = { agent_info: { id: { value: "c1-S7" }, hostname: "10.0.0.21", port: 5051 }, pid: "slave(1)@10.0.0.21:5051", drain_info: { state } };
      return { stdout: JSON.stringify({ get_agents: { agents: [agent] } }) + "\n200" };
    });
    const outs = (await p.create({ spec: i })).outs!;
    sent.length = 0;
    await p.delete("id", outs);
    const kinds = sent.map((s) => (s.text.includes("DRAIN_AGENT") ? "drain" : s.text.includes("GET_AGENTS") ? "poll" : s.label));
    expect(kinds).toEqual(["poll", "drain", "poll"]);
    expect(new Set(sent.map((s) => s.host))).toEqual(new Set(["198.18.0.5"]));
  }, 20_000);
});
