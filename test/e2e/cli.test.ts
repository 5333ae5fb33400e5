// The README's bare-metal commands, run for real: the Pulumi CLI (npm run pulumi:install), a local file backend,
// a passphrase secrets provider, the real engine and its dynamic-provider host, against lab hosts h11-h13.
// Each test is one step a user takes, in the README's order; the engine's own event log says what it did.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { deriveCredentials } from "../../provisioning/credentials";
import { watchProcs } from "../fixtures/proc-scan";
import { REPO_ROOT, http, labInfo, loginsSince, nextSecond, remnants, sshOk, type LabHost } from "../fixtures/lab";
import { hostSettings, labStackSettings, pulumiWorkspace, setConfig, setSecrets, steps, urnName, type PulumiWorkspace } from "../fixtures/pulumi-cli";

const bench = createRequire(import.meta.url)("../../bench/baremetal.js");
const NAMES = (process.env.E2E_LAB_HOSTS ?? "h11,h12,h13").split(",");
const labSkip = inject("labSkipReason");
const available = () => { try { return NAMES.every((n) => labInfo().hosts.some((h) => h.name === n)); } catch { return false; } };
const skip = labSkip || (!available() && `needs lab hosts ${NAMES.join(",")}: LAB_HOSTS=${Number(NAMES.at(-1)!.slice(1))}`);

const STACK = `e2e-${process.pid}`;
const CLUSTER = "e2e";
const CLUSTER_SECRET = `e2e-cluster-secret-${process.pid}-0123456789`;
const STACK_FILE = join(REPO_ROOT, "stacks", `Pulumi.${STACK}.yaml`);
/** A stack frame of ours or Node's, as a stack trace would print it. */
const STACK_FRAME = /^\s+at .+[(/].+:\d+:\d+\)?$/m;

describe.skipIf(skip)("the README's commands through the real pulumi CLI (bare metal on lab hosts)", () => {
  let ws: PulumiWorkspace;
  let hosts: LabHost[];
  let privateKey: string;
  const cfg = (path: string, value: string) => ws.ok(["config", "set", "--path", `elastic-mesos:${path}`, value]);
  const outputs = async () => JSON.parse((await ws.ok(["stack", "output", "--json", "--show-secrets"])).stdout);
  const byOp = (events: Parameters<typeof steps>[0], op: string) => steps(events).filter((s) => s.op === op).map((s) => urnName(s.urn)).sort();

  beforeAll(async () => {
    hosts = NAMES.map((n) => labInfo().hosts.find((h) => h.name === n)!);
    const setup = await bench.labSetup();
    privateKey = setup.privateKey;
    await Promise.all(hosts.map((h) => bench.sshRun(setup.lab, h.name, bench.CLEAN)));
    ws = pulumiWorkspace();
    await ws.initStack(STACK);
    // Step 2 of the quickstart: the stack's config (hosts and pools with --path, secrets from stdin).
    // One `pulumi config set --path` per key, as the README writes them.
    for (const [k, v] of Object.entries(labStackSettings(setup, CLUSTER, hosts.slice(0, 1), hosts.slice(1, 2)))) await cfg(k, v);
    await setSecrets(ws, CLUSTER_SECRET, privateKey);
  }, 1_800_000);

  afterAll(async () => {
    if (!ws) return;
    // A failed test may leave resources: take them down so the next run starts clean, then drop the stack.
    await ws.run(["destroy", "--yes", "--skip-preview"]);
    await ws.removeStack(STACK);
    ws.dispose();
  });

  it("preview lists what will be created; up returns once the cluster is ready; the outputs answer", async () => {
    const preview = await ws.withEvents(["preview"]);
    expect(preview.code, preview.output).toBe(0);
    const creates = byOp(preview.events, "create");
    expect(creates).toEqual(expect.arrayContaining([`${CLUSTER}-m1-bootstrap`, `${CLUSTER}-${NAMES[1]}-bootstrap`, `${CLUSTER}-ready`]));
    expect(steps(preview.events).every((s) => s.op === "create")).toBe(true);

    // While the real CLI, its language host, the program, the provider plugins and ssh run, no process on
    // this machine shows a secret in its arguments or environment (/proc/<pid>/cmdline and environ).
    const creds = deriveCredentials(CLUSTER_SECRET, CLUSTER);
    const keyLine = privateKey.split("\n").filter((l) => l && !l.startsWith("-----"))[1];
    const needles = { clusterSecret: CLUSTER_SECRET, sshPrivateKey: keyLine, ...creds };
    const { result: up, leaks, processes } = await watchProcs(needles, ws.withEvents(["up", "--yes"]));
    expect(up.code, up.output).toBe(0);
    console.log(`[e2e] pulumi up (1 master + 1 agent) ready in ${up.seconds.toFixed(1)} s; ${processes} processes watched`);
    expect(leaks).toEqual([]);
    expect(processes).toBeGreaterThan(10);
    expect(byOp(up.events, "create")).toEqual(creates);

    const out = await outputs();
    expect(out.mesosUrl).toBe(`https://${hosts[0].ip}:5050`);
    expect(out.marathonUrl).toBe(`https://${hosts[0].ip}:8443`);
    const ca: string = out.caCertificate;
    expect(ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const auth: [string, string] = [out.adminUser, out.adminPassword];
    expect(auth[1]).toBe(creds.adminPassword);
    const state = await http(`${out.mesosUrl}/master/state`, { auth, ca });
    expect(state.status).toBe(200);
    expect(JSON.parse(state.body).activated_slaves).toBe(1);
    expect((await http(`${out.marathonUrl}/v2/info`, { auth, ca })).status).toBe(200);
    expect((await http(`${out.marathonUrl}/v2/info`, { ca })).status).toBe(401);
  });

  it("a no-change `pulumi up` reports 0 changes and sends nothing to any host", async () => {
    const since = await nextSecond();
    const up = await ws.withEvents(["up", "--yes"]);
    expect(up.code, up.output).toBe(0);
    console.log(`[e2e] no-change pulumi up in ${up.seconds.toFixed(1)} s`);
    expect(steps(up.events).filter((s) => s.op !== "same")).toEqual([]);
    for (const h of hosts.slice(0, 2)) expect([h.name, loginsSince(h, since)]).toEqual([h.name, 0]);
  });

  it("growing the pool by config creates the new host's resources; the others only update their firewall", async () => {
    await setConfig(ws, hostSettings(2, hosts[2], "agent"));
    const preview = await ws.withEvents(["preview"]);
    expect(preview.code, preview.output).toBe(0);
    // In URN order: independent steps (the new agent, the other agent's firewall) run in either order.
    const changed = (events: typeof preview.events) =>
      steps(events).filter((s) => s.op !== "same").sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
    const planned = changed(preview.events);
    const since = await nextSecond();
    const up = await ws.withEvents(["up", "--yes"]);
    expect(up.code, up.output).toBe(0);
    const done = changed(up.events);
    expect(done).toEqual(planned);
    // the new host (its record and its bootstrap), the readiness check's inputs (which agents to expect), and
    // the other hosts' bootstrap: their firewall's member list (only that step runs: test/unit/firewall.test.ts)
    expect(byOp(up.events, "create")).toEqual([`${CLUSTER}-${NAMES[2]}`, `${CLUSTER}-${NAMES[2]}-bootstrap`]);
    expect(byOp(up.events, "update")).toEqual([`${CLUSTER}-${NAMES[1]}-bootstrap`, `${CLUSTER}-m1-bootstrap`, `${CLUSTER}-ready`]);
    expect(done.filter((s) => !["create", "update"].includes(s.op))).toEqual([]);
    expect(loginsSince(hosts[1], since)).toBe(1); // the other agent: one session, its firewall step
    const out = await outputs();
    const state = JSON.parse((await http(`${out.mesosUrl}/master/state`, { auth: [out.adminUser, out.adminPassword], ca: out.caCertificate })).body);
    expect(state.activated_slaves).toBe(2);
  });

  it("shrinking drains and cleans the removed agent; the others only update their firewall", async () => {
    await ws.ok(["config", "rm", "--path", "elastic-mesos:baremetal.hosts[2]"]);
    const since = await nextSecond();
    const up = await ws.withEvents(["up", "--yes"]);
    expect(up.code, up.output).toBe(0);
    expect(byOp(up.events, "delete")).toEqual([`${CLUSTER}-${NAMES[2]}`, `${CLUSTER}-${NAMES[2]}-bootstrap`]);
    // The engine updates the others (their firewall drops the agent, admitting it 30 min more) before it
    // deletes the agent, whose drain then still reaches the master.
    expect(byOp(up.events, "update")).toEqual([`${CLUSTER}-${NAMES[1]}-bootstrap`, `${CLUSTER}-m1-bootstrap`, `${CLUSTER}-ready`]);
    expect(byOp(up.events, "create")).toEqual([]);
    expect(await remnants(hosts[2].name)).toEqual([]);
    expect(loginsSince(hosts[1], since)).toBe(1);
  });

  it("`pulumi refresh` on a healthy cluster changes nothing", async () => {
    const r = await ws.withEvents(["refresh", "--yes", "--expect-no-changes"]);
    expect(r.code, r.output).toBe(0);
    expect(steps(r.events).filter((s) => !["same", "refresh"].includes(s.op))).toEqual([]);
  });

  it("a daemon stopped by hand: a plain up sends nothing, refresh shows the host, the next up repairs it", async () => {
    const master = hosts[0].name;
    await sshOk(master, "systemctl stop zookeeper");
    const since = await nextSecond();
    const plainUp = await ws.withEvents(["up", "--yes"]);
    expect(plainUp.code, plainUp.output).toBe(0);
    expect(steps(plainUp.events).filter((s) => s.op !== "same")).toEqual([]);
    expect(loginsSince(hosts[0], since)).toBe(0);
    expect((await sshOk(master, "systemctl is-active zookeeper || true")).trim()).toBe("inactive");

    const refresh = await ws.withEvents(["refresh", "--yes"]);
    expect(refresh.code, refresh.output).toBe(0);
    // A refresh's steps are all "refresh"; the one that found a difference counts as an update in the summary.
    expect(refresh.output).toContain("m1 (10.77.0.21): step zookeeper: drift: zookeeper.service inactive".replace("10.77.0.21", hosts[0].ip));
    const summary = refresh.events.find((e) => e.summaryEvent)?.summaryEvent?.resourceChanges ?? {};
    expect(summary, refresh.output.slice(-3000)).toMatchObject({ update: 1 });

    const up = await ws.withEvents(["up", "--yes"]);
    expect(up.code, up.output).toBe(0);
    // Only the drifted host: its zookeeper step ran again (its gate: a quorum). Then the readiness checks the whole
    // cluster again (the repair counts in its generation: the step hashes alone are back to what it last checked).
    expect(byOp(up.events, "update")).toEqual([`${CLUSTER}-m1-bootstrap`, `${CLUSTER}-ready`]);
    expect((await sshOk(master, "systemctl is-active zookeeper || true")).trim()).toBe("active");
    const again = await ws.withEvents(["refresh", "--yes", "--expect-no-changes"]);
    expect(again.code, again.output).toBe(0);
  });

  it("`pulumi stack export` holds no secret in plain text; state per host is small", async () => {
    const exported = (await ws.ok(["stack", "export"])).stdout;
    const creds = deriveCredentials(CLUSTER_SECRET, CLUSTER);
    const keyBody = privateKey.split("\n").filter((l) => l && !l.startsWith("-----"));
    for (const [what, value] of [["clusterSecret", CLUSTER_SECRET], ...Object.entries(creds), ...keyBody.map((l, i) => [`private key line ${i}`, l])]) {
      expect([what, exported.includes(value)]).toEqual([what, false]);
    }
    const resources: { type: string; urn: string }[] = JSON.parse(exported).deployment.resources;
    // Each host is two resources: its record (a component) and its bootstrap (the dynamic resource).
    const perHost = resources.filter((r) => /(:baremetal:Host|\/baremetal:Host)$/.test(r.type));
    const hostCount = perHost.filter((r) => r.type.startsWith("pulumi-nodejs:")).length;
    const bytes = perHost.reduce((n, r) => n + JSON.stringify(r).length, 0);
    console.log(`[e2e] state: ${exported.length} bytes in all, ${Math.round(bytes / hostCount)} bytes per host (${hostCount} hosts)`);
    expect(bytes / hostCount).toBeLessThanOrEqual(10 * 1024);
  });

  it("bad config through the real CLI: the problem list, no stack trace, nothing changed", async () => {
    await cfg("adminCidrs[1]", "0.0.0.0/0");
    try {
      const r = await ws.withEvents(["up", "--yes"]);
      expect(r.code).not.toBe(0);
      expect(r.output).toContain("elastic-mesos: 1 problem in stack config");
      expect(r.output).toContain('adminCidrs[1]: "0.0.0.0/0" is not allowed');
      expect(r.output).toContain("Nothing was created.");
      expect(r.output).not.toMatch(STACK_FRAME);
      expect(steps(r.events).filter((s) => s.op !== "same")).toEqual([]);
    } finally {
      await ws.ok(["config", "rm", "--path", "elastic-mesos:adminCidrs[1]"]);
    }
  });

  it("moving a master to another address is refused before anything changes", async () => {
    await cfg("baremetal.hosts[0].address", hosts[2].ip);
    try {
      const since = await nextSecond();
      const r = await ws.withEvents(["up", "--yes"]);
      expect(r.code).not.toBe(0);
      expect(r.output).toContain(`moving master m1 from ${hosts[0].ip} to ${hosts[2].ip} is refused: a master holds`);
      expect(r.output).not.toMatch(STACK_FRAME);
      // Only the host's record (a component with no effect) took the new address; no host resource changed.
      expect(steps(r.events).filter((s) => s.type.startsWith("pulumi-nodejs:") && s.op !== "same")).toEqual([]);
      expect(loginsSince(hosts[2], since)).toBe(0);
      expect((await sshOk(hosts[0].name, "systemctl is-active zookeeper")).trim()).toBe("active");
    } finally {
      await cfg("baremetal.hosts[0].address", hosts[0].ip);
    }
  });

  it("`pulumi destroy` alone leaves nothing of ours on any host and an empty stack", async () => {
    const r = await ws.withEvents(["destroy", "--yes"]);
    expect(r.code, r.output).toBe(0);
    for (const h of hosts) expect([h.name, await remnants(h.name)]).toEqual([h.name, []]);
    const left = JSON.parse((await ws.ok(["stack", "export"])).stdout).deployment.resources ?? [];
    expect(left).toEqual([]);
    expect(readFileSync(STACK_FILE, "utf8")).not.toContain(CLUSTER_SECRET);
  });
});
