// Readiness probes on small endpoints: the filtered /metrics/snapshot and /master/slaves the masters send, the
// verdict that counts every master and says which checks could not be judged, and the probe script run for
// real (bash + curl) against the stand-in mesos-master (test/fixtures/standins: a TEST FIXTURE, not Apache Mesos).
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  evaluate, parseAgents, parseProbe, probeScript, unreachableProbe, type Check, type ExpectedAgent,
} from "../../provisioning/health/probes";
import { ReadinessTimeout, failureText } from "../../provisioning/health/wait";
import { basicAuth, freePort, postJson } from "../fixtures/loopback";
import { startStandinMaster } from "../fixtures/standin-master";

const FW = "master/frameworks/marathon/f00-0000/subscribed";
const metrics = (elected: boolean) => `"master/elected": ${elected ? "1.0" : "0.0"}\n"registrar/log/recovered": 1.0\n` +
  `${elected ? `"${FW}": 1.0\n` : ""}200 4321`;
const slave = (address: string, host: string, flags = "") => `${address} ${host}${flags}\n`;
const SLAVES = slave("10.0.0.21:5051", "prod-general-1") + slave("10.0.0.31:5051", "10.0.0.31") + "200 3000";
const out = (o: { zk?: string; metrics?: string; agents?: string; marathon?: string }) =>
  `### zk\n${o.zk ?? "Mode: follower"}\n### metrics\n${o.metrics ?? "000 0"}\n` +
  `${o.agents !== undefined ? `### agents\n${o.agents}\n` : ""}` +
  `### marathon\n${o.marathon ?? '{"leader":"10.0.0.11:8443"}\n200'}\n`;
const agents: ExpectedAgent[] = [
  { id: "general-1", pool: "general", hostname: "prod-general-1", ip: "10.0.0.21" },
  { id: "gpu-1", pool: "gpu", hostname: "prod-gpu-1", ip: "10.0.0.31" },
];
const leaderOut = (o: { metrics?: string; agents?: string } = {}) =>
  out({ zk: "Mode: leader", metrics: o.metrics ?? metrics(true), agents: o.agents ?? SLAVES });
const leader = () => parseProbe("m1", "10.0.0.11", leaderOut());
const standby = (id: string, ip: string) =>
  parseProbe(id, ip, out({ metrics: metrics(false), marathon: "Could not determine the current leader\n502" }));
const byName = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.name, c]));

describe("parsing the filtered answers", () => {
  it("reads a master's metrics, the leader's agents and bytes, Marathon's leader", () => {
    const p = leader();
    expect(p).toMatchObject({ zkMode: "leader", mesosStatus: 200, mesosDetail: "elected",
      marathonLeader: "10.0.0.11:8443", mesosBytes: 7321, metricsBytes: 4321 });
    expect(p.metrics).toEqual({ "master/elected": 1, "registrar/log/recovered": 1, [FW]: 1 });
    expect(p.agents).toEqual([
      { address: "10.0.0.21:5051", hostname: "prod-general-1", active: true, deactivated: false },
      { address: "10.0.0.31:5051", hostname: "10.0.0.31", active: true, deactivated: false },
    ]);
    expect(standby("m2", "10.0.0.12")).toMatchObject({ mesosDetail: "standby", marathonStatus: 502 });
    expect(standby("m2", "10.0.0.12").agents).toBeUndefined(); // a standby never lists agents
  });

  it("the master's awk keeps one line an agent: its first hostname (attributes may use the name), drain state", () => {
    // The grep matches of /master/slaves as the master's filter sees them, in Mesos' field order.
    const matches = ['"pid":"slave(1)@10.0.0.5:5051"', '"hostname":"real-5"', '"hostname":"attr-value"',
      '"active":false', '"deactivated":true', '"drain_info":{"state":"DRAINING"', '"pid": "slave(1)@10.0.0.6:5051"',
      '"hostname": "real-6"', '"active": true', '"deactivated": false'].join("\n");
    const script = probeScript("127.0.0.1", { zookeeper: 1, mesos: 1, marathon: 1 }, {}, {});
    const awk = /\| (awk .*) ;; \*\)/.exec(script)![1];
    const r = spawnSync("bash", ["-c", awk], { input: `${matches}\n`, encoding: "utf8" });
    expect(r.stdout).toBe("10.0.0.5:5051 real-5 inactive deactivated drain=DRAINING\n10.0.0.6:5051 real-6\n");
    expect(parseAgents(r.stdout.trimEnd().split("\n"))).toEqual([
      { address: "10.0.0.5:5051", hostname: "real-5", active: false, deactivated: true, drain: "DRAINING" },
      { address: "10.0.0.6:5051", hostname: "real-6", active: true, deactivated: false }]);
  });

  it("names what a master answered instead of metrics", () => {
    expect(parseProbe("m1", "a", out({ metrics: "Unauthorized\n401 12" })).mesosDetail)
      .toBe("Mesos master refused the health credentials (HTTP 401)");
    expect(parseProbe("m1", "a", out({ metrics: "curl: (7) Failed to connect\n000 0" })).mesosDetail)
      .toMatch(/^Mesos master does not answer/);
  });
});

describe("the verdict counts every master and says what it could not judge", () => {
  it("a healthy cluster passes all five checks", () => {
    const checks = evaluate([leader(), standby("m2", "10.0.0.12"), standby("m3", "10.0.0.13")], agents, 2);
    expect(checks.map((c) => [c.name, c.ok, c.judged])).toEqual([["masters", true, undefined],
      ["ZooKeeper quorum", true, undefined], ["Mesos leader", true, undefined], ["agents registered", true, undefined],
      ["Marathon leader", true, undefined]]);
    // A judged check keeps the shape it had before this change (test/lab/baremetal.test.ts compares it whole).
    expect(checks[3]).toEqual({ name: "agents registered", ok: true, detail: "2 active" });
    expect(byName(checks)["Marathon leader"].detail).toBe("leader 10.0.0.11:8443, framework f00-0000 subscribed");
  });

  it("one master of three down: leaders still elected, but not ready, and the master is named", () => {
    const down = unreachableProbe("m3", "10.0.0.13", "10.0.0.13:22: cannot connect (ECONNREFUSED)");
    const checks = evaluate([leader(), standby("m2", "10.0.0.12"), down], agents, 2);
    const c = byName(checks);
    expect(c.masters).toMatchObject({ ok: false,
      detail: "1 of 3 not healthy: m3 (10.0.0.13): 10.0.0.13:22: cannot connect (ECONNREFUSED)" });
    expect(c["Mesos leader"].ok).toBe(true); // still judged from the two that answer
    expect(checks.every((x) => x.ok)).toBe(false);
    // A master whose SSH works but whose mesos-master is stopped is named too.
    const refused = "curl: (7) Failed to connect to 10.0.0.12 port 5050";
    const stopped = parseProbe("m2", "10.0.0.12", out({ metrics: `${refused}\n000 0` }));
    expect(byName(evaluate([leader(), stopped, standby("m3", "10.0.0.13")], agents, 2)).masters.detail)
      .toBe(`1 of 3 not healthy: m2 (10.0.0.12): Mesos master does not answer (${refused})`);
  });

  it("ZooKeeper without quorum: the Mesos checks are not judged (they were reported as passed before)", () => {
    const noQuorum = "This ZooKeeper instance is not currently serving requests";
    const ps = [parseProbe("m1", "10.0.0.11", out({ zk: noQuorum, metrics: metrics(true), agents: SLAVES })),
      parseProbe("m2", "10.0.0.12", out({ zk: noQuorum, metrics: metrics(false) })),
      parseProbe("m3", "10.0.0.13", out({ zk: "Mode: follower", metrics: metrics(false) }))];
    const c = byName(evaluate(ps, agents, 2));
    expect(c["ZooKeeper quorum"]).toMatchObject({ ok: false });
    expect(c["Mesos leader"]).toEqual({ name: "Mesos leader", ok: false, judged: false,
      detail: "not judged: ZooKeeper has no quorum" });
    expect(c["agents registered"]).toMatchObject({ ok: false, judged: false, detail: "not judged: no Mesos leader" });
    expect(c["Marathon leader"]).toMatchObject({ ok: false, judged: false });
    expect(c.masters.detail).toContain(`m1 (10.0.0.11): ZooKeeper: ${noQuorum}`);
    const text = failureText(Object.values(c));
    expect(text).toContain("Mesos leader not judged: ZooKeeper has no quorum");
    expect(text).not.toContain("Mesos leader failed");
    expect(new ReadinessTimeout(Object.values(c), 5).message).toMatch(/ \(passed: none\)$/);
  });

  it("two masters elected, an unrecovered registrar, a draining agent, Marathon not subscribed: each named", () => {
    const m2 = parseProbe("m2", "10.0.0.12", out({ metrics: metrics(true), agents: SLAVES }));
    expect(byName(evaluate([leader(), m2, standby("m3", "10.0.0.13")], agents, 2))["Mesos leader"].detail)
      .toBe("2 masters say they lead: m1 (10.0.0.11), m2 (10.0.0.12)");
    const judge = (o: { metrics?: string; agents?: string }) =>
      byName(evaluate([parseProbe("m1", "10.0.0.11", leaderOut(o)), standby("m2", "b")], agents, 2));
    expect(judge({ metrics: '"master/elected": 1.0\n"registrar/log/recovered": 0.0\n200 99' })["Mesos leader"].detail)
      .toMatch(/leads but its registrar has not recovered/);
    const draining = slave("10.0.0.21:5051", "prod-general-1", " inactive deactivated drain=DRAINING") + "200 10";
    expect(judge({ agents: draining })["agents registered"].detail)
      .toBe("not registered: gpu-1 (10.0.0.31); not usable: general-1 (10.0.0.21) draining (DRAINING)");
    const noFramework = judge({ metrics: '"master/elected": 1.0\n"registrar/log/recovered": 1.0\n200 99' });
    expect(noFramework["Marathon leader"]).toMatchObject({ ok: false,
      detail: 'leader 10.0.0.11:8443, but no "marathon" framework is subscribed with the Mesos leader ' +
        "m1 (10.0.0.11)" });
    expect(judge({ agents: "Unauthorized\n401 12" })["agents registered"].detail).toBe("not judged: the leader " +
      "m1 (10.0.0.11) did not list its agents (its agent list: Mesos master refused the health credentials " +
      "(HTTP 401))");
  });
});

const hasCurl = spawnSync("curl", ["--version"]).status === 0;

describe.skipIf(!hasCurl)("the probe script against the stand-in mesos-master (loopback, HTTP auth on)", () => {
  const procs: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), "readiness-probes-"));
  afterAll(() => {
    for (const p of procs) p.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });
  const basic = basicAuth;
  const post = postJson;
  const bash = (script: string) =>
    spawnSync("bash", ["-s"], { input: script, encoding: "utf8", timeout: 20_000 }).stdout;

  it("reads the leader's metrics and agents, refuses wrong credentials, sees a drained agent", async () => {
    const port = await startStandinMaster(dir, procs);
    const ids: string[] = [];
    for (const [i, a] of agents.entries()) {
      const r = await post(port, "/standin/v1/register-agent", { pid: `slave(1)@${a.ip}:5051`,
        hostname: i ? a.ip : a.hostname, port: 5051,
        resources: [{ name: "cpus", type: "SCALAR", scalar: { value: 2 } }],
        attributes: { pool: a.pool, hostname: "not-this-one" }, version: "1.11.0" });
      ids.push(((await r.json()) as { id: string }).id);
    }
    const fw = await post(port, "/standin/v1/register-framework", { name: "marathon", hostname: "127.0.0.1" });
    expect(fw.status).toBe(200);
    const closed = await freePort();
    const ports = { zookeeper: closed, mesos: port, marathon: closed };
    const script = (pw: string) =>
      probeScript("127.0.0.1", ports, { mesos: { user: "health", password: pw }, marathon: {} }, {});
    const good = parseProbe("m1", "127.0.0.1", bash(script("h-pw")));
    expect(good).toMatchObject({ mesosStatus: 200, mesosDetail: "elected" });
    expect(good.agents?.map((a) => a.hostname)).toEqual(["prod-general-1", "10.0.0.31"]);
    const subscribed = /^master\/frameworks\/marathon\/[^/]+\/subscribed$/;
    expect(Object.keys(good.metrics).some((k) => subscribed.test(k))).toBe(true);
    const c = byName(evaluate([{ ...good, zkMode: "standalone" }], agents, 1)); // no ZooKeeper runs here
    expect(c["agents registered"]).toMatchObject({ ok: true, detail: "2 active" });
    expect(c["Marathon leader"].judged).toBeUndefined();
    expect(c.masters.detail).toMatch(/Marathon does not answer/); // nothing listens on its port here

    expect(parseProbe("m1", "127.0.0.1", bash(script("wrong"))).mesosDetail)
      .toBe("Mesos master refused the health credentials (HTTP 401)");
    // The stand-in's endpoints as Mesos 1.11 serves them: read-only realm, /slaves?slave_id=, the agent's fields.
    expect((await fetch(`http://127.0.0.1:${port}/metrics/snapshot`)).status).toBe(401);
    const one = await fetch(`http://127.0.0.1:${port}/master/slaves?slave_id=${ids[0]}`,
      { headers: { Authorization: basic("health", "h-pw") } });
    const slaves = ((await one.json()) as { slaves: Record<string, unknown>[] }).slaves;
    expect(slaves.map((a) => a.id)).toEqual([ids[0]]);
    // libprocess gzips answers of 1 KiB or more for clients that accept it; the probe asks (curl --compressed).
    const plainList = await fetch(`http://127.0.0.1:${port}/master/slaves`,
      { headers: { Authorization: basic("health", "h-pw"), "Accept-Encoding": "identity" } });
    expect(plainList.headers.get("content-encoding")).toBeNull();
    const plainBytes = (await plainList.text()).length;
    expect(plainBytes).toBeGreaterThan(1024);
    const gz = await fetch(`http://127.0.0.1:${port}/master/slaves`,
      { headers: { Authorization: basic("health", "h-pw"), "Accept-Encoding": "gzip" } });
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(good.mesosBytes - good.metricsBytes).toBeLessThan(plainBytes / 2);
    expect(Object.keys(slaves[0])).toEqual(["id", "pid", "hostname", "port", "registered_time", "resources",
      "used_resources", "offered_resources", "reserved_resources", "unreserved_resources", "attributes", "active",
      "deactivated", "version", "capabilities", "reserved_resources_full", "unreserved_resources_full",
      "used_resources_full", "offered_resources_full"]);

    const drainCall = { type: "DRAIN_AGENT", drain_agent: { agent_id: { value: ids[1] } } };
    const drain = await post(port, "/api/v1", drainCall, basic("admin", "a-pw"));
    expect(drain.status).toBe(200);
    const again = parseProbe("m1", "127.0.0.1", bash(script("h-pw")));
    const after = byName(evaluate([{ ...again, zkMode: "standalone" }], agents, 1));
    expect(after["agents registered"]).toMatchObject({ ok: false,
      detail: "not usable: gpu-1 (10.0.0.31) draining (DRAINING)" });
  }, 30_000);
});
