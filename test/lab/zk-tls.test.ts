// ZooKeeper over TLS, for real, on lab hosts h11-h13 (the real Apache ZooKeeper of the lab mirror, ZK_VERSION):
// the rendered steps 1-2 with the cluster CA form a quorum whose quorum and election links speak only TLS,
// a plaintext peer gets no ZooKeeper handshake, and the TLS client port serves a client that presents a
// certificate of the cluster CA and verifies the server against it, while refusing one without a cluster
// certificate. The plaintext client port that Mesos needs still answers. Each host is left clean.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { labArtifacts } from "../fixtures/lab-cluster";
import { deriveCredentials } from "../../provisioning/credentials";
import { renderStepScripts, type StepScript } from "../../provisioning/render/ssh-plan";
import { renderSteps } from "../../provisioning/steps";
import type { BootstrapInput, Step } from "../../provisioning/steps/types";
import { ZK_KEYSTORE, ZK_TRUSTSTORE } from "../../provisioning/steps/zookeeper";
import { cleanupPlan, renderCleanupScript } from "../../provisioning/baremetal/cleanup";
import type { CleanupPlan } from "../../provisioning/baremetal/types";
import type { NodeSpec } from "../../components/contracts";
import { caCertificate, nodeTls } from "../../provisioning/tls";
import { labInfo, remnants, run, ssh, waitFor, ZK_VERSION, zkMode, type RunResult } from "../fixtures/lab";
import { waitForAptLocks } from "../fixtures/apt-locks";

const skip = inject("labSkipReason");
const MASTERS = ["h11", "h12", "h13"];
const SECRET = "lab-zk-tls-test-secret-000001";
const CLUSTER = "labtls";
const STEP_SECONDS = 480;
const SSH_MS = (STEP_SECONDS + 60) * 1000;
const CLEAN_MS = 600_000;

const ip = (h: string) => labInfo().hosts.find((x) => x.name === h)!.ip;

async function inputs(): Promise<BootstrapInput[]> {
  const artifacts = await labArtifacts();
  const masters = MASTERS.map((h, i) => ({ id: `m${i + 1}`, zkId: i + 1, ip: ip(h), hostname: h }));
  return masters.map((m, i) => {
    const node: NodeSpec = { id: m.id, hostname: m.hostname, role: "master", ordinal: i + 1, zkId: m.zkId, size: "lab", diskGb: 1,
      resources: {}, attributes: {}, containerizers: ["mesos"], taskUser: "" };
    return { cluster: CLUSTER, os: "debian-12", node, masters, quorum: 2, artifacts, credentials: deriveCredentials(SECRET, CLUSTER),
      tls: nodeTls(SECRET, CLUSTER, { id: m.id, hostname: m.hostname, ip: m.ip }) };
  });
}

const byName = (steps: StepScript[], name: string): StepScript => steps.find((s) => s.step === name)!;

async function runStep(h: string, s: StepScript): Promise<RunResult> {
  const r = await ssh(h, `EM_STEP_SECONDS=${STEP_SECONDS}\n${s.script}`, SSH_MS);
  if (r.code !== 0) throw new Error(`${h} step ${s.step}: exit ${r.code}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`);
  return r;
}

/** The product's own cleanup (what `pulumi destroy` runs on a bare-metal host) for these nodes' steps. */
function cleanScript(steps: Step[]): string {
  const p = cleanupPlan(steps);
  const plan: CleanupPlan = { units: p.units, files: p.files, dirs: p.dirs, users: p.users, packages: p.packages, images: p.images };
  return `${waitForAptLocks()}\n${renderCleanupScript(plan, [])}`;
}


/**
 * A plaintext learner: connects to host:port, sends what a follower sends first on the quorum port (a jute
 * QuorumPacket FOLLOWERINFO: type 11, zxid, LearnerInfo{sid 99, protocol 0x10000, config version}, no auth)
 * and returns every byte the server answers within 3 s. A plaintext leader answers LEADERINFO (type 17).
 */
function plaintextPeer(host: string, port: number): Promise<Buffer> {
  const info = Buffer.alloc(20);
  info.writeBigInt64BE(99n, 0);
  info.writeInt32BE(0x10000, 8);
  info.writeBigInt64BE(0n, 12);
  const head = Buffer.alloc(16);
  head.writeInt32BE(11, 0);
  head.writeBigInt64BE(0n, 4);
  head.writeInt32BE(info.length, 12);
  const tail = Buffer.alloc(4);
  tail.writeInt32BE(-1, 0);
  const packet = Buffer.concat([head, info, tail]);
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const s = connect({ host, port, timeout: 3000 }, () => s.write(packet));
    s.on("data", (d) => got.push(d));
    const done = () => resolve(Buffer.concat(got));
    s.on("close", done);
    s.on("error", () => undefined);
    s.on("timeout", () => s.destroy());
  });
}

describe.skipIf(skip)("ZooKeeper TLS on lab hosts h11-h13", () => {
  let steps: Step[][];
  let scripts: StepScript[][];
  let clean: string[];
  const dir = mkdtempSync(join(tmpdir(), "em-zktls-"));
  const file = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content, { mode: 0o600 });
    return p;
  };

  beforeAll(async () => {
    const i = await inputs();
    steps = i.map((x) => renderSteps(x));
    scripts = steps.map((s) => renderStepScripts(s));
    clean = steps.map(cleanScript);
    await Promise.all(MASTERS.map((h, k) => ssh(h, clean[k], CLEAN_MS)));
  }, CLEAN_MS + 60_000);

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (!clean) return;
    await Promise.all(MASTERS.map((h, k) => ssh(h, clean[k], CLEAN_MS)));
    const left = await Promise.all(MASTERS.map(async (h) => [h, await remnants(h)] as const));
    const dirty = left.filter(([, l]) => l.length);
    if (dirty.length) throw new Error(`zk-tls cleanup left: ${dirty.map(([h, l]) => `${h}: ${l.join(", ")}`).join("; ")}`);
  }, CLEAN_MS + 60_000);

  it("steps 1-2 form a 3-server quorum over TLS links; the key is ZooKeeper's alone", async () => {
    const t0 = Date.now();
    await Promise.all(MASTERS.map((h, k) => runStep(h, byName(scripts[k], "install"))));
    const t1 = Date.now();
    const step2 = await Promise.all(MASTERS.map((h, k) => runStep(h, byName(scripts[k], "zookeeper"))));
    console.log(`[zk-tls] install ${((t1 - t0) / 1000).toFixed(1)} s, zookeeper with TLS ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    for (const r of step2) expect(r.stdout).toMatch(/healthy: ZooKeeper on 10\.77\.0\.\d+ is leader or follower/);
    const modes = await Promise.all(MASTERS.map(zkMode));
    expect(modes.sort()).toEqual(["follower", "follower", "leader"]);
    const facts = await ssh("h11", `stat -c '%n %a %U %G' ${ZK_KEYSTORE} ${ZK_TRUSTSTORE}
grep -c '^sslQuorum=true$' /etc/zookeeper/zoo.cfg
runuser -u nobody -- cat ${ZK_KEYSTORE} >/dev/null 2>&1 && echo "nobody can read the key" || echo "nobody: denied"`);
    expect(facts.stdout.split("\n")).toEqual([`${ZK_KEYSTORE} 400 zookeeper zookeeper`, `${ZK_TRUSTSTORE} 444 zookeeper zookeeper`, "1", "nobody: denied", ""]);
    // The quorum formed over TLS: ZooKeeper says so, and its election socket accepts TLS only.
    const log = (await ssh("h11", "journalctl -u zookeeper --no-pager -q")).stdout;
    expect(log).toContain("Using TLS encrypted quorum communication");
    expect(log).toContain("Creating TLS-only quorum server socket");
    expect(log).toMatch(/configure org\.apache\.zookeeper\.server\.NettyServerCnxnFactory@\w+ secure: true on addr .*:2281/);
  }, 4 * SSH_MS);

  it("the quorum and election ports refuse a plaintext peer: no ZooKeeper handshake, a TLS error in the server's log", async () => {
    const modes = await Promise.all(MASTERS.map(zkMode));
    const leader = MASTERS[modes.indexOf("leader")];
    const since = (await ssh(leader, "date +%s")).stdout.trim();
    for (const port of [2888, 3888]) {
      const answer = await plaintextPeer(ip(leader), port);
      // A plaintext leader answers a QuorumPacket (a 4-byte type starting 00 00 00); a TLS one at most a TLS alert (0x15).
      expect(answer.length === 0 || answer[0] === 0x15, `port ${port} answered ${answer.subarray(0, 16).toString("hex")}`).toBe(true);
    }
    // ZooKeeper's TLS-only sockets name the refusal: once for the learner port (2888), once for election (3888).
    let seen = "";
    await waitFor("the leader to log both refused plaintext peers", async () => {
      seen = (await ssh(leader, `journalctl -u zookeeper --no-pager -q --since @${since} | grep -v '^\\S* \\S* \\S* \\S* [^:]*:\\s*at ' || true`)).stdout;
      return seen.split("\n").filter((l) => l.includes("Blocked insecure connection attempt")).length >= 2 || undefined;
    }, 20_000, 1000).catch((e) => { throw new Error(`${e.message}\nleader log since the probes:\n${seen.slice(-3000)}`); });
    expect(seen).toMatch(/\[LearnerHandler-\/10\.77\.0\.1:\d+:LearnerHandler@\d+\] - Unexpected exception in LearnerHandler:\n.*java\.io\.IOException: Blocked insecure connection attempt/);
    expect(seen).toMatch(/\[ListenerHandler-\/[\d.]+:3888:QuorumCnxManager@\d+\] - Exception reading or writing challenge\n.*java\.io\.IOException: Blocked insecure connection attempt/);
    console.log(`[zk-tls] leader ${leader} on the plaintext peers:\n${seen.split("\n").filter((l) => /Blocked|GOODBYE|challenge/.test(l)).join("\n")}`);
    // And the ensemble is untouched.
    expect((await Promise.all(MASTERS.map(zkMode))).sort()).toEqual(["follower", "follower", "leader"]);
  }, 120_000);

  it("the TLS client port (2281) serves a client with a cluster certificate and verifies against the CA", async () => {
    const client = nodeTls(SECRET, CLUSTER, { id: "client", hostname: "lab-client", ip: "10.77.0.1" });
    const ca = file("ca.pem", caCertificate(SECRET, CLUSTER));
    const args = (certKey: boolean, caFile: string) => ["s_client", "-connect", `${ip("h11")}:2281`, "-CAfile", caFile, "-verify_return_error",
      "-verify_ip", ip("h11"), "-quiet", ...(certKey ? ["-cert", file("client.crt", client.cert), "-key", file("client.key", client.key)] : [])];
    // `srvr` over the TLS connection: ZooKeeper answers only after the mutual handshake.
    const ok = await run("openssl", args(true, ca), { input: "srvr", timeoutMs: 15_000 });
    expect(ok.stdout, ok.stderr).toMatch(new RegExp(`^Zookeeper version: ${ZK_VERSION.replaceAll(".", "\\.")}-`, "m"));
    expect(ok.stdout).toMatch(/^Mode: (leader|follower)$/m);
    // The server certificate does not verify against another cluster's CA (a rotated secret).
    const other = await run("openssl", args(true, file("other-ca.pem", caCertificate(`${SECRET}-other`, CLUSTER))), { input: "srvr", timeoutMs: 15_000 });
    expect(other.code).not.toBe(0);
    expect(other.stdout).not.toContain("Zookeeper version");
    expect(other.stderr).toMatch(/verify error|certificate verify failed|unable to get local issuer/);
    // A client without a cluster certificate gets nothing (ssl.clientAuth=need).
    const anon = await run("openssl", args(false, ca), { input: "srvr", timeoutMs: 15_000 });
    expect(anon.stdout).not.toContain("Zookeeper version");
    // The real ZooKeeper client over TLS, from h12 with h12's own certificate, to h11.
    const cli = await ssh("h12", `cd /tmp && timeout 60 env CLIENT_JVMFLAGS="-Dzookeeper.client.secure=true \\
-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty \\
-Dzookeeper.ssl.keyStore.location=${ZK_KEYSTORE} -Dzookeeper.ssl.keyStore.type=PEM \\
-Dzookeeper.ssl.trustStore.location=${ZK_TRUSTSTORE} -Dzookeeper.ssl.trustStore.type=PEM" \\
  /opt/zookeeper/bin/zkCli.sh -server ${ip("h11")}:2281 ls / 2>&1`, 90_000);
    expect(cli.stdout).toMatch(/^\[zookeeper\]$/m);
  }, 180_000);

  it("the plaintext client port still serves Mesos' and Marathon's ZooKeeper clients", async () => {
    expect((await Promise.all(MASTERS.map(zkMode))).every((m) => m === "leader" || m === "follower")).toBe(true);
  });

  it("re-rendering and re-running step 2 changes nothing: the certificates are the same bytes", async () => {
    const again = (await inputs()).map((x) => renderStepScripts(renderSteps(x)));
    expect(again.map((s) => createHash("sha256").update(byName(s, "zookeeper").script).digest("hex")))
      .toEqual(scripts.map((s) => createHash("sha256").update(byName(s, "zookeeper").script).digest("hex")));
    const r = await Promise.all(MASTERS.map((h, k) => runStep(h, byName(again[k], "zookeeper"))));
    for (const x of r) expect(x.stdout).toMatch(/done: unchanged\n$/);
  }, 2 * SSH_MS);
});
