// Day 2 on the cloud-init clouds, under mocks: every node has a host resource that reaches it over SSH, whose steps
// are its user-data's byte for byte (so what the first boot ran and what an update compares are the same scripts),
// and a change a user makes reaches the running machines as an SSH update of the changed steps, host by host.
// (That the machines themselves ignore the new user-data and image is tested per cloud in aws.test.ts & co.)
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { runProgram, type RunResult } from "./harness";
import { reveal } from "./mocks";
import { STACKS } from "./fixtures";
import { plainLeaks } from "./secrets";
import { deriveCredentials } from "../../provisioning/credentials";
import { hostTls, renderHost } from "../../provisioning/baremetal/render";
import { changedSteps } from "../../provisioning/baremetal/plan";
import { disruptive } from "../../provisioning/rollout/plan";
import { sshHostKey } from "../../provisioning/tls";

import { bootHostKey, bootScripts, gcpBootText } from "../fixtures/boot-text";
import type { HostInputs } from "../../provisioning/baremetal/types";

const HOST = "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host";
const PIN = "pulumi-nodejs:dynamic/elastic-mesos/cluster:Masters";
const SECRET = STACKS.aws.clusterSecret as string;
const CLOUDS = ["aws", "gcp", "openstack"] as const;
/** Clouds that run agent pools as self-healing groups: their agents have no host resource (<cloud>-groups.test.ts). */
const GROUPED: ReadonlySet<string> = new Set(["aws", "gcp"]);

const INSTANCE: Record<(typeof CLOUDS)[number], { type: string; userData: (inputs: any) => string }> = {
  aws: { type: "aws:ec2/instance:Instance", userData: (i) => gunzipSync(Buffer.from(reveal(i.userDataBase64), "base64")).toString() },
  // GCP: the guest agent's startup script (every GCE image runs it), or a #cloud-config where one is rendered.
  gcp: { type: "gcp:compute/instance:Instance", userData: (i) => gcpBootText(reveal(i.metadata)) },
  openstack: { type: "openstack:compute/instance:Instance", userData: (i) => reveal(i.userData) },
};

/** The step scripts a user-data's (or startup script's) first boot runs: { "2-zookeeper.sh": script }. */
function userDataScripts(userData: string): Record<string, string> {
  return bootScripts(userData);
}

/** The scripts the host's provider renders from its spec (with the credentials it derives from the stack config). */
function providerScripts(spec: HostInputs): Record<string, string> {
  const plan = renderHost(spec, deriveCredentials(SECRET, spec.cluster), hostTls(SECRET, spec));
  return Object.fromEntries(plan.steps.map((s) => [`${s.index}-${s.step}.sh`, s.script]));
}

/** Whether `r` depends on the resource named `name` (dependencies are URNs, which end with the name). */
const dependsOn = (r: { dependencies: string[] }, name: string) => r.dependencies.some((u) => u.endsWith(`::${name}`));
const hosts = (r: RunResult) => r.resources.filter((x) => x.type === HOST);
const specOf = (r: RunResult, id: string): HostInputs => hosts(r).find((h) => h.name === `prod-${id}-bootstrap`)!.inputs.spec;

for (const cloud of CLOUDS) {
  describe(`${cloud}: a host resource per node, over SSH after the first boot`, () => {
    let base: RunResult;
    beforeAll(async () => {
      base = await runProgram(STACKS[cloud]);
    });

    it("one per machine, each after its machine, agents after every master; no credential in their inputs", () => {
      const machines = base.resources.filter((x) => x.type === INSTANCE[cloud].type);
      expect(hosts(base).map((h) => h.name).sort()).toEqual(machines.map((m) => `${m.name}-bootstrap`).sort());
      for (const h of hosts(base)) {
        const machine = machines.find((m) => `${m.name}-bootstrap` === h.name)!;
        expect(dependsOn(h, machine.name), h.name).toBe(true);
        expect(h.inputs.spec.firstBoot).toEqual({ via: "cloud-init", timeoutSeconds: 1200 });
        if (h.inputs.spec.node.role === "agent") {
          for (const m of ["m1", "m2", "m3"]) expect(dependsOn(h, `prod-${m}-bootstrap`), h.name).toBe(true);
        }
      }
      expect(plainLeaks(base.resources)).toEqual([]);
      expect(JSON.stringify(hosts(base).map((h) => h.inputs))).not.toContain(SECRET);
    });

    it("masters at their reserved public address, agents at their private one through the first master", () => {
      // Every hop pins the host key the node's user-data installs (derived from clusterSecret): no trust on first use.
      const pin = (id: string) => ({ hostKeyFingerprint: sshHostKey(SECRET, "prod", id).fingerprint, hostKeyAlgorithm: "ecdsa-sha2-nistp256" });
      const m1 = specOf(base, "m1").connection;
      expect(m1).toEqual({ host: base.outputs.masters[0].publicIp, port: 22, user: "admin", ...pin("m1") });
      expect(m1.host).not.toBe(base.outputs.masters[0].privateIp);
      // The machine boots with exactly that key (cloud-init ssh_keys, or the startup script's copy of it).
      const m1Machine = base.resources.find((x) => x.type === INSTANCE[cloud].type && x.name === "prod-m1")!;
      expect(bootHostKey(INSTANCE[cloud].userData(m1Machine.inputs))).toBe(sshHostKey(SECRET, "prod", "m1").privatePem);
      if (GROUPED.has(cloud)) return;
      const a = specOf(base, "general-2").connection;
      expect(a).toMatchObject({ host: base.outputs.agents.general[1].privateIp, ...pin("general-2") });
      expect(a.bastion).toEqual({ name: "m1", host: m1.host, port: 22, user: "admin", ...pin("m1") });
      // The drain runs on the masters, reached the same way (their keys pinned).
      expect(specOf(base, "general-2").drain!.masterHosts!.map((m) => m.connection))
        .toEqual(["m1", "m2", "m3"].map((id) => specOf(base, id).connection));
      // The user-data installs exactly that key (cloud-init ssh_keys), and nothing else of the kind.
      const machine = base.resources.find((x) => x.type === INSTANCE[cloud].type && x.name === "prod-general-2")!;
      expect(parse(INSTANCE[cloud].userData(machine.inputs)).ssh_keys).toEqual({ ecdsa_private: sshHostKey(SECRET, "prod", "general-2").privatePem });
    });

    it("each host's steps are its user-data's, byte for byte", () => {
      const machines = base.resources.filter((x) => x.type === INSTANCE[cloud].type);
      expect(machines).toHaveLength(GROUPED.has(cloud) ? 3 : 7);
      for (const m of machines) {
        const spec = hosts(base).find((h) => h.name === `${m.name}-bootstrap`)!.inputs.spec as HostInputs;
        const fromUserData = userDataScripts(INSTANCE[cloud].userData(m.inputs));
        expect(Object.keys(fromUserData).length, m.name).toBeGreaterThanOrEqual(3);
        expect(providerScripts(spec), m.name).toEqual(fromUserData);
      }
    });

    it("a version bump reaches every running machine as an SSH update that rolls (masters, then each pool)", async () => {
      const bumped = await runProgram({ ...STACKS[cloud], versions: { zookeeper: "3.9.5", mesos: "1.11.0-0.9.1" } });
      const ids = ["m1", "m2", "m3", ...(GROUPED.has(cloud) ? [] : ["general-1", "general-2", "general-3", "gpu-1"])];
      for (const id of ids) {
        const before = providerScripts(specOf(base, id));
        const after = renderHost(specOf(bumped, id), deriveCredentials(SECRET, "prod"), hostTls(SECRET, specOf(bumped, id)));
        const hashes = Object.fromEntries(renderHost(specOf(base, id), deriveCredentials(SECRET, "prod"), hostTls(SECRET, specOf(base, id)))
          .steps.map((s) => [s.step, s.hash]));
        const changed = changedSteps(hashes, after.steps);
        expect(changed.length, id).toBeGreaterThan(0);
        // It restarts daemons: it takes a turn in its group (provisioning/rollout), one master at a time.
        expect(disruptive(changed), id).toBe(true);
        expect(specOf(bumped, id).rollout, id).toEqual(id.startsWith("m") ? { group: "masters", slots: 1, size: 3 }
          : { group: `pool:${id.replace(/-\d+$/, "")}`, slots: 1, size: id.startsWith("gpu") ? 1 : 3 });
        expect(Object.keys(before).length).toBe(after.steps.length);
      }
    });

    it("3 → 5 masters: m4 and m5 boot only their install step; their hosts join ZooKeeper and start Mesos over SSH", async () => {
      // Cluster "east": the mocks' fake reserved addresses of prod-m2 and prod-m4 collide (mocks.ts fakeIp).
      const five = { ...STACKS[cloud], cluster: { name: "east" }, masters: { ...(STACKS[cloud].masters as object), count: 5 } };
      // What the masters pin's check records for this change (membership/pin.ts joiningMasters).
      const r = await runProgram(five, { outputs: { [PIN]: { joining: ["m4", "m5"] } } });
      const spec = (id: string): HostInputs => hosts(r).find((h) => h.name === `east-${id}-bootstrap`)!.inputs.spec;
      const bootOf = (id: string) => userDataScripts(INSTANCE[cloud].userData(
        r.resources.find((x) => x.type === INSTANCE[cloud].type && x.name === `east-${id}`)!.inputs));
      for (const id of ["m4", "m5"]) {
        // Nothing that votes or serves at its first boot: the running masters restart with --quorum=3 first.
        expect(Object.keys(bootOf(id))).toEqual(["1-install.sh"]);
        expect(bootOf(id)["1-install.sh"]).toBe(providerScripts(spec(id))["1-install.sh"]);
        expect(spec(id).onlineMembership).toBe(true);
        expect(providerScripts(spec(id))["2-zookeeper.sh"]).toContain("zk_add "); // joins by reconfig, as on bare metal
        expect(spec(id).joiners).toBeUndefined();
      }
      for (const id of ["m1", "m2", "m3"]) {
        // The running masters' steps stay their user-data's (EC2 leaves no room for the joining functions there).
        expect(spec(id).onlineMembership).toBeUndefined();
        expect(spec(id).quorum).toBe(3);
        expect(Object.keys(bootOf(id))).toEqual(["1-install.sh", "2-zookeeper.sh", "3-mesos.sh"]);
        // It waits for their first boot before it restarts with --quorum=3, reaching them as their hosts do.
        expect(spec(id).joiners).toEqual(["m4", "m5"].map((j) => ({ id: j, connection: spec(j).connection })));
        expect(spec(id).logSeed).toBeUndefined(); // three voting replicas: m4's and m5's catch up
      }
    });

    it("1 → 3 masters: m1 waits for m2's and m3's first boot, sends them a copy of its log; they start from it", async () => {
      const three = { ...STACKS[cloud], cluster: { name: "east" } };
      // What the masters pin's check records for this change (membership/pin.ts seededMasters, joiningMasters).
      const r = await runProgram(three, { outputs: { [PIN]: { joining: ["m2", "m3"], seeded: { from: "m1", to: ["m2", "m3"] } } } });
      const spec = (id: string): HostInputs => hosts(r).find((h) => h.name === `east-${id}-bootstrap`)!.inputs.spec;
      const others = ["m2", "m3"].map((j) => ({ id: j, connection: spec(j).connection }));
      expect(spec("m1").joiners).toEqual(others);
      expect(spec("m1").logSeed).toEqual({ to: others }); // its connections as their hosts reach them (keys pinned)
      for (const id of ["m2", "m3"]) {
        expect(spec(id).logSeed).toEqual({ from: "m1" });
        expect(spec(id).onlineMembership).toBe(true);
      }
      // Its mesos gate lets fewer masters than the new --quorum run Mesos while it waits for theirs.
      expect(providerScripts(spec("m1"))["3-mesos.sh"]).not.toBe(providerScripts({ ...spec("m1"), logSeed: undefined })["3-mesos.sh"]);
    });
  });
}
