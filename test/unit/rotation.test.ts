// The parts of a clusterSecret rotation built so far (provisioning/rotation/README.md): the ZooKeeper ACLs the znode
// trees get (test/lab/zk-acls.test.ts runs the migration against a real ZooKeeper), and the cross-signed CA that lets
// peers trusting either CA verify each other, checked by OpenSSL itself.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { caCertificate, crossSignedCa, nodeMaterial, nodeTls, rotatingMaterial } from "../../provisioning/tls";
import { deriveCredentials } from "../../provisioning/credentials";
import { renderSteps } from "../../provisioning/steps";
import { PREVIOUS_ADMIN_CURLRC } from "../../provisioning/steps/rotation";
import type { BootstrapInput, Step } from "../../provisioning/steps/types";
import { PREVIOUS_SUPER_PASSWORD } from "../../provisioning/steps/zookeeper";
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
