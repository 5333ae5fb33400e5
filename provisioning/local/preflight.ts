// Preflight of `provider: local`: before any resource is registered, check that this machine can run the
// requested cluster as systemd-nspawn machines, and refuse with one line per problem and what to do, in the
// style of the config errors. `preflightProblems` is pure (tests feed it faked facts); `gatherFacts` reads
// the real machine, synchronously, without changing anything.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { inspect } from "node:util";
import { RunError } from "@pulumi/pulumi";
import { contains, parseCidr, type ParsedCidr } from "../../components/config/cidrs";
import { NAMESPACE, type Problem } from "../../components/config/errors";

// Estimates per machine, against `npm run bench:local` (bench/local.js; 2026-12-02, 2 cores, 24 GB, 1+2 and 3+3,
// cold and warm, two runs): host PSS of all processes of a machine, peak over `npm run up` + 30 s after ready.
//   master: 205-235 MiB peak, 200-213 settled, of it ZooKeeper (the real JVM) ~160, the stand-in mesos-master and
//     Marathon ~18 each, systemd/journald/sshd ~15. agent: 89-115 MiB peak (the bootstrap's apt/dpkg), 33-37
//     settled, of it the stand-in mesos-agent ~19. A bare booted machine: 14-18 MiB.
// Those Mesos and Marathon are the project's small Python test stand-ins. The real ones are bigger and were not
// measured: Marathon is a JVM with a 512 MiB default heap (JAVA_OPTS -Xmx512m, mesos-stack.md §Marathon) plus
// metaspace, code cache and threads (~700 MiB resident), mesos-master and mesos-agent are C++ daemons (~100-200 MiB
// at this size, our estimate) and an agent runs an executor per task. So the figures are floors, not the measured
// values: a master 15 + 160 + ~700 + ~200 ≈ 1080 MiB → 1200; an agent ~40 + ~200 + executors → 400. Tasks' own
// memory (agentPools[].resources.mem) comes on top and is not counted here.
export const MASTER_MEMORY_MIB = 1200;
export const AGENT_MEMORY_MIB = 400;
// Disk: a machine's overlay upper layer once ready measured 244 MiB (master) and 234 MiB (agent) with the stand-ins;
// the real Mesos package, Docker and the Marathon image are not in that: 1500 MiB kept as their allowance.
export const MACHINE_DISK_MIB = 1500;
/**
 * The base image (Debian rootfs) when it is not in the image cache yet: 457 MiB once built (bench:local); the
 * packages mmdebstrap downloads while building come on top (not measured): 1000 kept.
 */
export const IMAGE_DISK_MIB = 1000;

/** What the preflight checks, as plain values (built from the model by `requestFromModel`). */
export interface LocalRequest {
  cluster: string;
  masters: number;
  /** Count of each agent pool, in config order (agentPools[i].count). */
  agentPools: number[];
  bridge: string;
  cidr: string;
  stateDir: string;
  imageCache: string;
}

/** A tool the local provider runs, and where to get it. */
interface Tool {
  name: string;
  debian: string;
  rpm: string;
  rpmNote?: string;
  /** Only needed to build the base image. */
  imageOnly?: boolean;
}

export const TOOLS: readonly Tool[] = [
  { name: "systemd-nspawn", debian: "systemd-container", rpm: "systemd-container" },
  // RHEL, Rocky and Alma have no mmdebstrap of their own: it comes from EPEL (Fedora has it).
  { name: "mmdebstrap", debian: "mmdebstrap", rpm: "mmdebstrap", rpmNote: " (on RHEL/Rocky/Alma from EPEL)",
    imageOnly: true },
  { name: "ip", debian: "iproute2", rpm: "iproute" },
  { name: "nft", debian: "nftables", rpm: "nftables" },
  { name: "ssh-keygen", debian: "openssh-client", rpm: "openssh-clients" },
  { name: "python3", debian: "python3", rpm: "python3" },
  { name: "flock", debian: "util-linux", rpm: "util-linux" },
];

/** A filesystem that must hold part of the cluster, found through the nearest existing parent of a path. */
export interface DiskFact {
  /** The configured path (stateDir or imageCache). */
  path: string;
  /** Device number of its filesystem: two paths on one filesystem share the free space. */
  device: number;
  freeMiB: number;
}

export interface LocalFacts {
  platform: string;
  uid: number;
  /** `sudo -n true` succeeded (only asked when uid is not 0). */
  passwordlessSudo: boolean;
  /** Tool name → found on PATH (plus the sbin directories sudo's secure_path has). */
  tools: Record<string, boolean>;
  pid1Systemd: boolean;
  /** Controllers of the cgroup v2 root, when /sys/fs/cgroup is cgroup2; undefined otherwise. */
  cgroup2Controllers?: string[];
  /** A cgroup v1 hierarchy with name=systemd is mounted. */
  cgroup1NameSystemd: boolean;
  overlayfs: boolean;
  /** MemAvailable from /proc/meminfo; undefined when it cannot be read. */
  memAvailableMiB?: number;
  stateDisk?: DiskFact;
  imageDisk?: DiskFact;
  /** A base image is already in imageCache (a directory in it holding a rootfs). */
  imageCached: boolean;
  /** Machine directories this stack already has in <stateDir>/<cluster>/ (they use memory and disk already). */
  existingMachines: string[];
  /** Network interfaces with their IPv4/IPv6 addresses as `addr/prefix`. */
  interfaces: { name: string; addrs: string[] }[];
  /** Main-table routes except the default route: `dst` as a CIDR, `dev` when the route has one. */
  routes: { dst: string; dev?: string }[];
  /** The bridge that <stateDir>/<cluster>/network.json names, when this stack already made its network. */
  ownBridge?: string;
  /**
   * fs.inotify.max_user_instances, and how many inotify instances root's processes hold (machines run as root
   * and share that one limit); inUse only when this process is root (others cannot see root's descriptors).
   */
  inotify?: { max: number; inUse?: number };
}

/**
 * Inotify instances a machine takes (its systemd, journald, udev, logind, sshd...): 134 in use on a machine
 * running 17 (the lab and a local cluster), about 8 each. Past the limit a machine's systemd dies at boot with
 * "Failed to allocate manager object: Too many open files".
 */
export const MACHINE_INOTIFY_INSTANCES = 8;

// ---- checks (pure) -----------------------------------------------------------------------------------

/** Every problem of this machine for the request; empty when the cluster can be created here. */
export function preflightProblems(facts: LocalFacts, request: LocalRequest): Problem[] {
  if (facts.platform !== "linux") return [notLinux(facts.platform)];
  return [
    ...privilegeProblems(facts),
    ...toolProblems(facts),
    ...cgroupProblems(facts),
    ...overlayProblems(facts),
    ...capacityProblems(facts, request),
    ...bridgeProblems(facts, request),
    ...subnetProblems(facts, request),
  ];
}

function notLinux(platform: string): Problem {
  return {
    key: "",
    message:
      `provider local runs Linux containers (systemd-nspawn) and this machine runs ${platform}, not Linux; ` +
      "run it on a Linux machine or VM, or choose a cloud or baremetal provider",
  };
}

function privilegeProblems(facts: LocalFacts): Problem[] {
  if (facts.uid === 0 || facts.passwordlessSudo) return [];
  return [{
    key: "",
    message:
      "creating machines, bridges and NAT rules needs root, and this user is not root and has no password-less sudo " +
      "(`sudo -n true` failed; a password prompt cannot be answered inside `pulumi up`); run as root, or allow it: " +
      "`echo \"$USER ALL=(root) NOPASSWD: ALL\" | sudo tee /etc/sudoers.d/elastic-mesos`",
  }];
}

function toolProblems(facts: LocalFacts): Problem[] {
  return TOOLS.filter((t) => !facts.tools[t.name] && !(t.imageOnly && facts.imageCached)).map((t) => ({
    key: "",
    message:
      `${t.name} is not installed${t.imageOnly ? " (it builds the base image, which is not cached yet)" : ""}; ` +
      `install it: \`apt-get install ${t.debian}\` (Debian/Ubuntu) or \`dnf install ${t.rpm}\` (Fedora/RHEL)` +
      (t.rpmNote ?? ""),
  }));
}

/** systemd-nspawn needs cgroup v2 delegated by systemd, or the v1 layout with a name=systemd hierarchy. */
function cgroupProblems(facts: LocalFacts): Problem[] {
  const v2 = facts.cgroup2Controllers;
  if (facts.pid1Systemd && v2 && ["memory", "pids"].every((c) => v2.includes(c))) return [];
  if (facts.cgroup1NameSystemd) return [];
  const found = v2
    ? `cgroup v2 with controllers [${v2.join(" ")}]${facts.pid1Systemd ? "" : " and PID 1 is not systemd"}`
    : "no cgroup v2 and no name=systemd cgroup v1 hierarchy";
  return [{
    key: "",
    message:
      `systemd-nspawn cannot place machines in cgroups here (${found}); it needs cgroup v2 with the memory and ` +
      "pids controllers under systemd as PID 1, or cgroup v1 with a name=systemd hierarchy: boot with systemd " +
      "(cgroup v2 is the default since systemd 247), or mount one: `mkdir -p /sys/fs/cgroup/systemd && " +
      "mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd`",
  }];
}

function overlayProblems(facts: LocalFacts): Problem[] {
  if (facts.overlayfs) return [];
  return [{
    key: "",
    message:
      "the kernel has no overlay filesystem (no `overlay` in /proc/filesystems); machines are overlays of one base " +
      "image: load it with `modprobe overlay` and keep it with `echo overlay > /etc/modules-load.d/overlay.conf`",
  }];
}

/** Machines still to create: those this stack already has use memory and disk already (a re-run needs none). */
/** Masters and agents the run will create. */
interface Fresh {
  masters: number;
  agents: number;
}

function newMachines(facts: LocalFacts, request: LocalRequest): Fresh {
  const existingMasters = facts.existingMachines.filter(isMasterName).length;
  const existingAgents = facts.existingMachines.length - existingMasters;
  const agents = request.agentPools.reduce((a, b) => a + b, 0);
  return { masters: Math.max(0, request.masters - existingMasters), agents: Math.max(0, agents - existingAgents) };
}

/** Masters are `m<N>` (node id) or `<cluster>-m<N>` (hostname); an agent id always ends in `-<N>`. */
function isMasterName(name: string): boolean {
  return /(^|-)m\d+$/.test(name);
}

/** The config key to lower: the largest agent pool, or masters.count when there are no agents to drop. */
function countKey(request: LocalRequest, fresh: Fresh): string {
  const counts = request.agentPools;
  if (fresh.agents === 0 || counts.length === 0) return "masters.count";
  return `agentPools[${counts.indexOf(Math.max(...counts))}].count`;
}

function lowerHint(request: LocalRequest): string {
  const pools = request.agentPools.length > 1 ? "agentPools[i].count" : "agentPools[0].count";
  return `lower masters.count (1, 3 or 5) or ${pools}`;
}

function capacityProblems(facts: LocalFacts, request: LocalRequest): Problem[] {
  const fresh = newMachines(facts, request);
  return [...memoryProblems(facts, request, fresh), ...diskProblems(facts, request, fresh), ...inotifyProblems(facts, request, fresh)];
}

function inotifyProblems(facts: LocalFacts, request: LocalRequest, fresh: Fresh): Problem[] {
  const n = fresh.masters + fresh.agents;
  if (!facts.inotify || n === 0) return [];
  const { max, inUse = 0 } = facts.inotify;
  const need = n * MACHINE_INOTIFY_INSTANCES;
  if (inUse + need <= max) return [];
  const target = 2 ** Math.ceil(Math.log2(Math.max(1024, inUse + need)));
  return [{
    key: countKey(request, fresh),
    message:
      `the ${n} new machine${n === 1 ? "" : "s"} need about ${need} inotify instances and only ${Math.max(0, max - inUse)} ` +
      `of fs.inotify.max_user_instances=${max} are free (${inUse} in use by root's processes); without them a ` +
      `machine's systemd fails at boot ("Too many open files"): raise the limit with ` +
      `\`sudo sysctl -w fs.inotify.max_user_instances=${target}\` (keep it in /etc/sysctl.d/), or ${lowerHint(request)}`,
  }];
}

function memoryProblems(facts: LocalFacts, request: LocalRequest, fresh: Fresh): Problem[] {
  const need = fresh.masters * MASTER_MEMORY_MIB + fresh.agents * AGENT_MEMORY_MIB;
  const free = facts.memAvailableMiB;
  if (free === undefined || need <= free) return [];
  const parts = [];
  if (fresh.masters) parts.push(`${fresh.masters} master${fresh.masters === 1 ? "" : "s"} × ${MASTER_MEMORY_MIB}`);
  if (fresh.agents) parts.push(`${fresh.agents} agent${fresh.agents === 1 ? "" : "s"} × ${AGENT_MEMORY_MIB}`);
  return [{
    key: countKey(request, fresh),
    message:
      `the new machines need about ${need} MiB of memory (${parts.join(" + ")} MiB) and ${free} MiB is available ` +
      `(MemAvailable); ${lowerHint(request)}, or free memory`,
  }];
}

/** What one filesystem must hold: machine overlays (stateDir), the base image (imageCache), or both. */
interface DiskNeed {
  disk: DiskFact;
  machines: boolean;
  image: boolean;
}

function diskProblems(facts: LocalFacts, request: LocalRequest, fresh: Fresh): Problem[] {
  const { stateDisk: s, imageDisk: i } = facts;
  if (!s || !i) return [];
  const image = !facts.imageCached;
  const needs: DiskNeed[] = s.device === i.device
    ? [{ disk: s, machines: true, image }]
    : [{ disk: s, machines: true, image: false }, { disk: i, machines: false, image }];
  return needs.flatMap((n) => diskProblem(n, request, fresh));
}

function diskProblem(n: DiskNeed, request: LocalRequest, fresh: Fresh): Problem[] {
  const machines = n.machines ? fresh.masters + fresh.agents : 0;
  const need = machines * MACHINE_DISK_MIB + (n.image ? IMAGE_DISK_MIB : 0);
  if (need <= n.disk.freeMiB) return [];
  const what = [
    machines ? `${machines} new machine${machines === 1 ? "" : "s"} × ${MACHINE_DISK_MIB} MiB` : "",
    n.image ? `the base image, ${IMAGE_DISK_MIB} MiB` : "",
  ].filter(Boolean).join(" + ");
  const paths = n.machines && n.image ? `${request.stateDir} and ${request.imageCache}` : n.disk.path;
  const keys = [n.machines ? "local.stateDir" : "", n.image ? "local.imageCache" : ""].filter(Boolean);
  return [{
    key: machines ? countKey(request, fresh) : "local.imageCache",
    message:
      `the filesystem of ${paths} needs about ${need} MiB free (${what}) and has ${n.disk.freeMiB} MiB; ` +
      `${machines ? `${lowerHint(request)}, ` : ""}free space there, ` +
      `or point ${keys.join(" / ")} at a larger filesystem`,
  }];
}

function bridgeProblems(facts: LocalFacts, request: LocalRequest): Problem[] {
  if (facts.ownBridge === request.bridge) return [];
  if (!facts.interfaces.some((i) => i.name === request.bridge)) return [];
  return [{
    key: "local.bridge",
    message:
      `an interface named ${request.bridge} already exists on this machine and is not this stack's network ` +
      `(no ${path.join(request.stateDir, request.cluster, "network.json")} names it); choose another name ` +
      "(at most 15 characters), or remove the interface if a deleted stack left it behind",
  }];
}

/** The cidr must not overlap an address or route of this machine, except those on this stack's own bridge. */
function subnetProblems(facts: LocalFacts, request: LocalRequest): Problem[] {
  const want = parseCidr(request.cidr);
  if (!want) return []; // the config schema reports a malformed cidr
  const clashes = [
    ...facts.interfaces.filter((i) => i.name !== facts.ownBridge)
      .flatMap((i) => i.addrs.map((a) => ({ what: `address ${a} on ${i.name}`, cidr: a }))),
    ...facts.routes.filter((r) => r.dev === undefined || r.dev !== facts.ownBridge)
      .map((r) => ({ what: `route ${r.dst}${r.dev ? ` on ${r.dev}` : ""}`, cidr: r.dst })),
  ].filter((c) => overlaps(want, parseCidr(c.cidr)));
  if (clashes.length === 0) return [];
  return [{
    key: "network.cidr",
    message:
      `${request.cidr} overlaps what this machine already uses (${clashes.slice(0, 3).map((c) => c.what).join(", ")}` +
      `${clashes.length > 3 ? `, and ${clashes.length - 3} more` : ""}); choose a free private range, ` +
      "e.g. another 10.x.y.0/24 that no address or route here uses (`ip addr`, `ip route` list them)",
  }];
}

function overlaps(a: ParsedCidr, b: ParsedCidr | undefined): boolean {
  return b !== undefined && a.family === b.family && (contains(a, b) || contains(b, a));
}

// ---- facts of the real machine -----------------------------------------------------------------------

/** Directories sudo's secure_path searches; a non-root PATH often lacks the sbin ones (ip, nft). */
const SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** Reads this machine. Changes nothing; a fact that cannot be read counts as absent (or unknown for sizes). */
export function gatherFacts(request: LocalRequest): LocalFacts {
  const uid = process.getuid?.() ?? -1;
  const base = { platform: process.platform, uid, passwordlessSudo: false, tools: {}, pid1Systemd: false };
  const empty = { ...base, cgroup1NameSystemd: false, overlayfs: false, imageCached: false };
  if (process.platform !== "linux") return { ...empty, existingMachines: [], interfaces: [], routes: [] };
  const clusterDir = path.join(request.stateDir, request.cluster);
  return {
    ...base,
    passwordlessSudo: uid !== 0 && succeeds("sudo", ["-n", "true"]),
    tools: Object.fromEntries(TOOLS.map((t) => [t.name, onPath(t.name)])),
    pid1Systemd: readText("/proc/1/comm")?.trim() === "systemd",
    cgroup2Controllers: cgroup2Controllers(),
    cgroup1NameSystemd: cgroupMountOptions().some((o) => o.includes("name=systemd")),
    overlayfs: /\soverlay$/m.test(readText("/proc/filesystems") ?? ""),
    memAvailableMiB: memAvailableMiB(),
    stateDisk: diskFact(request.stateDir),
    imageDisk: diskFact(request.imageCache),
    imageCached: imageCached(request.imageCache),
    existingMachines: subdirectories(clusterDir),
    interfaces: interfaces(),
    routes: routes(),
    ownBridge: ownBridge(path.join(clusterDir, "network.json")),
    inotify: inotifyFact(uid),
  };
}

/** The inotify instance limit and, as root, how many root's processes hold (anon_inode:inotify descriptors). */
function inotifyFact(uid: number): LocalFacts["inotify"] {
  const max = Number(readText("/proc/sys/fs/inotify/max_user_instances")?.trim());
  if (!Number.isInteger(max) || max <= 0) return undefined;
  if (uid !== 0) return { max };
  let inUse = 0;
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let fds: string[] = [];
    try {
      if (fs.statSync(`/proc/${pid}`).uid !== 0) continue;
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited meanwhile
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === "anon_inode:inotify") inUse++;
      } catch { /* closed meanwhile */ }
    }
  }
  return { max, inUse };
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function succeeds(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function json(cmd: string, args: string[]): any[] {
  try {
    const out = execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 });
    return JSON.parse(out);
  } catch {
    return [];
  }
}

/** An executable file named `name` in PATH or in the system directories. */
export function onPath(name: string, pathEnv = process.env.PATH ?? ""): boolean {
  const dirs = [...pathEnv.split(path.delimiter).filter(Boolean), ...SYSTEM_PATH];
  return dirs.some((d) => {
    try {
      const file = path.join(d, name);
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

/** Controllers of the v2 root when /sys/fs/cgroup itself is cgroup2 (a hybrid's /unified does not count). */
function cgroup2Controllers(): string[] | undefined {
  const CGROUP2_SUPER_MAGIC = 0x63677270;
  try {
    if (fs.statfsSync("/sys/fs/cgroup").type !== CGROUP2_SUPER_MAGIC) return undefined;
  } catch {
    return undefined;
  }
  return readText("/sys/fs/cgroup/cgroup.controllers")?.trim().split(/\s+/).filter(Boolean) ?? [];
}

/** Mount options of every cgroup (v1) mount, from /proc/self/mounts. */
function cgroupMountOptions(): string[] {
  const lines = (readText("/proc/self/mounts") ?? "").split("\n").map((l) => l.split(" "));
  return lines.filter((f) => f[2] === "cgroup").map((f) => f[3] ?? "");
}

function memAvailableMiB(): number | undefined {
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(readText("/proc/meminfo") ?? "");
  return m ? Math.floor(Number(m[1]) / 1024) : undefined;
}

/** Free space for unprivileged use where `dir` is or will be created (its nearest existing parent). */
function diskFact(dir: string): DiskFact | undefined {
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    try {
      const free = fs.statfsSync(p);
      return { path: dir, device: fs.statSync(p).dev, freeMiB: Math.floor((free.bavail * free.bsize) / 2 ** 20) };
    } catch {
      if (p === path.dirname(p)) return undefined;
    }
  }
}

function subdirectories(dir: string): string[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/**
 * Some image in the cache is complete (image.sh marks it so after the build). An image of other inputs counts
 * too, so a changed package list can still need mmdebstrap and IMAGE_DISK_MIB: the image step then says so.
 */
function imageCached(cacheDir: string): boolean {
  return subdirectories(cacheDir).some((d) => fs.existsSync(path.join(cacheDir, d, ".em-image-complete")));
}

function interfaces(): LocalFacts["interfaces"] {
  return json("ip", ["-j", "addr", "show"]).map((link: any) => ({
    name: String(link.ifname),
    addrs: (link.addr_info ?? [])
      .filter((a: any) => a.family === "inet" || a.family === "inet6")
      .map((a: any) => `${a.local}/${a.prefixlen}`),
  }));
}

function routes(): LocalFacts["routes"] {
  const all = [...json("ip", ["-j", "-4", "route", "show"]), ...json("ip", ["-j", "-6", "route", "show"])];
  return all
    .filter((r: any) => typeof r.dst === "string" && r.dst !== "default")
    .map((r: any) => ({ dst: r.dst.includes("/") ? r.dst : `${r.dst}/${r.dst.includes(":") ? 128 : 32}`, dev: r.dev }))
    .filter((r) => parseCidr(r.dst)?.prefix !== 0);
}

function ownBridge(networkJson: string): string | undefined {
  try {
    const bridge = JSON.parse(readText(networkJson) ?? "null")?.bridge;
    return typeof bridge === "string" ? bridge : undefined;
  } catch {
    return undefined;
  }
}

// ---- entry -------------------------------------------------------------------------------------------

/** The part of the cluster model the preflight reads (the model satisfies it once it has its `local` block). */
export interface PreflightModel {
  cluster: { name: string };
  masters: { count: number };
  agentPools: { count: number }[];
  network: { cidr: string };
  local?: { bridge: string; stateDir: string; imageCache: string };
}

export function requestFromModel(model: PreflightModel): LocalRequest {
  if (!model.local) throw new Error("provider local without a local block in the model (config defaults missing)");
  return {
    cluster: model.cluster.name,
    masters: model.masters.count,
    agentPools: model.agentPools.map((p) => p.count),
    bridge: model.local.bridge,
    cidr: model.network.cidr,
    stateDir: model.local.stateDir,
    imageCache: model.local.imageCache,
  };
}

/** Like ConfigError: the language host prints the message alone, without our stack frames. */
export class LocalPreflightError extends RunError {
  problems: Problem[];
  constructor(problems: Problem[]) {
    super(formatLocalProblems(problems));
    this.name = "LocalPreflightError";
    this.problems = problems;
  }

  [inspect.custom](): string {
    return `${this.name}: ${this.message}`;
  }
}

export function formatLocalProblems(problems: Problem[]): string {
  const n = problems.length;
  return [
    `${NAMESPACE}: ${n} problem${n === 1 ? "" : "s"} on this machine for provider local`,
    ...problems.map((p) => `  - ${p.key ? `${p.key}: ` : ""}${p.message}`),
    "Fix them (config keys with `pulumi config set --path '" + `${NAMESPACE}:<key>' <value>\`), then run ` +
      "`pulumi up` again. Nothing was created.",
  ].join("\n");
}

/** Run before any resource of a local stack: gathers this machine's facts and throws when it cannot host them. */
export function localPreflight(model: PreflightModel): void {
  const request = requestFromModel(model);
  const problems = preflightProblems(gatherFacts(request), request);
  if (problems.length > 0) throw new LocalPreflightError(problems);
}
