// The ZooKeeper ACL migration of a clusterSecret rotation (provisioning/rotation/zk-acls.ts), for real: the lab
// mirror's Apache ZooKeeper runs on this machine's loopback with the old super digest, znodes are created the way
// Mesos (EVERYONE_READ_CREATOR_ALL) and Marathon (CREATOR_ALL, a world-readable latch) create them with the old
// digest credentials, and the product's shell lines migrate them: first to both generations (old and new clients
// both work, while the server still knows only the old super user), then, after the server restarted with the
// new super digest, to the new one alone (the old credentials are refused, Marathon's state reads back intact).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { deriveCredentials } from "../../provisioning/credentials";
import { aclMigration, znodeTrees } from "../../provisioning/rotation/zk-acls";
import { superDigest } from "../../provisioning/steps/zookeeper";
import { waitFor, ZK_VERSION, zkTarballUrl } from "../fixtures/lab";

const skip = inject("labSkipReason");
const OLD = deriveCredentials("lab-zk-acls-old-secret-00001", "labacl");
const NEW = deriveCredentials("lab-zk-acls-new-secret-00002", "labacl");
const APP = '{"id":"/web","cmd":"python3 -m http.server $PORT0","instances":2}';

let dir = "";
let zkHome = "";
let port = 0;
let server: ChildProcess | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
    s.on("error", reject);
  });
}

/** A real standalone ZooKeeper on 127.0.0.1:port whose super user has this password. */
async function startZk(superPassword: string): Promise<void> {
  server = spawn("java", [
    "-Xmx256m", `-Dzookeeper.DigestAuthenticationProvider.superDigest=${superDigest(superPassword)}`,
    "-Dzookeeper.admin.enableServer=false", "-Dzookeeper.4lw.commands.whitelist=srvr",
    "-cp", `${zkHome}/lib/*`, "org.apache.zookeeper.server.ZooKeeperServerMain", String(port), join(dir, "data"),
  ], { stdio: "ignore" });
  await waitFor("ZooKeeper on loopback serves", async () => zkCli(["ls /"]).includes("zookeeper]"), 60_000, 1000);
}

async function stopZk(): Promise<void> {
  const s = server;
  server = undefined;
  if (!s || s.exitCode !== null) return;
  await new Promise<void>((resolve) => { s.once("exit", () => resolve()); s.kill("SIGTERM"); });
}

/** zkCli's output for these commands, as a session authenticated with each digest user:password given. */
function zkCli(commands: string[], auth: [string, string][] = []): string {
  const input = [...auth.map(([u, p]) => `addauth digest ${u}:${p}`), ...commands, "quit", ""].join("\n");
  const r = spawnSync(`${zkHome}/bin/zkCli.sh`, ["-server", `127.0.0.1:${port}`], { input, encoding: "utf8", timeout: 60_000 });
  return `${r.stdout}${r.stderr}`;
}

/** Runs the product's migration lines with em-lib's helpers as the step runner defines them, against loopback. */
function migrate(passwords: { mesos: string[]; marathon: string[] }, supers: string[]): { code: number; out: string } {
  const files = supers.map((p, i) => {
    const f = join(dir, `super-${i}`);
    writeFileSync(f, p, { mode: 0o400 });
    return f;
  });
  const script = [
    "set -eu",
    `em_zk_cli() { timeout 60 ${zkHome}/bin/zkCli.sh -server "$2:${port}" 2>&1; }`,
    "em_fail() { echo \"FAILED: $*\" >&2; exit 1; }",
    "em_mark() { echo \"changed: $1\"; }",
    ...aclMigration(ZK_VERSION, "127.0.0.1", znodeTrees(passwords), files),
  ].join("\n");
  const r = spawnSync("bash", ["-c", script], { encoding: "utf8", timeout: 300_000 });
  for (const f of files) rmSync(f);
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const as = (user: "mesos" | "marathon", c: typeof OLD): [string, string][] =>
  [[user, user === "mesos" ? c.zkMesosPassword : c.zkMarathonPassword]];
const DENIED = /Insufficient permission/;

describe.skipIf(skip)("ZooKeeper ACL migration of a clusterSecret rotation (real ZooKeeper on loopback)", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "em-zk-acls-"));
    const tgz = join(dir, "zk.tgz");
    const r = spawnSync("curl", ["-fsSo", tgz, zkTarballUrl(ZK_VERSION)]);
    if (r.status !== 0) throw new Error(`cannot fetch ZooKeeper from the lab mirror: ${r.stderr}`);
    spawnSync("tar", ["-xzf", tgz, "-C", dir]);
    zkHome = join(dir, `apache-zookeeper-${ZK_VERSION}-bin`);
    port = await freePort();
    await startZk(OLD.zkSuperPassword);
    // What Mesos and Marathon create with the old credentials (their ACLs: steps/mesos-master.ts, steps/marathon.ts).
    zkCli(["create /mesos '' world:anyone:r,auth::cdrwa",
      "create /mesos/log_replicas '' world:anyone:r,auth::cdrwa",
      "create /mesos/json.info_0000000001 '{\"id\":\"m1\"}' world:anyone:r,auth::cdrwa"], as("mesos", OLD));
    zkCli(["create /marathon '' auth::cdrwa", "create /marathon/state '' auth::cdrwa",
      "create /marathon/state/app '' auth::cdrwa", `create /marathon/state/app/web '${APP}' auth::cdrwa`,
      "create /marathon/leader-curator '' world:anyone:r,auth::cdrwa",
      "create /marathon/leader-curator/_c_1-latch-0000000000 'm1:8080' world:anyone:r,auth::cdrwa"], as("marathon", OLD));
  }, 180_000);

  afterAll(async () => {
    await stopZk();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("without the migration, Marathon's new credentials cannot read its own state (what it prevents)", () => {
    expect(zkCli(["get /marathon/state/app/web"], as("marathon", NEW))).toMatch(DENIED);
    expect(zkCli(["get /marathon/state/app/web"], as("marathon", OLD))).toContain('"id":"/web"');
  });

  it("a migration without the super user's password is refused and changes nothing", () => {
    const r = migrate({ mesos: [OLD.zkMesosPassword, NEW.zkMesosPassword], marathon: [OLD.zkMarathonPassword, NEW.zkMarathonPassword] },
      [NEW.zkSuperPassword, "not-the-super-password-at-all"]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/ACL migration through 127\.0\.0\.1 refused|lacks an id/);
    expect(r.out).not.toContain(NEW.zkSuperPassword);
    expect(zkCli(["get /marathon/state/app/web"], as("marathon", NEW))).toMatch(DENIED);
  }, 120_000);

  it("during the rotation both generations' credentials work, with the server still on the old super user", () => {
    const r = migrate({ mesos: [OLD.zkMesosPassword, NEW.zkMesosPassword], marathon: [OLD.zkMarathonPassword, NEW.zkMarathonPassword] },
      [NEW.zkSuperPassword, OLD.zkSuperPassword]);
    expect(r.out).not.toContain(OLD.zkSuperPassword);
    expect(r.code, r.out).toBe(0);
    for (const c of [OLD, NEW]) {
      expect(zkCli(["get /marathon/state/app/web"], as("marathon", c))).toContain('"id":"/web"');
      expect(zkCli(["set /mesos/log_replicas x"], as("mesos", c))).not.toMatch(DENIED);
    }
    // Marathon with the new credentials writes its state as a new app would be.
    expect(zkCli([`create /marathon/state/app/api '{"id":"/api"}' auth::cdrwa`], as("marathon", NEW))).not.toMatch(DENIED);
  }, 180_000);

  it("once finished, only the new credentials work, world reads stay, and Marathon's state is intact", async () => {
    await stopZk();
    await startZk(NEW.zkSuperPassword); // every server restarted with the new super digest during the rotation
    const r = migrate({ mesos: [NEW.zkMesosPassword], marathon: [NEW.zkMarathonPassword] }, [NEW.zkSuperPassword, OLD.zkSuperPassword]);
    expect(r.code, r.out).toBe(0);
    expect(zkCli(["get /marathon/state/app/web"], as("marathon", OLD))).toMatch(DENIED);
    expect(zkCli(["set /mesos/log_replicas y"], as("mesos", OLD))).toMatch(DENIED);
    expect(zkCli(["get /marathon/state/app/web"], as("marathon", NEW))).toContain(APP.slice(0, 30));
    expect(zkCli(["get /marathon/state/app/api"], as("marathon", NEW))).toContain('"id":"/api"');
    expect(zkCli(["set /mesos/log_replicas z"], as("mesos", NEW))).not.toMatch(DENIED);
    // Agents and Marathon's --master read /mesos, Marathon instances its latch, all without a credential.
    expect(zkCli(["get /mesos/json.info_0000000001"])).toContain('"id":"m1"');
    expect(zkCli(["get /marathon/leader-curator/_c_1-latch-0000000000"])).toContain("m1:8080");
    expect(zkCli(["get /marathon/state/app/web"])).toMatch(DENIED);
    // The old super user is gone with the old secret: it may not migrate anything back.
    const back = migrate({ mesos: [OLD.zkMesosPassword], marathon: [OLD.zkMarathonPassword] }, [OLD.zkSuperPassword]);
    expect(back.code).not.toBe(0);
    expect(zkCli(["get /marathon/state/app/web"], as("marathon", OLD))).toMatch(DENIED);
  }, 240_000);
});
