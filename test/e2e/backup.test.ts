// Backup and restore through the real pulumi CLI and the real npm scripts, on lab hosts h5-h8 (3 masters, one
// agent): a Marathon app is created, `npm run backup` copies ZooKeeper's data (from its leader) and the Mesos
// replicated log (from a standby, its mesos-master stopped for the copy), the app is deleted and another one
// created, then two of the three masters lose everything (their daemons stopped, ZooKeeper's data and the Mesos
// work dir deleted: the cluster has no quorum). A backup is refused then; a restore without --yes changes
// nothing; `npm run restore --yes` puts the backup back on every master. Asserted: the backed-up app is back
// (and the later one gone), the agent registered again, every master holds the backup's replica, the data each
// master had is kept aside, and the next `pulumi up` changes no host. Then the offline way to another size (backup,
// destroy, a one-master stack, restore) brings the app back (online changes: test/e2e/membership.test.ts).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { REPO_ROOT, http, labInfo, run, sshOk, type LabHost } from "../fixtures/lab";
import { destroyLabStack, labStack, steps, urnName, type PulumiWorkspace } from "../fixtures/pulumi-cli";

const NAMES = (process.env.E2E_BACKUP_HOSTS ?? "h5,h6,h7,h8").split(",");
const labSkip = inject("labSkipReason");
const available = () => { try { return NAMES.every((n) => labInfo().hosts.some((h) => h.name === n)); } catch { return false; } };
const skip = labSkip || (!available() && `needs lab hosts ${NAMES.join(",")}`);

const STACK = `e2e-backup-${process.pid}`;
const CLUSTER = "bak";
const CLUSTER_SECRET = `backup-cluster-secret-${process.pid}-0123456789`;

interface NpmResult { code: number; output: string; seconds: number }

describe.skipIf(skip)("the masters' state through the real pulumi CLI (3 masters, 1 agent on lab hosts)", () => {
  let ws: PulumiWorkspace;
  let masters: LabHost[];
  let agent: LabHost;
  let out: Record<string, string>;
  let dir: string;
  const auth = (): [string, string] => [out.adminUser, out.adminPassword];

  /** `npm run <script> -- args` as a user runs it, with the workspace's CLI, backend and passphrase file. */
  const npm = (script: string, args: string[]) => new Promise<NpmResult>((resolve) => {
    const t0 = Date.now();
    execFile("npm", ["run", "-s", script, "--", ...args], { cwd: REPO_ROOT, env: ws.env, timeout: 900_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({
        code: err ? (typeof err.code === "number" ? err.code : 1) : 0,
        output: `${stdout}${stderr}`,
        seconds: (Date.now() - t0) / 1000,
      }));
  });
  const apps = async () => {
    const r = await http(`${out.marathonUrl}/v2/apps`, { auth: auth(), ca: out.caCertificate });
    expect(r.status, r.body).toBe(200);
    return (JSON.parse(r.body).apps as { id: string }[]).map((a) => a.id).sort();
  };
  const replica = (h: LabHost) => sshOk(h.name, "cat /var/lib/mesos/master/replicated_log/registry.json");

  beforeAll(async () => {
    const hosts = NAMES.map((n) => labInfo().hosts.find((h) => h.name === n)!);
    [masters, agent] = [hosts.slice(0, 3), hosts[3]];
    ws = await labStack(STACK, CLUSTER, masters, [agent], CLUSTER_SECRET);
    const up = await ws.ok(["up", "--yes", "--skip-preview"], { timeoutMs: 1_500_000 });
    console.log(`[backup] 3 masters + 1 agent ready in ${up.seconds.toFixed(1)} s`);
    out = JSON.parse((await ws.ok(["stack", "output", "--json", "--show-secrets"])).stdout);
    dir = mkdtempSync(join(tmpdir(), "em-backups-"));
  }, 1_800_000);

  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await destroyLabStack(ws, STACK);
  }, 1_300_000);

  it("a backup taken before two of three masters lost their data brings Marathon's apps and the agent back", async () => {
    const created = await http(`${out.marathonUrl}/v2/apps`, { auth: auth(), ca: out.caCertificate,
      json: { id: "/kept", cmd: "sleep 3600", cpus: 0.1, mem: 32, instances: 1 } });
    expect(created.status, created.body).toBe(201);
    expect(await apps()).toEqual(["/kept"]);

    // The backup: ZooKeeper from its leader, the replicated log from a standby (stopped for the copy, back after).
    const zkLeader = (await Promise.all(masters.map(modeOn))).indexOf("leader");
    const b = await npm("backup", ["--stack", STACK, "--to", dir]);
    console.log(`[backup] npm run backup: ${b.seconds.toFixed(1)} s\n${b.output}`);
    expect(b.code, b.output).toBe(0);
    const path = /\[backup\] backup: (\S+)/.exec(b.output)![1];
    expect(path.startsWith(`${dir}/${CLUSTER}-`)).toBe(true);
    const manifest = JSON.parse(readFileSync(join(path, "manifest.json"), "utf8"));
    expect(manifest.zookeeper.from).toBe(`m${zkLeader + 1}`);
    expect(manifest.mesosLog.file).toBe("replicated-log.tar.gz");
    expect(b.output).toMatch(/mesos-master answers again after \d+ s/);
    // Nothing of it readable by others on this machine: Marathon's state may hold secrets.
    expect((await here(`stat -c '%a' ${path} ${path}/*`)).trim().split("\n")).toEqual(["700", "600", "600", "600"]);
    const source = masters[Number(manifest.mesosLog.from.slice(1)) - 1];
    const backedUpReplica = await replica(source);
    expect(await here(`tar -xzOf ${path}/replicated-log.tar.gz replicated_log/registry.json`)).toBe(backedUpReplica);

    // Life goes on after the backup: the app is deleted and another one created.
    expect((await http(`${out.marathonUrl}/v2/apps/kept`, { method: "DELETE", auth: auth(), ca: out.caCertificate })).status).toBe(200);
    expect((await http(`${out.marathonUrl}/v2/apps`, { auth: auth(), ca: out.caCertificate,
      json: { id: "/later", cmd: "sleep 3600", cpus: 0.1, mem: 32 } })).status).toBe(201);
    expect(await apps()).toEqual(["/later"]);

    // Two of three masters lose everything: the cluster has no ZooKeeper quorum, so no Mesos leader, no Marathon.
    const lost = masters.slice(1);
    await Promise.all(lost.map((m) => sshOk(m.name, "systemctl stop marathon mesos-master zookeeper && " +
      "rm -rf /var/lib/zookeeper/version-2 /var/lib/mesos/master")));
    expect((await http(`${out.marathonUrl}/v2/apps`, { auth: auth(), ca: out.caCertificate, timeoutMs: 10_000 })).status).not.toBe(200);

    // A backup now would copy a minority's data: refused, naming the masters' state.
    const refused = await npm("backup", ["--stack", STACK, "--to", dir]);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/backup refused: ZooKeeper has no leader .*m2 \(/);
    expect(refused.output).toContain("npm run restore");

    // Without --yes: told what it would do, nothing touched (m1's ZooKeeper still runs, alone).
    const asked = await npm("restore", ["--stack", STACK, "--from", path]);
    expect(asked.code).not.toBe(0);
    expect(asked.output).toContain("run it again with --yes");
    expect(await sshOk(masters[0].name, "systemctl is-active zookeeper")).toBe("active\n");

    const r = await npm("restore", ["--stack", STACK, "--from", path, "--yes"]);
    console.log(`[backup] npm run restore: ${r.seconds.toFixed(1)} s\n${r.output}`);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/ready on the backup of .*: down [\d.]+ s \(ZooKeeper serving after [\d.]+ s\)/);

    // The backed-up state is back: the app deleted after the backup exists again, the later one does not.
    expect(await apps()).toEqual(["/kept"]);
    // The agent registered again (the restore ended with the readiness check; asked here once more).
    let slaves = await http(`${out.mesosUrl}/master/slaves`, { auth: auth(), ca: out.caCertificate });
    const leader = slaves.headers.get("location"); // a standby redirects to the leader (`//ip:5050/...`)
    if (slaves.status === 307 && leader) slaves = await http(`https:${leader.replace(/^https?:/, "")}`, { auth: auth(), ca: out.caCertificate });
    expect(slaves.status).toBe(200);
    expect((JSON.parse(slaves.body).slaves as { hostname: string; active: boolean }[]).filter((s) => s.active).length).toBe(1);
    // Every master holds the backed-up replica of the log; m1's own data is kept aside, not deleted.
    for (const m of masters) expect(await replica(m)).toBe(backedUpReplica);
    expect(await sshOk(masters[0].name, "ls -d /var/lib/zookeeper/pre-restore-*/version-2 | wc -l")).toBe("1\n");

    // The stack did not change: the next `pulumi up` converges without touching a host.
    const up = await ws.withEvents(["up", "--yes", "--skip-preview"], { timeoutMs: 900_000 });
    expect(up.code, up.output.slice(-3000)).toBe(0);
    expect(steps(up.events).filter((s) => s.op === "update" || s.op === "replace").map((s) => urnName(s.urn))).toEqual([]);
  }, 1_800_000);

  it("the offline way to another size: backup, destroy, one master, restore: the apps come back", async () => {
    const b = await npm("backup", ["--stack", STACK, "--to", dir]);
    expect(b.code, b.output).toBe(0);
    const path = /\[backup\] backup: (\S+)/.exec(b.output)![1];
    const t0 = Date.now();
    await ws.ok(["destroy", "--yes", "--skip-preview"], { timeoutMs: 1_200_000 });
    // m2 and m3 out of the host list: one master (h5) and the agent.
    await ws.ok(["config", "rm", "--path", "elastic-mesos:baremetal.hosts[2]"]);
    await ws.ok(["config", "rm", "--path", "elastic-mesos:baremetal.hosts[1]"]);
    await ws.ok(["up", "--yes", "--skip-preview"], { timeoutMs: 1_500_000 });
    out = JSON.parse((await ws.ok(["stack", "output", "--json", "--show-secrets"])).stdout);
    expect(await apps()).toEqual([]); // a new cluster knows no app
    const r = await npm("restore", ["--stack", STACK, "--from", path, "--yes"]);
    expect(r.code, r.output).toBe(0);
    console.log(`[backup] 3 → 1 master offline (backup, destroy, up, restore): ${((Date.now() - t0) / 1000).toFixed(1)} s\n` +
      r.output.split("\n").filter((l) => l.includes("ready on")).join("\n"));
    expect(await apps()).toEqual(["/kept"]);
  }, 1_800_000);
});

/** ZooKeeper's mode on a master, asked there (2181 is open to the cluster's hosts only). */
async function modeOn(m: LabHost): Promise<string> {
  return (await sshOk(m.name, `timeout 5 bash -c 'exec 3<>/dev/tcp/${m.ip}/2181 && printf srvr >&3 && cat <&3' | ` +
    "sed -n 's/^Mode: //p'")).trim();
}

/** A command on this machine (the test's own), its stdout; throws when it fails. */
async function here(cmd: string): Promise<string> {
  const r = await run("bash", ["-c", cmd]);
  if (r.code !== 0) throw new Error(`${cmd}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}
