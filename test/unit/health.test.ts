// Readiness: parsers and verdicts, the wait loop (progress, deadline, which check failed on which
// host), the probe script run for real through SSH against stand-in ZooKeeper/Mesos/Marathon
// endpoints on loopback, and the readiness provider (its upgrade from state written before the shim too).
import { describe, it, expect, afterAll } from "vitest";
import { createServer as createHttp, type Server as HttpServer } from "http";
import { createServer as createTcp, type AddressInfo, type Server as TcpServer } from "net";
import { evaluate, parseProbe, parseZkMode, probeScript, type ExpectedAgent } from "../../provisioning/health/probes";
import { ReadinessTimeout, waitForReadiness } from "../../provisioning/health/wait";
import { plain } from "../../provisioning/dynamic/plain";
import { masterChanges, normalGeneration, ReadinessProvider, sshGeneration } from "../../provisioning/health/readiness";
import { deriveCredentials } from "../../provisioning/credentials";
import { shimText } from "../../provisioning/dynamic/shim-text";
import { SshPool } from "../../provisioning/ssh/pool";
import { fakeConfig, fakeRunner, newKeyPair, startSshServer, TEST_CLUSTER_SECRET, type TestSshServer } from "../fixtures/ssh-server";

const agents: ExpectedAgent[] = [
  { id: "general-1", pool: "general", hostname: "prod-general-1", ip: "10.0.0.21" },
  { id: "gpu-1", pool: "gpu", hostname: "prod-gpu-1", ip: "10.0.0.31" },
];
// What a master's probe prints (probes.ts probeScript): ZooKeeper's srvr, its filtered /metrics/snapshot, on the
// elected master the filtered /master/slaves, Marathon's /v2/leader.
const metricsOf = (elected: boolean) => `"master/elected": ${elected ? 1 : 0}\n"registrar/log/recovered": 1\n` +
  `${elected ? '"master/frameworks/marathon/fw-1/subscribed": 1\n' : ""}200 900`;
const slavesOf = (slaves: { hostname: string; pid: string; active: boolean }[]) =>
  slaves.map((a) => `${a.pid.split("@")[1]} ${a.hostname}${a.active ? "" : " inactive"}\n`).join("") + "200 5000";
const probeOut = (zk: string, metrics: string, slaves: string | undefined, marathon: string, marathonStatus: number) =>
  `### zk\n${zk}\n### metrics\n${metrics}\n${slaves === undefined ? "" : `### agents\n${slaves}\n`}` +
  `### marathon\n${marathon}\n${marathonStatus}\n`;
const SLAVES = [{ hostname: "prod-general-1", pid: "slave(1)@10.0.0.21:5051", active: true }, { hostname: "10.0.0.31", pid: "slave(1)@10.0.0.31:5051", active: true }];
const healthy = (mode: string) => probeOut(`Zookeeper version: 3.8.6\nMode: ${mode}\nNode count: 12`, metricsOf(mode === "leader"),
  mode === "leader" ? slavesOf(SLAVES) : undefined, '{"leader":"10.0.0.11:8080"}', 200);

describe("parsing and verdicts", () => {
  it("reads ZooKeeper's mode, Mesos' leader and agents, Marathon's leader", () => {
    expect(parseZkMode("Zookeeper version: 3.8.6\nMode: follower\n")).toBe("follower");
    const p = parseProbe("m1", "10.0.0.11", healthy("leader"));
    expect(p).toMatchObject({ zkMode: "leader", mesosDetail: "elected", marathonLeader: "10.0.0.11:8080" });
    expect(p.agents).toHaveLength(2);
  });

  it("all checks pass on a healthy cluster", () => {
    const probes = [parseProbe("m1", "10.0.0.11", healthy("leader")), parseProbe("m2", "10.0.0.12", healthy("follower")), parseProbe("m3", "10.0.0.13", healthy("follower"))];
    expect(evaluate(probes, agents, 2).every((c) => c.ok)).toBe(true);
  });

  it("says which check failed on which host", () => {
    const probes = [
      parseProbe("m1", "10.0.0.11", probeOut("no answer from ZooKeeper", "000 0", undefined, "", 0)),
      parseProbe("m2", "10.0.0.12", probeOut("Mode: leader", metricsOf(false), undefined, "", 404)),
      parseProbe("m3", "10.0.0.13", probeOut("Mode: follower", "Unauthorized\n401 12", undefined, "", 404)),
    ];
    const checks = evaluate(probes, agents, 2);
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(byName.masters.detail).toContain("m1 (10.0.0.11): ZooKeeper: no answer from ZooKeeper, Mesos master does not answer");
    expect(byName.masters.detail).toContain("m3 (10.0.0.13): Mesos master refused the health credentials (HTTP 401)");
    expect(byName["ZooKeeper quorum"]).toMatchObject({ ok: true });
    expect(byName["Mesos leader"].detail).toContain("no master says it is elected: ");
    expect(byName["Mesos leader"].detail).toContain("m2 (10.0.0.12): standby");
    expect(byName["agents registered"]).toMatchObject({ judged: false, detail: "not judged: no Mesos leader" });
    // Two ZooKeeper leaders is not a quorum.
    expect(evaluate([parseProbe("m1", "a", healthy("leader")), parseProbe("m2", "b", healthy("leader"))], [], 2)[1].ok).toBe(false);
    // Agents missing from the leader's list are named.
    const one = [SLAVES[1]];
    const partial = [parseProbe("m1", "10.0.0.11", probeOut("Mode: leader", metricsOf(true), slavesOf(one), '{"leader":"x"}', 200)),
      parseProbe("m2", "10.0.0.12", healthy("follower"))];
    expect(evaluate(partial, agents, 2)[3].detail).toBe("not registered: general-1 (10.0.0.21)");
  });
});

const masters = ["10.0.0.11", "10.0.0.12", "10.0.0.13"].map((ip, i) => ({ id: `m${i + 1}`, ip, target: { name: `m${i + 1}`, host: ip, user: "root", privateKey: "k" } }));

describe("waiting", () => {
  it("polls until ready, reporting progress when the picture changes", async () => {
    let round = 0;
    const fr = fakeRunner((s) => {
      if (s.host === "10.0.0.11") round++;
      if (round < 3) return { stdout: probeOut("Mode: follower", metricsOf(false), undefined, "", 404) };
      return { stdout: healthy(s.host === "10.0.0.11" ? "leader" : "follower") };
    });
    const progress: string[] = [];
    const r = await waitForReadiness(fr.make(), { masters, agents, quorum: 2, ports: { zookeeper: 2181, mesos: 5050, marathon: 8080 },
      auth: {}, timeoutSeconds: 30, intervalMs: 10 }, (m) => progress.push(m));
    expect(r.rounds).toBe(3);
    expect(progress).toHaveLength(2);
    expect(progress[0]).toMatch(/masters: ok, ZooKeeper quorum: waiting, Mesos leader: not judged, agents registered: not judged, Marathon leader: not judged/);
    expect(progress[1]).toMatch(/masters: ok, ZooKeeper quorum: ok, Mesos leader: ok, agents registered: ok, Marathon leader: ok/);
    expect(fr.sent.every((s) => !s.sudo)).toBe(true); // probes need no root
  });

  it("times out with every failing check, its host and a hint", async () => {
    const fr = fakeRunner((s) => (s.host === "10.0.0.13" ? new Error("10.0.0.13:22: cannot connect (ECONNREFUSED)")
      : { stdout: s.host === "10.0.0.11"
        ? probeOut("Mode: leader", metricsOf(true), slavesOf([SLAVES[1]]), '{"leader":"10.0.0.11:8080"}', 200) : healthy("follower") }));
    const err = await waitForReadiness(fr.make(), { masters, agents, quorum: 2, ports: { zookeeper: 2181, mesos: 5050, marathon: 8080 },
      auth: {}, timeoutSeconds: 1, intervalMs: 200 }).catch((e) => e);
    expect(err).toBeInstanceOf(ReadinessTimeout);
    expect(err.message).toMatch(/^cluster not ready after \d+ s: masters failed: 1 of 3 not healthy: m3 \(10\.0\.0\.13\): 10\.0\.0\.13:22: cannot connect \(ECONNREFUSED\); check `systemctl status/);
    expect(err.message).toContain("agents registered failed: not registered: general-1 (10.0.0.21); check `journalctl -u mesos-agent`");
    expect(err.message).toContain("(passed: ZooKeeper quorum, Mesos leader, Marathon leader)");
  });
});

describe("probe script over real SSH against stand-in endpoints", () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const c of closers) await c(); });

  async function standIns(opts: { password: string; leader: boolean }) {
    const zk: TcpServer = createTcp((sock) => sock.once("data", (d) => { sock.end(d.toString() === "srvr" ? `Zookeeper version: 3.8.6\nMode: ${opts.leader ? "leader" : "follower"}\n` : ""); }));
    const http: HttpServer = createHttp((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from(`admin:${opts.password}`).toString("base64")}`) { res.statusCode = 401; return res.end("Unauthorized"); }
      if (req.url === "/metrics/snapshot") {
        return res.end(JSON.stringify({ "master/elected": opts.leader ? 1 : 0, "master/uptime_secs": 5, "registrar/log/recovered": 1 }));
      }
      if (req.url === "/master/slaves") {
        const agent = { id: "S0", pid: "slave(1)@10.0.0.21:5051", hostname: "prod-general-1", active: true, deactivated: false };
        return res.end(JSON.stringify({ slaves: [agent] }));
      }
      if (req.url === "/v2/leader") return res.end('{"leader":"127.0.0.1:8080"}');
      res.statusCode = 404; res.end();
    });
    await new Promise<void>((r) => zk.listen(0, "127.0.0.1", () => r()));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
    closers.push(() => new Promise((r) => zk.close(() => r())), () => new Promise((r) => http.close(() => r())));
    return { zookeeper: (zk.address() as AddressInfo).port, mesos: (http.address() as AddressInfo).port, marathon: (http.address() as AddressInfo).port };
  }

  it("runs on the master, with credentials kept off the command line", async () => {
    const s = await startSshServer();
    closers.push(() => s.close());
    const ports = await standIns({ password: "pa\"ss'wd", leader: true });
    const pool = new SshPool({ retries: 0 });
    const r = await pool.runScript({ host: s.host, port: s.port, user: "root", privateKey: s.clientKey },
      probeScript("127.0.0.1", ports, { user: "admin", password: "pa\"ss'wd" }, {}), { okCodes: "any" });
    await pool.close();
    const p = parseProbe("m1", "127.0.0.1", r.stdout);
    expect(p).toMatchObject({ zkMode: "leader", mesosDetail: "elected", marathonLeader: "127.0.0.1:8080" });
    expect(p.agents).toEqual([{ address: "10.0.0.21:5051", hostname: "prod-general-1", active: true, deactivated: false }]);
    expect(s.commands.join("\n")).not.toContain("pa");
    const bad = await standIns({ password: "other", leader: false });
    const pool2 = new SshPool({ retries: 0 });
    const r2 = await pool2.runScript({ host: s.host, port: s.port, user: "root", privateKey: s.clientKey },
      probeScript("127.0.0.1", bad, { user: "admin", password: "wrong" }, {}), { okCodes: "any" });
    await pool2.close();
    expect(parseProbe("m1", "127.0.0.1", r2.stdout)).toMatchObject({ zkMode: "follower", mesosDetail: "Mesos master refused the health credentials (HTTP 401)" });
  }, 30_000);
});

describe("readiness provider", () => {
  const servers: TestSshServer[] = [];
  afterAll(async () => { for (const s of servers) await s.close(); });

  it("check refuses an `up` that removes a master the pin did not let leave; growing or first runs pass", async () => {
    const p = new ReadinessProvider();
    const m = (id: string, ip: string) => ({ id, ip, connection: { host: ip, port: 22, user: "root" } });
    const three = { masters: [m("m1", "10.0.0.11"), m("m2", "10.0.0.12"), m("m3", "10.0.0.13")] } as any;
    const one = { masters: [m("m1", "10.0.0.11")] } as any;
    const failures = (await p.check(three, one)).failures ?? [];
    expect(failures).toHaveLength(1);
    expect(failures[0].property).toBe("masters");
    expect(failures[0].reason).toMatch(/^removing masters m2 \(10\.0\.0\.12\), m3 \(10\.0\.0\.13\) from a running cluster is refused: .*run `pulumi destroy`$/);
    expect(failures[0].reason).toContain("the masters pin had no record");
    // Masters the pin let leave (they left before the others rolled) are a planned removal.
    expect(masterChanges(three, { ...one, departing: ["m2", "m3"] })).toEqual([]);
    expect(masterChanges(three, { ...one, departing: ["m3"] })[0]).toMatch(/^removing master m2 \(10\.0\.0\.12\) /);
    expect(masterChanges(one, three)).toEqual([]); // adding masters is not this refusal's business
    expect(masterChanges(undefined, one)).toEqual([]); // the first `up`
    expect(masterChanges({} as any, one)).toEqual([]); // no old inputs (a create)
    expect(masterChanges(three, { masters: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" } as any)).toEqual([]); // unknown in a preview
  });

  it("returns plain JSON (the engine's protobuf Struct refuses undefined members)", () => {
    expect(plain({ a: 1, b: undefined, c: { d: undefined, e: [1] } })).toStrictEqual({ a: 1, c: { e: [1] } });
  });

  it("create waits for the cluster over SSH; an unchanged cluster is not re-checked", async () => {
    const key = (await startSshServer().then((s) => { servers.push(s); return s.clientKey; }));
    const probes: string[] = [];
    const ms = await Promise.all([0, 1, 2].map((i) => startSshServer({ clientKey: key, handler: async (_c, stdin) => {
      if (stdin.includes("### zk")) probes.push(stdin);
      return { code: 0, stdout: stdin.includes("### zk") ? healthy(i === 0 ? "leader" : "follower") : "" };
    } })));
    servers.push(...ms);
    const p = new ReadinessProvider();
    await p.configure(fakeConfig({ sshPrivateKey: key, clusterSecret: TEST_CLUSTER_SECRET }));
    const inputs = {
      cluster: "prod", quorum: 2, ports: { zookeeper: 2181, mesos: 5050, marathon: 8080 }, adminUser: "admin",
      timeoutSeconds: 20, generation: "g1", agents,
      masters: ms.map((s, i) => ({ id: `m${i + 1}`, ip: `10.0.0.1${i + 1}`, connection: { host: s.host, port: s.port, user: "root" }, hostKeyFingerprint: s.fingerprint })),
    };
    const r = await p.create(inputs);
    expect(r.outs!.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    expect(ms.map((s) => s.commands.length)).toEqual([1, 1, 1]);
    // Mesos is read with the read-only health principal; only Marathon (one HTTP user in 1.11) gets the admin's.
    const c = deriveCredentials(TEST_CLUSTER_SECRET, "prod");
    const [mesos, marathon] = probes[0].split("### marathon");
    expect(mesos).toContain(`user = "health:${c.healthPassword}"`);
    expect(mesos).not.toContain(c.adminPassword);
    expect(marathon).toContain(`user = "admin:${c.adminPassword}"`);
    expect((await p.diff(r.id, r.outs!, inputs)).changes).toBe(false);
    expect((await p.diff(r.id, r.outs!, { ...inputs, generation: "g2" })).changes).toBe(true);
  }, 30_000);

  it("records the masters' host keys on first use; a changed key then stops the check before any command (config pins win)", async () => {
    const key = newKeyPair().private;
    const handler = (i: number) => async (_c: string, stdin: string) => ({ code: 0, stdout: stdin.includes("### zk") ? healthy(i === 0 ? "leader" : "follower") : "" });
    let ms = await Promise.all([0, 1, 2].map((i) => startSshServer({ clientKey: key, handler: handler(i) })));
    servers.push(...ms);
    const p = new ReadinessProvider();
    await p.configure(fakeConfig({ sshPrivateKey: key, clusterSecret: TEST_CLUSTER_SECRET }));
    // A cloud stack: no key pinned, no host resource that recorded one.
    const inputs = (gen: string, pin?: string) => ({
      cluster: "prod", quorum: 2, ports: { zookeeper: 2181, mesos: 5050, marathon: 8080 }, adminUser: "admin",
      timeoutSeconds: 20, generation: gen, agents,
      masters: ms.map((s, i) => ({ id: `m${i + 1}`, ip: `10.0.0.1${i + 1}`, connection: { host: s.host, port: s.port, user: "root", ...(i === 0 && pin ? { hostKeyFingerprint: pin } : {}) } })),
    });
    const r = await p.create(inputs("g1"));
    expect(r.outs!.hostKeys).toEqual(Object.fromEntries(ms.map((s) => [`root@127.0.0.1:${s.port}`, s.fingerprint])));
    expect((await p.diff(r.id, r.outs!, inputs("g1"))).changes).toBe(false); // recorded keys are not a change

    // m1 comes back with another host key (reinstalled, or someone in the middle).
    const old = ms[0];
    await old.close();
    const m1 = await startSshServer({ port: old.port, clientKey: key, handler: handler(0) });
    servers.push(m1);
    ms = [m1, ms[1], ms[2]];
    const sent = () => ms.map((s) => s.commands.length);
    const before = sent();
    const err = await p.update(r.id, r.outs!, inputs("g2")).then(() => undefined, (e: Error & { code?: string }) => e);
    expect(err?.code).toBe("HOST_KEY_MISMATCH"); // thrown at once, not waited out until the deadline
    expect(err!.message).toContain(`m1 (127.0.0.1:${m1.port}): host key mismatch: expected ${old.fingerprint}, the host presented ${m1.fingerprint}`);
    expect(err!.message).toContain("recorded on first use (it is in the stack state)");
    expect(sent()).toEqual(before); // the admin password went nowhere: not to m1, not to the others
    expect(m1.commands).toEqual([]);

    // The operator checked the new key out of band and pinned it in config: that wins over the record.
    const u = await p.update(r.id, r.outs!, inputs("g2", m1.fingerprint));
    expect(u.outs!.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    expect(u.outs!.hostKeys[`root@127.0.0.1:${m1.port}`]).toBe(m1.fingerprint);
  }, 60_000);
});

describe("readiness state written before the shim", () => {
  const master = { id: "m1", ip: "10.0.0.11", connection: { host: "10.0.0.11", port: 22, user: "root" }, hostKeyFingerprint: "SHA256:" + "F".repeat(43) };
  const base = { cluster: "prod", quorum: 1, ports: { zookeeper: 2181, mesos: 5050, marathon: 8080 }, adminUser: "admin", timeoutSeconds: 5, agents: [], masters: [master] };
  const hashes = [{ install: "a1", zookeeper: "b2", mesos: "c3" }, { mesos: "d4", install: "e5", zookeeper: "f6" }];
  // 0.1 stored the step hashes' JSON as the generation, the admin password, and the serialized closure.
  const legacy = { ...base, generation: JSON.stringify(hashes), adminPassword: deriveCredentials(TEST_CLUSTER_SECRET, "prod").adminPassword,
    __provider: "exports.handler = __f0; /* 63 KB of closure */", seconds: 42, checks: [{ name: "zookeeper quorum", ok: true, detail: "m1 leader" }], hostKeys: {} };
  const news = { ...base, generation: sshGeneration(hashes), __provider: shimText("elastic-mesos/health:Readiness") };
  const provider = async () => {
    const fr = fakeRunner((s) => (s.text.includes("### zk") ? { stdout: healthy("leader") } : undefined));
    const p = new ReadinessProvider({ runner: fr.make });
    await p.configure(fakeConfig({ sshPrivateKey: "k", clusterSecret: TEST_CLUSTER_SECRET }));
    return { p, fr };
  };

  it("is rewritten once without a check: the old generation is the new one, the password is dropped", async () => {
    expect(normalGeneration(legacy.generation)).toBe(news.generation);
    expect(normalGeneration(news.generation)).toBe(news.generation);
    const { p, fr } = await provider();
    expect(await p.diff("id", legacy, news)).toEqual({ changes: true });
    const { outs } = await p.update("id", legacy, news);
    expect(fr.sent).toEqual([]);
    expect(fr.connections).toEqual([]);
    expect(outs).toEqual({ ...news, seconds: 42, checks: legacy.checks, hostKeys: {} });
    expect(JSON.stringify(outs)).not.toContain(legacy.adminPassword);
    expect((await p.diff("id", outs!, news)).changes).toBe(false);
  });

  it("a changed cluster is checked, with the admin password derived from clusterSecret", async () => {
    const { p, fr } = await provider();
    const { outs } = await p.update("id", legacy, { ...news, generation: sshGeneration([...hashes, { install: "x" }]) });
    expect(outs!.checks.every((c) => c.ok)).toBe(true);
    expect(fr.sent[0].text).toContain(`user = "admin:${legacy.adminPassword}"`);
    expect(outs).not.toHaveProperty("adminPassword");
  });
});
