import { describe, it, expect } from "vitest";
import { buildTopology, planNetwork, parseCidr, quorumOf, ipToString } from "../../components/topology";
import { awsModel, pool } from "../program/fixtures";

const ids = (t: ReturnType<typeof buildTopology>) => [...t.masters, ...t.agents].map((n) => n.id);
const byId = (t: ReturnType<typeof buildTopology>) => new Map([...t.masters, ...t.agents].map((n) => [n.id, n]));

describe("masters and quorum", () => {
  it.each([
    [1, 1],
    [3, 2],
    [5, 3],
  ] as const)("%i masters → quorum %i, zkIds 1..n", (count, quorum) => {
    const t = buildTopology(awsModel({ masters: { count, size: "m6i.large", diskGb: 50 } }));
    expect(t.quorum).toBe(quorum);
    expect(quorumOf(count)).toBe(quorum);
    expect(t.masters.map((m) => [m.id, m.zkId, m.hostname])).toEqual(
      Array.from({ length: count }, (_, i) => [`m${i + 1}`, i + 1, `prod-m${i + 1}`]),
    );
    expect(t.masters.every((m) => m.role === "master")).toBe(true);
  });
});

describe("stable identities", () => {
  it("each agent carries its pool's task user; masters run no tasks and carry none", () => {
    const t = buildTopology(awsModel({ agentPools: [pool("general", 2), pool("ops", 1, { taskUser: "root" })] }));
    expect(t.agents.map((n) => [n.id, n.taskUser])).toEqual([["general-1", "mesos-task"], ["general-2", "mesos-task"], ["ops-1", "root"]]);
    expect(t.masters.every((m) => m.taskUser === "")).toBe(true);
  });

  it("pool nodes are <pool>-<n> with hostname <cluster>-<id>, grouped per pool in config order", () => {
    const t = buildTopology(awsModel());
    expect(Object.keys(t.pools)).toEqual(["general", "gpu"]);
    expect(t.pools.general.map((n) => n.hostname)).toEqual(["prod-general-1", "prod-general-2", "prod-general-3"]);
    expect(t.agents.map((n) => n.id)).toEqual(["general-1", "general-2", "general-3", "gpu-1"]);
  });

  it("growing a pool appends new ordinals and leaves every existing node identical", () => {
    const before = byId(buildTopology(awsModel()));
    const after = byId(buildTopology(awsModel({ agentPools: [pool("general", 5), pool("gpu", 1)] })));
    for (const [id, node] of before) expect(after.get(id)).toEqual(node);
    expect([...after.keys()].filter((id) => !before.has(id))).toEqual(["general-4", "general-5"]);
  });

  it("shrinking a pool removes only its highest ordinals", () => {
    const before = byId(buildTopology(awsModel({ agentPools: [pool("general", 5), pool("gpu", 1)] })));
    const after = byId(buildTopology(awsModel({ agentPools: [pool("general", 2), pool("gpu", 1)] })));
    expect([...before.keys()].filter((id) => !after.has(id))).toEqual(["general-3", "general-4", "general-5"]);
    for (const [id, node] of after) expect(node).toEqual(before.get(id));
  });

  it("changing, adding or reordering another pool does not touch this pool or the masters", () => {
    const base = buildTopology(awsModel());
    const other = buildTopology(
      awsModel({ agentPools: [pool("batch", 4, { size: "c6i.large" }), pool("gpu", 7, { attributes: { gpu: "a10" } }), pool("general", 3)] }),
    );
    expect(other.pools.general).toEqual(base.pools.general);
    expect(other.masters).toEqual(base.masters);
  });

  it("ids are unique", () => {
    const all = ids(buildTopology(awsModel({ agentPools: [pool("a", 12), pool("b", 12)] })));
    expect(new Set(all).size).toBe(all.length);
  });
});

describe("zones", () => {
  it("masters and each pool's nodes go round-robin by ordinal over the configured zones", () => {
    const t = buildTopology(awsModel({ masters: { count: 5, size: "x", diskGb: 50 }, agentPools: [pool("general", 4)] }));
    expect(t.masters.map((m) => m.zone)).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1a", "eu-west-1b"]);
    expect(t.pools.general.map((n) => n.zone)).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1a"]);
  });

  it("providers without zones leave zone and planned IPs unset", () => {
    const t = buildTopology(awsModel({ provider: "digitalocean", aws: undefined, digitalocean: { region: "ams3" } }));
    expect(t.masters.every((m) => m.zone === undefined && m.plannedIp === undefined)).toBe(true);
  });
});

describe("planned master addresses", () => {
  const inCidr = (ip: string, cidr: string) => {
    const { base, prefix } = parseCidr(cidr);
    const n = parseCidr(`${ip}/32`).base;
    return n >= base && n < base + 2 ** (32 - prefix);
  };

  it("each zone gets its own /24 inside the cluster CIDR; masters sit at fixed host numbers", () => {
    const plan = planNetwork("10.20.0.0/16", 3);
    expect(plan.subnets.map((s) => s.cidr)).toEqual(["10.20.0.0/24", "10.20.1.0/24", "10.20.2.0/24"]);
    const t = buildTopology(awsModel({ masters: { count: 5, size: "x", diskGb: 50 } }));
    expect(t.masters.map((m) => m.plannedIp)).toEqual(["10.20.0.11", "10.20.1.12", "10.20.2.13", "10.20.0.14", "10.20.1.15"]);
  });

  it.each(["10.20.0.0/16", "172.16.8.0/21", "192.168.4.0/24", "10.99.128.0/22"])(
    "planned IPs for %s are inside the CIDR, inside their zone subnet and unique",
    (cidr) => {
      const t = buildTopology(awsModel({ network: { cidr }, masters: { count: 5, size: "x", diskGb: 50 } }));
      const plan = planNetwork(cidr, 3);
      const ips = t.masters.map((m) => m.plannedIp!);
      expect(new Set(ips).size).toBe(5);
      t.masters.forEach((m, i) => {
        expect(inCidr(m.plannedIp!, cidr)).toBe(true);
        expect(inCidr(m.plannedIp!, plan.subnets[i % plan.subnets.length].cidr)).toBe(true);
      });
      // The zone subnets never overlap.
      const starts = plan.subnets.map((s) => parseCidr(s.cidr).base);
      expect(new Set(starts).size).toBe(plan.subnets.length);
    },
  );

  it("a planned IP does not move when another pool or the zone count of agents changes", () => {
    const a = buildTopology(awsModel());
    const b = buildTopology(awsModel({ agentPools: [pool("x", 50)] }));
    expect(b.masters.map((m) => m.plannedIp)).toEqual(a.masters.map((m) => m.plannedIp));
  });

  it("a CIDR too small for the zones is refused naming network.cidr", () => {
    expect(() => planNetwork("10.0.0.0/28", 3)).toThrow(/network\.cidr: 10\.0\.0\.0\/28 is too small/);
    expect(() => planNetwork("10.0.0.300/16", 1)).toThrow(/network\.cidr/);
  });

  it("normalises host bits and formats addresses", () => {
    expect(planNetwork("10.20.3.7/16", 1).cidr).toBe("10.20.0.0/16");
    expect(ipToString(parseCidr("192.168.1.0/24").base + 255)).toBe("192.168.1.255");
  });
});
