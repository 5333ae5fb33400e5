// Preflight of provider local: each problem from faked facts (key + the fix the user reads), then the real
// facts of this machine (root, Linux, cgroup v1 with name=systemd, the tools of lab/host-deps.sh).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  AGENT_MEMORY_MIB, IMAGE_DISK_MIB, LocalPreflightError, MACHINE_DISK_MIB, MASTER_MEMORY_MIB, TOOLS, gatherFacts,
  localPreflight, onPath, preflightProblems, type LocalFacts, type LocalRequest,
} from "../../provisioning/local/preflight";

const request: LocalRequest = {
  cluster: "x", masters: 1, agentPools: [2], bridge: "em-x", cidr: "10.78.0.0/24",
  stateDir: "/var/lib/elastic-mesos/local", imageCache: "/var/cache/elastic-mesos/images",
};

/** A machine that can host anything the tests ask for. */
function goodFacts(over: Partial<LocalFacts> = {}): LocalFacts {
  return {
    platform: "linux", uid: 0, passwordlessSudo: false,
    tools: Object.fromEntries(TOOLS.map((t) => [t.name, true])),
    pid1Systemd: true, cgroup2Controllers: ["cpuset", "cpu", "io", "memory", "pids"], cgroup1NameSystemd: false,
    overlayfs: true, memAvailableMiB: 64_000,
    stateDisk: { path: request.stateDir, device: 1, freeMiB: 100_000 },
    imageDisk: { path: request.imageCache, device: 1, freeMiB: 100_000 },
    imageCached: false, existingMachines: [],
    interfaces: [{ name: "lo", addrs: ["127.0.0.1/8", "::1/128"] }, { name: "eth0", addrs: ["192.0.2.2/24"] }],
    routes: [{ dst: "192.0.2.0/24", dev: "eth0" }],
    ...over,
  };
}

function only(facts: LocalFacts, req: LocalRequest = request) {
  const problems = preflightProblems(facts, req);
  expect(problems).toHaveLength(1);
  return problems[0];
}

describe("preflight of provider local, one problem at a time", () => {
  it("too few free inotify instances (each machine's systemd needs some): names the sysctl and the count key", () => {
    const p = only(goodFacts({ inotify: { max: 128, inUse: 117 } }));
    expect(p.key).toBe("agentPools[0].count");
    expect(p.message).toContain("the 3 new machines need about 24 inotify instances and only 11 of fs.inotify.max_user_instances=128 are free");
    expect(p.message).toContain("`sudo sysctl -w fs.inotify.max_user_instances=1024`");
    expect(preflightProblems(goodFacts({ inotify: { max: 128, inUse: 100 } }), request)).toEqual([]);
    expect(preflightProblems(goodFacts({ inotify: { max: 128 } }), request)).toEqual([]); // not root: in use unknown
  });

  it("passes a machine that has everything", () => {
    expect(preflightProblems(goodFacts(), request)).toEqual([]);
  });

  it("refuses a machine that is not Linux, and checks nothing else there", () => {
    const p = only(goodFacts({ platform: "darwin", tools: {}, overlayfs: false, memAvailableMiB: 1 }));
    expect(p.key).toBe("");
    expect(p.message).toContain("runs darwin, not Linux");
    expect(p.message).toContain("run it on a Linux machine or VM, or choose a cloud or baremetal provider");
  });

  it("refuses a user who is not root and has no password-less sudo; either one is enough", () => {
    const p = only(goodFacts({ uid: 1000, passwordlessSudo: false }));
    expect(p.key).toBe("");
    expect(p.message).toContain("`sudo -n true` failed");
    expect(p.message).toContain("run as root");
    expect(p.message).toContain("NOPASSWD");
    expect(preflightProblems(goodFacts({ uid: 1000, passwordlessSudo: true }), request)).toEqual([]);
  });

  it.each(TOOLS.map((t) => [t.name, t.debian, t.rpm]))("names the packages of a missing %s", (name, deb, rpm) => {
    const p = only(goodFacts({ tools: { ...goodFacts().tools, [name]: false } }));
    expect(p.key).toBe("");
    expect(p.message).toContain(`${name} is not installed`);
    expect(p.message).toContain(`\`apt-get install ${deb}\` (Debian/Ubuntu)`);
    expect(p.message).toContain(`\`dnf install ${rpm}\` (Fedora/RHEL)`);
  });

  it("asks for mmdebstrap only while the base image is not cached, and points RPM hosts at EPEL", () => {
    const tools = { ...goodFacts().tools, mmdebstrap: false };
    expect(only(goodFacts({ tools })).message).toContain("mmdebstrap is not installed (it builds the base image");
    expect(only(goodFacts({ tools })).message).toContain("on RHEL/Rocky/Alma from EPEL");
    expect(preflightProblems(goodFacts({ tools, imageCached: true }), request)).toEqual([]);
  });

  it("accepts cgroup v1 with a name=systemd hierarchy (this machine's layout) without systemd as PID 1", () => {
    const facts = goodFacts({ pid1Systemd: false, cgroup2Controllers: undefined, cgroup1NameSystemd: true });
    expect(preflightProblems(facts, request)).toEqual([]);
  });

  it("refuses cgroups that systemd-nspawn cannot use, with how to get usable ones", () => {
    const cases: Partial<LocalFacts>[] = [
      { pid1Systemd: false, cgroup2Controllers: undefined, cgroup1NameSystemd: false },
      { pid1Systemd: true, cgroup2Controllers: ["cpu", "memory"] }, // pids not delegated
      { pid1Systemd: false, cgroup2Controllers: ["memory", "pids"] }, // nobody delegates
    ];
    for (const c of cases) {
      const p = only(goodFacts(c));
      expect(p.key).toBe("");
      expect(p.message).toContain("systemd-nspawn cannot place machines in cgroups here");
      expect(p.message).toContain("mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd");
    }
    expect(only(goodFacts(cases[1])).message).toContain("cgroup v2 with controllers [cpu memory]");
    expect(only(goodFacts(cases[2])).message).toContain("PID 1 is not systemd");
  });

  it("refuses a kernel without overlayfs", () => {
    const p = only(goodFacts({ overlayfs: false }));
    expect(p.key).toBe("");
    expect(p.message).toContain("`modprobe overlay`");
  });
});

describe("preflight of provider local: memory and disk for the requested cluster", () => {
  const big: LocalRequest = { ...request, masters: 3, agentPools: [1, 4] };
  const bigMem = 3 * MASTER_MEMORY_MIB + 5 * AGENT_MEMORY_MIB;

  it("refuses too little memory, saying needed and free, keyed on the largest pool", () => {
    const p = only(goodFacts({ memAvailableMiB: bigMem - 1 }), big);
    expect(p.key).toBe("agentPools[1].count");
    expect(p.message).toContain(`need about ${bigMem} MiB of memory (3 masters × ${MASTER_MEMORY_MIB} + 5 agents`);
    expect(p.message).toContain(`and ${bigMem - 1} MiB is available (MemAvailable)`);
    expect(p.message).toContain("lower masters.count (1, 3 or 5) or agentPools[i].count");
    expect(preflightProblems(goodFacts({ memAvailableMiB: bigMem }), big)).toEqual([]);
  });

  it("keys memory on masters.count when only masters are to be created", () => {
    const p = only(goodFacts({ memAvailableMiB: 100 }), { ...request, masters: 3, agentPools: [0] });
    expect(p.key).toBe("masters.count");
  });

  it("counts only machines this stack does not have yet (a re-run of a running cluster needs nothing)", () => {
    const running = ["x-m1", "x-m2", "x-m3", "x-a-1", "x-b-1", "x-b-2", "x-b-3", "x-b-4"];
    expect(preflightProblems(goodFacts({ memAvailableMiB: 0, existingMachines: running, imageCached: true }), big))
      .toEqual([]);
    // One more agent in pool b on a full machine: the need is that one agent.
    const p = only(goodFacts({ memAvailableMiB: 10, existingMachines: running }), { ...big, agentPools: [1, 5] });
    expect(p.message).toContain(`need about ${AGENT_MEMORY_MIB} MiB of memory (1 agent × ${AGENT_MEMORY_MIB} MiB)`);
  });

  it("refuses too little disk where stateDir and imageCache share a filesystem, counting the image once", () => {
    const need = 3 * MACHINE_DISK_MIB + IMAGE_DISK_MIB;
    const disk = (freeMiB: number, device: number, p: string) => ({ path: p, device, freeMiB });
    const facts = goodFacts({
      stateDisk: disk(need - 1, 7, request.stateDir), imageDisk: disk(need - 1, 7, request.imageCache),
    });
    const p = only(facts);
    expect(p.key).toBe("agentPools[0].count");
    expect(p.message).toContain(`${request.stateDir} and ${request.imageCache} needs about ${need} MiB free`);
    expect(p.message).toContain(`(3 new machines × ${MACHINE_DISK_MIB} MiB + the base image, ${IMAGE_DISK_MIB} MiB)`);
    expect(p.message).toContain(`and has ${need - 1} MiB`);
    expect(p.message).toContain("lower masters.count (1, 3 or 5) or agentPools[0].count");
    expect(p.message).toContain("point local.stateDir / local.imageCache at a larger filesystem");
    expect(preflightProblems({ ...facts, imageCached: true }, request)).toEqual([]);
  });

  it("checks each filesystem on its own when they differ", () => {
    const facts = goodFacts({
      stateDisk: { path: request.stateDir, device: 1, freeMiB: 3 * MACHINE_DISK_MIB },
      imageDisk: { path: request.imageCache, device: 2, freeMiB: IMAGE_DISK_MIB - 1 },
    });
    const p = only(facts);
    expect(p.key).toBe("local.imageCache"); // no machine needs that filesystem: only moving the cache helps
    expect(p.message).toContain(`the filesystem of ${request.imageCache} needs about ${IMAGE_DISK_MIB} MiB`);
    expect(p.message).not.toContain("lower masters.count");
    const state = only({ ...facts, stateDisk: { ...facts.stateDisk!, freeMiB: 10 }, imageCached: true });
    expect(state.message).toContain("point local.stateDir at a larger filesystem");
  });
});

describe("preflight of provider local: bridge and subnet", () => {
  it("refuses a bridge name another interface already has", () => {
    const p = only(goodFacts({ interfaces: [...goodFacts().interfaces, { name: "em-x", addrs: [] }] }));
    expect(p.key).toBe("local.bridge");
    expect(p.message).toContain("an interface named em-x already exists on this machine");
    expect(p.message).toContain("/var/lib/elastic-mesos/local/x/network.json");
    expect(p.message).toContain("choose another name (at most 15 characters)");
  });

  it("accepts this stack's own bridge and its addresses and routes on a re-run", () => {
    const facts = goodFacts({
      ownBridge: "em-x",
      interfaces: [...goodFacts().interfaces, { name: "em-x", addrs: ["10.78.0.1/24"] }],
      routes: [...goodFacts().routes, { dst: "10.78.0.0/24", dev: "em-x" }],
    });
    expect(preflightProblems(facts, request)).toEqual([]);
  });

  it("refuses a subnet that overlaps an address of this machine", () => {
    const p = only(goodFacts({ interfaces: [{ name: "eth1", addrs: ["10.78.0.200/25"] }] }));
    expect(p.key).toBe("network.cidr");
    expect(p.message).toContain("10.78.0.0/24 overlaps what this machine already uses (address 10.78.0.200/25 on eth1");
    expect(p.message).toContain("choose a free private range");
  });

  it("refuses a subnet inside a route of this machine (a VPN's 10/8), but not one beside it", () => {
    const p = only(goodFacts({ routes: [{ dst: "10.0.0.0/8", dev: "wg0" }] }));
    expect(p.key).toBe("network.cidr");
    expect(p.message).toContain("route 10.0.0.0/8 on wg0");
    expect(preflightProblems(goodFacts({ routes: [{ dst: "10.79.0.0/16" }] }), request)).toEqual([]);
  });

  it("refuses the subnet on another stack's (or the lab's) bridge even when this stack has a network", () => {
    const facts = goodFacts({ ownBridge: "em-x", routes: [{ dst: "10.78.0.0/24", dev: "em-other" }] });
    expect(only(facts).message).toContain("route 10.78.0.0/24 on em-other");
  });
});

describe("preflight of provider local: the error", () => {
  it("lists every problem under one count line, like the config errors, and says nothing was created", () => {
    const facts = goodFacts({ uid: 1000, overlayfs: false, interfaces: [{ name: "em-x", addrs: ["10.78.0.9/16"] }] });
    const err = new LocalPreflightError(preflightProblems(facts, request));
    const lines = err.message.split("\n");
    expect(lines[0]).toBe("elastic-mesos: 4 problems on this machine for provider local");
    expect(lines.filter((l) => l.startsWith("  - "))).toHaveLength(4);
    expect(lines).toContain(`  - local.bridge: ${err.problems.find((p) => p.key === "local.bridge")!.message}`);
    expect(lines.at(-1)).toMatch(/then run `pulumi up` again\. Nothing was created\.$/);
  });
});

describe("preflight of provider local on this machine (real facts)", () => {
  const model = (over: { local?: object; cidr?: string } = {}) => ({
    cluster: { name: "x" }, masters: { count: 1 }, agentPools: [{ count: 2 }],
    network: { cidr: over.cidr ?? "10.78.0.0/24" },
    local: { bridge: "em-x", stateDir: request.stateDir, imageCache: request.imageCache, ...over.local },
  });

  it("reads sane facts: Linux, root, the tools, cgroups, overlayfs, memory, disk, interfaces, routes", () => {
    const f = gatherFacts(request);
    expect(f.platform).toBe("linux");
    expect(f.uid).toBe(0);
    expect(f.tools).toEqual(Object.fromEntries(TOOLS.map((t) => [t.name, true])));
    expect(f.cgroup1NameSystemd || (f.pid1Systemd && f.cgroup2Controllers !== undefined)).toBe(true);
    expect(f.overlayfs).toBe(true);
    const meminfo = Number(/^MemTotal:\s+(\d+)/m.exec(fs.readFileSync("/proc/meminfo", "utf8"))![1]) / 1024;
    expect(f.memAvailableMiB).toBeGreaterThan(0);
    expect(f.memAvailableMiB).toBeLessThanOrEqual(meminfo);
    expect(f.stateDisk!.freeMiB).toBeGreaterThan(0);
    let existing = request.stateDir; // the nearest existing parent: the state dir may not be made yet
    while (!fs.existsSync(existing)) existing = path.dirname(existing);
    expect(f.stateDisk!.device).toBe(fs.statSync(existing).dev);
    const free = fs.statfsSync(existing);
    expect(f.stateDisk!.freeMiB).toBeCloseTo((free.bavail * free.bsize) / 2 ** 20, -3); // within ~500 MiB
    expect(f.interfaces.find((i) => i.name === "lo")?.addrs).toContain("127.0.0.1/8");
    expect(f.routes.every((r) => !r.dst.endsWith("/0"))).toBe(true); // the default route overlaps everything
  });

  it("passes here for 1 master + 2 agents on a bridge and subnet nothing here uses", () => {
    // Not the default 10.78.0.0/24: a developer's own local cluster (or the local e2e) may be running on it.
    const free = { ...request, bridge: "em-pftest", cidr: "10.213.77.0/24" };
    expect(preflightProblems(gatherFacts(free), free)).toEqual([]);
    expect(() => localPreflight(model({ local: { bridge: "em-pftest" }, cidr: "10.213.77.0/24" }))).not.toThrow();
  });

  it("sees this machine's real interfaces: lo as a bridge name, 127.0.0.0/24 as a subnet", () => {
    let err: unknown;
    try {
      localPreflight(model({ local: { bridge: "lo" }, cidr: "127.0.0.0/24" }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LocalPreflightError);
    expect((err as LocalPreflightError).problems.map((p) => p.key)).toEqual(["local.bridge", "network.cidr"]);
    expect((err as Error).message).toContain("address 127.0.0.1/8 on lo");
  });

  it("reads this stack's network.json, its machines and a cached image from the state and cache directories", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "em-preflight-"));
    try {
      const stateDir = path.join(root, "state"), imageCache = path.join(root, "not", "yet", "made");
      fs.mkdirSync(path.join(stateDir, "x", "x-m1"), { recursive: true });
      fs.mkdirSync(path.join(stateDir, "x", "x-pool-1"));
      fs.writeFileSync(path.join(stateDir, "x", "network.json"), JSON.stringify({ bridge: "lo", cidr: "127.0.0.0/8" }));
      const req = { ...request, stateDir, imageCache, bridge: "lo" };
      const f = gatherFacts(req);
      expect(f.ownBridge).toBe("lo");
      expect(f.existingMachines).toEqual(["x-m1", "x-pool-1"]);
      expect(f.imageCached).toBe(false);
      expect(f.imageDisk!.device).toBe(fs.statSync(root).dev); // nearest existing parent of a path not made yet
      expect(preflightProblems(f, req).map((p) => p.key)).not.toContain("local.bridge");
      const image = path.join(root, "cache", "debian-bookworm-abc");
      fs.mkdirSync(path.join(image + ".tmp", "etc"), { recursive: true }); // a build in progress is no image yet
      expect(gatherFacts({ ...req, imageCache: path.join(root, "cache") }).imageCached).toBe(false);
      fs.mkdirSync(image);
      fs.writeFileSync(path.join(image, ".em-image-complete"), "");
      expect(gatherFacts({ ...req, imageCache: path.join(root, "cache") }).imageCached).toBe(true);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("finds tools in the sbin directories even when PATH lacks them (sudo's secure_path has them)", () => {
    expect(onPath("ip", "/nonexistent")).toBe(true);
    expect(onPath("no-such-tool-em", "/usr/bin")).toBe(false);
  });
});
