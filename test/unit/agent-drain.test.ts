// An agent drains itself before its machine shuts down (provisioning/steps/agent-drain.ts): what the agent's mesos
// step renders (a unit ordered After=mesos-agent with only an ExecStop, the drain principal's root-only curl config,
// the script), and the script itself run against the strict stand-in mesos-master (loopback, HTTP authentication
// and the rendered ACLs on): it drains exactly this agent and waits for DRAINED, gives up within its timeout when
// no master answers, drains nothing when the machine is not stopping, and forgets a drained id at the next start.
// The drain credential is then tried against everything else the master serves: refused.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import {
  chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DRAIN_USER } from "../../provisioning/credentials";
import { acls, masterTaskUsers } from "../../provisioning/steps/acls";
import { DRAIN_CURLRC, DRAIN_SCRIPT, DRAIN_TIMEOUT_S, DRAIN_UNIT } from "../../provisioning/steps/agent-drain";
import { renderSteps } from "../../provisioning/steps";
import type { BootstrapInput, FileSpec, Step } from "../../provisioning/steps/types";
import { nodeTls } from "../../provisioning/tls";
import { agentInput, masterInput, SECRET } from "./bootstrap-input";
import { basicAuth, freePort, postJson } from "../fixtures/loopback";

const files = (steps: Step[]) => steps.flatMap((s) => s.files);
const fileOf = (steps: Step[], path: string): FileSpec => {
  const f = files(steps).find((x) => x.path === path);
  if (!f) throw new Error(`no file ${path}`);
  return f;
};
const withTls = (i: BootstrapInput): BootstrapInput =>
  ({ ...i, tls: nodeTls(SECRET, i.cluster, { id: i.node.id, hostname: i.node.hostname }) });

describe("the drain-on-shutdown unit an agent's mesos step renders", () => {
  const input = agentInput({ masters: 3 });
  const steps = renderSteps(input);
  const mesos = steps.find((s) => s.name === "mesos")!;
  const c = input.credentials;

  it("an ExecStop ordered before mesos-agent stops, bounded, and never tied to mesos-agent's own restarts", () => {
    const unit = fileOf(steps, DRAIN_UNIT);
    expect(unit).toMatchObject({ mode: "0644", owner: "root" });
    // After= at start is Before= at stop: systemd runs this ExecStop first, with the network still up.
    expect(unit.content).toMatch(/^After=network-online\.target mesos-agent\.service$/m);
    expect(unit.content).toContain("Type=oneshot\nRemainAfterExit=yes\n");
    expect(unit.content).toContain(`ExecStop=${DRAIN_SCRIPT} on-stop\n`);
    expect(unit.content).toContain(`TimeoutStopSec=${DRAIN_TIMEOUT_S + 30}\n`);
    // Requires=/BindsTo=/PartOf= on mesos-agent would stop (and so run) this unit on `systemctl restart mesos-agent`.
    expect(unit.content).not.toMatch(/^(Requires|BindsTo|PartOf|Requisite)=/m);
    expect(unit.content).toContain("WantedBy=multi-user.target");
    expect(mesos.commands).toContain(`em_service mesos-agent-drain ${DRAIN_SCRIPT} ${DRAIN_CURLRC}`);
    // Enabled after the agent's own (re)start; the agent's restart inputs do not include the drain's files.
    const cmds = mesos.commands.join("\n");
    expect(cmds.indexOf("em_service mesos-agent-drain")).toBeGreaterThan(cmds.indexOf("em_service mesos-agent "));
    expect(mesos.commands.find((l) => l.startsWith("em_service mesos-agent "))).not.toContain(DRAIN_CURLRC);
    const agentUnit = fileOf(steps, "/etc/systemd/system/mesos-agent.service").content;
    expect(agentUnit).toContain(`ExecStartPre=${DRAIN_SCRIPT} forget\n`);
  });

  it("the drain principal only in a root-only curl config: not in the script, the unit or any command line", () => {
    expect(fileOf(steps, DRAIN_CURLRC)).toMatchObject({ mode: "0600", owner: "root", group: "root", secret: true,
      content: `user = "${DRAIN_USER}:${c.drainPassword}"\n` });
    expect(fileOf(steps, DRAIN_SCRIPT)).toMatchObject({ mode: "0700", owner: "root" });
    const elsewhere = [...files(steps).filter((f) => f.path !== DRAIN_CURLRC).map((f) => f.content),
      ...steps.flatMap((s) => [...s.commands, s.gate.script])].join("\n");
    expect(elsewhere).not.toContain(c.drainPassword);
    expect(fileOf(steps, DRAIN_SCRIPT).content).toContain('-K "$RC"');
    // Masters hold the principal in their credentials file and run no drain unit.
    const master = renderSteps(masterInput({ masters: 3 }));
    expect(files(master).map((f) => f.path)).not.toContain(DRAIN_UNIT);
  });

  it("HTTPS verified against the cluster CA when TLS is on, to every master", () => {
    const plain = fileOf(steps, DRAIN_SCRIPT).content;
    expect(plain).toContain('MASTERS=${EM_DRAIN_MASTERS:-"10.0.1.11:5050 10.0.1.12:5050 10.0.1.13:5050"}');
    expect(plain).toContain('"http://$m$1"');
    const tls = fileOf(renderSteps(withTls(input)), DRAIN_SCRIPT).content;
    expect(tls).toContain('"https://$m$1"');
    expect(tls).toContain("CA=/etc/ssl/elastic-mesos/ca.pem\n");
  });

  it("passes shellcheck", () => {
    const r = spawnSync("shellcheck", ["--version"]);
    if (r.status !== 0) return; // render.test.ts requires shellcheck for every step script
    for (const i of [input, withTls(input)]) {
      const text = fileOf(renderSteps(i), DRAIN_SCRIPT).content;
      const sc = spawnSync("shellcheck", ["-s", "bash", "-"], { input: text, encoding: "utf8" });
      expect(sc.stdout, sc.stdout).toBe("");
      expect(sc.status).toBe(0);
    }
  });
});

const STANDIN = resolve(__dirname, "../fixtures/standins/bin/mesos-master");
const hasTools = ["curl", "python3"].every((t) => spawnSync(t, ["--version"]).status === 0);

describe.skipIf(!hasTools)("the drain script against the stand-in mesos-master (loopback, auth and ACLs on)", () => {
  const input = agentInput({ masters: 3 });
  const c = input.credentials;
  const dir = mkdtempSync(join(tmpdir(), "agent-drain-"));
  const procs: ChildProcess[] = [];
  let port = 0;
  let pinger: NodeJS.Timeout | undefined;
  const ids: string[] = [];
  const script = join(dir, "mesos-agent-drain");
  const rc = join(dir, "drain.curlrc");
  const work = join(dir, "agent");
  const mark = join(dir, "self-drained");
  const fakeBin = join(dir, "bin");

  const basic = basicAuth;
  const drainAuth = basic(DRAIN_USER, c.drainPassword);
  const adminAuth = basic("admin", c.adminPassword);
  const post = (path: string, body: object, auth?: string) => postJson(port, path, body, auth);
  type Agents = { get_agents: { agents: { agent_info: { id: { value: string } }; drain_info?: { state: string } }[] } };
  const agents = async () =>
    ((await (await post("/api/v1", { type: "GET_AGENTS" }, adminAuth)).json()) as Agents).get_agents.agents;
  const stateOf = async (id: string) =>
    (await agents()).find((a) => a.agent_info.id.value === id)?.drain_info?.state ?? "ACTIVE";
  /** Runs the script without blocking the event loop (the agents' heartbeats below keep going meanwhile). */
  type Run = { code: number | null; out: string; seconds: number };
  const run = (arg: string, env: Record<string, string> = {}) => new Promise<Run>(
    (done) => {
      const t = Date.now();
      const p = spawn("bash", [script, arg], { env: { ...process.env, EM_DRAIN_MASTERS: `127.0.0.1:${port}`,
        EM_DRAIN_CURLRC: rc, EM_AGENT_WORK_DIR: work, EM_DRAIN_MARK: mark, ...env } });
      let out = "";
      p.stdout.on("data", (d) => (out += d));
      p.stderr.on("data", (d) => (out += d));
      const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
      p.on("close", (code) => { clearTimeout(timer); done({ code, out, seconds: (Date.now() - t) / 1000 }); });
    });
  const latest = join(work, "meta", "slaves", "latest");
  const pointAt = (id: string) => {
    mkdirSync(join(work, "meta", "slaves", id), { recursive: true });
    rmSync(latest, { force: true });
    symlinkSync(join(work, "meta", "slaves", id), latest);
  };
  const registerAgent = async (ip: string, principal = "agent", secret = c.agentSecret) => {
    const { challenge } = (await (await post("/standin/v1/challenge", {})).json()) as { challenge: string };
    const response = createHmac("md5", secret).update(challenge).digest("hex");
    return post("/standin/v1/register-agent", {
      pid: `slave(1)@${ip}:5051`, hostname: ip, port: 5051, principal, challenge, response,
      resources: [{ name: "cpus", type: "SCALAR", scalar: { value: 1 } }], attributes: { pool: "general" },
      version: "1.11.0",
    });
  };

  beforeAll(async () => {
    port = await freePort();
    const creds = join(dir, "credentials.json");
    // The master's own files as the step renders them: its credentials file and ACLs.
    const master = renderSteps(masterInput({ masters: 3 }));
    writeFileSync(creds, fileOf(master, "/etc/mesos/credentials").content);
    writeFileSync(join(dir, "acls.json"), JSON.stringify(acls(masterTaskUsers(undefined))));
    procs.push(spawn("python3", [STANDIN, "--ip=127.0.0.1", `--port=${port}`, "--registry=in_memory",
      `--credentials=${creds}`,
      "--authenticate_http_readonly=true", "--authenticate_http_readwrite=true", "--authenticate_agents=true",
      "--authenticate_frameworks=true", "--authenticate_http_frameworks=true", "--http_framework_authenticators=basic",
      `--acls=file://${join(dir, "acls.json")}`], { stdio: "ignore" }));
    for (let i = 0; i < 100; i++) {
      if (await post("/standin/v1/challenge", {}).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const ip of ["10.0.2.1", "10.0.2.2"]) {
      const r = await registerAgent(ip);
      expect(r.status).toBe(200);
      ids.push(((await r.json()) as { id: string }).id);
    }
    // The agents' heartbeats: a drained stand-in agent reports DRAINED at its next one (no tasks to wait for).
    pinger = setInterval(() => {
      for (const id of ids) void post("/standin/v1/ping-agent", { id }).catch(() => {});
    }, 500);
    const steps = renderSteps(input);
    writeFileSync(script, fileOf(steps, DRAIN_SCRIPT).content);
    writeFileSync(rc, fileOf(steps, DRAIN_CURLRC).content);
    chmodSync(rc, 0o600);
    // A systemctl that says the machine is stopping, as it does while systemd runs the shutdown's stop jobs.
    mkdirSync(fakeBin);
    writeFileSync(join(fakeBin, "systemctl"),
      '#!/bin/sh\n[ "$1" = is-system-running ] && { echo stopping; exit 1; }\nexit 1\n');
    chmodSync(join(fakeBin, "systemctl"), 0o755);
  }, 30_000);

  afterAll(() => {
    if (pinger) clearInterval(pinger);
    for (const p of procs) p.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  it("not shutting down (a restart of mesos-agent or of the unit): drains nothing", async () => {
    pointAt(ids[0]);
    const r = await run("on-stop", { PATH: `${join(dir, "nobin")}:${process.env.PATH}` });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/system \S*, not stopping: not drained/);
    expect(await stateOf(ids[0])).toBe("ACTIVE");
    expect(existsSync(mark)).toBe(false);
  });

  it("the machine stopping: DRAIN_AGENT for this agent alone, waits for DRAINED, marks the drained id", async () => {
    pointAt(ids[0]);
    const r = await run("on-stop", { PATH: `${fakeBin}:${process.env.PATH}` });
    console.log(`[agent-drain] drained on the stand-in in ${r.seconds.toFixed(1)} s: ` +
      r.out.trim().split("\n").join(" | "));
    expect(r.code).toBe(0);
    expect(r.out).toContain(`draining agent ${ids[0]} (DRAIN_AGENT accepted by 127.0.0.1:${port})`);
    expect(r.out).toMatch(new RegExp(`agent ${ids[0]} DRAINED in \\d+ s`));
    expect(await stateOf(ids[0])).toBe("DRAINED");
    expect(await stateOf(ids[1])).toBe("ACTIVE");
    expect(readFileSync(mark, "utf8")).toBe(`${ids[0]}\n`);
  }, 30_000);

  it("forget: at the agent's next start, latest naming the drained id is removed; another id stays", async () => {
    pointAt(ids[1]);
    expect((await run("forget")).code).toBe(0);
    expect(readlinkSync(latest)).toBe(join(work, "meta", "slaves", ids[1])); // not the drained one: kept
    expect(existsSync(mark)).toBe(false);
    writeFileSync(mark, `${ids[0]}\n`);
    pointAt(ids[0]);
    const r = await run("forget");
    expect(r.code).toBe(0);
    expect(r.out).toContain(`forgot drained agent ${ids[0]}`);
    expect(existsSync(latest)).toBe(false);
    expect(existsSync(mark)).toBe(false);
    expect((await run("forget")).code).toBe(0); // nothing marked: nothing to do
  });

  it("no agent id (never registered) or an agent the masters do not know: nothing to drain, at once", async () => {
    rmSync(latest, { force: true });
    expect((await run("drain")).out).toContain("nothing to drain");
    pointAt("no-such-agent-S9");
    const r = await run("drain");
    expect(r.out).toContain("agent no-such-agent-S9 is not registered: nothing to drain");
    expect(r.seconds).toBeLessThan(5);
  });

  it("bounded: no master answers, so it gives up after its timeout and the machine goes on stopping", async () => {
    pointAt(ids[1]);
    const closed = await freePort();
    const r = await run("drain", { EM_DRAIN_MASTERS: `127.0.0.1:${closed} 127.0.0.1:${closed}`,
      EM_DRAIN_TIMEOUT: "3" });
    expect(r.code).toBe(0);
    const why = `no master drained agent ${ids[1]} in 3 s \\(.*127\\.0\\.0\\.1:${closed}: 000.*\\): not drained`;
    expect(r.out).toMatch(new RegExp(why));
    expect(r.seconds).toBeLessThan(10);
    expect(await stateOf(ids[1])).toBe("ACTIVE");
  }, 20_000);

  it("no master answering at all (the whole cluster going away) ends the wait before the timeout", async () => {
    pointAt(ids[1]);
    const closed = await freePort();
    const r = await run("drain", { EM_DRAIN_MASTERS: `127.0.0.1:${closed}`, EM_DRAIN_TIMEOUT: "60",
      EM_DRAIN_QUIET: "3" });
    const why = `no master answered for 3 s \\(.*127\\.0\\.0\\.1:${closed}: 000.*\\): not drained`;
    expect(r.out).toMatch(new RegExp(why));
    expect(r.seconds).toBeLessThan(10);
  }, 20_000);

  it("a wrong drain credential is refused by the master: stops at once, drains nothing", async () => {
    pointAt(ids[1]);
    const bad = join(dir, "bad.curlrc");
    writeFileSync(bad, `user = "${DRAIN_USER}:not-the-password"\n`);
    const r = await run("drain", { EM_DRAIN_CURLRC: bad });
    expect(r.out).toMatch(/refused the drain credential \(HTTP 401\): not drained/);
    expect(r.seconds).toBeLessThan(5);
    expect(await stateOf(ids[1])).toBe("ACTIVE");
  });

  it("the drain credential can do nothing else the master authorizes (the rendered ACLs)", async () => {
    const agent = { agent_id: { value: ids[1] } };
    for (const [type, field] of [["DEACTIVATE_AGENT", "deactivate_agent"], ["REACTIVATE_AGENT", "reactivate_agent"],
      ["UNDRAIN_AGENT", "undrain_agent"]] as const) {
      expect((await post("/api/v1", { type, [field]: agent }, drainAuth)).status, type).toBe(403);
    }
    // Un-draining the drained agent is refused to it too (the forget at the next start is what makes a new agent).
    const undrain = { type: "REACTIVATE_AGENT", reactivate_agent: { agent_id: { value: ids[0] } } };
    expect((await post("/api/v1", undrain, drainAuth)).status).toBe(403);
    expect(await stateOf(ids[0])).toBe("DRAINED");
    // get_endpoints: /metrics/snapshot is the health principal's alone.
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics/snapshot`, { headers: { Authorization: drainAuth } });
    expect(metrics.status).toBe(403);
    // register_frameworks: neither as an HTTP framework nor as a v0 (CRAM-MD5) one, with its password as the secret.
    const info = { name: "x", user: "root", principal: DRAIN_USER, roles: ["*"] };
    const subscribe = { type: "SUBSCRIBE", subscribe: { framework_info: info } };
    expect((await post("/api/v1/scheduler", subscribe, drainAuth)).status).toBe(403);
    const { challenge } = (await (await post("/standin/v1/challenge", {})).json()) as { challenge: string };
    const fw = await post("/standin/v1/register-framework", { name: "x", hostname: "10.0.2.9", principal: DRAIN_USER,
      challenge, response: createHmac("md5", c.drainPassword).update(challenge).digest("hex") });
    expect(fw.status).toBe(403);
    // register_agents: it cannot join the cluster as an agent.
    expect((await registerAgent("10.0.2.9", DRAIN_USER, c.drainPassword)).status).toBe(403);
    // The same calls with admin are allowed: the 403s above are the ACLs, not a malformed call.
    expect((await post("/api/v1", { type: "DEACTIVATE_AGENT", deactivate_agent: agent }, adminAuth)).status).toBe(200);
    expect((await post("/api/v1", { type: "REACTIVATE_AGENT", reactivate_agent: agent }, adminAuth)).status).toBe(200);
  });
});
