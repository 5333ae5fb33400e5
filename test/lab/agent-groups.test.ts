// Self-joining pool agents (issue 12) on lab hosts h8-h10: a 1-master cluster on h8, installed by the bare-metal
// provider over SSH; then a machine booted with ONLY its pool's user-data (rendered as components/cluster.ts
// cloudInitUserData renders it for the pool's template node, topology poolTemplateNode) joins the cluster by itself:
// nothing of ours runs a step over SSH on it. Stopping it cleanly (`systemctl poweroff`, what a cloud's scale-in,
// instance refresh or preemption does through ACPI) drains it first: the master has it drained (DRAINING/DRAINED),
// never down while still ACTIVE, and its journal orders the drain before the agent's stop. A replacement machine
// booted the same way joins alone.
//
// "Booted with the pool's user-data": a lab host cannot be re-created without lab-up (lab/README.md), so h9 and h10
// get the user-data in their NoCloud seed and a new instance-id, `cloud-init clean`, and cloud-init's four boot
// stages run in order (init --local, init, modules config, modules final) as a boot runs them: real cloud-init
// acting on a new instance. SSH from this test to those machines only writes the seed, reads state and does what an
// operator or a cloud does (a restart, the poweroff): no step runs over it.
//
// Stand-in agents run no tasks: the drain is DRAIN_AGENT and its state as the master reports it (DRAINING, then DRAINED
// at the agent's next heartbeat), not tasks moving. (The stand-in master saves its registry in ZooKeeper, which wakes
// its agents at once: a drain there takes well under a second.)
//
// h9 is powered off for real: only lab-up brings a lab host back (it starts missing hosts from a fresh overlay), so
// afterAll runs it, as test/lab/bootstrap.test.ts does to recreate h4, and waits for h9's boot: the bare-metal
// tests that run later use h5-h10. AGENT_GROUPS_RESTORE=0 leaves h9 off (then `bash lab/lab-up.sh 14`);
// AGENT_GROUPS_POWEROFF=0 keeps h9 up (the drain on shutdown is then not tested).
import { readdirSync, readFileSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { NodeSpec } from "../../components/contracts";
import type { AgentPoolModel } from "../../components/model";
import { poolTemplateNode } from "../../components/topology";
import { cleanupPlan, renderCleanupScript } from "../../provisioning/baremetal/cleanup";
import { MesosHostProvider } from "../../provisioning/baremetal/provider";
import { bootstrapInputOf, hostTls } from "../../provisioning/baremetal/render";
import type { HostInputs } from "../../provisioning/baremetal/types";
import { deriveCredentials } from "../../provisioning/credentials";
import { FIRSTBOOT_DONE, FIRSTBOOT_UNIT, renderAwsCloudConfig } from "../../provisioning/render/cloud-config";
import { renderSteps } from "../../provisioning/steps";
import type { Step } from "../../provisioning/steps/types";
import { caCertificate, nodeMaterial, sshHostKey } from "../../provisioning/tls";
import { ipOf, labArtifacts, STEP_SECONDS } from "../fixtures/lab-cluster";
import { http, LAB_DIR, labInfo, REPO_ROOT, ssh, sshOk, waitFor, labHostKeyFingerprint as fingerprint } from "../fixtures/lab";
import { waitForAptLocks } from "../fixtures/apt-locks";
import { bootWith, RESTORE_SEED } from "../fixtures/cloud-boot";

const labSkip = inject("labSkipReason");
const MASTER = "h8";
const FIRST = "h9";
const REPLACEMENT = "h10";
const available = () => {
  try {
    return [MASTER, FIRST, REPLACEMENT].every((n) => labInfo().hosts.some((h) => h.name === n));
  } catch {
    return false;
  }
};
const skip = labSkip || (!available() && "needs lab hosts h8-h10: LAB_HOSTS=10");
const POWEROFF = process.env.AGENT_GROUPS_POWEROFF !== "0";
const RESTORE = process.env.AGENT_GROUPS_RESTORE !== "0";

const SECRET = "lab-agent-groups-secret-0001";
const CLUSTER = "grp";
const CA = caCertificate(SECRET, CLUSTER);
const credentials = deriveCredentials(SECRET, CLUSTER);
const ADMIN: [string, string] = ["admin", credentials.adminPassword];
const POOL: AgentPoolModel = {
  name: "general", count: 2, size: "lab", diskGb: 1, resources: { cpus: 1, mem: 512 }, attributes: { rack: "lab" },
  containerizers: ["mesos"], taskUser: "mesos-task",
};

const seconds = (t: number) => ((Date.now() - t) / 1000).toFixed(1);

interface AgentView { id: string; pid: string; state: string }
/** The agents the leading master lists (GET_AGENTS), with their drain state ("ACTIVE" when none). */
async function agents(): Promise<AgentView[] | undefined> {
  const r = await http(`https://${ipOf(MASTER)}:5050/api/v1`,
    { ca: CA, auth: ADMIN, json: { type: "GET_AGENTS" }, timeoutMs: 3000 });
  if (r.status !== 200) return undefined;
  const list: any[] = JSON.parse(r.body).get_agents?.agents ?? [];
  return list.map((a) => ({ id: a.agent_info.id.value, pid: a.pid,
    state: a.drain_info?.state ?? (a.deactivated ? "DEACTIVATED" : "ACTIVE") }));
}
const at = (list: AgentView[] | undefined, host: string) =>
  list?.filter((a) => a.pid.endsWith(`@${ipOf(host)}:5051`)) ?? [];

/** The agent's own operator port (TLS: its certificate names the pool's template hostname, not an address). */
const agentHealth = (host: string, node: NodeSpec) =>
  http(`https://${node.hostname}:5051/health`, { ca: CA, connectTo: ipOf(host), timeoutMs: 1000 });

/** True when host:port accepts a TCP connection within 1 s. */
const tcpOpen = (ip: string, port: number) => new Promise<boolean>((resolve) => {
  const s = new Socket();
  const done = (ok: boolean) => { s.destroy(); resolve(ok); };
  s.setTimeout(1000, () => done(false));
  s.once("error", () => done(false));
  s.connect(port, ip, () => done(true));
});

/** The product's cleanup for what the pool's steps and the first boot installed, and the lab's own seed back. */
function cleanScript(steps: Step[]): string {
  return `systemctl disable --now ${FIRSTBOOT_UNIT} lab-cloud-init-boot >/dev/null 2>&1 || true
systemctl disable --now lab-zookeeper standin-master standin-agent standin-marathon >/dev/null 2>&1 || true
rm -f /etc/systemd/system/${FIRSTBOOT_UNIT}
${waitForAptLocks()}
rm -f /etc/apt/sources.list.d/lab-mirror.list
${renderCleanupScript(cleanupPlan(steps), [])}
${RESTORE_SEED}`;
}

describe.skipIf(skip)("self-joining pool agents on lab hosts (h8 master, h9 and h10 from the pool's user-data)", () => {
  const provider = new MesosHostProvider({ log: () => {} });
  let master: HostInputs;
  let masterOuts: any;
  let poolNode: NodeSpec;
  let poolSteps: Step[];
  let userData: string;
  let firstId = "";
  let ready = false;
  let poweredOff = false;
  const figures: string[] = [];

  beforeAll(async () => {
    const artifacts = await labArtifacts();
    const masters = [{ id: "m1", zkId: 1, ip: ipOf(MASTER), hostname: `${CLUSTER}-m1` }];
    const h8 = labInfo().hosts.find((h) => h.name === MASTER)!;
    master = {
      cluster: CLUSTER, os: "debian-12", selfIp: h8.ip, masters, quorum: 1, artifacts, taskUsers: [POOL.taskUser],
      node: { id: "m1", hostname: `${CLUSTER}-m1`, role: "master", ordinal: 1, zkId: 1, size: "lab", diskGb: 1,
        resources: {}, attributes: {}, containerizers: ["mesos"], taskUser: "" },
      connection: { host: h8.ip, port: 22, user: "root", hostKeyFingerprint: fingerprint(h8.hostKey) },
      stepTimeoutSeconds: STEP_SECONDS + 60,
      // The pool's agents boot from user-data: their certificates name no address (as on a cloud).
      unverifiedPeers: true,
    };
    // The pool's one user-data, as components/cluster.ts cloudInitUserData renders it for the template node, in
    // AWS's form (the one cloud whose pools boot from #cloud-config): its pieces as plain files.
    poolNode = poolTemplateNode(CLUSTER, POOL);
    const subject = { id: poolNode.id, hostname: poolNode.hostname };
    const tls = { ...nodeMaterial(SECRET, CLUSTER, subject, "agent"), unverifiedPeers: true as const };
    poolSteps = renderSteps({ cluster: CLUSTER, os: "debian-12", node: poolNode, masters, quorum: 1, artifacts,
      credentials, tls, taskUsers: [POOL.taskUser] });
    userData = renderAwsCloudConfig(poolSteps, sshHostKey(SECRET, CLUSTER, poolNode.id));
    const key = labInfo().sshKey;
    const get = (k: string) =>
      ({ sshPrivateKey: readFileSync(key, "utf8"), clusterSecret: SECRET })[k as "clusterSecret"];
    await provider.configure({ config: { get, require: get } } as any);
    // Whatever an earlier run left (the hosts are shared with the bare-metal tests: h5-h10).
    const masterSteps = renderSteps(bootstrapInputOf(master, credentials, hostTls(SECRET, master)));
    await Promise.all([
      ssh(MASTER, cleanScript(masterSteps), 600_000),
      ...[FIRST, REPLACEMENT].map((h) => ssh(h, cleanScript(poolSteps), 600_000)),
    ]);
  }, 900_000);

  afterAll(async () => {
    if (process.env.LAB_KEEP_AGENT_GROUPS === "1") return;
    if (masterOuts) {
      await provider.delete("m1", masterOuts).catch((e) => console.log(`[agent-groups] master delete: ${e}`));
    }
    // h9 is cleaned unless it was powered off (lab-up then starts it from a fresh overlay).
    const up = [REPLACEMENT, ...(poweredOff ? [] : [FIRST])];
    await Promise.all(up.map((h) => ssh(h, cleanScript(poolSteps), 600_000)));
    if (poweredOff && !RESTORE) {
      console.log(`[agent-groups] ${FIRST} is powered off: \`bash lab/lab-up.sh 14\` starts it again (fresh)`);
    } else if (poweredOff) {
      // NOT RUN by its author (helpers may not run lab-up): the command is the lab's own, as in bootstrap.test.ts.
      const t = Date.now();
      const up = spawnSync("bash", [join(REPO_ROOT, "lab", "lab-up.sh"), String(labInfo().hosts.length)],
        { encoding: "utf8" });
      if (up.status !== 0) throw new Error(`lab-up.sh could not start ${FIRST} again: ${up.stderr.slice(-2000)}`);
      await waitFor(`${FIRST} booted again`, async () => {
        const r = await ssh(FIRST, "cloud-init status 2>/dev/null || true", 20_000).catch(() => undefined);
        return r && /status: (done|error)/.test(r.stdout);
      }, 600_000, 2000);
      figures.push(`${FIRST} started again by lab-up.sh: ${seconds(t)} s`);
    }
    console.log(`[agent-groups] figures:\n  ${figures.join("\n  ")}`);
  }, 900_000);

  it("a 1-master cluster on h8, installed by the bare-metal provider", async () => {
    const t = Date.now();
    masterOuts = (await provider.create({ spec: master } as any)).outs;
    figures.push(`master h8 by the bare-metal provider (steps 1-3): ${seconds(t)} s`);
    expect(masterOuts.stepsRun).toBe(3);
    expect(await agents()).toEqual([]);
  }, 1_200_000);

  it("h9 booted with only the pool's user-data joins the cluster by itself", async () => {
    const t = Date.now();
    await sshOk(FIRST, bootWith(FIRST, userData, `${FIRST}-pool-1`));
    const [a] = await waitFor("an agent at h9 registered with the master", async () => {
      const list = at(await agents(), FIRST);
      return list.length === 1 && list[0].state === "ACTIVE" && list;
    }, 900_000, 2000);
    firstId = a.id;
    figures.push(`h9 from user-data to registered agent: ${seconds(t)} s`);
    // The first-boot unit ran every step to its gate; the drain unit is enabled and active (its ExecStop waits).
    const facts = await sshOk(FIRST, `test -e ${FIRSTBOOT_DONE} && echo done
systemctl is-enabled mesos-agent-drain; systemctl is-active mesos-agent-drain
stat -c '%a %U' /etc/elastic-mesos/drain.curlrc /usr/local/sbin/mesos-agent-drain
cloud-init status | head -1`);
    expect(facts.trim().split("\n")).toEqual(["done", "enabled", "active", "600 root", "700 root", "status: done"]);
    expect((await agentHealth(FIRST, poolNode)).status).toBe(200);
    // What the drain will do at shutdown, tried now without draining: from h9, with its root-only curl config, over
    // https verified by the cluster CA, the master lists this agent (the drain principal may read agents)...
    const seenFromAgent = await sshOk(FIRST, `curl -sS --max-time 5 -K /etc/elastic-mesos/drain.curlrc \
  --cacert /etc/ssl/elastic-mesos/ca.pem "https://${ipOf(MASTER)}:5050/slaves?slave_id=${firstId}"`);
    expect(JSON.parse(seenFromAgent).slaves.map((x: { id: string }) => x.id)).toEqual([firstId]);
    // ...and refuses it anything but DRAIN_AGENT (the rendered ACLs, enforced by the stand-in master over TLS).
    const drain: [string, string] = ["drain", credentials.drainPassword];
    for (const [type, field] of [["DEACTIVATE_AGENT", "deactivate_agent"], ["REACTIVATE_AGENT", "reactivate_agent"]]) {
      const r = await http(`https://${ipOf(MASTER)}:5050/api/v1`, { ca: CA, auth: drain,
        json: { type, [field]: { agent_id: { value: firstId } } } });
      expect(r.status, type).toBe(403);
    }
    expect((await http(`https://${ipOf(MASTER)}:5050/metrics/snapshot`, { ca: CA, auth: drain })).status).toBe(403);
    expect(at(await agents(), FIRST)[0].state).toBe("ACTIVE");
  }, 1_000_000);

  it("restarting mesos-agent (as a step or the rollout does) or the drain unit itself drains nothing", async () => {
    await sshOk(FIRST, "systemctl restart mesos-agent && systemctl restart mesos-agent-drain");
    // The agent recovers its id and comes back; nothing ever asked for a drain.
    await waitFor("h9's agent back after its restart",
      async () => (await agentHealth(FIRST, poolNode)).status === 200, 60_000, 500);
    await new Promise((r) => setTimeout(r, 6000)); // a stand-in agent's heartbeat
    expect(at(await agents(), FIRST)).toEqual([expect.objectContaining({ id: firstId, state: "ACTIVE" })]);
    const log = await sshOk(FIRST,
      "journalctl -q -o cat -u mesos-agent-drain --no-pager | grep mesos-agent-drain || true");
    expect(log).toMatch(/not stopping: not drained/);
    expect(log).not.toMatch(/draining agent/);
    ready = true;
  }, 120_000);

  it.skipIf(!POWEROFF)("a clean poweroff of h9 drains its agent first: DRAINED, then the agent goes", async () => {
    // Powering a lab host off is for good (until lab-up): only once h9 joined and kept its agent over restarts.
    expect(ready, "h9 did not join, or a restart drained it: not powering it off").toBe(true);
    const seen: { t: number; state: string; agentUp: boolean }[] = [];
    const t0 = Date.now();
    poweredOff = true;
    await ssh(FIRST, "systemctl --no-block poweroff", 10_000);
    let downSince = 0;
    for (;;) {
      const [list, health] = await Promise.all([agents(), agentHealth(FIRST, poolNode)]);
      const mine = list?.find((a) => a.id === firstId);
      const state = list ? mine?.state ?? "GONE" : "master did not answer";
      const agentUp = health.status === 200;
      const last = seen.at(-1);
      if (last?.state !== state || last?.agentUp !== agentUp) seen.push({ t: Date.now() - t0, state, agentUp });
      if (!agentUp && !(await tcpOpen(ipOf(FIRST), 22))) downSince ||= Date.now(); else downSince = 0;
      if (downSince && Date.now() - downSince > 5000) break;
      if (Date.now() - t0 > 300_000) throw new Error(`h9 did not go down within 300 s: ${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const timeline = seen.map((s) => `${(s.t / 1000).toFixed(1)} s ${s.state}${s.agentUp ? "" : " (agent down)"}`)
      .join(", ");
    figures.push(`h9 poweroff timeline (master's view of its agent): ${timeline}`);
    console.log(`[agent-groups] ${timeline}`);
    // The master saw the agent drained before it went (the agent reports DRAINED at its next heartbeat; the drain unit
    // sees it within a second and only then lets systemd stop mesos-agent): never down while the master still had it
    // ACTIVE. The stand-in master drains within milliseconds, so samples 0.1-0.2 s apart may catch it only DRAINED and
    // already down (one rehearsal: "0.2 s ACTIVE, 0.3 s DRAINED (agent down)"); h9's journal below orders it exactly.
    const firstDrain = seen.find((s) => s.state === "DRAINING" || s.state === "DRAINED");
    expect(firstDrain, timeline).toBeDefined();
    expect(seen.find((s) => s.state === "DRAINED"), timeline).toBeDefined();
    expect(seen.filter((s) => !s.agentUp && s.state === "ACTIVE"), timeline).toEqual([]);
    const firstDown = seen.find((s) => !s.agentUp)!;
    expect(firstDown.t, timeline).toBeGreaterThanOrEqual(firstDrain!.t);
    // h9's own journal (persistent; its overlay's upper directory outlives the machine): the drain unit's ExecStop
    // ran and finished before systemd stopped mesos-agent.
    const jdir = join(LAB_DIR, "hosts", FIRST, "upper", "var", "log", "journal");
    const [machine] = readdirSync(jdir);
    const j = spawnSync("journalctl", ["-D", join(jdir, machine), "-o", "short-unix", "-q", "--no-pager",
      "-u", "mesos-agent-drain", "-u", "mesos-agent"], { encoding: "utf8" }).stdout;
    const lines = j.split("\n");
    const idx = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const draining = idx(new RegExp(`mesos-agent-drain: draining agent ${firstId}`));
    const done = idx(new RegExp(`mesos-agent-drain: agent ${firstId} DRAINED in \\d+ s`));
    let stopping = -1;
    lines.forEach((l, i) => { if (/Stopping mesos-agent\.service/.test(l)) stopping = i; });
    const around = lines.slice(Math.max(0, draining - 2)).join("\n").slice(0, 3000);
    console.log(`[agent-groups] h9's journal at shutdown:\n${around}`);
    expect(draining, j.slice(-3000)).toBeGreaterThan(-1);
    expect(done).toBeGreaterThan(draining);
    expect(stopping).toBeGreaterThan(done);
  }, 400_000);

  it("h10 booted the same way (a replacement) joins alone", async () => {
    const t = Date.now();
    await sshOk(REPLACEMENT, bootWith(REPLACEMENT, userData, `${REPLACEMENT}-pool-1`));
    const [a] = await waitFor("an agent at h10 registered with the master", async () => {
      const list = at(await agents(), REPLACEMENT);
      return list.length === 1 && list[0].state === "ACTIVE" && list;
    }, 900_000, 2000);
    figures.push(`h10 (replacement) from user-data to registered agent: ${seconds(t)} s`);
    expect(a.id).not.toBe(firstId);
    // The same pool (one user-data, one template node): the agent carries the pool's attribute.
    const r = await http(`https://${ipOf(MASTER)}:5050/master/slaves?slave_id=${a.id}`, { ca: CA, auth: ADMIN });
    expect(JSON.parse(r.body).slaves[0].attributes).toMatchObject({ pool: "general", rack: "lab" });
  }, 1_000_000);
});
