// The bare-metal provider: pure planning, cleanup scripts, and the lifecycle with an injected runner
// (exact command counts). Real SSH and the serialize-and-reload round trip: baremetal-ssh.test.ts.
import { describe, it, expect } from "vitest";
import { changedSteps, diffHost, stableJson } from "../../provisioning/baremetal/plan";
import { cleanupPlan, dirsCreated, libraryFootprint, packagesInstalled, renderCleanupScript, usersCreated } from "../../provisioning/baremetal/cleanup";
import { agentIdFromAgents, agentIdFromState, drainStateOf } from "../../provisioning/baremetal/drain";
import { MesosHostProvider, masterMove, withRecordedDrain } from "../../provisioning/baremetal/provider";
import { plain } from "../../provisioning/dynamic/plain";
import { hostTls, renderHost, type HostPlan } from "../../provisioning/baremetal/render";
import type { DrainMaster, HostInputs, HostOutputs } from "../../provisioning/baremetal/types";
import { HostKeyMismatch, HostUnreachable } from "../../provisioning/ssh/errors";
import { describeTarget, type SshTarget } from "../../provisioning/ssh/target";
import { deriveCredentials } from "../../provisioning/credentials";
import { shimText } from "../../provisioning/dynamic/shim-text";
import type { Step } from "../../provisioning/steps/types";
import { fakeConfig, fakeRunner, hostInputs, masterInputs, stepScript, testRender, TEST_CLUSTER_SECRET, type Sent } from "../fixtures/ssh-server";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n";
const CONFIG = { sshPrivateKey: KEY, clusterSecret: TEST_CLUSTER_SECRET };
const SHIM = shimText("elastic-mesos/baremetal:Host");
const render = testRender();
const credentials = deriveCredentials(TEST_CLUSTER_SECRET, "prod");
const planOf = (i: HostInputs): HostPlan => render(i, credentials);

async function provider(respond?: (s: Sent) => any, config: Record<string, string> = CONFIG) {
  const fr = fakeRunner(respond);
  const logs: string[] = [];
  const p = new MesosHostProvider({ runner: fr.make, log: (l) => logs.push(l), render });
  await p.configure(fakeConfig(config));
  return { p, ...fr, logs };
}

describe("planning", () => {
  const outs = (): HostOutputs => {
    const p = planOf(hostInputs());
    return { cluster: p.cluster, node: p.node, connection: p.connection, cleanup: p.cleanup, drain: p.drain,
      stepHashes: Object.fromEntries(p.steps.map((s) => [s.step, s.hash])), hostKey: { fingerprint: "SHA256:x", type: "ssh-ed25519", source: "tofu" },
      preexisting: [], stepsRun: 3, commandsSent: 4 };
  };

  it("no change means no update; a changed step updates only that step; another host or role replaces", () => {
    expect(diffHost(outs(), planOf(hostInputs()), SHIM)).toEqual({ changes: false, replaces: [], steps: [], upgrade: false });
    const news = hostInputs({ node: { ...hostInputs().node, attributes: { rack: "b" } } });
    expect(diffHost(outs(), planOf(news), SHIM)).toEqual({ changes: true, replaces: [], steps: ["mesos"], upgrade: false });
    const moved = hostInputs({ connection: { ...hostInputs().connection, host: "10.0.0.99" } });
    expect(diffHost(outs(), planOf(moved), SHIM).replaces).toEqual(["connection.host"]);
    expect(diffHost(outs(), planOf(masterInputs({ selfIp: "10.0.0.21", connection: hostInputs().connection })), SHIM).replaces)
      .toEqual(["node.id", "node.role", "node.pool"]);
  });

  it("ignores key order (the engine does not keep it) but sees real bookkeeping changes", () => {
    const o = outs();
    const reordered = { ...o, connection: { configPath: o.connection.configPath, user: "root", port: 22, host: "10.0.0.21" } };
    expect(diffHost(reordered, planOf(hostInputs()), SHIM).changes).toBe(false);
    expect(stableJson({ b: 1, a: [1, { d: 2, c: undefined }] })).toBe('{"a":[1,{"d":2}],"b":1}');
    const longerDrain = hostInputs({ drain: { ...hostInputs().drain!, timeoutSeconds: 99 } });
    expect(diffHost(o, planOf(longerDrain), SHIM)).toMatchObject({ changes: true, steps: [] });
    expect(diffHost(o, planOf(hostInputs({ connection: { ...o.connection, hostKeyFingerprint: "SHA256:new" } })), SHIM).changes).toBe(true);
  });

  it("state written before the shim (password, old closure) is an upgrade: a change, with no step to run", () => {
    const plan = planOf(hostInputs());
    expect(diffHost({ ...outs(), adminUser: "admin", adminPassword: "pw" }, plan, SHIM)).toEqual({ changes: true, replaces: [], steps: [], upgrade: true });
    expect(diffHost({ ...outs(), __provider: "exports.handler = __f0; /* 63 KB */" }, plan, SHIM).upgrade).toBe(true);
    expect(diffHost({ ...outs(), __provider: SHIM }, plan, SHIM)).toMatchObject({ changes: false, upgrade: false });
  });

  it("state without a drift watch (earlier releases) gets one bookkeeping update: no step, then no change", () => {
    const i = hostInputs();
    const real = renderHost(i, credentials, hostTls(TEST_CLUSTER_SECRET, i));
    const recorded = { ...outs(), stepHashes: Object.fromEntries(real.steps.map((s) => [s.step, s.hash])), cleanup: real.cleanup };
    expect(diffHost(recorded, real, SHIM)).toEqual({ changes: true, replaces: [], steps: [], upgrade: false });
    expect(diffHost({ ...recorded, watch: real.watch }, real, SHIM).changes).toBe(false);
  });

  it("changedSteps keeps order", () => {
    const steps = planOf(hostInputs()).steps;
    expect(changedSteps({ install: steps[0].hash }, steps).map((s) => s.step)).toEqual(["zookeeper", "mesos"]);
  });
});

describe("cleanup", () => {
  const steps: Step[] = [
    { name: "install", index: 1, title: "Install", gate: { description: "", script: "", timeoutSeconds: 1, hint: "" },
      files: [{ path: "/etc/systemd/system/zookeeper.service", content: "", mode: "0644", owner: "root", group: "root" }],
      commands: ["id -u zookeeper >/dev/null 2>&1 || useradd --system --home-dir /var/lib/zookeeper --shell /usr/sbin/nologin zookeeper",
        "install -d -m 0750 -o zookeeper /var/lib/zookeeper /opt/zookeeper-3.8.6", "mkdir -p /etc/apt/keyrings",
        "apt-get install -y -q --no-install-recommends openjdk-17-jre-headless aventer-mesos=1.11.0-0.9.0 curl"] },
    { name: "mesos", index: 3, title: "Mesos", gate: { description: "", script: "", timeoutSeconds: 1, hint: "" },
      files: [{ path: "/etc/mesos-agent/attributes/rack", content: "a", mode: "0644", owner: "root", group: "root" }], commands: [] },
  ];

  it("derives files, units, our users, our directories and packages from the steps", () => {
    const plan = cleanupPlan(steps);
    expect(plan.files).toEqual(["/etc/mesos-agent/attributes/rack", "/etc/systemd/system/zookeeper.service"]);
    expect(plan.units).toContain("zookeeper.service");
    expect(plan.users).toEqual(["zookeeper"]);
    expect(plan.dirs).toEqual(["/etc/mesos-agent/attributes", "/opt/zookeeper-3.8.6", "/var/lib/elastic-mesos", "/var/lib/zookeeper"]);
    expect(plan.dirs).not.toContain("/etc/apt/keyrings");
    expect(plan.packages).toEqual(["aventer-mesos"]); // never curl or the JDK: shared with the rest of the host
    expect(dirsCreated("if true; then mkdir -p /var/lib/mesos/agent; fi")).toEqual(["/var/lib/mesos/agent"]);
    expect(usersCreated("useradd -r marathon && echo ok")).toEqual(["marathon"]);
    expect(packagesInstalled("dnf -y install mesos-1.11.0")).toEqual(["mesos-1.11.0"]);
    // The bootstrap's own library calls (provisioning/render/em-lib.sh).
    const lib = libraryFootprint("em_user zookeeper /var/lib/zookeeper\nem_zookeeper 3.8.6 'u' '-' abc '-'\nem_link /opt/zookeeper-3.8.6 /opt/zookeeper\n" +
      "em_pkg_has aventer-mesos '1.11.0-0.9.0' || pkgs+=('aventer-mesos=1.11.0-0.9.0*')\nem_service docker\nem_image 'mesosphere/marathon:v1.11.24' '-'");
    expect(lib).toEqual({ users: ["zookeeper"], dirs: ["/var/lib/zookeeper", "/opt/zookeeper-3.8.6"], files: ["/opt/zookeeper"],
      packages: ["aventer-mesos"], units: ["docker.service"], images: ["mesosphere/marathon:v1.11.24"] });
    expect(cleanupPlan([{ ...steps[0], commands: ["em_service docker", "em_service zookeeper"] }]).units).not.toContain("docker.service");
  });

  it("keeps what existed before us", () => {
    const plan = cleanupPlan(steps);
    const script = renderCleanupScript({ ...plan, packages: [...plan.packages, "docker-ce"] }, ["pkg docker-ce", "user zookeeper"]);
    expect(script).toContain("for p in 'aventer-mesos'; do");
    expect(script).toContain('apt-mark unhold "$p" >/dev/null 2>&1; apt-get purge -y -q --allow-change-held-packages "$p"');
    expect(script).not.toContain("docker-ce");
    expect(script).not.toContain("userdel");
    expect(script).toContain("rm -rf -- '/var/lib/zookeeper'");
    expect(script).toContain("systemctl disable --now 'zookeeper.service'");
  });
});

describe("drain parsing", () => {
  it("reads the agent id and drain state", () => {
    expect(agentIdFromState('{"id":"abc-S1","hostname":"h"}')).toBe("abc-S1");
    expect(agentIdFromState("<html>")).toBeUndefined();
    const body = JSON.stringify({ type: "GET_AGENTS", get_agents: { agents: [{ agent_info: { id: { value: "abc-S1" } }, drain_info: { state: "DRAINING" } }] } });
    expect(drainStateOf(body, "abc-S1")).toBe("DRAINING");
    expect(drainStateOf(body, "other")).toBe("GONE");
    const agents = JSON.stringify({ get_agents: { agents: [
      { agent_info: { id: { value: "abc-S1" }, hostname: "10.0.0.21", port: 5051 }, pid: "slave(1)@10.0.0.21:5051" },
      { agent_info: { id: { value: "abc-S2" }, hostname: "10.0.0.22", port: 5051 } },
    ] } });
    expect(agentIdFromAgents(agents, "10.0.0.21", 5051)).toBe("abc-S1");
    expect(agentIdFromAgents(agents, "10.0.0.22", 5051)).toBe("abc-S2");
    expect(agentIdFromAgents(agents, "10.0.0.23", 5051)).toBeUndefined();
    expect(agentIdFromAgents("<html>", "10.0.0.21", 5051)).toBeUndefined();
  });
});

/** Answers the drain conversation of the masters: GET_AGENTS (the agent's id), DRAIN_AGENT, GET_AGENTS (DRAINING, then DRAINED). */
function mesosResponder(drainedAfter = 2) {
  let polls = 0;
  return (s: Sent) => {
    if (s.text.includes("DRAIN_AGENT")) return { stdout: "\n202" };
    if (s.text.includes("GET_AGENTS")) {
      polls++;
      const state = polls >= drainedAfter ? "DRAINED" : "DRAINING";
      const agent = { agent_info: { id: { value: "c1-S7" }, hostname: "10.0.0.21", port: 5051 }, pid: "slave(1)@10.0.0.21:5051", drain_info: { state } };
      return { stdout: JSON.stringify({ get_agents: { agents: [agent] } }) + "\n200" };
    }
    return undefined;
  };
}

describe("provider lifecycle (injected runner)", () => {
  it("create runs the footprint check and the three steps in order, as root, and records TOFU and hashes", async () => {
    const { p, sent, connections, logs } = await provider((s) => (s.label === "footprint check" ? { stdout: "pkg curl\n" } : { stdout: "done\n" }));
    const inputs = hostInputs();
    const r = await p.create({ spec: inputs });
    expect(r.id).toBe("prod:general-1:10.0.0.21");
    expect(sent.map((s) => s.label)).toEqual(["footprint check", "step 1/3 install (install title)", "step 2/3 zookeeper (zookeeper title)", "step 3/3 mesos (mesos title)"]);
    expect(sent.every((s) => s.sudo)).toBe(true);
    expect(connections[0]).toMatchObject({ privateKey: KEY, hostKeyFingerprint: undefined, configPath: "baremetal.hosts[3]" });
    expect(r.outs).toMatchObject({ stepsRun: 3, commandsSent: 4, preexisting: ["pkg curl"], hostKey: { source: "tofu", fingerprint: "SHA256:" + "F".repeat(43) } });
    const steps = planOf(inputs).steps;
    expect(r.outs!.stepHashes).toEqual({ install: steps[0].hash, zookeeper: steps[1].hash, mesos: steps[2].hash });
    expect(sent[2].text).toBe(`echo z ${credentials.zkMesosPassword.length}`); // rendered with credentials from clusterSecret
    expect(JSON.stringify(r.outs)).not.toContain("echo i"); // no script is stored, only hashes
    expect(logs).toContain("general-1: done");
  });

  it("no change: diff says so and nothing is sent; one changed step: only it runs, pinned to the recorded key", async () => {
    const { p, sent, connections } = await provider();
    const { outs } = await p.create({ spec: hostInputs() });
    sent.length = 0;
    expect(await p.diff("id", outs!, { spec: hostInputs() })).toMatchObject({ changes: false });
    expect(sent).toHaveLength(0);
    const news = hostInputs({ node: { ...hostInputs().node, attributes: { rack: "b" } } });
    expect(await p.diff("id", outs!, { spec: news })).toMatchObject({ changes: true, replaces: [] });
    const up = await p.update("id", outs!, { spec: news });
    expect(sent.map((s) => s.text)).toEqual(['echo m {"rack":"b"}']);
    expect(connections.at(-1)).toMatchObject({ hostKeyFingerprint: outs!.hostKey.fingerprint, hostKeySource: "state" });
    expect(up.outs).toMatchObject({ stepsRun: 1, commandsSent: 1 });
    // Bookkeeping-only change: recorded without connecting.
    const before = connections.length;
    const drainOnly = await p.update("id", up.outs!, { spec: { ...news, drain: { ...news.drain!, timeoutSeconds: 5 } } });
    expect(connections.length).toBe(before);
    expect(drainOnly.outs).toMatchObject({ stepsRun: 0, commandsSent: 0, drain: { timeoutSeconds: 5 } });
  });

  it("a failing step stops the run, names host and step, and leaves later steps alone", async () => {
    const { CommandFailed } = await import("../../provisioning/ssh/errors");
    const { p, sent } = await provider((s) => (s.text.startsWith("echo z") ? new CommandFailed("general-1 (10.0.0.21:22)", s.label!, 4, undefined, ["E: Unable to locate package"]) : undefined));
    const err = await p.create({ spec: hostInputs() }).catch((e) => e);
    expect(err.message).toMatch(/^general-1 \(10\.0\.0\.21:22\): step 2\/3 zookeeper \(zookeeper title\) exited with code 4; last output:\n {4}E: Unable to locate package/);
    expect(sent.map((s) => s.text)).not.toContain("echo m");
  });

  it("delete on an agent recorded without the masters' SSH connections (older state) drains from the agent itself, " +
    "through the masters' operator API, waits for DRAINED, then cleans up", async () => {
    const { p, sent, logs } = await provider(mesosResponder(3));
    const { outs } = await p.create({ spec: hostInputs() });
    sent.length = 0;
    await p.delete("id", outs!);
    const kinds = sent.map((s) => (s.text.includes(":5051") ? "agent" : s.text.includes("DRAIN_AGENT") ? "drain" : s.text.includes("GET_AGENTS") ? "poll" : s.label?.startsWith("cleanup") ? "cleanup" : s.text));
    // The agent's id comes from the masters (GET_AGENTS): the agent's own API is never asked (it knows no admin).
    expect(kinds).toEqual(["poll", "drain", "poll", "poll", "cleanup"]);
    const drainCall = sent.find((s) => s.text.includes("DRAIN_AGENT"))!.text;
    expect(drainCall).toMatch(/'https?:\/\/10\.0\.0\.11:5050\/api\/v1'/);
    expect(drainCall).toContain('"agent_id":{"value":"c1-S7"}');
    // The password is derived from the stack config's clusterSecret (it is not in the state), and sent only
    // inside the here-doc curl config, never on a command line.
    expect(drainCall).not.toMatch(new RegExp(`-u\\s|admin:${credentials.adminPassword}'`));
    expect(drainCall).toContain(`user = "admin:${credentials.adminPassword}"`);
    expect(sent.at(-1)!.text).toContain("systemctl disable --now 'mesos-agent.service'");
    expect(logs.some((l) => l.includes("waiting for tasks to leave (DRAINING"))).toBe(true);
    expect(new Set(sent.map((s) => s.host))).toEqual(new Set(["10.0.0.21"])); // the fallback: all on the agent
  }, 20_000);

  it("delete on an agent whose tasks never leave fails before removing anything", async () => {
    const { p, sent } = await provider(mesosResponder(1_000_000));
    const { outs } = await p.create({ spec: hostInputs({ drain: { ...hostInputs().drain!, timeoutSeconds: 1 } }) });
    const err = await p.delete("id", outs!).catch((e) => e);
    expect(err.message).toMatch(/general-1 \(10\.0\.0\.21\): agent c1-S7 still DRAINING after 1 s.*nothing was removed yet/);
    expect(sent.some((s) => s.label?.startsWith("cleanup"))).toBe(false);
  }, 20_000);

  it("delete on a master cleans it with no flag (only `pulumi destroy` gets there: see masterMove and masterChanges)", async () => {
    const master = masterInputs({ connection: hostInputs().connection });
    const live = await provider();
    const { outs } = await live.p.create({ spec: master });
    live.sent.length = 0;
    await live.p.delete("id", outs!);
    expect(live.sent.map((s) => s.label)).toEqual(["cleanup (stop services, remove units, files, users, directories)"]);
  });

  it("a removed master leaves through its own state (the Mesos leader last), then is a record that touches nothing", async () => {
    const master = masterInputs({ connection: hostInputs().connection });
    const live = await provider((s) => (s.label === "leadership probe" ? { stdout: "zookeeper=follower\nmesos=1\n" }
      : s.label?.startsWith("leave") ? { stdout: "left: ZooKeeper server 1 removed through 10.0.0.12, leaving 2 members; stopped\n" }
        : undefined));
    const { outs } = await live.p.create({ spec: master });
    const leave = { leave: { cluster: "prod", id: "m1" } };
    expect(await live.p.check({ spec: master }, leave)).toEqual({ inputs: leave, failures: [] });
    expect((await live.p.diff("id", outs!, leave)).changes).toBe(true);
    live.sent.length = 0;
    const { outs: left } = await live.p.update("id", outs!, leave);
    expect(live.sent.map((s) => s.label)).toEqual(["leadership probe",
      "leave (ZooKeeper reconfig -remove; ZooKeeper, Marathon, Mesos stopped for good)", "cleanup (stop services, remove units, files, users, directories)"]);
    expect(live.sent.every((s) => s.host === master.connection.host && s.sudo)).toBe(true);
    expect(live.sent[1].text).toMatch(/^me=1$/m);
    expect(left?.left?.summary).toBe("ZooKeeper server 1 removed through 10.0.0.12, leaving 2 members; stopped");
    expect(left?.stepHashes).toEqual({});
    expect(live.logs.join("\n")).toMatch(/m1: leaving the cluster: master 1 of 1 to leave \(the Mesos leader: last\)/);
    // Left: the next `up` has nothing to do, a destroy sends nothing, and the id as a master again installs anew.
    live.sent.length = 0;
    expect((await live.p.diff("id", left!, leave)).changes).toBe(false);
    expect((await live.p.update("id", left!, leave)).outs).toEqual(left);
    await live.p.delete("id", left!);
    expect(live.sent).toEqual([]);
    await live.p.update("id", left!, { spec: master });
    expect(live.sent.filter((s) => s.label?.startsWith("step ")).length).toBe(planOf(master).steps.length);
    // Never installed (its growth failed before it was made): a record, no command.
    live.sent.length = 0;
    const never = await live.p.create({ leave: { cluster: "prod", id: "m5" } });
    expect([never.id, never.outs?.left?.summary, live.sent]).toEqual(["prod:m5:left", "never installed: nothing to do", []]);
  });

  it("a master that fails to leave says which and why, and stays recorded as it was", async () => {
    const live = await provider((s) => (s.label?.startsWith("leave")
      ? new Error("step leave exited with code 1; last output: elastic-mesos leave: FAILED: ZooKeeper server.2 (10.0.0.12) does not serve") : undefined));
    const { outs } = await live.p.create({ spec: masterInputs({ connection: hostInputs().connection }) });
    const err = await live.p.update("id", outs!, { leave: { cluster: "prod", id: "m1" } }).catch((e) => e);
    expect(err.message).toMatch(/^m1 \(10\.0\.0\.21\): leaving the cluster failed: .*server\.2 \(10\.0\.0\.12\) does not serve/);
    expect(live.sent.some((s) => s.label?.startsWith("cleanup"))).toBe(false);
  });

  describe("growing from one master (membership/seed.ts)", () => {
    const to = (k: number) => ({ id: `m${k}`, connection: { host: `10.0.0.1${k}`, port: 22, user: "root", configPath: `baremetal.hosts[name=m${k}]` } });
    const m1 = masterInputs({ connection: hostInputs().connection });
    /** m1 as the growth renders it: its mesos step changes (the new --quorum), and it sends its log to m2 and m3. */
    const grown = { ...m1, node: { ...m1.node, attributes: { quorum: "2" } }, logSeed: { to: [to(2), to(3)] } };
    const COPY = "copy of the replicated log";

    it("m1 stops and copies its log, sends it to each new master, then runs its steps", async () => {
      const live = await provider((s) => (s.label === COPY ? { stdout: "LOG-BYTES" } : undefined));
      const { outs } = await live.p.create({ spec: m1 });
      live.sent.length = 0;
      await live.p.update("id", outs!, { spec: grown });
      expect(live.sent.map((s) => `${s.host} ${s.kind} ${s.label}`)).toEqual([`10.0.0.21 script ${COPY}`,
        "10.0.0.12 exec copy of m1's replicated log", "10.0.0.13 exec copy of m1's replicated log",
        "10.0.0.21 script step 3/3 mesos (mesos title)"]);
      expect(live.sent[0].text).toContain("systemctl stop mesos-master");
      for (const up of live.sent.slice(1, 3)) {
        expect([up.stdin?.toString(), up.sudo]).toEqual(["LOG-BYTES", true]);
        expect(up.text).toContain("mv -f -- \"$t\" '/var/lib/elastic-mesos/log-seed.tar.gz'");
      }
      expect(live.logs).toContain("m1: sent a copy of its replicated log (9 bytes) to m2, m3");
      // Its mesos step unchanged (a later `up` while the pin still says seeded): nothing is copied.
      live.sent.length = 0;
      const { outs: after } = await live.p.update("id", outs!, { spec: grown });
      await live.p.update("id", after!, { spec: { ...grown, node: { ...grown.node } } });
      expect(live.sent.filter((s) => s.label === COPY)).toHaveLength(1);
    });

    it("m1 already runs with the new quorum (a copy went before): nothing is sent", async () => {
      const live = await provider((s) => (s.label === COPY ? { code: 3, stderr: "mesos-master runs with --quorum=2: no copy taken" } : undefined));
      const { outs } = await live.p.create({ spec: m1 });
      live.sent.length = 0;
      await live.p.update("id", outs!, { spec: grown });
      expect(live.sent.map((s) => s.label)).toEqual([COPY, "step 3/3 mesos (mesos title)"]);
      expect(live.logs.join("\n")).toContain("m1: no copy of its replicated log taken (mesos-master runs with --quorum=2: no copy taken)");
    });

    it("a new master that does not answer: m1's mesos-master starts again as it was, and the error says what next", async () => {
      const live = await provider((s) => (s.label === COPY ? { stdout: "LOG-BYTES" }
        : s.host === "10.0.0.13" ? new HostUnreachable("m3 (root@10.0.0.13:22)", "connect ECONNREFUSED", 1, "check the host") : undefined));
      const { outs } = await live.p.create({ spec: m1 });
      live.sent.length = 0;
      const err = await live.p.update("id", outs!, { spec: grown }).catch((e) => e);
      expect(err.message).toMatch(/^sending a copy of m1's replicated log to m3 \(10\.0\.0\.13\) failed: .*ECONNREFUSED.*\. m1's mesos-master runs again with --quorum=1 and nothing else changed; run `pulumi up` again once m3 \(10\.0\.0\.13\) answers$/);
      expect(live.sent.map((s) => `${s.host} ${s.label}`).slice(-2)).toEqual(["10.0.0.13 copy of m1's replicated log",
        "10.0.0.21 mesos-master started again"]);
      expect(live.sent.some((s) => s.label?.startsWith("step "))).toBe(false);
    });

    it("a copy that fails (after the stop): m1's mesos-master is started again and nothing is sent", async () => {
      const live = await provider((s) => (s.label === COPY ? new Error("step copy exited with code 2; last output: tar: write error") : undefined));
      const { outs } = await live.p.create({ spec: m1 });
      live.sent.length = 0;
      const err = await live.p.update("id", outs!, { spec: grown }).catch((e) => e);
      expect(err.message).toBe("copying m1's replicated log failed: step copy exited with code 2; last output: tar: write error. " +
        "m1's mesos-master runs again with --quorum=1 and nothing else changed; run `pulumi up` again");
      expect(live.sent.map((s) => s.label)).toEqual([COPY, "mesos-master started again"]);
    });

    it("a step that fails after the copy: m1's mesos-master is started again, as its unit says by then", async () => {
      let armed = false;
      const live = await provider((s) => (s.label === COPY ? { stdout: "LOG-BYTES" }
        : armed && s.label?.startsWith("step 3/3") ? new Error("step mesos exited with code 1") : undefined));
      const { outs } = await live.p.create({ spec: m1 });
      live.sent.length = 0;
      armed = true;
      const err = await live.p.update("id", outs!, { spec: grown }).catch((e) => e);
      expect(err.message).toBe("step mesos exited with code 1");
      expect(live.sent.map((s) => s.label).slice(-2)).toEqual(["step 3/3 mesos (mesos title)", "mesos-master started again"]);
      expect(live.sent.at(-1)?.text).toBe("systemctl is-active --quiet mesos-master || systemctl start mesos-master\n");
    });

    it("a new master unpacks the copy before its first step; one not seeded does not", async () => {
      const live = await provider((s) => (s.label?.startsWith("unpacking") ? { stdout: "seed: replicated log unpacked from m1's copy\n" } : undefined));
      const m2 = masterInputs({ node: { ...m1.node, id: "m2", hostname: "prod-m2" }, selfIp: "10.0.0.12", connection: to(2).connection });
      await live.p.create({ spec: { ...m2, logSeed: { from: "m1" } } });
      expect(live.sent.map((s) => s.label)).toEqual(["footprint check", "unpacking m1's replicated log",
        "step 1/3 install (install title)", "step 2/3 zookeeper (zookeeper title)", "step 3/3 mesos (mesos title)"]);
      expect(live.sent[1].text).toContain("tar -C /var/lib/mesos/master -xzf /var/lib/elastic-mesos/log-seed.tar.gz replicated_log");
      expect(live.logs).toContain("m2: seed: replicated log unpacked from m1's copy");
      live.sent.length = 0;
      await live.p.create({ spec: m2 });
      expect(live.sent.some((s) => s.label?.startsWith("unpacking"))).toBe(false);
    });
  });

  it("a leaving master that does not answer over SSH: nothing changed, and the message says what to do", async () => {
    let armed = false;
    const live = await provider(() => (armed ? new HostUnreachable("m1 (root@10.0.0.21:22)", "connect EHOSTUNREACH", 5, "check the host") : undefined));
    const { outs } = await live.p.create({ spec: masterInputs({ connection: hostInputs().connection }) });
    armed = true;
    const err = await live.p.update("id", outs!, { leave: { cluster: "prod", id: "m1" } }).catch((e) => e);
    expect(err.message).toMatch(/^m1 \(10\.0\.0\.21\): leaving the cluster failed: .*EHOSTUNREACH.*\. Nothing was changed: bring it back at 10\.0\.0\.21 and run `pulumi up` again\. If its machine is lost for good, say so: `pulumi config set --path 'elastic-mesos:baremetal\.lostMasters\[0\]' 10\.0\.0\.21`, then `pulumi up`$/);
    // Listed as lost: recorded as left, nothing sent; the masters that stay remove its ZooKeeper server. (Another
    // cluster name: a failure in an earlier test stopped the rollout of "prod" for the rest of this process.)
    live.sent.length = 0;
    const { outs: left } = await live.p.update("id", outs!, { leave: { cluster: "lost1", id: "m1", lost: ["10.0.0.21"] } });
    expect(left!.left!.summary).toMatch(/^lost: 10\.0\.0\.21 not reached \(.*EHOSTUNREACH.*\); its ZooKeeper server is removed by the masters that stay$/);
    expect(live.sent.map((x) => x.label)).toEqual(["leadership probe"]);
    expect(live.logs.join("\n")).toContain("m1: left: lost: 10.0.0.21 not reached");
    // Another lost master listed, not this one: it must answer, as before.
    const other = await live.p.update("id", outs!, { leave: { cluster: "lost1", id: "m1", lost: ["10.0.0.22"] } }).catch((e) => e);
    expect(other.message).toContain("baremetal.lostMasters[1]' 10.0.0.21");
    // A cloud machine's host (adopted after its first boot): no lostMasters to suggest, since the config has none there.
    const cloud = await live.p.update("id", { ...outs!, firstBoot: "cloud-init" }, { leave: { cluster: "lost1", id: "m1" } })
      .catch((e) => e);
    expect(cloud.message).toMatch(/Nothing was changed: bring it back at 10\.0\.0\.21 and run `pulumi up` again\. A cloud master whose machine is gone cannot leave with this release \(a bare-metal one can: baremetal\.lostMasters\)$/);
    expect(cloud.message).not.toContain("config set");
  });

  it("a lost master listed that still answers leaves as any other, removing the lost ones' servers with its own", async () => {
    const live = await provider((s) => (s.label === "leadership probe" ? { stdout: "zookeeper=follower mesos=standby\n" } : undefined));
    const { outs } = await live.p.create({ spec: masterInputs({ connection: hostInputs().connection }) });
    live.sent.length = 0;
    const { outs: left } = await live.p.update("id", outs!, { leave: { cluster: "lost2", id: "m1", lost: ["10.0.0.21", "10.0.0.23"] } });
    expect(left!.left).toBeDefined();
    const leave = live.sent.find((x) => x.label?.startsWith("leave ("))!;
    expect(leave.text).toContain("lost=' 10.0.0.23 '"); // not its own: it answered
  });

  it("check refuses to move a master to another address, naming the config key (agents: identity.test.ts)", async () => {
    const { p } = await provider();
    const master = masterInputs({ connection: hostInputs().connection });
    const moved = { ...master, connection: { ...master.connection, host: "10.0.0.99" } };
    const failures = (await p.check({ spec: master }, { spec: moved })).failures ?? [];
    expect(failures.map((f) => f.reason)).toEqual([
      `${master.connection.configPath}.address: moving master m1 from 10.0.0.21 to 10.0.0.99 is refused: a master holds ` +
        "a ZooKeeper vote and a replica of the Mesos log. Put its address back (10.0.0.21); masters are m1, m2, ... in " +
        "the order of the master entries of baremetal.hosts, so if you reordered those entries, put them back in that " +
        "order. If the machine at 10.0.0.21 is lost for good, say so on the entry: `pulumi config set --path " +
        "'elastic-mesos:baremetal.hosts[<its index>].replaces' 10.0.0.21`, then `pulumi up`: m1 is installed on " +
        "10.0.0.99 and takes 10.0.0.21's place in ZooKeeper and the Mesos log once the other masters rolled (the " +
        "machine at 10.0.0.21 is stopped first if it still answers; it must never come back with its data)",
    ]);
    // Saying which machine is lost lets the move through; naming another address does not.
    const replacing = { ...moved, connection: { ...moved.connection, replaces: "10.0.0.21" } };
    expect((await p.check({ spec: master }, { spec: replacing })).failures).toEqual([]);
    expect(masterMove(master, { ...moved, connection: { ...moved.connection, replaces: "10.0.0.22" } }))
      .toMatch(/^\S+\.address: moving master m1 from 10\.0\.0\.21 to 10\.0\.0\.99 is refused \(\S+\.replaces is 10\.0\.0\.22, not 10\.0\.0\.21\): /);
    expect(masterMove(master, master)).toBe("");
    const agent = hostInputs();
    expect(masterMove(agent, { ...agent, connection: { ...agent.connection, host: "10.0.0.99" } })).toBe("");
    expect(masterMove(undefined, moved)).toBe(""); // a first create
  });

  it("a master replacing its lost machine: an update, no turn; the old one stopped if it answers; installed as new", async () => {
    let lostAnswers = false;
    const live = await provider((s) => (s.host === "10.0.0.21" && s.label?.startsWith("cleanup of the lost machine") &&
      !lostAnswers ? new HostUnreachable("m1 (root@10.0.0.21:22)", "connect ETIMEDOUT", 4, "check the host") : undefined));
    const master = masterInputs({ connection: hostInputs().connection });
    const { outs } = await live.p.create({ spec: master });
    const moved = { ...master, connection: { ...master.connection, host: "10.0.0.99", replaces: "10.0.0.21" } };
    const d = await live.p.diff("id", outs!, { spec: moved });
    expect(d).toMatchObject({ changes: true, replaces: [] });
    live.sent.length = 0;
    const { outs: after } = await live.p.update("id", outs!, { spec: moved });
    expect(live.logs).toContain("m1: replacing its lost machine 10.0.0.21 by 10.0.0.99");
    expect(live.logs.join("\n")).toMatch(/m1: its lost machine 10\.0\.0\.21 does not answer \(.*ETIMEDOUT.*\): left alone/);
    // Nothing more to the old address; on the new one, what a create runs: the footprint check, then every step.
    expect(live.sent.filter((x) => x.host === "10.0.0.21").map((x) => x.label)).toEqual(
      ["cleanup of the lost machine (stop services, remove units, files, users, directories)"]);
    const onNew = live.sent.filter((x) => x.host === "10.0.0.99").map((x) => x.label ?? "");
    expect(onNew[0]).toBe("footprint check");
    expect(onNew.filter((l) => l.startsWith("step ")).length).toBe(after!.stepsRun);
    expect(after!.stepsRun).toBe(Object.keys(after!.stepHashes).length);
    expect(after!.connection.host).toBe("10.0.0.99");
    // One that still answers is stopped and cleaned first; one of ours that answers but fails stops the `up`.
    lostAnswers = true;
    live.logs.length = 0;
    await live.p.update("id", outs!, { spec: moved });
    expect(live.logs).toContain("m1: its lost machine 10.0.0.21 still answered: stopped and cleaned");
    // Another machine at the old address (another host key): nothing is run on it, and the new one is installed.
    const other = await provider((s) => (s.host === "10.0.0.21" ? new HostKeyMismatch("m1 (root@10.0.0.21:22)",
      "SHA256:recorded", "SHA256:someone-else", "ssh-ed25519", "check the host") : undefined));
    const { outs: beside } = await other.p.update("id", outs!, { spec: moved });
    expect(other.logs).toContain("m1: another machine answers at 10.0.0.21 (another host key): left alone");
    expect(other.sent.filter((x) => x.host === "10.0.0.21").map((x) => x.label)).toEqual(
      ["cleanup of the lost machine (stop services, remove units, files, users, directories)"]);
    expect(beside!.connection.host).toBe("10.0.0.99");
    const failing = await provider((s) => (s.label?.startsWith("cleanup of the lost machine") ? new Error("rm: disk") : undefined));
    const err = await failing.p.update("id", outs!, { spec: moved }).catch((e) => e);
    expect(err.message).toMatch(/^m1: its machine 10\.0\.0\.21 answers but was not stopped: .*Nothing else changed; stop it/);
    expect(failing.sent.filter((x) => x.host === "10.0.0.99")).toEqual([]);
  });

  it("needs the key and the cluster secret from stack config, and refuses a key in the inputs", async () => {
    const { p } = await provider(undefined, { clusterSecret: TEST_CLUSTER_SECRET });
    expect((await p.create({ spec: hostInputs() }).catch((e) => e)).message).toMatch(/no SSH private key.*pulumi config set --secret elastic-mesos:sshPrivateKey/);
    const bad = hostInputs({ connection: { ...hostInputs().connection, user: KEY } });
    expect((await p.check({ spec: bad }, { spec: bad })).failures?.[0]?.reason).toMatch(/must not be an input/);
    expect((await p.check({ spec: hostInputs() }, { spec: hostInputs() })).failures).toEqual([]);
    const noSecret = await provider(undefined, { sshPrivateKey: KEY });
    expect((await noSecret.p.check({ spec: hostInputs() }, { spec: hostInputs() })).failures?.[0]?.reason)
      .toMatch(/^baremetal\.hosts\[3\]: no cluster secret in the stack config: set it with `pulumi config set --secret elastic-mesos:clusterSecret/);
  });
});

describe("previews with values not known yet", () => {
  it("check accepts them and diff says update, without rendering", async () => {
    const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // the engine's placeholder (rpc.unknownValue)
    const rendered: string[] = [];
    const p = new MesosHostProvider({ runner: fakeRunner().make, render: (i, c) => (rendered.push(i.selfIp), render(i, c)) });
    await p.configure(fakeConfig(CONFIG));
    // Any unknown part makes the whole `spec` unknown (it is one Output).
    const news = { spec: UNKNOWN as any };
    expect((await p.check(news, news)).failures).toEqual([]);
    const { outs } = await p.create({ spec: hostInputs() });
    expect(await p.diff("id", outs!, news)).toEqual({ changes: true, deleteBeforeReplace: true });
    expect(rendered).toEqual(["10.0.0.21"]); // only the create rendered
  });
});

describe("upgrade of state written before the shim", () => {
  // What 0.1 stored for a host: the program rendered the steps with the credentials derived from clusterSecret
  // and passed them (secret), the cleanup plan and the admin password as inputs; the provider recorded the
  // hashes and copied the password into its outputs; the engine added the serialized closure to both.
  const OLD_CLOSURE = `exports.handler = __f0;\nvar __provider_proto = {};\n${"/* captured module text */\n".repeat(2_000)}`;
  function legacyOutputs(i: HostInputs) {
    const plan = renderHost(i, deriveCredentials(TEST_CLUSTER_SECRET, i.cluster), hostTls(TEST_CLUSTER_SECRET, i));
    return {
      cluster: plan.cluster, node: plan.node, connection: plan.connection, cleanup: plan.cleanup, drain: plan.drain,
      stepHashes: Object.fromEntries(plan.steps.map((s) => [s.step, s.hash])),
      hostKey: { fingerprint: "SHA256:" + "F".repeat(43), type: "ssh-ed25519", source: "tofu" as const },
      preexisting: ["pkg docker-ce"], stepsRun: 3, commandsSent: 5,
      adminUser: "admin", adminPassword: deriveCredentials(TEST_CLUSTER_SECRET, i.cluster).adminPassword, __provider: OLD_CLOSURE,
    };
  }

  it("diff renders the steps from the compact inputs and finds the recorded hashes: one bookkeeping update, no SSH", async () => {
    const fr = fakeRunner();
    const p = new MesosHostProvider({ runner: fr.make }); // the real renderer: the very scripts 0.1 ran
    await p.configure(fakeConfig(CONFIG));
    for (const i of [hostInputs(), masterInputs()]) {
      const olds = legacyOutputs(i);
      // What the engine passes: the new inputs (spec and the shim), against the old outputs.
      const news = { spec: i, __provider: SHIM };
      expect((await p.check(olds as any, news)).failures).toEqual([]);
      expect(await p.diff("id", olds, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
      const { outs } = await p.update("id", olds, news);
      expect(fr.sent).toEqual([]);
      expect(fr.connections).toEqual([]);
      const { adminUser, adminPassword, __provider, ...kept } = olds;
      // As the engine stores it, with what a later refresh checks the host against (drift.ts), from the same plan.
      // And an agent's identity (the one its unchanged mesos step ran with): a later update decides its drain on it.
      const { watch, agentIdentity } =
        renderHost(i, deriveCredentials(TEST_CLUSTER_SECRET, i.cluster), hostTls(TEST_CLUSTER_SECRET, i));
      expect(agentIdentity === undefined).toBe(i.node.role === "master");
      const identity = agentIdentity ? { agentIdentity } : {};
      expect(outs).toStrictEqual(plain({ ...kept, stepsRun: 0, commandsSent: 0, repairs: 0, watch, ...identity }));
      expect(JSON.stringify(outs)).not.toContain(olds.adminPassword);
      // The engine then stores the shim with these outputs: the next run is a no-change run.
      expect(await p.diff("id", { ...outs!, __provider: SHIM } as any, news)).toMatchObject({ changes: false });
    }
  });

  it("a real change in the same run still runs only the changed step (drained first: no identity recorded)",
    async () => {
    // A new attribute value is a restart Mesos cannot recover: the agent comes back as c1-S8 (drain-first.test.ts).
    let restarted = false;
    const mesos = mesosResponder(2);
    const fr = fakeRunner((s) => {
      if (s.label?.includes(" mesos ")) restarted = true;
      const r = mesos(s);
      return restarted && r ? { stdout: r.stdout.replace("c1-S7", "c1-S8") } : r;
    });
    const p = new MesosHostProvider({ runner: fr.make });
    await p.configure(fakeConfig(CONFIG));
    const olds = legacyOutputs(hostInputs());
    const news = hostInputs({ node: { ...hostInputs().node, attributes: { rack: "b" } } });
    const { outs } = await p.update("id", olds, { spec: news });
    // A step script by its label: the agent's mesos step carries its own drain-on-shutdown script (DRAIN_AGENT).
    const kinds = fr.sent.map((s) => (s.label?.startsWith("step ") ? s.label
      : s.text.includes("DRAIN_AGENT") ? "drain" : s.text.includes("GET_AGENTS") ? "poll" : s.label));
    expect(kinds).toEqual(["poll", "drain", "poll", expect.stringMatching(/^step 4\/4 mesos /), "poll"]);
    expect(outs).toMatchObject({ stepsRun: 1, preexisting: ["pkg docker-ce"] });
    expect(outs).not.toHaveProperty("adminPassword");
  });
});

describe("state size", () => {
  it("a host stores at most 10 KB: its compact inputs and the outputs the provider returns, each with the shim", async () => {
    const p = new MesosHostProvider({ runner: fakeRunner().make }); // the real renderer
    await p.configure(fakeConfig(CONFIG));
    for (const i of [hostInputs(), masterInputs()]) {
      const { outs } = await p.create({ spec: i });
      // What the engine stores: the inputs, and the outputs with __provider added (resultIncludingProvider).
      const bytes = JSON.stringify({ spec: i, __provider: SHIM }).length + JSON.stringify({ ...outs, __provider: SHIM }).length;
      expect(bytes, i.node.id).toBeLessThan(10 * 1024);
    }
  });
});

describe("drain through a master (the agent is never sent the admin password)", () => {
  const KEYS: Record<string, string> = { "10.0.0.11": "SHA256:" + "1".repeat(43), "10.0.0.12": "SHA256:" + "2".repeat(43),
    "10.0.0.13": "SHA256:" + "3".repeat(43), "10.0.0.21": "SHA256:" + "F".repeat(43) };
  const masterConn = (k: number) => ({ host: `10.0.0.1${k}`, port: 22, user: "root", configPath: `baremetal.hosts[${k - 1}]` });
  /** What createSshBootstrap records: each master's connection and the key its own MesosHost recorded. */
  const viaMasters = (over: Partial<Record<number, Partial<DrainMaster>>> = {}): DrainMaster[] =>
    [1, 2, 3].map((k) => ({ id: `m${k}`, connection: masterConn(k), hostKeyFingerprint: KEYS[`10.0.0.1${k}`], ...over[k] }));
  const agentWith = (masterHosts: DrainMaster[]) => hostInputs({ drain: { ...hostInputs().drain!, masterHosts } });
  /** m1 does not answer (HostUnreachable after the pool's retries); the others present KEYS. */
  const hostKey = (down: string[]) => (t: SshTarget) =>
    down.includes(t.host) ? new HostUnreachable(describeTarget(t), "ECONNREFUSED", 5, "check the host") : KEYS[t.host];

  async function agent(masterHosts: DrainMaster[], down: string[] = []) {
    const fr = fakeRunner(mesosResponder(2), hostKey(down));
    const p = new MesosHostProvider({ runner: fr.make, render });
    await p.configure(fakeConfig(CONFIG));
    const { outs } = await p.create({ spec: agentWith(masterHosts) });
    fr.sent.length = 0;
    fr.connections.length = 0;
    return { p, outs: outs!, ...fr };
  }
  const curls = (sent: Sent[]) => sent.filter((s) => s.text.startsWith("curl "));

  it("runs every Mesos call on the first master that answers, with the key its resource recorded", async () => {
    const { p, outs, sent, connections } = await agent(viaMasters(), ["10.0.0.11"]);
    expect(outs.drain!.masterHosts).toHaveLength(3); // recorded: delete sees only the state
    await p.delete("id", outs);
    // m1 is tried first, verified against its recorded key (never trusted on first use), and skipped.
    expect(connections.map((t) => [t.name, t.host, t.hostKeyFingerprint, t.hostKeySource])).toEqual([
      ["m1", "10.0.0.11", KEYS["10.0.0.11"], "state"], ["m2", "10.0.0.12", KEYS["10.0.0.12"], "state"],
    ]);
    expect(curls(sent).length).toBeGreaterThanOrEqual(3);
    expect(new Set(curls(sent).map((s) => s.host))).toEqual(new Set(["10.0.0.12"]));
    expect(sent.find((s) => s.text.includes("DRAIN_AGENT"))!.text).toContain(`user = "admin:${credentials.adminPassword}"`);
    // The agent gets the cleanup and nothing with the admin password in it.
    const onAgent = sent.filter((s) => s.host === "10.0.0.21");
    expect(onAgent.map((s) => s.label)).toEqual(["cleanup (stop services, remove units, files, users, directories)"]);
    expect(JSON.stringify(onAgent)).not.toContain(credentials.adminPassword);
  }, 20_000);

  it("a key pinned in config wins over the recorded one; a master with neither is never connected to", async () => {
    const pinned = viaMasters({ 1: { hostKeyFingerprint: undefined },
      2: { connection: { ...masterConn(2), hostKeyFingerprint: KEYS["10.0.0.12"] }, hostKeyFingerprint: "SHA256:" + "0".repeat(43) } });
    const { p, outs, sent, connections } = await agent(pinned);
    await p.delete("id", outs);
    expect(connections.map((t) => [t.name, t.hostKeyFingerprint, t.hostKeySource])).toEqual([["m2", KEYS["10.0.0.12"], "config"]]);
    expect(new Set(curls(sent).map((s) => s.host))).toEqual(new Set(["10.0.0.12"]));
  }, 20_000);

  it("refuses a master presenting another key: the error names it, and nothing is drained or removed", async () => {
    const { p, outs, sent, connections } = await agent(viaMasters({ 1: { hostKeyFingerprint: "SHA256:" + "9".repeat(43) } }));
    const err = await p.delete("id", outs).catch((e) => e);
    expect(err).toBeInstanceOf(HostKeyMismatch);
    expect(err.message).toContain(`m1 (10.0.0.11:22): host key mismatch: expected SHA256:${"9".repeat(43)}, the host presented ${KEYS["10.0.0.11"]}`);
    expect(connections.map((t) => t.name)).toEqual(["m1"]); // not silently moved on to the next master
    expect(sent).toEqual([]);
  });

  it("fails naming every master when none answers with a verified key, and removes nothing", async () => {
    const { p, outs, sent } = await agent(viaMasters({ 3: { hostKeyFingerprint: undefined } }), ["10.0.0.11", "10.0.0.12"]);
    const err = await p.delete("id", outs).catch((e) => e);
    expect(err.message).toMatch(/^general-1 \(10\.0\.0\.21\): could not drain the agent: no master answered over SSH with a verified host key \(/);
    expect(err.message).toContain("m1 (10.0.0.11:22): cannot connect (ECONNREFUSED)");
    expect(err.message).toContain("m3 (10.0.0.13:22): no host key recorded or pinned (baremetal.hosts[2].hostKeyFingerprint)");
    expect(err.message).toContain("nothing was removed yet");
    expect(sent).toEqual([]);
  });

  it("state stays small: three masters add about 1.1 KB to an agent's record; five behind a bastion stay under 10 KB", async () => {
    const p = new MesosHostProvider({ runner: fakeRunner().make }); // the real renderer
    await p.configure(fakeConfig(CONFIG));
    const stored = async (i: HostInputs) => {
      const { outs } = await p.create({ spec: i });
      return JSON.stringify({ spec: i, __provider: SHIM }).length + JSON.stringify({ ...outs, __provider: SHIM }).length;
    };
    const before = await stored(hostInputs());
    // Direct SSH, keys recorded on first use (stored twice: inputs and outputs).
    expect(await stored(agentWith(viaMasters())) - before).toBeLessThan(1200);
    // The large case: five masters behind a bastion, keys pinned (createSshBootstrap then records no second copy).
    const bastion = { name: "jump", host: "203.0.113.10", port: 22, user: "admin", hostKeyFingerprint: "SHA256:" + "B".repeat(43) };
    const five: DrainMaster[] = [1, 2, 3, 4, 5].map((k) => ({ id: `m${k}`,
      connection: { ...masterConn(k), user: "admin", hostKeyFingerprint: "SHA256:" + String(k).repeat(43), bastion } }));
    expect(await stored(agentWith(five))).toBeLessThan(10 * 1024); // measured 7.8 KB (4.5 KB without masterHosts)
  });

  it("diff: unknowns only inside `drain` (the masters' keys in a preview where they change) are no change", async () => {
    const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const { p, outs } = await agent(viaMasters());
    const preview = { ...agentWith(viaMasters()), drain: { ...agentWith([]).drain!, masterHosts: UNKNOWN as any } };
    expect(await p.diff("id", outs, { spec: preview })).toEqual({ changes: false, replaces: [], deleteBeforeReplace: true });
    expect(withRecordedDrain(preview, outs).drain).toEqual(outs.drain);
    expect((await p.check({ spec: agentWith(viaMasters()) }, { spec: preview })).failures).toEqual([]);
    // A whole unknown drain likewise; an unknown anywhere else still says "update" (it cannot be rendered).
    expect((await p.diff("id", outs, { spec: { ...preview, drain: UNKNOWN as any } })).changes).toBe(false);
    const elsewhere = { ...preview, connection: { ...preview.connection, host: UNKNOWN } };
    expect(await p.diff("id", outs, { spec: elsewhere })).toEqual({ changes: true, deleteBeforeReplace: true });
    // Known again at `up`: a real change of the masters' keys is recorded (bookkeeping, no command).
    const rekeyed = agentWith(viaMasters({ 2: { hostKeyFingerprint: "SHA256:" + "8".repeat(43) } }));
    expect(await p.diff("id", outs, { spec: rekeyed })).toMatchObject({ changes: true, replaces: [] });
    const up = await p.update("id", outs, { spec: rekeyed });
    expect(up.outs).toMatchObject({ stepsRun: 0, commandsSent: 0 });
    expect(up.outs!.drain!.masterHosts![1].hostKeyFingerprint).toBe("SHA256:" + "8".repeat(43));
  });
});
