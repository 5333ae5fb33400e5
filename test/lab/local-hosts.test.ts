// provider: local's machines on this machine, driven the way the engine drives the dynamic providers
// (provisioning/local/provider.ts: check/diff/create/update/delete/read), with the real product shell.
// Own bridge em-t0 (10.79.0.0/24), proxy egress through the lab's apt proxy; never touches h1..h14. The NAT mode
// runs its network verbs inside a network namespace this test creates: rules are checked, no traffic is sent.
// LAB_KEEP=1 LAB_HOSTS=14 npx vitest run --project lab test/lab/local-hosts.test.ts
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LOCAL_DEBIAN_MIRROR, LOCAL_IMAGE_PACKAGES, LOCAL_SUITE, publicKeyOf } from "../../provisioning/local/plan";
import { LocalImageProvider, LocalMachineProvider, LocalNetworkProvider } from "../../provisioning/local/provider";
import type { ImageOutputs, MachineInputs, MachineOutputs, NetworkInputs, NetworkOutputs } from "../../provisioning/local/types";
import { labInfo, run, labHostKeyFingerprint as fingerprint } from "../fixtures/lab";

const skip = inject("labSkipReason");
const BRIDGE = "em-t0", CIDR = "10.79.0.0/24", CLUSTER = "lt";
const STATE = "/var/tmp/em-local-hosts-test";
const CACHE = process.env.LOCAL_IMAGE_CACHE ?? "/var/cache/elastic-mesos/images";
const verbose = process.env.ELASTIC_MESOS_LOG ? (l: string) => console.log(l) : () => {};
const sh = (cmd: string) => execFileSync("bash", ["-c", cmd], { encoding: "utf8" });

describe.skipIf(!!skip)("provider local: machines on this machine (bridge em-t0, proxy egress)", () => {
  const images = new LocalImageProvider({ log: verbose });
  const networks = new LocalNetworkProvider({ log: verbose });
  const machines = new LocalMachineProvider({ log: verbose });
  const keyDir = mkdtempSync(join(tmpdir(), "em-local-key-"));
  let image: ImageOutputs, network: NetworkOutputs, authorizedKey: string;
  const made = new Map<string, MachineOutputs>();
  const pidsSeen = new Set<number>();
  const timings: Record<string, number> = {};
  const netInputs = (): NetworkInputs => ({ bridge: BRIDGE, cidr: CIDR, egress: "proxy", stateDir: STATE, cluster: CLUSTER });
  const inputs = (name: string): MachineInputs => ({
    cluster: CLUSTER, name, stateDir: STATE, bridge: BRIDGE, cidr: CIDR, gateway: network.gateway, image: image.path,
    egress: "proxy", aptProxy: labInfo().aptProxy, authorizedKey,
  });
  const dir = (name: string) => join(STATE, CLUSTER, name);
  /** ssh as root with strict host key checking against the key the machine's state recorded. */
  const ssh = async (m: MachineOutputs, cmd: string) => {
    const kh = join(keyDir, `kh-${m.name}`);
    writeFileSync(kh, `${m.ip} ${m.hostKey.publicKey}\n`);
    return run("ssh", ["-i", join(keyDir, "id"), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
      "-o", `UserKnownHostsFile=${kh}`, "-o", "HostKeyAlgorithms=ssh-ed25519", "-o", "ConnectTimeout=5", `root@${m.ip}`, cmd]);
  };
  const create = async (name: string, extra: Partial<MachineInputs> = {}) => {
    const t = Date.now();
    const outs = (await machines.create({ ...inputs(name), ...extra })).outs!;
    timings[`create ${name}`] = (Date.now() - t) / 1000;
    made.set(name, outs);
    return outs;
  };
  const pids = (name: string) => {
    const p = Number(readFileSync(join(dir(name), "nspawn.pid"), "utf8"));
    const kids = readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/).map(Number);
    return [p, ...kids];
  };

  beforeAll(async () => {
    // leftovers of an earlier run that failed half-way: the verbs are idempotent
    for (const n of existsSync(join(STATE, CLUSTER)) ? readdirSync(join(STATE, CLUSTER)) : []) {
      if (existsSync(join(STATE, CLUSTER, n, "ip"))) await machines.delete("", { stateDir: STATE, cluster: CLUSTER, name: n } as MachineOutputs);
    }
    await networks.delete("", netInputs() as NetworkOutputs);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "local-hosts-test", "-f", join(keyDir, "id")]);
    authorizedKey = publicKeyOf(readFileSync(join(keyDir, "id"), "utf8"));
  });
  afterAll(async () => {
    for (const m of made.values()) await machines.delete("", m).catch(() => {});
    if (network) await networks.delete("", network).catch(() => {});
    console.log(`[local-hosts] timings (s): ${JSON.stringify(timings)}`);
  });

  it("builds (or reuses) the image, makes the network and two machines reachable by SSH with their recorded host keys", async () => {
    let t = Date.now();
    image = (await images.create({ cacheDir: CACHE, suite: LOCAL_SUITE, debianMirror: LOCAL_DEBIAN_MIRROR,
      packages: [...LOCAL_IMAGE_PACKAGES], aptProxy: labInfo().aptProxy })).outs!;
    timings.image = (Date.now() - t) / 1000;
    expect(existsSync(join(image.path, ".em-image-complete"))).toBe(true);
    expect(existsSync(join(image.path, "root/.ssh/authorized_keys"))).toBe(false); // no key baked in
    expect(readdirSync(join(image.path, "etc/ssh")).filter((f) => f.startsWith("ssh_host_"))).toEqual([]);
    t = Date.now();
    network = (await networks.create(netInputs())).outs!;
    timings.network = (Date.now() - t) / 1000;
    expect(network.gateway).toBe("10.79.0.1");
    expect(network.natTable).toBeUndefined();
    const a = await create("lt-a"), b = await create("lt-b");
    expect([a.ip, b.ip]).toEqual(["10.79.0.11", "10.79.0.12"]);
    for (const m of [a, b]) {
      expect(m.hostKey.fingerprint).toBe(fingerprint(m.hostKey.publicKey));
      const r = await ssh(m, "hostname; cat /proc/1/comm");
      expect(r.stdout.trim().split("\n"), r.stderr).toEqual([m.name, "systemd"]);
      pids(m.name).forEach((p) => pidsSeen.add(p));
    }
    // a wrong pinned key is refused (strict checking really checks)
    const r = await ssh({ ...a, hostKey: b.hostKey }, "true");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    expect(JSON.stringify([...made.values()])).not.toContain("PRIVATE KEY");
  });

  it("proxy egress: no default route, a /32 route to the proxy, apt-get update works through the lab's apt proxy", async () => {
    const a = made.get("lt-a")!;
    const r = await ssh(a, "ip -4 route; cat /etc/apt/apt.conf.d/01elastic-mesos-proxy; apt-get update -q >/dev/null 2>&1 && echo APT-OK");
    expect(r.stdout).not.toMatch(/^default/m);
    expect(r.stdout).toMatch(/^10\.77\.0\.1 via 10\.79\.0\.1 dev host0/m);
    expect(r.stdout).toContain(`Acquire::http::Proxy "${labInfo().aptProxy}";`);
    expect(r.stdout).toContain("APT-OK");
  });

  it("keeps addresses and host keys: re-creating another machine moves nothing, the same directory keeps its keys", async () => {
    const b = made.get("lt-b")!;
    await machines.delete("", made.get("lt-a")!);
    made.delete("lt-a");
    const c = await create("lt-c");                           // takes the lowest free address: a's
    expect(c.ip).toBe("10.79.0.11");
    const a2 = await create("lt-a");                          // a new machine: the next free one, new keys
    expect(a2.ip).toBe("10.79.0.13");
    const again = (await machines.create(inputs("lt-b"))).outs!; // create on an existing directory: same machine
    expect(again.ip).toBe(b.ip);
    expect(again.hostKey).toEqual(b.hostKey);
    expect((await ssh(b, "hostname")).stdout.trim()).toBe("lt-b");
    for (const n of ["lt-c", "lt-a"]) pids(n).forEach((p) => pidsSeen.add(p));
  });

  it("an offline bundle of this machine is seen read-only at the same path inside (artifacts.offlineBundle)", async () => {
    const bundle = mkdtempSync("/var/tmp/em-bundle-"); // not /tmp: the machine mounts its own over it
    await expect(machines.create({ ...inputs("lt-e"), bindReadOnly: ["/tmp"] })).rejects.toThrow(/under \/tmp or \/run/);
    writeFileSync(join(bundle, "SHA512SUMS"), "bundle-marker\n");
    const d = await create("lt-d", { bindReadOnly: [bundle] });
    const r = await ssh(d, `cat ${bundle}/SHA512SUMS; touch ${bundle}/x 2>&1 || echo REFUSED`);
    expect(r.stdout).toContain("bundle-marker");
    expect(r.stdout).toMatch(/Read-only file system[\s\S]*REFUSED/);
    expect(existsSync(join(bundle, "x"))).toBe(false);
    // a bundle that is not there: refused before the machine boots, naming the config key
    await expect(machines.create({ ...inputs("lt-e"), bindReadOnly: ["/nonexistent/bundle"] }))
      .rejects.toThrow(/\/nonexistent\/bundle does not exist on this machine \(artifacts\.offlineBundle/);
    expect(existsSync(join(STATE, CLUSTER, "lt-e")), "refused before an address or key was made").toBe(false);
    rmSync(bundle, { recursive: true, force: true });
    pids("lt-d").forEach((p) => pidsSeen.add(p));
  });

  it("a machine whose nspawn was killed is not running, diff says update, update starts it with its disk and keys", async () => {
    const b = made.get("lt-b")!;
    expect((await ssh(b, "echo kept > /root/marker && echo ok")).stdout.trim()).toBe("ok");
    expect(await machines.diff("", b, inputs("lt-b"))).toEqual({ changes: false, replaces: [], deleteBeforeReplace: true });
    const [nspawn] = pids("lt-b");
    process.kill(nspawn, "SIGKILL");
    await new Promise((r) => setTimeout(r, 500));
    expect(await machines.status(b)).toEqual({ running: false, ip: b.ip });
    expect(await machines.diff("", b, inputs("lt-b"))).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
    const t = Date.now();
    const outs = (await machines.update("", b, inputs("lt-b"))).outs!;
    timings["restart lt-b"] = (Date.now() - t) / 1000;
    expect(outs.ip).toBe(b.ip);
    expect(outs.hostKey).toEqual(b.hostKey);
    expect((await ssh(b, "cat /root/marker")).stdout.trim()).toBe("kept");
    expect((await machines.status(b)).running).toBe(true);
    pids("lt-b").forEach((p) => pidsSeen.add(p));
    expect(await machines.read("", b)).toMatchObject({ id: "", props: { ip: b.ip } });
  });

  it("measures an idle machine's memory (its memory cgroup)", async () => {
    await new Promise((r) => setTimeout(r, 3000));
    for (const n of ["lt-a", "lt-b", "lt-c"]) {
      const cg = readFileSync(join(dir(n), "cgroups"), "utf8").split("\n").find((l) => l.includes("/memory/"));
      if (!cg) continue; // cgroup v2 / systemd path: not measured here
      const stat = Object.fromEntries(readFileSync(join(cg, "memory.stat"), "utf8").trim().split("\n").map((l) => l.split(" ")));
      const mb = (k: string) => Math.round(Number(stat[k]) / 1048576);
      console.log(`[local-hosts] ${n} idle: rss ${mb("total_rss")} MB, cache ${mb("total_cache")} MB, ` +
        `usage ${Math.round(Number(readFileSync(join(cg, "memory.usage_in_bytes"), "utf8")) / 1048576)} MB`);
      expect(Number(stat.total_rss)).toBeGreaterThan(0);
    }
  });

  it("deletes everything: machines, network; leaves no veth, bridge, mount, cgroup, directory or process (the image cache stays)", async () => {
    const cgroups = [...made.keys()].flatMap((n) => readFileSync(join(dir(n), "cgroups"), "utf8").trim().split("\n"));
    for (const m of made.values()) await machines.delete("", m);
    made.clear();
    await networks.delete("", network);
    expect(await networks.read("", network)).toEqual({});
    const links = sh("ip -o link show");
    expect(links).not.toMatch(/vb-lt-|em-t0/);
    expect(readFileSync("/proc/mounts", "utf8")).not.toContain(STATE);
    for (const c of cgroups) expect(existsSync(c), c).toBe(false);
    expect(existsSync(join(STATE, CLUSTER))).toBe(false);
    for (const p of pidsSeen) expect(existsSync(`/proc/${p}`) && !/\) Z /.test(readFileSync(`/proc/${p}/stat`, "utf8")), `pid ${p}`).toBe(false);
    await images.delete();
    expect(existsSync(join(image.path, ".em-image-complete"))).toBe(true); // shared cache: kept
    expect(await machines.status({ stateDir: STATE, cluster: CLUSTER, name: "lt-a" })).toEqual({ running: false });
  });
});

describe.skipIf(!!skip)("provider local: nat egress rules, in a network namespace of this test", () => {
  const NS = "em-nat-test";
  const inNs = ["ip", "netns", "exec", NS];
  const networks = new LocalNetworkProvider({ wrap: inNs });
  const state = mkdtempSync(join(tmpdir(), "em-nat-state-"));
  const ns = (cmd: string) => sh(`ip netns exec ${NS} bash -c '${cmd}'`);
  const hostForward = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
  const net = (i: number): NetworkInputs => ({ bridge: `em-nat${i}`, cidr: `10.8${i}.0.0/24`, egress: "nat", stateDir: state, cluster: `nt${i}` });

  beforeAll(() => {
    sh(`ip netns del ${NS} 2>/dev/null || true; ip netns add ${NS}`);
  });
  afterAll(() => {
    sh(`ip netns del ${NS} 2>/dev/null || true`);
    rmSync(state, { recursive: true, force: true });
  });

  it("installs masquerade + forward for the cidr and turns forwarding on; delete removes them and restores it", async () => {
    expect(ns("cat /proc/sys/net/ipv4/ip_forward").trim()).toBe("0");
    const outs = (await networks.create(net(0))).outs!;
    expect(outs).toMatchObject({ gateway: "10.80.0.1", forwardingWas: "0", natTable: "em_nat_em_nat0" });
    const table = ns("nft list table ip em_nat_em_nat0");
    expect(table).toMatch(/type nat hook postrouting priority srcnat; policy accept;\s+ip saddr 10\.80\.0\.0\/24 oifname != "em-nat0" masquerade/);
    expect(table).toMatch(/type filter hook forward priority filter; policy accept;\s+iifname "em-nat0" accept\s+oifname "em-nat0" accept/);
    expect(ns("cat /proc/sys/net/ipv4/ip_forward").trim()).toBe("1");
    expect(ns("ip -4 addr show em-nat0")).toContain("inet 10.80.0.1/24");
    expect(sh("ip -o link show")).not.toContain("em-nat0");            // in the namespace only
    expect(await networks.diff("", outs, net(0))).toMatchObject({ changes: false });
    const again = await networks.update("", outs, net(0));              // idempotent: one table, same record
    expect(again.outs).toMatchObject({ forwardingWas: "0", natTable: "em_nat_em_nat0" });
    expect(ns("nft list tables").match(/em_nat_em_nat0/g)).toHaveLength(1);

    // a second stack's network: forwarding stays on until the last NAT table is gone
    const second = (await networks.create(net(1))).outs!;
    expect(second.forwardingWas).toBe("1");
    await networks.delete("", outs);
    expect(ns("nft list tables")).not.toContain("em_nat_em_nat0");
    expect(ns("cat /proc/sys/net/ipv4/ip_forward").trim()).toBe("1");
    expect(ns("ip link show em-nat0 2>&1 || true")).toMatch(/does not exist/);
    await networks.delete("", { ...second, forwardingWas: outs.forwardingWas }); // the first value we saw
    expect(ns("nft list tables").trim()).toBe("");
    expect(ns("cat /proc/sys/net/ipv4/ip_forward").trim()).toBe("0");
    expect(existsSync(state) ? readdirSync(state) : []).toEqual([]); // the cluster dir (and an empty state dir) removed
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBe(hostForward); // this machine: untouched
  });

  it("nat -> proxy removes the table and restores forwarding; a missing table shows as a change", async () => {
    const outs = (await networks.create(net(0))).outs!;
    ns("nft delete table ip em_nat_em_nat0");
    expect(await networks.diff("", outs, net(0))).toMatchObject({ changes: true, replaces: [] });
    const fixed = (await networks.update("", outs, net(0))).outs!;
    expect(ns("nft list tables")).toContain("em_nat_em_nat0");
    const proxy = (await networks.update("", fixed, { ...net(0), egress: "proxy" })).outs!;
    expect(proxy.forwardingWas).toBeUndefined();
    expect(ns("nft list tables").trim()).toBe("");
    expect(ns("cat /proc/sys/net/ipv4/ip_forward").trim()).toBe("0");
    await networks.delete("", proxy);
    expect(existsSync(state) ? readdirSync(state) : []).toEqual([]); // the cluster dir (and an empty state dir) removed
  });
});
