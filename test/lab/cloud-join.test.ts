// Cloud masters added to a running cluster (issue 13), 3 → 5 on lab hosts h9-h13: the host provider and real
// cloud-init, no cloud API. m1-m3 (h11-h13) run, installed over SSH by the host provider as a cloud's hosts render.
// The machines of m4 (h9) and m5 (h10) boot their user-data, rendered as components/cluster.ts renders a joining
// master's (firstBootSteps with BEFORE_ZOOKEEPER): the install step alone, so nothing of them votes or serves
// before the running masters rolled. Then, as one `pulumi up` runs them (concurrently, in one provider process):
// m1-m3 update to five masters and --quorum=3, each first waiting for m4's and m5's first boot
// (HostInputs.joiners), one at a time, the leader last; and m4's and m5's hosts are created: adopt finds no
// ZooKeeper step ran, waits for the masters' rollout, then installs ZooKeeper (joining by `reconfig -add`) and
// Mesos over SSH, each log replica catching up from the three voting ones.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BEFORE_ZOOKEEPER, firstBootSteps } from "../../components/cluster";
import { firstBootProbeScript, parseFirstBoot } from "../../provisioning/baremetal/adopt";
import { cleanupPlan, renderCleanupScript } from "../../provisioning/baremetal/cleanup";
import { MesosHostProvider } from "../../provisioning/baremetal/provider";
import { bootstrapInputOf, hostTls, renderHost } from "../../provisioning/baremetal/render";
import type { HostInputs, HostOutputs } from "../../provisioning/baremetal/types";
import { deriveCredentials } from "../../provisioning/credentials";
import { FIRSTBOOT_DONE, FIRSTBOOT_UNIT, renderAwsCloudConfig } from "../../provisioning/render/cloud-config";
import { renderSteps } from "../../provisioning/steps";
import { sshHostKey } from "../../provisioning/tls";
import { waitForAptLocks } from "../fixtures/apt-locks";
import { bootWith, RESTORE_SEED } from "../fixtures/cloud-boot";
import { ipOf, labArtifacts, STEP_SECONDS } from "../fixtures/lab-cluster";
import { labHostKeyFingerprint, labInfo, ssh, sshOk, waitFor, zkMode } from "../fixtures/lab";

const labSkip = inject("labSkipReason");
const RUNNING = ["h11", "h12", "h13"];
const JOINING = ["h9", "h10"];
const HOSTS = [...RUNNING, ...JOINING];
const available = () => {
  try {
    return HOSTS.every((n) => labInfo().hosts.some((h) => h.name === n));
  } catch {
    return false;
  }
};
const skip = labSkip || (!available() && "needs lab hosts h9-h13: LAB_HOSTS=13");

const SECRET = "lab-cloud-join-secret-000001";
const CLUSTER = "cj";
const credentials = deriveCredentials(SECRET, CLUSTER);
const stepsOf = (i: HostInputs) => renderSteps(bootstrapInputOf(i, credentials, hostTls(SECRET, i)));
const seconds = (t: number) => ((Date.now() - t) / 1000).toFixed(1);
/** A daemon's start: it did not restart when this stays the same. */
const started = (h: string, unit: string) =>
  sshOk(h, `systemctl show -p ActiveEnterTimestampMonotonic -p MainPID --value ${unit} | tr '\\n' ' '`);

describe.skipIf(skip)("cloud masters join a running cluster, 3 → 5: first boot installs only, the rest over SSH (h9-h13)", () => {
  const logs: string[] = [];
  const provider = new MesosHostProvider({ log: (l) => logs.push(`${Date.now()} ${l}`) });
  let running: HostInputs[] = [];
  let joining: HostInputs[] = [];
  let grown: HostInputs[] = [];
  const outs = new Map<string, HostOutputs>();
  const clean = new Map<string, string>();

  beforeAll(async () => {
    const artifacts = await labArtifacts();
    const masters = HOSTS.map((h, i) => ({ id: `m${i + 1}`, zkId: i + 1, ip: ipOf(h), hostname: `${CLUSTER}-m${i + 1}` }));
    const node = (k: number): HostInputs["node"] => ({ id: `m${k}`, hostname: `${CLUSTER}-m${k}`, role: "master", ordinal: k,
      zkId: k, size: "lab", diskGb: 1, resources: {}, attributes: {}, containerizers: ["mesos"], taskUser: "" });
    const common = { cluster: CLUSTER, os: "debian-12" as const, artifacts, stepTimeoutSeconds: STEP_SECONDS + 60 };
    // The running three, as a cloud's hosts render (unverifiedPeers: a cloud's agents' certificates name no address).
    running = RUNNING.map((h, i) => ({
      ...common, node: node(i + 1), selfIp: ipOf(h), masters: masters.slice(0, 3), quorum: 2, unverifiedPeers: true,
      connection: { host: ipOf(h), port: 22, user: "root",
        hostKeyFingerprint: labHostKeyFingerprint(labInfo().hosts.find((x) => x.name === h)!.hostKey) },
      rollout: { group: "masters", slots: 1, size: 3 },
    }));
    // m4 and m5 as components/cloud-hosts.ts gives a joining master's host: its derived host key pinned, joining.
    const firstBoot = { via: "cloud-init" as const, timeoutSeconds: 600 };
    joining = JOINING.map((h, i) => {
      const key = sshHostKey(SECRET, CLUSTER, `m${i + 4}`);
      return { ...common, node: node(i + 4), selfIp: ipOf(h), masters, quorum: 3, firstBoot, onlineMembership: true,
        connection: { host: ipOf(h), port: 22, user: "root", hostKeyFingerprint: key.fingerprint, hostKeyAlgorithm: key.algorithm },
        rollout: { group: "masters", slots: 1, size: 5 } };
    });
    // The running ones after the change: five masters, --quorum=3, waiting for the new machines' first boot.
    grown = running.map((r) => ({ ...r, masters, quorum: 3, firstBoot, rollout: { ...r.rollout!, size: 5 },
      joiners: joining.map((j) => ({ id: j.node.id, connection: j.connection })) }));
    const all = [...grown, ...joining];
    HOSTS.forEach((h, i) => clean.set(h, `systemctl disable --now ${FIRSTBOOT_UNIT} lab-cloud-init-boot >/dev/null 2>&1 || true
rm -f /etc/systemd/system/${FIRSTBOOT_UNIT}
${waitForAptLocks()}
rm -f /etc/apt/sources.list.d/lab-mirror.list
${renderCleanupScript(cleanupPlan(stepsOf(all[i])), [])}
${RESTORE_SEED}`));
    await Promise.all(HOSTS.map((h) => ssh(h, clean.get(h)!, 600_000))); // whatever an earlier run left
    const get = (k: string) =>
      ({ sshPrivateKey: readFileSync(labInfo().sshKey, "utf8"), clusterSecret: SECRET })[k as "clusterSecret"];
    await provider.configure({ config: { get, require: get } } as any);
    const t = Date.now();
    const made = await Promise.all(running.map((spec) => provider.create({ spec })));
    made.forEach((m, i) => outs.set(running[i].node.id, m.outs!));
    console.log(`[cloud-join] the running masters m1-m3 installed over SSH: ${seconds(t)} s`);
  }, 1_200_000);

  afterAll(async () => {
    if (process.env.LAB_KEEP_CLOUD_JOIN === "1") return;
    await Promise.all(HOSTS.map((h) => ssh(h, clean.get(h) ?? "true", 600_000)));
  }, 900_000);

  it("m4's and m5's machines boot their install step alone: nothing of them votes or serves", async () => {
    const t = Date.now();
    // AWS's form (#cloud-config, its pieces as plain files), as the program renders a joining master's user-data.
    await Promise.all(JOINING.map((h, i) => sshOk(h, bootWith(h, renderAwsCloudConfig(
      firstBootSteps(stepsOf(joining[i]), BEFORE_ZOOKEEPER), sshHostKey(SECRET, CLUSTER, joining[i].node.id)),
    `${CLUSTER}-${joining[i].node.id}-${Date.now()}`))));
    for (const [i, h] of JOINING.entries()) {
      await waitFor(`${h}'s first boot`, async () =>
        (await ssh(h, `test -e ${FIRSTBOOT_DONE} && echo done`, 20_000).catch(() => undefined))?.stdout.includes("done"),
      (STEP_SECONDS + 120) * 1000, 2000);
      const log = await sshOk(h, `journalctl -q -u ${FIRSTBOOT_UNIT} -o cat --no-pager | grep 'elastic-mesos' || true`);
      expect(log).toContain("elastic-mesos 1/3 install: healthy"); // numbered in the whole plan, as over SSH
      expect(log).not.toMatch(/elastic-mesos 2\/3|zookeeper:|mesos:/);
      expect((await sshOk(h, "ls /var/lib/elastic-mesos/steps")).trim()).toBe("1-install.sh");
      // No server, no replica, no framework (the packages' own units stay masked until the mesos step).
      const daemons = await sshOk(h, `for u in zookeeper mesos-master marathon; do
  printf '%s %s %s\\n' "$u" "$(systemctl is-enabled $u 2>/dev/null | head -n1)" "$(systemctl is-active $u 2>/dev/null | head -n1)"
done; test -e /var/lib/zookeeper/myid && echo myid; test -d /var/lib/mesos/master/replicated_log && echo log; true`);
      for (const u of ["zookeeper", "mesos-master", "marathon"]) {
        expect(daemons).toMatch(new RegExp(`^${u} (masked|disabled|) (inactive|unknown|)$`, "m"));
      }
      expect(daemons).not.toMatch(/^(myid|log)$/m);
      // What adopt reads (through the host key the user-data installed): done, the install step alone, the plan's.
      const probe = parseFirstBoot((await ssh(h, firstBootProbeScript())).stdout);
      const plan = renderHost(joining[i], credentials, hostTls(SECRET, joining[i]));
      expect(probe.state).toBe("done");
      expect(probe.ran).toEqual({ install: plan.steps.find((s) => s.step === "install")!.hash });
    }
    console.log(`[cloud-join] m4's and m5's first boot (install step alone): ${seconds(t)} s`);
  }, (STEP_SECONDS + 300) * 1000);

  it("m1-m3 roll to --quorum=3 first; m4 and m5 then join ZooKeeper by reconfig, their replicas catch up", async () => {
    const zkBefore = await Promise.all(RUNNING.map((h) => started(h, "zookeeper")));
    logs.length = 0;
    const t = Date.now();
    // As the engine runs one `up`: the diffs first (each running master tells the rollout it will take a turn),
    // then the running masters' updates and the new masters' creates at once.
    for (const [i, spec] of grown.entries()) {
      expect((await provider.diff(spec.node.id, outs.get(running[i].node.id)!, { spec })).changes).toBe(true);
    }
    const results = await Promise.all([
      ...grown.map((spec, i) => provider.update(spec.node.id, outs.get(running[i].node.id)!, { spec })),
      ...joining.map((spec) => provider.create({ spec })),
    ]);
    console.log(`[cloud-join] m1-m3 rolled and m4, m5 joined: ${seconds(t)} s`);
    [...grown, ...joining].forEach((spec, i) => outs.set(spec.node.id, results[i].outs!));
    const at = (re: RegExp) => Number(logs.find((l) => re.test(l))?.split(" ")[0] ?? NaN);
    // Mesos' order: the new masters' ZooKeeper and Mesos start only after every running master rolled.
    const rolled = Math.max(...["m1", "m2", "m3"].map((m) => at(new RegExp(`${m}: rolled in`))));
    for (const [i, j] of joining.entries()) {
      const id = j.node.id;
      expect(logs.join("\n")).toMatch(new RegExp(`${id} \\(${j.connection.host.replace(/\./g, "\\.")}\\): joining the running cluster: running zookeeper, mesos`));
      expect(rolled, id).toBeLessThan(at(new RegExp(`${id}: step 2/3 zookeeper .*started`)));
      expect(results[3 + i].outs!.stepsRun).toBe(2);
      // A no-change run after it changes nothing.
      expect((await provider.diff(id, results[3 + i].outs!, { spec: j })).changes).toBe(false);
    }
    // ZooKeeper: five voting servers, one leader; the running three did not restart.
    const modes = await Promise.all(HOSTS.map(zkMode));
    expect(modes.filter((m) => m === "leader")).toHaveLength(1);
    expect(modes.filter((m) => m === "follower")).toHaveLength(4);
    for (const h of HOSTS) {
      // The live members file, as ZooKeeper wrote it after the reconfigs.
      const members = await sshOk(h, "f=$(sed -n 's/^dynamicConfigFile=//p' /var/lib/zookeeper/conf/zoo.cfg | tail -n 1); " +
        "grep '^server\\.' \"$f\" | sort");
      expect(members.match(/^server\.\d+/gm), h).toEqual(["server.1", "server.2", "server.3", "server.4", "server.5"]);
    }
    expect(await Promise.all(RUNNING.map((h) => started(h, "zookeeper")))).toEqual(zkBefore);
    // Mesos: every master at --quorum=3; the new replicas started EMPTY and vote now.
    for (const h of HOSTS) {
      const args = await sshOk(h, "tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value mesos-master)/cmdline");
      expect(args, h).toContain("--quorum=3");
    }
    for (const h of JOINING) expect(await sshOk(h, "cat /var/lib/mesos/master/replicated_log/status"), h).toBe("VOTING\n");
  }, (STEP_SECONDS * 4 + 300) * 1000);
});
