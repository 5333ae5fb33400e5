// The parts of a clusterSecret rotation built so far (provisioning/rotation/README.md): the ZooKeeper ACLs the znode
// trees get (test/lab/zk-acls.test.ts runs the migration against a real ZooKeeper), and the cross-signed CA that lets
// peers trusting either CA verify each other, checked by OpenSSL itself.
import { execFile, spawnSync } from "node:child_process";
import { once } from "node:events";
import * as https from "node:https";
import * as tls from "node:tls";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { caCertificate, crossSignedCa, nodeMaterial, nodeTls, rotatingMaterial } from "../../provisioning/tls";
import { deriveCredentials } from "../../provisioning/credentials";
import { renderSteps } from "../../provisioning/steps";
import { PREVIOUS_ADMIN_CURLRC, aclPasses, agentsRotated } from "../../provisioning/steps/rotation";
import { buildContext } from "../../provisioning/steps/context";
import type { BootstrapInput, Step } from "../../provisioning/steps/types";
import { PREVIOUS_SUPER_PASSWORD, ZK_TRUSTSTORE } from "../../provisioning/steps/zookeeper";
import { agentInput, masterInput, masterIp } from "./bootstrap-input";
import { aclMigration, aclText, digestId, znodeTrees } from "../../provisioning/rotation/zk-acls";

describe("ZooKeeper ACLs of a rotation", () => {
  it("digest ids are ZooKeeper's own (the id a real 3.8.6 server printed for `addauth digest mesos:pw`)", () => {
    expect(digestId("mesos", "pw")).toBe("mesos:tM6TH+zm6mqucwOV+irhNmF7feM=");
  });

  it("each tree gets what its owner creates: /mesos and Marathon's latch world-readable, Marathon's state not", () => {
    const trees = znodeTrees({ mesos: ["old-mesos", "new-mesos"], marathon: ["old-marathon", "new-marathon"] });
    expect(trees.map((t) => t.path)).toEqual(["/mesos", "/marathon", "/marathon/leader-curator"]);
    const [mesos, marathon, latch] = trees;
    expect(aclText(mesos.acl)).toBe(`world:anyone:r,digest:${digestId("mesos", "old-mesos")}:cdrwa,digest:${digestId("mesos", "new-mesos")}:cdrwa`);
    expect(marathon.acl.every((e) => e.scheme === "digest" && e.id.startsWith("marathon:") && e.perms === "cdrwa")).toBe(true);
    expect(marathon.acl).toHaveLength(2);
    expect(latch.acl[0]).toEqual({ scheme: "world", id: "anyone", perms: "r" });
    // The latch comes after Marathon's tree: `setAcl -R /marathon` runs first, then the latch gets its world read back.
    expect(trees.indexOf(latch)).toBeGreaterThan(trees.indexOf(marathon));
  });

  it("one generation when no rotation runs; a tree without an owner is refused", () => {
    expect(znodeTrees({ mesos: ["a", "a"], marathon: ["b"] })[0].acl).toHaveLength(2);
    expect(() => znodeTrees({ mesos: [], marathon: ["b"] })).toThrow(/no mesos password/);
  });

  it("the migration pipes passwords from files (none in the lines) and checks the ids it set", () => {
    const trees = znodeTrees({ mesos: ["mesos-password-1"], marathon: ["marathon-password-1"] });
    const lines = aclMigration("3.8.6", "127.0.0.1", trees, ["/etc/zookeeper/super.password", "/etc/zookeeper/super.previous"]).join("\n");
    expect(lines).not.toContain("mesos-password-1");
    expect(lines).toContain(`setAcl -R /mesos ${aclText(trees[0].acl)}`);
    expect(lines).toContain("for f in /etc/zookeeper/super.password /etc/zookeeper/super.previous");
    expect(lines).toContain(`grep -qxF ''\\''digest,'\\''${digestId("marathon", "marathon-password-1")}'`);
    expect(() => aclMigration("3.8.6", "127.0.0.1", trees, [])).toThrow(/no super password file/);
  });
});

describe("the cluster CA during a rotation (openssl verify, strict X.509)", () => {
  const OLD = "rotation-old-secret-0123456789";
  const NEW = "rotation-new-secret-9876543210";
  const M1 = { id: "m1", hostname: "prod-m1", ip: "10.42.1.10" };
  const dir = mkdtempSync(join(tmpdir(), "em-rotation-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  /** A peer trusting `trusted` verifies `leaf`, sent with `chain` after it (what a TLS peer sends). */
  const accepts = (trusted: string[], leaf: string, chain: string[] = []) => {
    const args = ["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", file("trusted.pem", trusted.join(""))];
    if (chain.length) args.push("-untrusted", file("chain.pem", chain.join("")));
    const r = spawnSync("openssl", [...args, file("leaf.pem", leaf)], { encoding: "utf8" });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
  };
  const oldCa = caCertificate(OLD, "prod");
  const newCa = caCertificate(NEW, "prod");
  const cross = crossSignedCa(NEW, OLD, "prod");
  const oldLeaf = nodeTls(OLD, "prod", M1).cert;
  const newLeaf = nodeTls(NEW, "prod", M1).cert;

  it("a host not yet rolled (old CA only) verifies a rolled one through the cross-signed CA, and only through it", () => {
    expect(accepts([oldCa], newLeaf, [cross]).ok).toBe(true);
    expect(accepts([oldCa], newLeaf).ok).toBe(false);
  });

  it("a rolled host (both CAs) verifies both; after the rotation (new CA only) an old certificate is refused", () => {
    expect(accepts([oldCa, newCa], oldLeaf).ok).toBe(true);
    expect(accepts([oldCa, newCa], newLeaf, [cross]).ok).toBe(true);
    expect(accepts([newCa], newLeaf, [cross]).ok).toBe(true);
    expect(accepts([newCa], newLeaf).ok).toBe(true);
    expect(accepts([newCa], oldLeaf).ok).toBe(false);
  });

  it("Java's PKIX trust manager (ZooKeeper's quorum and client TLS) agrees, both CAs sharing the cluster's name", () => {
    const java = (trusted: string[], chain: string[]) => {
      const r = spawnSync("java", [join(__dirname, "../fixtures/java/TrustCheck.java"), file("jt.pem", trusted.join("")),
        file("jc.pem", chain.join(""))], { encoding: "utf8" });
      return `${r.stdout}${r.stderr}`.trim();
    };
    expect(java([oldCa], [newLeaf, cross])).toBe("trusted");
    expect(java([oldCa], [newLeaf])).toMatch(/^refused/);
    expect(java([oldCa, newCa], [oldLeaf])).toBe("trusted");
    expect(java([oldCa, newCa], [newLeaf, cross])).toBe("trusted");
    expect(java([newCa], [newLeaf, cross])).toBe("trusted");
    expect(java([newCa], [oldLeaf])).toMatch(/^refused/);
  }, 60_000);

  it("another cluster's old CA cannot vouch for the new one, and the same secret twice is refused", () => {
    expect(accepts([caCertificate(OLD, "other")], newLeaf, [cross]).ok).toBe(false);
    expect(() => crossSignedCa(OLD, OLD, "prod")).toThrow(/same/);
    expect(crossSignedCa(NEW, OLD, "prod")).toBe(cross); // derived: the same bytes on every render
  });
});

describe("what the steps render while clusterSecret rotates, and after", () => {
  const OLD = deriveCredentials("rotation-old-secret-0123456789", "prod");
  const NEW = deriveCredentials("rotation-new-secret-9876543210", "prod");
  const tls = (secret: string, id: string, ip: string) => nodeMaterial(secret, "prod", { id, hostname: `prod-${id}`, ip }, "master");
  const master = (extra: Partial<BootstrapInput>) =>
    renderSteps({ ...masterInput({ masters: 3 }), credentials: NEW, tls: tls("rotation-new-secret-9876543210", "m1", masterIp(1)), ...extra });
  const agent = (extra: Partial<BootstrapInput>) => renderSteps({ ...agentInput({ masters: 3 }, undefined, 1, "10.0.2.10"), credentials: NEW, ...extra });
  const file = (steps: Step[], path: string) => steps.flatMap((s) => s.files).find((f) => f.path === path);
  const json = (steps: Step[], path: string) => JSON.parse(file(steps, path)!.content);
  const commands = (steps: Step[], step: string) => steps.find((s) => s.name === step)!.commands.join("\n");
  const rotating = { previous: OLD, generation: 1 };

  it("a cluster that never rotated renders what it did: plain principals, no migration, no previous file", () => {
    const steps = master({});
    expect(steps).toEqual(master({ generation: 0 }));
    const creds = json(steps, "/etc/mesos/credentials").credentials.map((c: { principal: string }) => c.principal);
    expect(creds).toEqual(["agent", "marathon", "admin", "health", "drain"]);
    expect(commands(steps, "mesos")).not.toContain("setAcl");
    expect(steps.flatMap((s) => s.files).map((f) => f.path)).not.toContain(PREVIOUS_SUPER_PASSWORD);
  });

  it("while rotating, masters accept both generations of the agents' principals, and the rest switches", () => {
    const steps = master(rotating);
    const creds: { principal: string; secret: string }[] = json(steps, "/etc/mesos/credentials").credentials;
    const secretOf = (p: string) => creds.filter((c) => c.principal === p).map((c) => c.secret);
    expect(secretOf("agent-1")).toEqual([NEW.agentSecret]);
    expect(secretOf("agent")).toEqual([OLD.agentSecret]);
    expect(secretOf("drain-1")).toEqual([NEW.drainPassword]);
    expect(secretOf("drain")).toEqual([OLD.drainPassword]);
    // One secret per principal in Mesos: these switch in the master's turn.
    expect(secretOf("marathon")).toEqual([NEW.marathonSecret]);
    expect(secretOf("admin")).toEqual([NEW.adminPassword]);
    const acl = json(steps, "/etc/mesos/acls.json");
    expect(acl.register_agents[0].principals.values).toEqual(["agent-1", "agent"]);
    expect(acl.drain_agents[0].principals.values).toEqual(["drain-1", "drain"]);
    expect(file(steps, PREVIOUS_SUPER_PASSWORD)).toMatchObject({ content: OLD.zkSuperPassword, mode: "0400", secret: true });
    expect(file(steps, PREVIOUS_ADMIN_CURLRC)?.content).toContain(OLD.adminPassword);
    // The migration runs before mesos-master restarts with its new digest, and again after Marathon did.
    const mesos = commands(steps, "mesos");
    const at = (s: string) => mesos.indexOf(s);
    expect(at("setAcl -R /mesos")).toBeGreaterThan(-1);
    expect(at("setAcl -R /mesos")).toBeLessThan(at("em_service mesos-master"));
    expect(mesos.lastIndexOf("setAcl -R /mesos")).toBeGreaterThan(at("em_service marathon"));
    expect(mesos).toContain(digestId("marathon", OLD.zkMarathonPassword));
    expect(mesos).toContain(digestId("marathon", NEW.zkMarathonPassword));
    expect(steps[0].owner).toEqual({ cluster: "prod", id: NEW.ownerId, previousId: OLD.ownerId });
  });

  it("while rotating, an agent switches to the new generation's principals", () => {
    const steps = agent(rotating);
    expect(json(steps, "/etc/mesos/credential")).toEqual({ principal: "agent-1", secret: NEW.agentSecret });
    expect(file(steps, "/etc/elastic-mesos/drain.curlrc")?.content).toBe(`user = "drain-1:${NEW.drainPassword}"\n`);
  });

  it("after the rotation, only the new generation: old principals, ids and files go", () => {
    const steps = master({ generation: 1 });
    const creds = json(steps, "/etc/mesos/credentials").credentials.map((c: { principal: string }) => c.principal);
    expect(creds).toEqual(["agent-1", "marathon", "admin", "health", "drain-1"]);
    const mesos = commands(steps, "mesos");
    expect(mesos).toContain(digestId("marathon", NEW.zkMarathonPassword));
    expect(mesos).not.toContain(digestId("marathon", OLD.zkMarathonPassword));
    expect(mesos).toContain(`rm -f -- "$f"`);
    expect(commands(steps, "zookeeper")).toContain(`for f in ${PREVIOUS_SUPER_PASSWORD} `);
    expect(steps[0].owner).toEqual({ cluster: "prod", id: NEW.ownerId });
  });

  it("after the rotation, the ZooKeeper passes run in the `up` that ends it only (the previous files still there)", () => {
    const work = mkdtempSync(join(tmpdir(), "em-acl-passes-"));
    try {
      const [current, previous, marker, calls] = ["super", "super.previous", "admin.previous.curlrc", "calls"].map((f) => join(work, f));
      writeFileSync(current, "pw");
      const run = (input: Partial<BootstrapInput>) => {
        const { before } = aclPasses(buildContext({ ...masterInput({ masters: 3 }), credentials: NEW, ...input }), { current, previous });
        writeFileSync(calls, "");
        const script = ["set -euo pipefail", `em_zk_cli() { echo zkCli >> ${calls}; cat > /dev/null; }`,
          'em_fail() { echo "FAILED: $*" >&2; exit 1; }', "em_mark() { :; }", ...before].join("\n").replaceAll(PREVIOUS_ADMIN_CURLRC, marker);
        const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
        expect(r.status, r.stderr).toBe(0);
        return readFileSync(calls, "utf8").split("\n").filter(Boolean).length;
      };
      writeFileSync(marker, "");
      expect(run({ generation: 1 })).toBe(1); // the `up` that ends the rotation
      rmSync(marker);
      expect(run({ generation: 1 })).toBe(0); // any later run of the step
      writeFileSync(previous, "old");
      expect(run({ generation: 1, previous: OLD })).toBe(1); // while rotating: always
      expect(run({})).toBe(0); // never rotated: nothing rendered
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("the TLS material of a rotating host: both CAs trusted, the cross-signed CA sent after its own certificate", () => {
    const m = rotatingMaterial(tls("rotation-new-secret-9876543210", "m1", masterIp(1)), "rotation-new-secret-9876543210",
      "rotation-old-secret-0123456789", "prod");
    const count = (pem: string) => (pem.match(/BEGIN CERTIFICATE/g) ?? []).length;
    expect(count(m.caCert)).toBe(2);
    expect(count(m.cert)).toBe(2);
    expect(m.cert.endsWith(crossSignedCa("rotation-new-secret-9876543210", "rotation-old-secret-0123456789", "prod"))).toBe(true);
    // Java's trust stores take each CA under an alias of its own (keytool imports one per alias): Marathon's, and
    // ZooKeeper's, whose PEM loader would keep one CA of the two (they share the cluster's name).
    const steps = renderSteps({ ...masterInput({ masters: 3 }), credentials: NEW, ...rotating, tls: m });
    expect(commands(steps, "mesos")).toContain('-alias "elastic-mesos-ca-${n%.pem}"');
    expect(commands(steps, "zookeeper")).toContain('-alias "cluster-ca-${n%.pem}"');
    expect(file(steps, "/etc/zookeeper/zoo.cfg")?.content).toContain("ssl.quorum.trustStore.type=PKCS12");
    const after = renderSteps({ ...masterInput({ masters: 3 }), credentials: NEW, generation: 1,
      tls: tls("rotation-new-secret-9876543210", "m1", masterIp(1)) });
    expect(file(after, "/etc/zookeeper/zoo.cfg")?.content).toContain("ssl.quorum.trustStore.type=PEM");
    expect(commands(after, "zookeeper")).toContain("/etc/zookeeper/tls/ca.p12");
  });
});

describe("the end of a rotation: agents still on the previous generation stop it (real curl and openssl, loopback)", () => {
  const OLD_SECRET = "rotation-old-secret-0123456789";
  const NEW_SECRET = "rotation-new-secret-9876543210";
  const [MASTER, ROLLED, STALE] = ["127.0.0.55", "127.0.0.56", "127.0.0.57"];
  const work = mkdtempSync(join(tmpdir(), "em-agents-rotated-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const agentTls = (secret: string, ip: string) => nodeMaterial(secret, "prod", { id: "general-1", hostname: "prod-general-1", ip }, "agent");
  const input: BootstrapInput = {
    ...masterInput({ masters: 3 }), masters: [{ id: "m1", zkId: 1, ip: MASTER, hostname: "prod-m1" }], quorum: 1,
    credentials: deriveCredentials(NEW_SECRET, "prod"), generation: 1,
    tls: nodeMaterial(NEW_SECRET, "prod", { id: "m1", hostname: "prod-m1", ip: MASTER }, "master"),
  };

  /** The master's /master/slaves (admin only) and the agents' libprocess ports, each with its certificate. */
  async function cluster(agents: { ip: string; tls: { cert: string; key: string } }[]) {
    const auth = `Basic ${Buffer.from(`admin:${input.credentials.adminPassword}`).toString("base64")}`;
    const body = JSON.stringify({ slaves: agents.map((a, i) => ({ id: `S${i}`, pid: `slave(1)@${a.ip}:5051`, hostname: a.ip })) });
    const servers = [
      https.createServer({ cert: input.tls!.cert, key: input.tls!.key }, (req, res) => {
        res.writeHead(req.headers.authorization === auth ? 200 : 401).end(req.headers.authorization === auth ? body : "");
      }).listen(5050, MASTER),
      ...agents.map((a) => tls.createServer({ cert: a.tls.cert, key: a.tls.key }, (s) => s.end()).listen(5051, a.ip)),
    ];
    await Promise.all(servers.map((s) => once(s, "listening")));
    return { close: () => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))) };
  }

  /** The check as the ZooKeeper step runs it, with the previous admin file at `marker` (present or not). */
  async function check(marker: boolean, curlrc = `user = "admin:${input.credentials.adminPassword}"\n`) {
    const steps = renderSteps(input);
    const zk = steps.find((s) => s.name === "zookeeper")!;
    const lines = agentsRotated(buildContext(input), ZK_TRUSTSTORE);
    expect(zk.commands.slice(0, lines.length)).toEqual(lines); // first: before ZooKeeper's config or restart
    writeFileSync(join(work, "ca.pem"), caCertificate(NEW_SECRET, "prod"));
    writeFileSync(join(work, "admin.curlrc"), curlrc);
    const previous = join(work, "admin.previous.curlrc");
    rmSync(previous, { force: true });
    if (marker) writeFileSync(previous, "");
    const script = ["set -euo pipefail", 'em_fail() { echo "FAILED: $*" >&2; exit 1; }', 'em_log() { echo "$*"; }',
      ...agentsRotated(buildContext(input), join(work, "ca.pem"), join(work, "admin.curlrc"))].join("\n")
      .replaceAll(PREVIOUS_ADMIN_CURLRC, previous);
    return new Promise<{ code: number; out: string }>((resolve) => execFile("bash", ["-c", script], { timeout: 60_000 },
      (e, stdout, stderr) => resolve({ code: e ? (e.code as number) ?? 1 : 0, out: stdout + stderr })));
  }

  it("renders only where a rotation ended (generation ≥ 1, no previous generation) and with TLS", () => {
    const ctx = (extra: Partial<BootstrapInput>) => buildContext({ ...input, ...extra });
    expect(agentsRotated(ctx({}), ZK_TRUSTSTORE).join("\n")).toContain("openssl s_client");
    expect(agentsRotated(ctx({ previous: deriveCredentials(OLD_SECRET, "prod") }), ZK_TRUSTSTORE)).toEqual([]);
    expect(agentsRotated(ctx({ generation: 0 }), ZK_TRUSTSTORE)).toEqual([]);
    expect(agentsRotated(ctx({ tls: undefined }), ZK_TRUSTSTORE)).toEqual([]);
  });

  it("an agent presenting the previous CA's certificate stops it, named; rolled agents pass", async () => {
    const c = await cluster([{ ip: ROLLED, tls: rotatingMaterial(agentTls(NEW_SECRET, ROLLED), NEW_SECRET, OLD_SECRET, "prod") },
      { ip: STALE, tls: agentTls(OLD_SECRET, STALE) }]);
    try {
      const stopped = await check(true);
      expect(stopped.code, stopped.out).toBe(1);
      expect(stopped.out).toContain(`FAILED: agents still present a certificate of the previous clusterSecret`);
      expect(stopped.out).toContain(`${STALE}:5051`);
      expect(stopped.out).not.toContain(`${ROLLED}:5051`);
      // Not at the end of a rotation (no previous generation's file): nothing is asked.
      expect(await check(false)).toEqual({ code: 0, out: "" });
      // The master refuses the wrong password: no agent list, stopped rather than passed.
      const refused = await check(true, 'user = "admin:not-the-password"\n');
      expect(refused.code).toBe(1);
      expect(refused.out).toContain("no master listed the agents");
    } finally {
      await c.close();
    }
    const rolled = await cluster([{ ip: ROLLED, tls: agentTls(NEW_SECRET, ROLLED) }]);
    try {
      expect(await check(true)).toEqual({ code: 0, out: "every agent (1) presents a certificate of the current CA\n" });
    } finally {
      await rolled.close();
    }
    // No agent at all (set -eu, pipefail: an empty list must not end the step silently).
    const none = await cluster([]);
    try {
      expect(await check(true)).toEqual({ code: 0, out: "every agent (0) presents a certificate of the current CA\n" });
    } finally {
      await none.close();
    }
  });
});
