// Step 2 with the cluster CA: quorum TLS, a TLS client port next to the plaintext one, the key readable by
// ZooKeeper only, and the same bytes on every render (a re-run restarts nothing).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { keystoreCommands } from "../../provisioning/steps/tls";
import { buildContext } from "../../provisioning/steps/context";
import { renderSteps } from "../../provisioning/steps";
import type { BootstrapInput, FileSpec, Step } from "../../provisioning/steps/types";
import { renderStepScripts } from "../../provisioning/render/ssh-plan";
import { nodeTls } from "../../provisioning/tls";
import { agentInput, masterInput, SECRET } from "./bootstrap-input";

const withTls = (i: BootstrapInput): BootstrapInput => {
  const ip = i.masters.find((m) => m.id === i.node.id)?.ip ?? i.selfIp;
  return { ...i, tls: nodeTls(SECRET, i.cluster, { id: i.node.id, hostname: i.node.hostname, ...(ip ? { ip } : {}) }) };
};
const zkStep = (i: BootstrapInput): Step => renderSteps(i).find((s) => s.name === "zookeeper")!;
const file = (s: Step, path: string): FileSpec => {
  const f = s.files.find((x) => x.path === path);
  if (!f) throw new Error(`${path} not rendered`);
  return f;
};

describe("zookeeper step with TLS", () => {
  const masters = [1, 2, 3].map((k) => withTls(masterInput({ masters: 3 }, k)));

  it("turns on quorum TLS and a mutual-TLS client port, the same zoo.cfg on every master", () => {
    const cfgs = masters.map((m) => file(zkStep(m), "/etc/zookeeper/zoo.cfg").content);
    expect(new Set(cfgs).size).toBe(1);
    const cfg = cfgs[0];
    for (const line of [
      "sslQuorum=true",
      "portUnification=false",
      "ssl.quorum.keyStore.location=/etc/zookeeper/tls/keystore.pem",
      "ssl.quorum.keyStore.type=PEM",
      "ssl.quorum.trustStore.location=/etc/zookeeper/tls/ca.pem",
      "ssl.quorum.trustStore.type=PEM",
      "ssl.quorum.hostnameVerification=true",
      "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
      "secureClientPort=2281",
      "ssl.keyStore.location=/etc/zookeeper/tls/keystore.pem",
      "ssl.trustStore.location=/etc/zookeeper/tls/ca.pem",
      "ssl.hostnameVerification=true",
      "ssl.clientAuth=need",
    ]) expect(cfg.split("\n"), line).toContain(line);
    // The plaintext client port stays, for Mesos' C client and Marathon (in the members a first start seeds).
    expect(zkStep(masters[0]).commands.join("\n")).toContain("server.1=10.0.1.11:2888:3888;2181");
  });

  it("writes the key with its certificate for ZooKeeper only (0400, a secret) and the CA next to it", () => {
    const s = zkStep(masters[0]);
    const tls = masters[0].tls!;
    expect(file(s, "/etc/zookeeper/tls/keystore.pem")).toEqual({
      path: "/etc/zookeeper/tls/keystore.pem", content: `${tls.key}${tls.cert}`, mode: "0400", owner: "zookeeper", group: "zookeeper", secret: true,
    });
    expect(file(s, "/etc/zookeeper/tls/ca.pem")).toMatchObject({ content: tls.caCert, mode: "0444", owner: "zookeeper" });
    expect(file(s, "/etc/zookeeper/tls/ca.pem").secret).toBeFalsy();
    // The key is in that file and nowhere else in the step (commands, gate).
    const elsewhere = JSON.stringify({ ...s, files: s.files.filter((f) => f.path !== "/etc/zookeeper/tls/keystore.pem") });
    expect(elsewhere).not.toContain(tls.key.split("\n")[1]);
  });

  it("restarts ZooKeeper when the certificate or CA changes, and the gate checks the TLS port", () => {
    const s = zkStep(masters[0]);
    expect(s.commands).toContain(
      "em_service zookeeper /etc/zookeeper/zoo.cfg /var/lib/zookeeper/myid /etc/zookeeper/jvm.env /etc/zookeeper/tls/keystore.pem /etc/zookeeper/tls/ca.pem",
    );
    expect(s.gate.script).toContain("/dev/tcp/127.0.0.1/2281");
  });

  it("renders the same bytes every time (a re-run restarts nothing)", () => {
    const again = withTls(masterInput({ masters: 3 }, 1));
    expect(renderStepScripts(renderSteps(again))).toEqual(renderStepScripts(renderSteps(masters[0])));
  });

  it("renders no TLS without TLS material, and agents get no ZooKeeper files either way", () => {
    const plain = zkStep(masterInput({ masters: 3 }, 1));
    expect(file(plain, "/etc/zookeeper/zoo.cfg").content).not.toMatch(/ssl|secureClientPort/);
    expect(plain.files.map((f) => f.path)).not.toContain("/etc/zookeeper/tls/keystore.pem");
    expect(zkStep(withTls(agentInput({ masters: 3 }, undefined, 1, "10.0.2.21"))).files).toEqual([]);
  });

  it("pass shellcheck with TLS: the zookeeper step and Marathon's key store lines", () => {
    const dir = mkdtempSync(join(tmpdir(), "em-zksc-"));
    try {
      const zk = renderStepScripts(renderSteps(masters[0])).find((x) => x.step === "zookeeper")!.script;
      const ks = ["#!/bin/bash", "em_put() { cat >\"$1\"; }", "em_mark() { :; }", ...keystoreCommands(buildContext(masters[0]))].join("\n");
      writeFileSync(join(dir, "zk.sh"), zk);
      writeFileSync(join(dir, "ks.sh"), `${ks}\n`);
      const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "--format=gcc", join(dir, "zk.sh"), join(dir, "ks.sh")], { encoding: "utf8" });
      expect(r.stdout + r.stderr, "shellcheck findings").toBe("");
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
