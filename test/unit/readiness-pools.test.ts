// The readiness counts the agents of a pool run as a self-healing group (components/contracts AgentGroup): their
// names and addresses are not known in advance, so the leader's agent list is read for the `pool` attribute every
// agent registers with (provisioning/steps/mesos-agent.ts). Pure verdicts, the master's awk on grep matches in
// Mesos' field order, and the probe script run for real (bash + curl) against the stand-in mesos-master
// (test/fixtures/standins: a TEST FIXTURE, as strict as Mesos 1.11 about /master/slaves; not Apache Mesos).
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  POOL_HINT, evaluate, parseAgents, parseProbe, probeScript, type Check, type ExpectedAgent, type ExpectedPool,
} from "../../provisioning/health/probes";
import { failureText } from "../../provisioning/health/wait";
import { ReadinessProvider } from "../../provisioning/health/readiness";
import { fakeConfig, startSshServer, TEST_CLUSTER_SECRET, type TestSshServer } from "../fixtures/ssh-server";
import { agentFlags } from "../../provisioning/steps/mesos-agent";
import { buildContext } from "../../provisioning/steps/context";
import { poolTemplateNode } from "../../components/topology";
import { agentInput } from "./bootstrap-input";
import type { AgentPoolModel } from "../../components/model";
import { basicAuth, freePort, postJson } from "../fixtures/loopback";
import { startStandinMaster } from "../fixtures/standin-master";

const FW = "master/frameworks/marathon/f00-0000/subscribed";
const METRICS = `"master/elected": 1.0\n"registrar/log/recovered": 1.0\n"${FW}": 1.0\n200 4321`;
const probeOf = (agentLines: string[]) => parseProbe("m1", "10.0.0.11",
  `### zk\nMode: standalone\n### metrics\n${METRICS}\n### agents\n${[...agentLines, "200 999"].join("\n")}\n` +
  `### marathon\n{"leader":"10.0.0.11:8443"}\n200\n`);
const agentsCheck = (lines: string[], agents: ExpectedAgent[], pools: ExpectedPool[]): Check =>
  evaluate([probeOf(lines)], agents, 1, pools).find((c) => c.name === "agents registered")!;

describe("counting a group's agents (pure)", () => {
  const named: ExpectedAgent[] = [{ id: "general-1", pool: "general", hostname: "10.0.1.21", ip: "10.0.1.21" }];

  it("enough usable agents of the pool: passes, counting named agents and each pool", () => {
    const lines = ["10.0.1.21:5051 10.0.1.21 pool=general", "10.0.9.4:5051 10.0.9.4 pool=gpu",
      "10.0.9.5:5051 10.0.9.5 pool=gpu"];
    expect(agentsCheck(lines, named, [{ pool: "gpu", desired: 2 }]))
      .toEqual({ name: "agents registered", ok: true, detail: "3 active (2 in groups: gpu 2/2)" });
    // Without pools the detail keeps its earlier form (lab tests compare it whole).
    expect(agentsCheck(lines, named, [])).toEqual({ name: "agents registered", ok: true, detail: "1 active" });
  });

  it("too few: names the pool, the counts, what else is listed and what to check", () => {
    const lines = ["10.0.1.21:5051 10.0.1.21 pool=general", "10.0.9.4:5051 10.0.9.4 pool=gpu",
      "10.0.9.5:5051 10.0.9.5 deactivated drain=DRAINING pool=gpu", "10.0.9.6:5051 10.0.9.6 inactive pool=gpu",
      "10.0.9.7:5051 10.0.9.7 pool=batch"];
    const c = agentsCheck(lines, named, [{ pool: "gpu", desired: 3 }, { pool: "batch", desired: 1 }]);
    expect(c.ok).toBe(false);
    expect(c.detail).toBe('pool "gpu" has 1 of the 3 agents its group should run registered and active ' +
      `(also listed: 1 draining (DRAINING), 1 inactive); ${POOL_HINT}`);
    expect(failureText([c])).toContain('agents registered failed: pool "gpu" has 1 of the 3');
  });

  it("a named agent is never counted for a group, and agents of other pools or with no pool attribute are not", () => {
    // A machine agent of pool gpu (named) and a group of gpu: the group needs agents beyond the named one.
    const gpuNamed: ExpectedAgent[] = [{ id: "gpu-1", pool: "gpu", hostname: "10.0.1.31", ip: "10.0.1.31" }];
    const lines = ["10.0.1.31:5051 10.0.1.31 pool=gpu", "10.0.9.8:5051 10.0.9.8", "10.0.9.9:5051 10.0.9.9 pool=gpu2"];
    const c = agentsCheck(lines, gpuNamed, [{ pool: "gpu", desired: 1 }]);
    expect(c).toMatchObject({ ok: false });
    expect(c.detail).toMatch(/^pool "gpu" has 0 of the 1 agents/);
    expect(agentsCheck(lines, gpuNamed, [{ pool: "gpu", desired: 0 }]).ok).toBe(true);
  });

  it("a missing named agent and a short pool are both reported", () => {
    const c = agentsCheck([], named, [{ pool: "gpu", desired: 2 }]);
    expect(c.detail).toMatch(/^not registered: general-1 \(10\.0\.1\.21\); pool "gpu" has 0 of the 2 agents/);
  });
});

describe("the master's awk keeps each agent's pool attribute, and only that", () => {
  const awk = /\| (awk .*) ;; \*\)/.exec(probeScript("127.0.0.1", { zookeeper: 1, mesos: 1, marathon: 1 }, {}, {}))![1];
  const run = (matches: string[]) =>
    spawnSync("bash", ["-c", awk], { input: `${matches.join("\n")}\n`, encoding: "utf8" }).stdout;

  it("pool from inside attributes; attributes named pid or hostname start no agent and rename none", () => {
    const out = run(['"pid":"slave(1)@10.0.9.4:5051"', '"hostname":"10.0.9.4"', '"attributes":{', '"pid":"x"',
      '"hostname":"attr"', '"pool":"gpu"', '"pool":"second"', '"active":true', '"deactivated":false',
      '"pid": "slave(1)@10.0.9.5:5051"', '"hostname": "10.0.9.5"', '"attributes": {', '"pool": "batch"',
      '"active": false', '"deactivated": true', '"drain_info": {"state": "DRAINED"',
      '"pid":"slave(1)@10.0.9.6:5051"', '"hostname":"10.0.9.6"', '"attributes":{', '"active":true']);
    expect(out).toBe("10.0.9.4:5051 10.0.9.4 pool=gpu\n10.0.9.5:5051 10.0.9.5 inactive deactivated drain=DRAINED " +
      "pool=batch\n10.0.9.6:5051 10.0.9.6\n");
    expect(parseAgents(out.trimEnd().split("\n"))).toEqual([
      { address: "10.0.9.4:5051", hostname: "10.0.9.4", active: true, deactivated: false, pool: "gpu" },
      { address: "10.0.9.5:5051", hostname: "10.0.9.5", active: false, deactivated: true, drain: "DRAINED",
        pool: "batch" },
      { address: "10.0.9.6:5051", hostname: "10.0.9.6", active: true, deactivated: false }]);
  });

  it("a \"pool\" string outside the attributes is ignored", () => {
    expect(run(['"pid":"slave(1)@10.0.9.4:5051"', '"hostname":"10.0.9.4"', '"pool":"not-an-attribute"',
      '"attributes":{', '"active":true'])).toBe("10.0.9.4:5051 10.0.9.4\n");
  });
});

const STANDIN_LIB = resolve(__dirname, "../fixtures/standins");
const hasTools = spawnSync("curl", ["--version"]).status === 0 && spawnSync("python3", ["--version"]).status === 0;

describe.skipIf(!hasTools)("a group's agents counted on the stand-in mesos-master (loopback, HTTP auth on)", () => {
  const procs: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), "readiness-pools-"));
  afterAll(() => {
    for (const p of procs) p.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });
  const basic = basicAuth;
  const post = postJson;

  /** What a group's agent registers with: its --attributes flag as the agent step renders it, parsed as an agent. */
  function groupAgentAttributes(pool: AgentPoolModel): Record<string, unknown> {
    const input = { ...agentInput({ masters: 1 }), node: poolTemplateNode("prod", pool) };
    const flag = agentFlags(buildContext(input)).find((f) => f.startsWith("--attributes="))!.slice(13);
    const py = "import json,sys; from standin.common import parse_attributes; " +
      "print(json.dumps(parse_attributes(sys.argv[1])))";
    const env = { ...process.env, PYTHONPATH: STANDIN_LIB };
    const r = spawnSync("python3", ["-c", py, flag], { encoding: "utf8", env });
    return JSON.parse(r.stdout);
  }

  it("2 of 3 registered: refused with the pool and counts; the third: ready; one drained: refused again", async () => {
    const gpu: AgentPoolModel = { name: "gpu", count: 3, size: "g5.xlarge", diskGb: 100, resources: { gpus: 1 },
      attributes: { accelerator: "a10g", hostname: "not-this" }, containerizers: ["mesos"], taskUser: "mesos-task" };
    const attributes = groupAgentAttributes(gpu);
    expect(attributes).toEqual({ pool: "gpu", accelerator: "a10g", hostname: "not-this" });
    const port = await startStandinMaster(dir, procs);
    // An agent's hostname is its address (--hostname=${SELF_IP}): a group's are whatever the cloud gave it.
    const register = async (ip: string, attrs: Record<string, unknown>) => {
      const r = await post(port, "/standin/v1/register-agent", { pid: `slave(1)@${ip}:5051`, hostname: ip,
        port: 5051, resources: [{ name: "cpus", type: "SCALAR", scalar: { value: 2 } }], attributes: attrs,
        version: "1.11.0" });
      return ((await r.json()) as { id: string }).id;
    };
    const named: ExpectedAgent[] = [{ id: "general-1", pool: "general", hostname: "10.0.1.21", ip: "10.0.1.21" }];
    await register("10.0.1.21", { pool: "general" });
    await register("10.0.9.4", attributes);
    const second = await register("10.0.9.5", attributes);
    const ports = { zookeeper: await freePort(), mesos: port, marathon: await freePort() };
    const probe = () => {
      const script = probeScript("127.0.0.1", ports, { mesos: { user: "health", password: "h-pw" }, marathon: {} }, {});
      const out = spawnSync("bash", ["-s"], { input: script, encoding: "utf8", timeout: 20_000 }).stdout;
      const p = parseProbe("m1", "127.0.0.1", out);
      return evaluate([{ ...p, zkMode: "standalone" }], named, 1, [{ pool: "gpu", desired: 3 }])
        .find((c) => c.name === "agents registered")!;
    };
    expect(probe()).toMatchObject({ ok: false, detail: expect.stringMatching(
      /^pool "gpu" has 2 of the 3 agents its group should run registered and active; check the group/) });
    await register("10.0.9.6", attributes);
    expect(probe()).toEqual({ name: "agents registered", ok: true, detail: "4 active (3 in groups: gpu 3/3)" });
    const call = { type: "DRAIN_AGENT", drain_agent: { agent_id: { value: second } } };
    const drain = await post(port, "/api/v1", call, basic("admin", "a-pw"));
    expect(drain.status).toBe(200);
    expect(probe().detail).toMatch(/^pool "gpu" has 2 of the 3 agents .* \(also listed: 1 draining \(DRAINING\)\)/);
  }, 30_000);
});

describe("the readiness provider counts a group's agents (masters over real SSH, the ssh-server fixture)", () => {
  const servers: TestSshServer[] = [];
  afterAll(async () => { for (const s of servers) await s.close(); });

  it("ready with the pool's desired count; too few: a timeout naming the pool; pools only in inputs that have them",
    async () => {
      let listed = ["10.0.1.21:5051 10.0.1.21 pool=general", "10.0.9.4:5051 10.0.9.4 pool=gpu"];
      const leaderOut = () => `### zk\nMode: leader\n### metrics\n${METRICS}\n### agents\n` +
        `${[...listed, "200 999"].join("\n")}\n### marathon\n{"leader":"10.0.0.11:8443"}\n200\n`;
      const first = await startSshServer({
        handler: async (_c, stdin) => ({ code: 0, stdout: stdin.includes("### zk") ? leaderOut() : "" }),
      });
      servers.push(first);
      const p = new ReadinessProvider();
      await p.configure(fakeConfig({ sshPrivateKey: first.clientKey, clusterSecret: TEST_CLUSTER_SECRET }));
      const inputs = (pools?: ExpectedPool[]) => ({
        cluster: "prod", quorum: 1, ports: { zookeeper: 2181, mesos: 5050, marathon: 8443 }, adminUser: "admin",
        timeoutSeconds: 1, generation: "g1",
        agents: [{ id: "general-1", pool: "general", hostname: "10.0.1.21", ip: "10.0.1.21" }],
        masters: [{ id: "m1", ip: "10.0.0.11", connection: { host: first.host, port: first.port, user: "root" },
          hostKeyFingerprint: first.fingerprint }],
        ...(pools ? { pools } : {}),
      });
      const err = await p.create(inputs([{ pool: "gpu", desired: 2 }])).catch((e) => e);
      expect(String(err.message)).toMatch(/agents registered failed: pool "gpu" has 1 of the 2 agents its group/);
      listed = [...listed, "10.0.9.5:5051 10.0.9.5 pool=gpu"];
      const r = await p.create(inputs([{ pool: "gpu", desired: 2 }]));
      expect(r.outs!.checks.find((c: Check) => c.name === "agents registered")!.detail)
        .toBe("3 active (2 in groups: gpu 2/2)");
      expect((await p.diff(r.id, r.outs!, inputs([{ pool: "gpu", desired: 2 }]))).changes).toBe(false);
      expect((await p.diff(r.id, r.outs!, inputs([{ pool: "gpu", desired: 3 }]))).changes).toBe(true);
      const none = await p.create(inputs());
      expect(none.outs).not.toHaveProperty("pools");
      expect((await p.diff(none.id, none.outs!, inputs())).changes).toBe(false);
    }, 30_000);
});
