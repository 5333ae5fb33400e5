// A bare-metal host is its name, through the real Pulumi CLI on lab hosts h1-h4 (1 master + 3 agents): a stack
// made by the release that named agents by their place in the list (a94faa2, extracted with `git archive`)
// is upgraded to this one (nothing runs on any host), its middle agent removed (only it is drained and
// cleaned; the others keep their ids and run at most their firewall step), and a changed address refused
// before anything is touched. Everything it made is destroyed at the end.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { REPO_ROOT, labInfo, loginsSince, nextSecond, remnants, sshOk, type LabHost } from "../fixtures/lab";
import { MESOS_CERT } from "../../provisioning/steps/tls";
import { labStackSettings, pulumiWorkspace, setConfig, setSecrets, steps, urnName, type PulumiWorkspace } from "../fixtures/pulumi-cli";

const bench = createRequire(import.meta.url)("../../bench/baremetal.js");
const NAMES = ["h1", "h2", "h3", "h4"];
/** The last release that named bare-metal agents by their place in their pool (the parent of 039762f). */
const POSITIONAL_RELEASE = process.env.E2E_POSITIONAL_RELEASE ?? "a94faa2";
/**
 * The release under test: the working tree, or a commit (E2E_NEW_RELEASE=<rev>) when the tree holds other
 * unfinished work that would change the hosts' steps between the two releases.
 */
const NEW_RELEASE = process.env.E2E_NEW_RELEASE;
const labSkip = inject("labSkipReason");
const available = () => { try { return NAMES.every((n) => labInfo().hosts.some((h) => h.name === n)); } catch { return false; } };
const skip = labSkip || (!available() && `needs lab hosts ${NAMES.join(",")}`);

const STACK = `e2e-id-${process.pid}`;
const CLUSTER = "eid";
const HOST = "elastic-mesos/baremetal:Host";

interface HostState { name: string; id: string; stepsRun: number; commandsSent: number; stepHashes: Record<string, string>; host: string }

describe.skipIf(skip)("bare metal: identity from host names, through the real CLI on h1-h4", () => {
  let hosts: LabHost[];
  let oldDir: string;
  let newDir = REPO_ROOT;
  /** A release's project directory: `git archive` of the commit, with this checkout's node_modules. */
  const release = (rev: string) => {
    const dir = mkdtempSync(join(tmpdir(), "em-release-"));
    execFileSync("bash", ["-c", `git -C "${REPO_ROOT}" archive "${rev}" | tar -x -C "${dir}"`]);
    symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"));
    return dir;
  };
  let old: PulumiWorkspace; // runs the positional release (its project directory)
  let ws: PulumiWorkspace; // runs this release, same PULUMI_HOME, backend and passphrase
  const byOp = (events: Parameters<typeof steps>[0], op: string) => steps(events).filter((s) => s.op === op).map((s) => urnName(s.urn)).sort();
  /** The host resources as the state holds them, by resource name. */
  const state = async (): Promise<Record<string, HostState>> => {
    const d = JSON.parse((await ws.ok(["stack", "export"])).stdout);
    const out: Record<string, HostState> = {};
    for (const r of d.deployment.resources ?? []) {
      if (!String(r.type).endsWith(HOST)) continue;
      const o = r.outputs;
      out[urnName(r.urn)] = { name: urnName(r.urn), id: o.node.id, stepsRun: o.stepsRun, commandsSent: o.commandsSent, stepHashes: o.stepHashes, host: o.connection.host };
    }
    return out;
  };

  beforeAll(async () => {
    hosts = NAMES.map((n) => labInfo().hosts.find((h) => h.name === n)!);
    const setup = await bench.labSetup();
    await Promise.all(hosts.map((h) => bench.sshRun(setup.lab, h.name, bench.CLEAN)));
    oldDir = release(POSITIONAL_RELEASE);
    if (NEW_RELEASE) newDir = release(NEW_RELEASE);
    old = pulumiWorkspace({ cwd: oldDir });
    ws = pulumiWorkspace({ cwd: newDir, env: { PULUMI_HOME: old.env.PULUMI_HOME, PULUMI_CONFIG_PASSPHRASE_FILE: old.env.PULUMI_CONFIG_PASSPHRASE_FILE } });
    await old.initStack(STACK);
    await setConfig(old, labStackSettings(setup, CLUSTER, hosts.slice(0, 1), hosts.slice(1)));
    await setSecrets(old, `e2e-identity-secret-${process.pid}-0123456789`, setup.privateKey);
  }, 1_800_000);

  afterAll(async () => {
    if (ws && existsSync(join(newDir, "stacks", `Pulumi.${STACK}.yaml`))) {
      await ws.run(["stack", "select", STACK]);
      await ws.run(["destroy", "--yes", "--skip-preview"]);
      await ws.removeStack(STACK);
    } else if (old) {
      await old.run(["destroy", "--yes", "--skip-preview"]);
      await old.removeStack(STACK);
    }
    old?.dispose();
    ws?.dispose();
    for (const d of [oldDir, newDir]) if (d && d !== REPO_ROOT) rmSync(d, { recursive: true, force: true });
    for (const h of hosts ?? []) expect([h.name, await remnants(h.name)]).toEqual([h.name, []]);
  }, 1_800_000);

  it("the positional release installs 1 master + 3 agents as m1, general-1..3", async () => {
    const up = await old.withEvents(["up", "--yes"]);
    expect(up.code, up.output).toBe(0);
    console.log(`[e2e-identity] positional release: pulumi up (1+3) in ${up.seconds.toFixed(1)} s`);
    expect(byOp(up.events, "create")).toEqual(expect.arrayContaining(["general-1", "general-2", "general-3"].map((n) => `${CLUSTER}-${n}-bootstrap`)));
  });

  it("this release on that stack: the preview renames the agents' resources and replaces or drains nothing; the agents stay the same agents", async () => {
    copyFileSync(join(oldDir, "stacks", `Pulumi.${STACK}.yaml`), join(newDir, "stacks", `Pulumi.${STACK}.yaml`));
    await ws.ok(["stack", "select", STACK]); // the selected stack is kept per project directory
    const before = await state();
    // Each agent's identity on its host: its Mesos agent id and the names its certificate carries (a node id
    // changed by the upgrade would give the agent a certificate for <cluster>-h2 instead of <cluster>-general-1).
    const agentIds = () => Promise.all(hosts.slice(1).map((h) => sshOk(h.name, "readlink /var/lib/mesos/agent/meta/slaves/latest; " +
      `openssl x509 -in ${MESOS_CERT} -noout -ext subjectAltName | grep -o 'DNS:[^,]*'`)));
    const idsBefore = await agentIds();
    expect(idsBefore.join("\n")).toContain(`DNS:${CLUSTER}-general-1`);
    const preview = await ws.withEvents(["preview", "--diff"]);
    expect(preview.code, preview.output).toBe(0);
    const ops = steps(preview.events).map((s) => `${s.op} ${urnName(s.urn)}`).sort();
    console.log(`[e2e-identity] upgrade preview:\n  ${ops.join("\n  ")}\n--- preview output ---\n${preview.stdout}`);
    for (const op of ["create", "delete", "replace", "create-replacement", "delete-replaced"]) {
      expect([op, steps(preview.events).filter((s) => s.op === op && s.type.endsWith(HOST)).map((s) => urnName(s.urn))]).toEqual([op, []]);
    }
    const since = await nextSecond();
    const up = await ws.withEvents(["up", "--yes"]);
    expect(up.code, up.output).toBe(0);
    console.log(`[e2e-identity] upgrade up in ${up.seconds.toFixed(1)} s: ${steps(up.events).filter((s) => s.op !== "same").map((s) => `${s.op} ${urnName(s.urn)}`).join(", ")}`);
    const s = await state();
    expect(Object.keys(s).sort()).toEqual(["h2", "h3", "h4", "m1"].map((n) => `${CLUSTER}-${n}-bootstrap`));
    // The agents keep the ids they were installed with (certificates, JWT keys, Mesos agent ids).
    expect(["h2", "h3", "h4"].map((n) => s[`${CLUSTER}-${n}-bootstrap`].id)).toEqual(["general-1", "general-2", "general-3"]);
    expect(await agentIds()).toEqual(idsBefore);
    // The identity change itself runs nothing: hosts update only where this release's steps differ from the old
    // one's (the same for every agent), never by a changed node id, and none is drained or replaced.
    expect(byOp(up.events, "delete")).toEqual([]);
    const changedSteps = (k: string) => Object.keys(before[k].stepHashes)
      .filter((st) => before[k].stepHashes[st] !== s[k.replace(/general-(\d)/, (_, d) => `h${Number(d) + 1}`)].stepHashes[st]).sort();
    const agentKeys = Object.keys(before).filter((k) => k.includes("general-"));
    expect(new Set(agentKeys.map((k) => changedSteps(k).join(","))).size).toBe(1);
  });

  it("removing the middle agent (h3) drains and removes only it; h2 and h4 keep their ids and run no step but the firewall", async () => {
    const before = await state();
    await ws.ok(["config", "rm", "--path", "elastic-mesos:baremetal.hosts[2]"]);
    const since = await nextSecond();
    const up = await ws.withEvents(["up", "--yes"]);
    expect(up.code, up.output).toBe(0);
    console.log(`[e2e-identity] remove the middle agent: pulumi up in ${up.seconds.toFixed(1)} s`);
    expect(byOp(up.events, "delete")).toEqual([`${CLUSTER}-h3`, `${CLUSTER}-h3-bootstrap`]);
    expect(byOp(up.events, "create")).toEqual([]);
    expect(steps(up.events).filter((x) => x.op.includes("replace"))).toEqual([]);
    expect(await remnants("h3")).toEqual([]);
    const after = await state();
    expect(Object.keys(after).sort()).toEqual(["h2", "h4", "m1"].map((n) => `${CLUSTER}-${n}-bootstrap`));
    for (const n of ["h2", "h4", "m1"]) {
      const [b, a] = [before[`${CLUSTER}-${n}-bootstrap`], after[`${CLUSTER}-${n}-bootstrap`]];
      expect(a.id, n).toBe(b.id);
      const changed = Object.keys(a.stepHashes).filter((k) => a.stepHashes[k] !== b.stepHashes[k]);
      expect([n, changed]).toEqual([n, ["firewall"]]); // its member list dropped h3's address
      expect([n, a.stepsRun]).toEqual([n, 1]);
    }
    for (const h of [hosts[1], hosts[3]]) expect([h.name, loginsSince(h, since)]).toEqual([h.name, 1]);
  });

  it("a new address for h4 is refused before anything is touched, naming the key and saying how to replace a host", async () => {
    const before = await ws.ok(["stack", "export"]);
    await ws.ok(["config", "set", "--path", "elastic-mesos:baremetal.hosts[2].address", "10.77.0.99"]);
    const since = await nextSecond();
    const up = await ws.withEvents(["up", "--yes"]);
    expect(up.code).not.toBe(0);
    console.log(`[e2e-identity] changed address refused in ${up.seconds.toFixed(1)} s`);
    expect(up.output).toContain(`baremetal.hosts[name=h4].address: the host there is ${hosts[3].ip}`);
    expect(up.output).toContain("To replace a host, remove its entry from baremetal.hosts");
    // The preview planned the others' firewall update; nothing was carried out (no step of the update itself).
    const done = up.events.filter((e) => e.resourcePreEvent && !(e.resourcePreEvent as { planning?: boolean }).planning)
      .map((e) => e.resourcePreEvent!.metadata).filter((m) => m.op !== "same" && !m.type.startsWith("pulumi:providers:"));
    expect(done).toEqual([]);
    expect(JSON.parse((await ws.ok(["stack", "export"])).stdout).deployment.resources)
      .toEqual(JSON.parse(before.stdout).deployment.resources);
    for (const h of [hosts[0], hosts[1], hosts[3]]) expect([h.name, loginsSince(h, since)]).toEqual([h.name, 0]);
    await ws.ok(["config", "set", "--path", "elastic-mesos:baremetal.hosts[2].address", hosts[3].ip]);
  });
});
