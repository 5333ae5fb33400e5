// OpenStack under mocks, for a 3-master, 2-pool cluster over three zones. OpenStack has no standard self-healing
// group: every agent stays an instance of its own with its host resource (components/cloud-hosts.ts).
// - the resource set, exactly; every argument of every OpenStack resource is one the SDK declares (read from
//   node_modules/@pulumi/openstack's .d.ts, nested block devices and the image lookup included), with the
//   values its documentation allows;
// - servers boot from a volume of the node's diskGb made from an image Glance finds (os properties, a name, or
//   an id as given), and a new image or size replaces no running server;
// - subnets' DHCP pools keep the masters' planned addresses free; floating IPs (masters only) wait for their
//   subnet's router interface;
// - raising a pool's count adds only that pool's machines and hosts; masters are never replaced;
// - a server made anew (lost outside Pulumi, then `pulumi up --refresh`) gives its machine another id, which
//   replaces its host resource (provisioning/baremetal plan.ts machineChange; the provider: host-machine.test.ts).
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { countByType, diffRuns, runProgram, stable, type RunResult } from "./harness";
import { isSecretInput, recordingMocks, type Registered } from "./mocks";
import { STACKS, type ConfigMap } from "./fixtures";
import { parseModel } from "../../components/config";
import { buildTopology, ipToString, parseCidr } from "../../components/topology";
import { openstack } from "../../components/providers/openstack";
import { imageQuery, OPENSTACK_IGNORED } from "../../components/providers/openstack/machines";
import { machineChange } from "../../provisioning/baremetal/plan";

const OS = "node_modules/@pulumi/openstack";
const INSTANCE = "openstack:compute/instance:Instance";
const HOST = "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host";
const ZONES = ["az1", "az2", "az3"];
const CONFIG: ConfigMap = { ...STACKS.openstack, openstack: { externalNetwork: "public", zones: ZONES } };

const of = (r: RunResult, type: string) => r.resources.filter((x) => x.type === type);
const byName = (r: RunResult, name: string) => r.resources.find((x) => x.name === name && x.custom)!;
const dependsOn = (r: Registered, name: string) => r.dependencies.some((u) => u.endsWith(`::${name}`));
const reveal = (v: any): any => (isSecretInput(v) ? reveal(v.value) : v);

/** The members an interface of the SDK's .d.ts declares (`export interface PortArgs`, `interface InstanceNetwork`). */
function sdkMembers(file: string, iface: string): Set<string> {
  const lines = readFileSync(`${OS}/${file}`, "utf8").split("\n");
  const start = lines.findIndex((l) => new RegExp(`^\\s*(export )?interface ${iface} \\{$`).test(l));
  if (start < 0) throw new Error(`no interface ${iface} in ${file}`);
  const indent = lines[start].match(/^\s*/)![0];
  const members = new Set<string>();
  for (const l of lines.slice(start + 1)) {
    if (l === `${indent}}`) break;
    const m = l.match(new RegExp(`^${indent}    (\\w+)\\??: `));
    if (m) members.add(m[1]);
  }
  return members;
}

/** `openstack:networking/port:Port` → the members of PortArgs (networking/port.d.ts). */
function argsOf(type: string): Set<string> {
  if (type === "pulumi:providers:openstack") return sdkMembers("provider.d.ts", "ProviderArgs");
  const [, mod, name] = type.match(/^openstack:(\w+)\/\w+:(\w+)$/)!;
  return sdkMembers(`${mod}/${name[0].toLowerCase()}${name.slice(1)}.d.ts`, `${name}Args`);
}

/** The two ranges of a DHCP pool as numbers. */
const range = (p: { start: string; end: string }) => [parseCidr(`${p.start}/32`).base, parseCidr(`${p.end}/32`).base];

/** Leaves that differ between two input trees, as dotted paths. */
function differingPaths(a: any, b: any, at: string[] = []): string[] {
  const obj = (x: any) => x !== null && typeof x === "object";
  if (obj(a) && obj(b) && Array.isArray(a) === Array.isArray(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((k) => differingPaths(a[k], b[k], [...at, k]));
  }
  return stable(reveal(a)) === stable(reveal(b)) ? [] : [at.join(".")];
}

/** The changed paths of an instance its ignoreChanges does not cover: what the engine would change on the server. */
function uncovered(before: Registered, after: Registered): string[] {
  const ignored = after.ignoreChanges ?? [];
  return differingPaths(before.inputs, after.inputs)
    .filter((p) => !ignored.some((i) => p === i || p.startsWith(`${i}.`)));
}

function withPools(counts: Record<string, number>, extra: ConfigMap = {}): ConfigMap {
  return { ...CONFIG, ...extra,
    agentPools: (CONFIG.agentPools as any[]).map((p) => (p.name in counts ? { ...p, count: counts[p.name] } : p)) };
}

describe("openstack: a 3-master, 2-pool cluster over three zones", () => {
  let r: RunResult;
  beforeAll(async () => {
    r = await runProgram(CONFIG);
  });

  it("the resource set: one instance, port and host per node; floating IPs for the masters alone", () => {
    expect(countByType(r.resources)).toEqual({
      "pulumi-nodejs:dynamic/elastic-mesos/cluster:Masters": 1, // the masters pin, first of all (membership/pin.ts)
      "elastic-mesos:index:Cluster": 1,
      "openstack:compute/instance:Instance": 7,
      "openstack:compute/keypair:Keypair": 1,
      "openstack:networking/floatingIp:FloatingIp": 3,
      "openstack:networking/floatingIpAssociate:FloatingIpAssociate": 3,
      "openstack:networking/network:Network": 1,
      "openstack:networking/port:Port": 7,
      "openstack:networking/router:Router": 1,
      "openstack:networking/routerInterface:RouterInterface": 3,
      "openstack:networking/secGroup:SecGroup": 2,
      "openstack:networking/secGroupRule:SecGroupRule": 6,
      "openstack:networking/subnet:Subnet": 3,
      [HOST]: 7,
      "pulumi-nodejs:dynamic/elastic-mesos/cloud:MasterPin": 3,
      "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness": 1,
      "pulumi:providers:openstack": 1,
      "pulumi:pulumi:Stack": 1,
    });
    // Agents have no public address: they reach the internet through the router's SNAT.
    expect(of(r, "openstack:networking/floatingIp:FloatingIp").map((x) => x.name).sort())
      .toEqual(["prod-m1-fip", "prod-m2-fip", "prod-m3-fip"]);
    expect(of(r, "openstack:networking/floatingIpAssociate:FloatingIpAssociate").map((x) => x.inputs.portId).sort())
      .toEqual(["prod-m1-port-id", "prod-m2-port-id", "prod-m3-port-id"]);
    expect(byName(r, "prod-router").inputs.externalNetworkId).toBe("ext-net-id");
  });

  it("every argument of every OpenStack resource is one the SDK declares", () => {
    const openstack = r.resources.filter((x) => x.custom && x.type.includes("openstack"));
    expect(openstack.length).toBe(38); // the provider too (ProviderArgs)
    for (const res of openstack) {
      const declared = argsOf(res.type);
      const unknown = Object.keys(res.inputs).filter((k) => !declared.has(k));
      expect(unknown, `${res.type} ${res.name}`).toEqual([]);
    }
    // Nested shapes: block devices, networks, fixed IPs, allocation pools; and the image lookup's arguments.
    const nested: [string, string, (x: Registered) => any[]][] = [
      [INSTANCE, "InstanceBlockDevice", (x) => x.inputs.blockDevices],
      [INSTANCE, "InstanceNetwork", (x) => x.inputs.networks],
      ["openstack:networking/port:Port", "PortFixedIp", (x) => x.inputs.fixedIps],
      ["openstack:networking/subnet:Subnet", "SubnetAllocationPool", (x) => x.inputs.allocationPools],
    ];
    for (const [type, iface, items] of nested) {
      const declared = sdkMembers("types/input.d.ts", iface);
      for (const res of of(r, type)) {
        for (const item of items(res)) {
          expect(Object.keys(item).filter((k) => !declared.has(k)), `${res.name} ${iface}`).toEqual([]);
        }
      }
    }
    const getImageArgs = sdkMembers("images/getImage.d.ts", "GetImageArgs");
    for (const q of [imageQuery("debian-12"), imageQuery("debian-12", "Debian 12")]) {
      expect(Object.keys(q).filter((k) => !getImageArgs.has(k))).toEqual([]);
    }
  });

  it("servers boot from a volume of the node's diskGb made from the image Glance finds by the os properties", () => {
    const ports = new Map(of(r, "openstack:networking/port:Port").map((p) => [p.name, p]));
    for (const i of of(r, INSTANCE)) {
      const master = /-m\d$/.test(i.name);
      expect(i.inputs.name).toBe(i.name);
      expect(i.inputs.flavorName).toBe(master ? "m6i.large" : i.name.includes("gpu") ? "g5.xlarge" : "m6i.xlarge");
      // The documented combination: source image, destination volume, volumeSize required, boot index 0.
      expect(i.inputs.blockDevices).toEqual([{ bootIndex: 0, sourceType: "image", uuid: "img-debian-12",
        destinationType: "volume", volumeSize: master ? 50 : 100, deleteOnTermination: true }]);
      // "Do not specify if booting from a volume."
      expect(i.inputs).not.toHaveProperty("imageName");
      expect(i.inputs).not.toHaveProperty("imageId");
      expect(i.inputs.keyPair).toBe("prod-key");
      expect(ZONES).toContain(i.inputs.availabilityZone);
      expect(i.inputs.networks).toEqual([{ port: `${i.name}-port-id` }]);
      expect(ports.get(`${i.name}-port`)).toBeDefined();
      expect(isSecretInput(i.inputs.userData)).toBe(true);
      expect(i.inputs.metadata["elastic-mesos-cluster"]).toBe("prod");
      expect(i.ignoreChanges).toEqual(OPENSTACK_IGNORED);
      // A replacement server takes the node's port: the old one must be gone first.
      expect(i.deleteBeforeReplace, i.name).toBe(true);
    }
    // Round robin over the zones, masters and each pool alike.
    expect(["prod-m1", "prod-m2", "prod-m3"].map((n) => byName(r, n).inputs.availabilityZone)).toEqual(ZONES);
  });

  it("subnets' DHCP pools leave out the gateway and every master's planned address, in its zone's subnet", () => {
    const subnets = of(r, "openstack:networking/subnet:Subnet");
    expect(subnets.map((s) => s.inputs.cidr)).toEqual(["10.20.0.0/24", "10.20.1.0/24", "10.20.2.0/24"]);
    const masterIps = of(r, "openstack:networking/port:Port").filter((p) => /-m\d-port$/.test(p.name))
      .map((p) => ({ subnetId: p.inputs.fixedIps[0].subnetId,
        ip: parseCidr(`${p.inputs.fixedIps[0].ipAddress}/32`).base }));
    expect(masterIps).toHaveLength(3);
    for (const s of subnets) {
      const { base, prefix } = parseCidr(s.inputs.cidr);
      const pools = s.inputs.allocationPools.map(range);
      const inPools = (ip: number) => pools.some(([a, b]: number[]) => ip >= a && ip <= b);
      for (const [a, b] of pools) expect(a >= base + 2 && b <= base + 2 ** (32 - prefix) - 2, s.name).toBe(true);
      expect(inPools(base + 1), `${s.name}: gateway`).toBe(false);
      // Every master address any zone may plan (.11-.15) stays out, and nothing else is left out.
      for (let k = 11; k <= 15; k++) expect(inPools(base + k), `${s.name}: ${ipToString(base + k)}`).toBe(false);
      expect(inPools(base + 10) && inPools(base + 16)).toBe(true);
      const own = masterIps.filter((m) => m.subnetId === `${s.name}-id`);
      expect(own).toHaveLength(1);
      expect(own[0].ip >= base && own[0].ip < base + 2 ** (32 - prefix)).toBe(true);
      expect(s.inputs.enableDhcp).toBe(true);
      expect(s.inputs.ipVersion).toBe(4);
    }
  });

  it("a master's floating IP is associated after its server and its subnet's router interface", () => {
    for (const [m, zone] of [["prod-m1", 0], ["prod-m2", 1], ["prod-m3", 2]] as const) {
      const assoc = of(r, "openstack:networking/floatingIpAssociate:FloatingIpAssociate")
        .find((a) => a.name === `${m}-fip`)!;
      expect(dependsOn(assoc, m), m).toBe(true);
      expect(dependsOn(assoc, `prod-router-if-${zone}`), m).toBe(true);
      const port = byName(r, `${m}-port`);
      expect(port.inputs.fixedIps[0].subnetId).toBe(`prod-subnet-${zone}-id`);
      expect(assoc.inputs.floatingIp).toBe(`192.0.2.${assoc.inputs.floatingIp.split(".")[3]}`);
    }
  });

  it("security group rules: only values Neutron accepts", () => {
    for (const rule of of(r, "openstack:networking/secGroupRule:SecGroupRule")) {
      expect(rule.inputs.direction).toBe("ingress");
      expect(["IPv4", "IPv6"]).toContain(rule.inputs.ethertype);
      expect(["tcp", "udp", "icmp"]).toContain(rule.inputs.protocol);
      expect(!!rule.inputs.remoteIpPrefix !== !!rule.inputs.remoteGroupId, rule.name).toBe(true);
    }
  });
});

describe("openstack: images", () => {
  it("a name is looked up (the newest of it), an image id used as it is, rocky by its properties", async () => {
    const id = "0b6e3c1a-2f4d-4c6e-9a8b-1c2d3e4f5a6b";
    const r = await runProgram({ ...CONFIG, os: "rocky-9", masters: { ...(CONFIG.masters as any), image: id },
      agentPools: (CONFIG.agentPools as any[])
        .map((p) => (p.name === "gpu" ? { ...p, image: "Ubuntu 22.04 CUDA" } : p)) });
    const uuid = (n: string) => byName(r, n).inputs.blockDevices[0].uuid;
    expect(uuid("prod-m1")).toBe(id);
    expect(uuid("prod-gpu-1")).toBe("img-Ubuntu 22.04 CUDA");
    expect(uuid("prod-general-1")).toBe("img-rocky-9");
    expect(imageQuery("rocky-9")).toEqual({ properties: { os_distro: "rocky", os_version: "9" }, mostRecent: true });
    expect(imageQuery("ubuntu-24.04", "Ubuntu 24.04 CUDA")).toEqual({ name: "Ubuntu 24.04 CUDA", mostRecent: true });
    expect(imageQuery("debian-12", id)).toEqual({ id });
  });

  it("a newer image, an image override or a disk size change replaces no running server", async () => {
    const base = await runProgram(CONFIG);
    const changed = await runProgram({ ...CONFIG,
      masters: { ...(CONFIG.masters as any), image: "debian-12-2026", diskGb: 80 },
      agentPools: (CONFIG.agentPools as any[]).map((p) => ({ ...p, diskGb: 200, image: "debian-12-2026" })) });
    const paths = new Set<string>();
    for (const after of of(changed, INSTANCE)) {
      const before = byName(base, after.name);
      for (const p of differingPaths(before.inputs, after.inputs)) paths.add(p);
      expect(uncovered(before, after), after.name).toEqual([]);
    }
    expect([...paths].sort()).toEqual(["blockDevices.0.uuid", "blockDevices.0.volumeSize"]);
  });

  it("a server made by an earlier release (imageName, no block devices) is left as it is", async () => {
    const r = await runProgram(CONFIG);
    for (const after of of(r, INSTANCE)) {
      const { blockDevices: _ignored, ...rest } = after.inputs;
      const earlier = { ...after, inputs: { ...rest, imageName: "debian-12" } };
      expect(uncovered(earlier, after), after.name).toEqual([]);
    }
  });
});

describe("openstack: scaling a pool and the masters", () => {
  let base: RunResult;
  let grown: RunResult;
  beforeAll(async () => {
    base = await runProgram(CONFIG);
    grown = await runProgram(withPools({ gpu: 3 }));
  });

  it("raising a pool's count adds only that pool's ports, instances and hosts", () => {
    const d = diffRuns(base, grown);
    expect(d.added).toEqual([
      `${INSTANCE}::prod-gpu-2`, `${INSTANCE}::prod-gpu-3`,
      "openstack:networking/port:Port::prod-gpu-2-port", "openstack:networking/port:Port::prod-gpu-3-port",
      `${HOST}::prod-gpu-2-bootstrap`, `${HOST}::prod-gpu-3-bootstrap`,
    ]);
    expect(d.removed).toEqual([]);
    // What else changes is bookkeeping: the pool's rollout size on its running host, and the readiness's agents.
    expect(d.changed.map((c) => c.key).sort()).toEqual([
      `${HOST}::prod-gpu-1-bootstrap`, "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness::prod-ready"]);
    const spec = (x: RunResult) => reveal(byName(x, "prod-gpu-1-bootstrap").inputs.spec);
    expect(differingPaths(spec(base), spec(grown))).toEqual(["rollout.size"]);
    // The new agents land in the zones round robin, with DHCP addresses and no floating IP.
    expect(byName(grown, "prod-gpu-2").inputs.availabilityZone).toBe("az2");
    expect(byName(grown, "prod-gpu-2-port").inputs.fixedIps).toEqual([{ subnetId: "prod-subnet-1-id" }]);
    expect(of(grown, "openstack:networking/floatingIp:FloatingIp")).toHaveLength(3);
  });

  it("masters are never replaced: no input of a master's server, port or floating IP changes", async () => {
    const bumped = await runProgram(withPools({ gpu: 2, general: 1 }, { versions: { mesos: "1.11.0-0.9.1" } }));
    for (const run of [grown, bumped]) {
      for (const m of ["prod-m1", "prod-m2", "prod-m3"]) {
        for (const name of [m, `${m}-port`, `${m}-fip`, `${m}-pin`]) {
          const [before, after] = [base, run].map((x) => r2(x, name));
          expect(before.length, name).toBeGreaterThan(0);
          before.forEach((b, i) => expect(uncovered(b, after[i]), name).toEqual([]));
        }
      }
    }
  });
});

/** Every custom resource of that name (a floating IP and its association share one). */
function r2(r: RunResult, name: string): Registered[] {
  return r.resources.filter((x) => x.custom && x.name === name).sort((a, b) => a.type.localeCompare(b.type));
}

describe("openstack: an agent's server deleted outside Pulumi and made anew by `pulumi up --refresh`", () => {
  /** The OpenStack module's machines under mocks where the servers named in `ids` get those ids. */
  async function machineIds(ids: Record<string, string> = {}): Promise<Record<string, string>> {
    const { mocks } = recordingMocks();
    await pulumi.runtime.setMocks({ ...mocks, newResource: async (a) => {
      const made = await mocks.newResource(a);
      return a.type === INSTANCE && ids[a.name] ? { ...made, id: ids[a.name] } : made;
    } }, "elastic-mesos", "dev");
    const model = parseModel(CONFIG as Record<string, unknown>, {});
    class Root extends pulumi.ComponentResource { constructor() { super("test:index:Root", "root", {}); } }
    const args = { model, topology: buildTopology(model), userData: () => "ud", poolUserData: () => "" };
    const set = openstack.createMachines(args, new Root());
    const out = await Promise.all(set.machines.map(async (m) =>
      [m.node.id, await (m.machineId as any).promise()] as const));
    await (pulumi.runtime as any).waitForRPCs();
    return Object.fromEntries(out);
  }

  it("every machine carries its server's id; one made anew has another: only its host is replaced", async () => {
    const before = await machineIds();
    expect(before).toEqual(Object.fromEntries(["m1", "m2", "m3", "general-1", "general-2", "general-3", "gpu-1"]
      .map((id) => [id, `prod-${id}-id`])));
    const after = await machineIds({ "prod-general-2": "9d1c0a52-new" });
    const changes = Object.fromEntries(Object.keys(before).map((id) => [id, machineChange(before[id], after[id])]));
    expect(changes).toEqual({ m1: "", m2: "", m3: "", "general-1": "", "general-2": "replace", "general-3": "",
      "gpu-1": "" });
  });

  it("the whole program: only that agent's host input `machine` changes, which replaces that host alone", async () => {
    const before = await runProgram(CONFIG);
    // The refresh dropped the server; the up made it again on the same port: same inputs, another id.
    const after = await runProgram(CONFIG, { ids: { "prod-general-2": "9d1c0a52-new" } });
    const d = diffRuns(before, after);
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(d.changed).toEqual([{ key: `${HOST}::prod-general-2-bootstrap`, keys: ["machine"] }]);
    for (const h of of(after, HOST)) {
      const was = byName(before, h.name).inputs.machine;
      expect(was, h.name).toBe(h.name.replace(/-bootstrap$/, "-id"));
      expect(machineChange(was, h.inputs.machine), h.name).toBe(h.name === "prod-general-2-bootstrap" ? "replace" : "");
    }
  });
});
