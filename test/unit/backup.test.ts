// Backups (provisioning/backup): which master each piece is copied from and when a backup is refused, the
// stack facts read from `pulumi stack export`, the manifest check a restore starts with, and the copy and swap
// scripts run for real by bash in a temporary directory (paths moved there, systemctl and chown stubbed). The
// whole round trip through the CLI on lab hosts is test/e2e/backup.test.ts.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { logSource, stampOf, zkSource } from "../../provisioning/backup/backup";
import { MANIFEST, readBackup, sha256, type Manifest } from "../../provisioning/backup/manifest";
import type { MasterSeen } from "../../provisioning/backup/masters";
import { parseSeen } from "../../provisioning/backup/masters";
import { MESOS_WORK_DIR, RESTORE_DIR, ZK_DATA, mesosLogCopyScript, swapScript, zkCopyScript } from "../../provisioning/backup/scripts";
import { readinessOf, stackFacts } from "../../provisioning/backup/stack";
import { restore } from "../../provisioning/backup/restore";

const target = { host: "10.0.0.11", port: 22, user: "root", privateKey: "k" };
const seen = (id: string, zk: string, mesos: number | undefined, extra: Partial<MasterSeen> = {}): MasterSeen =>
  ({ id, ip: `10.0.0.${10 + Number(id.slice(1))}`, target, zk, mesos, ...extra });

describe("where a backup copies from", () => {
  it("ZooKeeper's data from its one leader; none or two leaders refuse, naming every master's state", () => {
    expect((zkSource([seen("m1", "follower", 1), seen("m2", "leader", 0), seen("m3", "follower", 0)]) as MasterSeen).id).toBe("m2");
    expect((zkSource([seen("m1", "standalone", 1)]) as MasterSeen).id).toBe("m1");
    const none = zkSource([seen("m1", "", undefined), seen("m2", "", undefined, { unreachable: "connect ETIMEDOUT" }), seen("m3", "", 0)]);
    expect(none).toMatch(/^ZooKeeper has no leader \(m1 \(10\.0\.0\.11\): zookeeper not serving, mesos not answering; m2 .*unreachable/);
    expect(none).toContain("npm run restore");
    expect(zkSource([seen("m1", "leader", 1), seen("m2", "leader", 0)])).toMatch(/^ZooKeeper has 2 leaders/);
  });

  it("the replicated log from a standby (the highest id), only while every master answers; a single master itself", () => {
    expect((logSource([seen("m1", "leader", 0), seen("m2", "follower", 1), seen("m3", "follower", 0)]) as MasterSeen).id).toBe("m3");
    expect((logSource([seen("m1", "leader", 0), seen("m2", "follower", 1), seen("m3", "follower", 1)]) as MasterSeen).id).toBe("m1");
    expect((logSource([seen("m1", "leader", 1)]) as MasterSeen).id).toBe("m1");
    const down = logSource([seen("m1", "leader", 1), seen("m2", "follower", 0), seen("m3", "", undefined)]);
    expect(down).toMatch(/^a backup stops one standby mesos-master .* and m3 does not answer .*bring it back first/);
  });

  it("reads the leadership probe's answer; an empty metric is a master that did not answer", () => {
    const m = { id: "m1", ip: "10.0.0.11", target };
    expect(parseSeen(m, "zookeeper=leader\nmesos=1\n")).toMatchObject({ zk: "leader", mesos: 1 });
    expect(parseSeen(m, "zookeeper=\nmesos=\n")).toMatchObject({ zk: "", mesos: undefined });
  });

  it("names a backup by its UTC time, to the second", () => {
    expect(stampOf(new Date("2026-12-03T10:15:07.123Z"))).toBe("20261203T101507Z");
  });
});

describe("the stack facts", () => {
  const urn = (type: string, name: string) => `urn:pulumi:s::elastic-mesos::elastic-mesos:index:MesosCluster$${type}::${name}`;
  const outputs = { cluster: "prod", masters: [{ id: "m1", ip: "10.0.0.11", connection: { host: "10.0.0.11", port: 22, user: "root" } }],
    hostKeys: {} };

  it("come from the readiness resource's outputs in the exported state", () => {
    const exported = { deployment: { resources: [
      { urn: urn("pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host", "prod-m1-bootstrap"), outputs: { cluster: "x" } },
      { urn: urn("pulumi-nodejs:dynamic/elastic-mesos/health:Readiness", "prod-ready"), outputs },
    ] } };
    expect(readinessOf(exported, "s").cluster).toBe("prod");
  });

  it("a missing secret names its config key; any other CLI failure (a wrong passphrase) keeps its own message", async () => {
    const exported = JSON.stringify({ deployment: { resources: [
      { urn: urn("pulumi-nodejs:dynamic/elastic-mesos/health:Readiness", "prod-ready"), outputs }] } });
    const cli = (config: (key: string) => string) => async (args: string[]) =>
      (args[0] === "stack" ? exported : config(args[2]));
    const missing = cli(() => { throw new Error("error: configuration key 'elastic-mesos:sshPrivateKey' not found for stack 'prod'"); });
    await expect(stackFacts("prod", false, missing)).rejects.toThrow(/stack prod has no elastic-mesos:sshPrivateKey: .*config set --secret/);
    const locked = cli(() => { throw new Error("pulumi config get failed: error: incorrect passphrase"); });
    await expect(stackFacts("prod", false, locked)).rejects.toThrow(/incorrect passphrase/);
    const facts = await stackFacts("prod", false, cli((k) => `${k}-value\n`));
    expect(facts).toMatchObject({ stack: "prod", privateKey: "elastic-mesos:sshPrivateKey-value" });
    expect(facts.clusterSecret).toBeUndefined(); // a backup never reads it
  });

  it("a stack without a ready cluster says to run `pulumi up` first", () => {
    expect(() => readinessOf({ deployment: { resources: [] } }, "dev")).toThrow(/stack dev has no cluster .*npm run pulumi -- up --stack dev/);
  });
});

describe("the manifest a restore checks first", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (zk: Buffer, overrides: Partial<Manifest> = {}) => {
    dir = mkdtempSync(join(tmpdir(), "em-backup-"));
    writeFileSync(join(dir, "zookeeper.tar.gz"), zk);
    const m: Manifest = { format: 1, cluster: "prod", stack: "prod", takenAt: "2026-12-03T10:00:00.000Z", masters: ["m1"],
      zookeeper: { file: "zookeeper.tar.gz", bytes: zk.length, sha256: sha256(zk), from: "m1" },
      mesosLog: { absent: "m1 has no /var/lib/mesos/master/replicated_log" }, seconds: 1.2, ...overrides };
    writeFileSync(join(dir, MANIFEST), JSON.stringify(m));
  };

  it("reads a sound backup", () => {
    write(Buffer.from("zk data"));
    expect(readBackup(dir).files["zookeeper.tar.gz"].toString()).toBe("zk data");
  });

  it("a restore refuses another cluster's backup, and a stack read without its cluster secret, before any SSH", async () => {
    write(Buffer.from("zk data"));
    const readiness = { cluster: "staging", masters: [{ id: "m1", ip: "10.0.0.11", connection: { host: "10.0.0.11", port: 22, user: "root" } }] };
    const facts = { stack: "staging", readiness: readiness as never, privateKey: "k", clusterSecret: "0123456789abcdef" };
    await expect(restore(facts, readBackup(dir))).rejects.toThrow(/is a backup of cluster "prod", and stack staging runs cluster "staging": .*--stack prod/);
    await expect(restore({ ...facts, clusterSecret: undefined }, readBackup(dir))).rejects.toThrow(/clusterSecret was not read/);
  });

  it("refuses a damaged file, and a manifest of another shape", () => {
    write(Buffer.from("zk data"));
    writeFileSync(join(dir, "zookeeper.tar.gz"), "zk dat4");
    expect(() => readBackup(dir)).toThrow(/zookeeper\.tar\.gz is not the file the manifest describes .*the backup is damaged/);
    rmSync(dir, { recursive: true });
    write(Buffer.from("x"), { format: 2 as 1 });
    expect(() => readBackup(dir)).toThrow(/is not an elastic-mesos backup manifest \(format:/);
    expect(() => readBackup(join(dir, "nope"))).toThrow(/no readable manifest\.json/);
  });
});

describe("the scripts, run by bash on a directory tree", () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  // The scripts' absolute paths moved under `root`; systemctl and chown recorded instead of run.
  const run = (script: string, stdinLog = "") => {
    const moved = script.replaceAll(ZK_DATA, `${root}${ZK_DATA}`).replaceAll(MESOS_WORK_DIR, `${root}${MESOS_WORK_DIR}`)
      .replaceAll(RESTORE_DIR, `${root}${RESTORE_DIR}`);
    const stubs = `systemctl() { echo "systemctl $*" >> ${root}/calls; [ "$1" != is-active ]; }\nchown() { :; }\n`;
    return execFileSync("bash", ["-c", stubs + moved], { input: stdinLog });
  };
  const seed = () => {
    root = mkdtempSync(join(tmpdir(), "em-scripts-"));
    const v2 = join(root, ZK_DATA, "version-2");
    mkdirSync(v2, { recursive: true });
    for (const f of ["snapshot.100000000", "log.100000001", "currentEpoch", "acceptedEpoch"]) writeFileSync(join(v2, f), `${f}\n`);
    writeFileSync(join(root, ZK_DATA, "myid"), "1\n");
    mkdirSync(join(root, MESOS_WORK_DIR, "replicated_log"), { recursive: true });
    writeFileSync(join(root, MESOS_WORK_DIR, "replicated_log", "CURRENT"), "MANIFEST-000002\n");
  };
  const list = (tgz: Buffer) => execFileSync("tar", ["-tzf", "-"], { input: tgz }).toString().trim().split("\n").sort();

  it("ZooKeeper's copy holds snapshots, logs and epochs, never myid", () => {
    seed();
    expect(list(run(zkCopyScript()))).toEqual(["version-2/", "version-2/acceptedEpoch", "version-2/currentEpoch",
      "version-2/log.100000001", "version-2/snapshot.100000000"]);
  });

  it("the log's copy stops mesos-master and starts it again, even when the copy fails", () => {
    seed();
    expect(list(run(mesosLogCopyScript()))).toEqual(["replicated_log/", "replicated_log/CURRENT"]);
    expect(readFileSync(join(root, "calls"), "utf8")).toBe("systemctl stop mesos-master\nsystemctl start mesos-master\n");
    // A copy that fails (tar stubbed to fail): the master is started all the same.
    rmSync(join(root, "calls"));
    expect(() => run(mesosLogCopyScript().replace("set -euo pipefail", "set -euo pipefail\ntar() { return 2; }"))).toThrow();
    expect(readFileSync(join(root, "calls"), "utf8")).toBe("systemctl stop mesos-master\nsystemctl start mesos-master\n");
  });

  it("the swap moves the current data aside and unpacks the backup's, myid untouched", () => {
    seed();
    const zk = run(zkCopyScript());
    const log = run(mesosLogCopyScript());
    // The live data moves on after the backup.
    writeFileSync(join(root, ZK_DATA, "version-2", "log.200000001"), "newer\n");
    mkdirSync(join(root, RESTORE_DIR), { recursive: true });
    writeFileSync(join(root, RESTORE_DIR, "zookeeper.tar.gz"), zk);
    writeFileSync(join(root, RESTORE_DIR, "replicated-log.tar.gz"), log);
    const out = run(swapScript("20261203T101507Z", true)).toString();
    expect(out).toContain(`moved aside: ${root}${ZK_DATA}/pre-restore-20261203T101507Z ${root}${MESOS_WORK_DIR}/pre-restore-20261203T101507Z`);
    expect(readdirSync(join(root, ZK_DATA, "version-2")).sort()).toEqual(["acceptedEpoch", "currentEpoch", "log.100000001", "snapshot.100000000"]);
    expect(readdirSync(join(root, ZK_DATA, "pre-restore-20261203T101507Z", "version-2"))).toContain("log.200000001");
    expect(readFileSync(join(root, ZK_DATA, "myid"), "utf8")).toBe("1\n");
    expect(readdirSync(join(root, MESOS_WORK_DIR, "pre-restore-20261203T101507Z", "replicated_log"))).toEqual(["CURRENT"]);
    expect(readdirSync(join(root, MESOS_WORK_DIR, "replicated_log"))).toEqual(["CURRENT"]);
    expect(() => readdirSync(join(root, RESTORE_DIR))).toThrow(); // the uploaded archives are gone
  });

  it("the swap refuses to run while a daemon runs, and takes only a time stamp", () => {
    seed();
    const running = swapScript("20261203T101507Z", false).replace("set -euo pipefail", "set -euo pipefail\nsystemctl() { return 0; }");
    expect(() => run(running)).toThrow(/marathon still runs: stop it first/);
    expect(() => swapScript("x; rm -rf /", false)).toThrow(/is not a time stamp/);
  });
});
