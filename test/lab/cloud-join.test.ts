// Cloud masters added to a running cluster (issue 13), 1 → 3 → 5 on lab hosts h9-h13: the host provider and real
// cloud-init, no cloud API. m1 (h11) runs, installed over SSH by the host provider as a cloud's hosts render. Each
// new master's machine (m2 h12, m3 h13, then m4 h9, m5 h10) boots its user-data, rendered as components/cluster.ts
// renders a joining master's (firstBootSteps with BEFORE_ZOOKEEPER): the install step alone, so nothing of it votes
// or serves before the running masters rolled. Then, as one `pulumi up` runs them (the diffs, then concurrently, in
// one provider process): the running masters update to the new masters and --quorum, each first waiting for the
// new machines' first boot (HostInputs.joiners), one at a time, the leader last; the new masters' hosts are
// created: adopt finds no ZooKeeper step ran, waits for the masters' rollout, then installs ZooKeeper (joining by
// `reconfig -add`) and Mesos over SSH. From one master, m1 sends a copy of its log in its turn and m2 and m3 start
// from it (a new replica would stay EMPTY: Mesos' catch-up needs a quorum of voting replicas); 3 → 5, the new
// replicas catch up from the three voting ones. Each master's inputs are those the program gives it at that step
// (components/cloud-hosts.ts, the masters pin's joining and seeded).
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
/** m1..m5's machines. */
const HOSTS = ["h11", "h12", "h13", "h9", "h10"];
const hostOf = (id: string) => HOSTS[Number(id.slice(1)) - 1];
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
const ids = (n: number) => Array.from({ length: n }, (_, i) => `m${i + 1}`);
/** A daemon's start: it did not restart when this stays the same. */
const started = (h: string, unit: string) =>
  sshOk(h, `systemctl show -p ActiveEnterTimestampMonotonic -p MainPID --value ${unit} | tr '\\n' ' '`);
/** The live ZooKeeper members, as ZooKeeper wrote them after the reconfigs. */
const members = async (h: string) => (await sshOk(h, "f=$(sed -n 's/^dynamicConfigFile=//p' " +
  "/var/lib/zookeeper/conf/zoo.cfg | tail -n 1); grep '^server\\.' \"$f\" | sort")).match(/^server\.\d+/gm);
const mesosArgs = (h: string) => sshOk(h, "tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value mesos-master)/cmdline");

describe.skipIf(skip)("cloud masters join a running cluster, 1 → 3 → 5: first boot installs only, the rest over SSH", () => {
  const logs: string[] = [];
  const provider = new MesosHostProvider({ log: (l) => logs.push(`${Date.now()} ${l}`) });
  const outs = new Map<string, HostOutputs>();
  const clean = new Map<string, string>();
  let spec: (id: string, count: number, extra?: Partial<HostInputs>) => HostInputs;
  const firstBoot = { via: "cloud-init" as const, timeoutSeconds: 600 };
  const conn = (id: string) => spec(id, 5).connection;

  beforeAll(async () => {
    const artifacts = await labArtifacts();
    const all = ids(5).map((id, i) => ({ id, zkId: i + 1, ip: ipOf(hostOf(id)), hostname: `${CLUSTER}-${id}` }));
    spec = (id, count, extra = {}) => {
      const k = Number(id.slice(1));
      const key = sshHostKey(SECRET, CLUSTER, id);
      // m1 was installed over SSH (the lab's host key); the others' machines carry their derived one, pinned.
      const hostKey = id === "m1"
        ? { hostKeyFingerprint: labHostKeyFingerprint(labInfo().hosts.find((x) => x.name === hostOf(id))!.hostKey) }
        : { hostKeyFingerprint: key.fingerprint, hostKeyAlgorithm: key.algorithm };
      return {
        cluster: CLUSTER, os: "debian-12", artifacts, stepTimeoutSeconds: STEP_SECONDS + 60, selfIp: ipOf(hostOf(id)),
        node: { id, hostname: `${CLUSTER}-${id}`, role: "master", ordinal: k, zkId: k, size: "lab", diskGb: 1,
          resources: {}, attributes: {}, containerizers: ["mesos"], taskUser: "" },
        masters: all.slice(0, count), quorum: Math.floor(count / 2) + 1,
        connection: { host: ipOf(hostOf(id)), port: 22, user: "root", ...hostKey },
        // A cloud's masters verify no peer's address (its agents' certificates name none): the same from the start.
        unverifiedPeers: true, rollout: { group: "masters", slots: 1, size: count }, ...extra,
      };
    };
    ids(5).forEach((id) => clean.set(hostOf(id), `systemctl disable --now ${FIRSTBOOT_UNIT} lab-cloud-init-boot >/dev/null 2>&1 || true
rm -f /etc/systemd/system/${FIRSTBOOT_UNIT}
${waitForAptLocks()}
rm -f /etc/apt/sources.list.d/lab-mirror.list
${renderCleanupScript(cleanupPlan(stepsOf(spec(id, 5))), [])}
${RESTORE_SEED}`));
    await Promise.all(HOSTS.map((h) => ssh(h, clean.get(h)!, 600_000))); // whatever an earlier run left
    const get = (k: string) =>
      ({ sshPrivateKey: readFileSync(labInfo().sshKey, "utf8"), clusterSecret: SECRET })[k as "clusterSecret"];
    await provider.configure({ config: { get, require: get } } as any);
    const t = Date.now();
    outs.set("m1", (await provider.create({ spec: spec("m1", 1) })).outs!);
    console.log(`[cloud-join] m1, the one running master, installed over SSH: ${seconds(t)} s`);
  }, 1_200_000);

  afterAll(async () => {
    if (process.env.LAB_KEEP_CLOUD_JOIN === "1") return;
    await Promise.all(HOSTS.map((h) => ssh(h, clean.get(h) ?? "true", 600_000)));
  }, 900_000);

  /** The new masters' machines boot their joining user-data; what each first boot left is checked. */
  async function bootJoining(joining: HostInputs[]): Promise<void> {
    const t = Date.now();
    // AWS's form (#cloud-config, its pieces as plain files), as the program renders a joining master's user-data.
    await Promise.all(joining.map((j) => sshOk(hostOf(j.node.id), bootWith(hostOf(j.node.id), renderAwsCloudConfig(
      firstBootSteps(stepsOf(j), BEFORE_ZOOKEEPER), sshHostKey(SECRET, CLUSTER, j.node.id)), `${CLUSTER}-${j.node.id}-${Date.now()}`))));
    for (const j of joining) {
      const h = hostOf(j.node.id);
      await waitFor(`${h}'s first boot`, async () =>
        (await ssh(h, `test -e ${FIRSTBOOT_DONE} && echo done`, 20_000).catch(() => undefined))?.stdout.includes("done"),
      (STEP_SECONDS + 120) * 1000, 2000);
      // This boot's run of the unit only: the host's journal keeps earlier tests' (a pool agent's on h9 and h10).
      const log = await sshOk(h, `journalctl -q -u ${FIRSTBOOT_UNIT} --since @${Math.floor(t / 1000) - 1} -o cat --no-pager ` +
        "| grep 'elastic-mesos' || true");
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
      expect(probe.state).toBe("done");
      expect(probe.ran).toEqual({ install: renderHost(j, credentials, hostTls(SECRET, j)).steps.find((s) => s.step === "install")!.hash });
    }
    console.log(`[cloud-join] ${joining.map((j) => j.node.id).join(", ")}: first boot (install step alone): ${seconds(t)} s`);
  }

  /** One `up`: the running masters' diffs, then their updates and the new masters' creates at once. */
  async function up(kept: HostInputs[], joining: HostInputs[]): Promise<void> {
    logs.length = 0;
    for (const k of kept) expect((await provider.diff(k.node.id, outs.get(k.node.id)!, { spec: k })).changes).toBe(true);
    const t = Date.now();
    const results = await Promise.all([
      ...kept.map((k) => provider.update(k.node.id, outs.get(k.node.id)!, { spec: k })),
      ...joining.map((j) => provider.create({ spec: j })),
    ]);
    console.log(`[cloud-join] ${kept.length} → ${kept.length + joining.length}: ${seconds(t)} s`);
    [...kept, ...joining].forEach((s, i) => outs.set(s.node.id, results[i].outs!));
    const at = (re: RegExp) => Number(logs.find((l) => re.test(l))?.split(" ")[0] ?? NaN);
    // Mesos' order: the new masters' ZooKeeper and Mesos start only after every running master rolled.
    const rolled = Math.max(...kept.map((k) => at(new RegExp(`${k.node.id}: rolled in`))));
    for (const j of joining) {
      const id = j.node.id;
      expect(logs.join("\n")).toContain(`${id} (${j.connection.host}): joining the running cluster: running zookeeper, mesos`);
      expect(rolled, id).toBeLessThan(at(new RegExp(`${id}: step 2/3 zookeeper .*started`)));
      expect(outs.get(id)!.stepsRun).toBe(2);
      // A no-change run after it changes nothing.
      expect((await provider.diff(id, outs.get(id)!, { spec: j })).changes).toBe(false);
    }
    // ZooKeeper: every server votes, one leader; Mesos: every master at the new --quorum, every replica votes.
    const hosts = [...kept, ...joining].map((s) => hostOf(s.node.id));
    const modes = await Promise.all(hosts.map(zkMode));
    expect(modes.filter((m) => m === "leader")).toHaveLength(1);
    expect(modes.filter((m) => m === "follower")).toHaveLength(hosts.length - 1);
    for (const h of hosts) {
      expect(await members(h), h).toEqual(ids(hosts.length).map((id) => `server.${id.slice(1)}`));
      expect(await mesosArgs(h), h).toContain(`--quorum=${kept[0].quorum}`);
      expect(await sshOk(h, "cat /var/lib/mesos/master/replicated_log/status"), h).toBe("VOTING\n");
    }
  }

  it("1 → 3: m1 waits for m2's and m3's first boot, sends them a copy of its log in its turn; they start from it", async () => {
    const joining = ["m2", "m3"].map((id) => spec(id, 3, { firstBoot, onlineMembership: true, logSeed: { from: "m1" } }));
    await bootJoining(joining);
    const zkBefore = await started("h11", "zookeeper");
    await up([spec("m1", 3, { firstBoot, joiners: joining.map((j) => ({ id: j.node.id, connection: j.connection })),
      logSeed: { to: joining.map((j) => ({ id: j.node.id, connection: j.connection })) } })], joining);
    expect(logs.join("\n")).toMatch(/m1: sent a copy of its replicated log \(\d+ bytes\) to m2, m3/);
    for (const id of ["m2", "m3"]) expect(logs.join("\n")).toContain(`${id}: seed: replicated log unpacked from m1's copy`);
    expect(await started("h11", "zookeeper")).toBe(zkBefore); // m1's server took its new peers by reconfig
  }, (STEP_SECONDS * 4 + 300) * 1000);

  it("3 → 5: m1-m3 roll to --quorum=3 first; m4 and m5 join, their replicas catch up; no server restarts", async (ctx) => {
    if (!outs.has("m3")) ctx.skip(); // the growth from one master above made m2 and m3
    const joining = ["m4", "m5"].map((id) => spec(id, 5, { firstBoot, onlineMembership: true }));
    await bootJoining(joining);
    const running = ["h11", "h12", "h13"];
    const zkBefore = await Promise.all(running.map((h) => started(h, "zookeeper")));
    // As the program renders them now: m2 and m3 no longer join (the pin's joining is m4, m5), nothing is seeded.
    await up(["m1", "m2", "m3"].map((id) => spec(id, 5, { firstBoot, joiners: joining.map((j) => ({ id: j.node.id,
      connection: conn(j.node.id) })) })), joining);
    expect(await Promise.all(running.map((h) => started(h, "zookeeper")))).toEqual(zkBefore);
  }, (STEP_SECONDS * 4 + 300) * 1000);
});
