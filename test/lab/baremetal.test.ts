// The bare-metal provider's whole lifecycle on lab hosts, driven the way the engine drives it (configure()
// with the stack config, check/diff/create/update/delete; bench/baremetal.js createDriver; the shim that
// loads the providers in the plugin: test/unit/baremetal-langhost.test.ts), with the real bootstrap steps
// the provider renders from compact inputs, the lab mirror and the Mesos/Marathon stand-ins.
// Hosts: h5..h10 by default (h1-h4 belong to test/lab/bootstrap.test.ts); BAREMETAL_LAB_HOSTS=hA,hB,... to change.
// Needs 6 lab hosts: LAB_HOSTS=10 npx vitest run --project lab test/lab/baremetal.test.ts
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { utils } from "ssh2";
import { createHash } from "node:crypto";
import { resolveArtifacts } from "../../provisioning/artifacts";
import { deriveCredentials } from "../../provisioning/credentials";
import { hostInputsFor } from "../../provisioning/baremetal/bootstrap";
import { renderHost } from "../../provisioning/baremetal/render";
import { MesosHostProvider } from "../../provisioning/baremetal/provider";
import { ReadinessProvider } from "../../provisioning/health/readiness";
import { http, inHost, labInfo, loginsSince, nextSecond, remnants as remnantsOn, ssh, waitFor, type LabHost } from "../fixtures/lab";

const bench = createRequire(import.meta.url)("../../bench/baremetal.js");
const m = { resolveArtifacts, deriveCredentials, hostInputsFor, renderHost };
const names = (process.env.BAREMETAL_LAB_HOSTS ?? "h5,h6,h7,h8,h9,h10").split(",");
const labSkip = inject("labSkipReason");
const available = () => { try { return names.every((n) => labInfo().hosts.some((h) => h.name === n)); } catch { return false; } };
const skip = labSkip || (!available() && `needs lab hosts ${names.join(",")}: LAB_HOSTS=${Number(names.at(-1)!.slice(1))}`);

const fingerprint = (hostKeyLine: string) =>
  `SHA256:${createHash("sha256").update((utils.parseKey(hostKeyLine) as any).getPublicSSH()).digest("base64").replace(/=+$/, "")}`;

describe.skipIf(skip)("bare-metal lifecycle on lab hosts", () => {
  let setup: any;
  let hosts: LabHost[];
  let driver: any;
  const plan = (n: number, opts: Record<string, unknown> = {}) => bench.clusterPlan(m, setup, hosts.slice(0, n), {
    pin: (h: LabHost) => (h.name === hosts[0].name ? fingerprint(h.hostKey) : undefined), ...opts,
  });
  const masterIp = () => hosts[0].ip;
  const adminAuth = (): [string, string] => ["admin", deriveCredentials(bench.BENCH_SECRET, "bm").adminPassword];
  const config = () => ({ sshPrivateKey: setup.privateKey, clusterSecret: bench.BENCH_SECRET });
  /** /master/state of the leading master (non-leaders answer 307 //leader:5050). */
  const leaderState = async () => {
    const r = await http(`http://${masterIp()}:5050/master/state`, { auth: adminAuth() });
    const url = r.status === 307 ? `http:${r.headers.get("location")}` : `http://${masterIp()}:5050/master/state`;
    const s = r.status === 307 ? await http(url.replace(/\/?$/, "").replace(/:5050.*$/, ":5050/master/state"), { auth: adminAuth() }) : r;
    return s.status === 200 ? JSON.parse(s.body) : undefined;
  };
  /** The operator API on the leading master. */
  const leaderApi = async (call: object) => {
    for (const h of hosts.slice(0, 3)) {
      const r = await http(`http://${h.ip}:5050/api/v1`, { json: call, auth: adminAuth() });
      if (r.status === 200) return JSON.parse(r.body);
    }
    return undefined;
  };
  const remnants = (h: LabHost) => remnantsOn(h.name);

  beforeAll(async () => {
    setup = await bench.labSetup();
    hosts = names.map((n) => labInfo().hosts.find((h) => h.name === n)!);
    await Promise.all(hosts.map((h) => bench.sshRun(setup.lab, h.name, bench.CLEAN)));
    driver = bench.createDriver({ MesosHostProvider, ReadinessProvider }, config());
  });
  afterAll(async () => {
    if (driver?.state.size) await driver.destroy().catch(() => {});
  });

  it("creates 3 masters + 2 agents and reaches ready (ZooKeeper quorum, Mesos leader, agents registered, Marathon leader)", async () => {
    const r = await driver.up(plan(5).inputs, plan(5).readiness);
    console.log(`[baremetal] 3+2 ready in ${r.seconds.toFixed(1)} s (readiness ${r.readySeconds} s), ${r.commands} SSH commands, ${r.stepsRun} steps`);
    expect(r.created.sort()).toEqual(["general-1", "general-2", "m1", "m2", "m3"]);
    expect(r.stepsRun).toBe(15);
    const state = [...driver.state.values()];
    expect(state.find((s: any) => s.outs.node.id === "m1").outs.hostKey.source).toBe("config");
    expect(state.find((s: any) => s.outs.node.id === "general-1").outs.hostKey).toMatchObject({ source: "tofu", fingerprint: fingerprint(hosts[3].hostKey) });
    const leader = await http(`http://${masterIp()}:5050/redirect`);
    expect([200, 307]).toContain(leader.status);
  });

  it("a no-change re-run executes no step and opens no SSH session", async () => {
    const since = await nextSecond();
    const r = await driver.up(plan(5).inputs, plan(5).readiness);
    expect(r).toMatchObject({ stepsRun: 0, commands: 0, created: [], updated: [], deleted: [] });
    expect(r.seconds).toBeLessThan(2);
    for (const h of hosts.slice(0, 5)) expect(loginsSince(h, since)).toBe(0);
  });

  it("growing the pool to 3 touches only the new host", async () => {
    const since = await nextSecond();
    const r = await driver.up(plan(6).inputs, plan(6).readiness);
    expect(r.created).toEqual(["general-3"]);
    expect(r.unchanged.sort()).toEqual(["general-1", "general-2", "m1", "m2", "m3"]);
    expect(r.stepsRun).toBe(3);
    expect(r.checks.find((c: any) => c.name === "agents registered")).toEqual({ name: "agents registered", ok: true, detail: "3 active" });
    // Agents h8, h9 saw no login at all; masters only the readiness probes (one per round).
    for (const h of hosts.slice(3, 5)) expect(loginsSince(h, since)).toBe(0);
  });

  it("shrinking to 2 drains the removed agent through the operator API and leaves nothing of ours on it", async () => {
    const since = await nextSecond();
    const r = await driver.up(plan(5).inputs, plan(5).readiness);
    expect(r.deleted).toEqual(["general-3"]);
    expect(r.stepsRun).toBe(0);
    expect(await remnants(hosts[5])).toEqual([]);
    for (const h of hosts.slice(3, 5)) expect(loginsSince(h, since)).toBe(0);
    // The master recorded the drain (stand-in: DRAINED once the agent's tasks are gone), or forgot the agent.
    const body = await leaderApi({ type: "GET_AGENTS" });
    const gone = body?.get_agents?.agents?.find((a: any) => JSON.stringify(a.agent_info ?? {}).includes(hosts[5].ip) || a.agent_info?.hostname === "bm-general-3");
    expect(gone?.drain_info?.state).toBe("DRAINED");
  });

  it("changing an agent attribute re-runs only the mesos step on that pool's agents, which come back as new agents", async () => {
    const agentIps = [hosts[3].ip, hosts[4].ip];
    const ours = (st: any) => (st?.slaves ?? []).filter((a: any) => agentIps.some((ip) => String(a.pid).includes(`@${ip}:`)) && a.active);
    const before = ours(await leaderState()).map((a: any) => a.id);
    expect(before).toHaveLength(2);
    const p = plan(5, { attributes: { rack: "b" } });
    const since = Math.floor(Date.now() / 1000);
    const r = await driver.up(p.inputs, p.readiness);
    expect(r.updated.sort()).toEqual(["general-1", "general-2"]);
    expect(r.unchanged.sort()).toEqual(["m1", "m2", "m3"]);
    expect(r.stepsRun).toBe(2);
    // rack a → b is not additive: Mesos (and the stand-in) refuse to recover the checkpointed agent, so the
    // step removed meta/slaves/latest before the restart and each agent registered anew, with the new attribute.
    const state = await waitFor("agents re-registered with rack b", async () => {
      const now = ours(await leaderState());
      return now.length === 2 && now.every((a: any) => a.attributes?.rack === "b") && now;
    }, 120_000, 1000);
    expect(state.map((a: any) => a.id).filter((id: string) => before.includes(id))).toEqual([]);
    for (const h of hosts.slice(3, 5)) {
      const log = (await ssh(h.name, `journalctl -u mesos-agent --since @${since} --no-pager | grep -c 'Failed to perform recovery' || true`)).stdout.trim();
      expect([h.name, log]).toEqual([h.name, "0"]); // never went through a failed recovery
    }
  });

  it("sshd stopped mid-bootstrap: the run fails naming the host; once sshd is back a re-run converges", async () => {
    const p = plan(6, { attributes: { rack: "b" } });
    const run = driver.up(p.inputs, p.readiness).then(() => undefined, (e: Error) => e);
    await waitFor("step 1 under way on the new host", async () => inHost(hosts[5], "[ -d /etc/elastic-mesos ] && echo yes || true").includes("yes"), 300_000, 200);
    inHost(hosts[5], "systemctl stop ssh.service ssh.socket >/dev/null 2>&1; pkill -KILL -x sshd; true");
    const err = await run;
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(new RegExp(`general-3 \\(${hosts[5].ip.replace(/\./g, "\\.")}:22\\): (the connection was lost while running step 1/3|cannot connect)`));
    inHost(hosts[5], "systemctl start ssh.service");
    const again = await driver.up(p.inputs, p.readiness);
    expect(again.created).toEqual(["general-3"]);
    expect(again.stepsRun).toBe(3);
    // Back to 2: drained and cleaned, including what the interrupted first attempt installed (the first
    // footprint probe is kept on the host, so our own half-done install is not taken for the user's).
    await driver.up(plan(5, { attributes: { rack: "b" } }).inputs, plan(5, { attributes: { rack: "b" } }).readiness);
    expect(await remnants(hosts[5])).toEqual([]);
  });

  it("a wrong pinned host key stops with a clear error before anything runs", async () => {
    const wrong = "SHA256:" + "A".repeat(43);
    const p = plan(5, { attributes: { rack: "b" }, pin: (h: LabHost) => (h.name === hosts[3].name ? wrong : h.name === hosts[0].name ? fingerprint(h.hostKey) : undefined) });
    const since = await nextSecond();
    const err = await driver.up(p.inputs, p.readiness).then(() => undefined, (e: Error) => e);
    expect(err?.message).toContain(`general-1 (${hosts[3].ip}:22): host key mismatch: expected ${wrong}, the host presented ${fingerprint(hosts[3].hostKey)}`);
    expect(err?.message).toContain("baremetal.hosts[3].hostKeyFingerprint");
    expect(loginsSince(hosts[3], since)).toBe(0);
  });

  it("a package source the host cannot reach fails step 1 naming host, step and the URL, and records no state", async () => {
    const dead = "http://10.77.0.1:9"; // nothing listens there
    const bad = { ...setup, overrides: { ...setup.overrides, mirror: dead, mesos: { ...setup.overrides.mesos, keyUrl: `${dead}/keys/lab-archive.asc` } } };
    const p = bench.clusterPlan(m, bad, [hosts[5]]);
    const d = bench.createDriver({ MesosHostProvider, ReadinessProvider }, config());
    const err = await d.up(p.inputs, undefined).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(new RegExp(`^m1 \\(${hosts[5].ip.replace(/\./g, "\\.")}:22\\): step 1/3 install \\(.*\\) exited with code \\d+; last output:`));
    expect(err?.message).toContain("10.77.0.1:9");
    console.log(`[baremetal] unreachable source → ${err!.message.split("\n").slice(0, 6).join(" | ")}`);
    expect(d.state.size).toBe(0); // a failed create records nothing; the next run starts over
    await bench.sshRun(setup.lab, hosts[5].name, bench.CLEAN);
  });

  it("an `up` that drops a master is refused by the readiness check; destroy leaves nothing of ours on any host", async () => {
    const { ready } = await driver.providers();
    const p = plan(5, { attributes: { rack: "b" } }).readiness;
    const failures = (await ready.check(p, { ...p, masters: p.masters.slice(0, 2) })).failures;
    expect(failures.map((f: any) => f.reason)).toEqual([expect.stringMatching(/^removing master m3 .* is refused/)]);
    expect((await ssh(hosts[2].name, "systemctl is-active zookeeper")).stdout.trim()).toBe("active");
    await driver.destroy();
    for (const h of hosts) expect([h.name, await remnants(h)]).toEqual([h.name, []]);
  });
});
