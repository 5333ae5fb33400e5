// The clouds' subnets must hold what the counts ask (issue 12): each zone gets one /24 of network.cidr at most
// (components/topology.ts planNetwork; AWS NAT egress: an agent subnet per zone after them; GCP: the agents
// share the upper half; DigitalOcean: the VPC is the range), a cloud keeps a few addresses of each, and a pool
// run as a self-healing group may run up to 10% more while it rolls. A stack whose counts cannot fit is refused
// before any resource, on the largest pool's count, naming the subnet, the counts and the fix. The pool attribute
// is every agent's own.
import { describe, expect, it } from "vitest";
import { ConfigError, parseModel, type Problem } from "../../components/config";
import { busiestSubnet, subnetProblem, type SubnetDemand } from "../../components/config/rules";
import { buildTopology, planNetwork } from "../../components/topology";
import { agentSubnetCidr } from "../../components/providers/gcp/network";
import { privateSubnetCidrs } from "../../components/providers/aws/network";
import { validRaw } from "../stackConfig";

function problemsOf(raw: Record<string, any>): Problem[] {
  try {
    parseModel(raw, {});
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}
const ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
const demand = (d: Partial<SubnetDemand>): SubnetDemand => ({ provider: "aws", cidr: "10.42.0.0/16", zones: ZONES,
  masters: 3, pools: [{ name: "general", count: 3 }], layout: "zone-agent-subnets", groups: true, ...d });

describe("the busiest subnet (pure)", () => {
  it("AWS agents in subnets of their own: ceil(count/zones) per zone, 10% spare per group, 251 usable of a /24", () => {
    // 660 over 3 zones: 220 a zone, 22 spare = 242 of 251.
    expect(busiestSubnet(demand({ pools: [{ name: "general", count: 660 }] }))).toEqual({
      subnet: "10.42.3.0/24", zone: "eu-west-1a", masters: 0, agents: { general: 220 }, spare: 22, need: 242,
      usable: 251 });
    expect(subnetProblem(demand({ pools: [{ name: "general", count: 660 }] }))).toBeUndefined();
    // 700: 234 + 24 = 258 > 251.
    expect(subnetProblem(demand({ pools: [{ name: "general", count: 700 }] }))).toBe(
      "zone eu-west-1a's agent subnet 10.42.3.0/24 would need 258 addresses (234 agents (general 234), 24 spare " +
      "for the groups' rolling replacements) and AWS leaves 251 of a /24 (it reserves 5); lower " +
      "agentPools[].count, or spread the agents over more zones (aws.zones): each zone gets one /24 of " +
      "network.cidr, whatever its size");
  });

  it("the share follows the topology's round-robin: the first zones get the remainder", () => {
    const zones3 = { externalNetwork: "public", zones: ["a", "b", "c"] };
    const model = parseModel({ ...validRaw("openstack"), openstack: zones3,
      agentPools: [{ name: "general", count: 7 }, { name: "gpu", count: 2 }] }, {});
    const perZone = (zone: string) => buildTopology(model).agents.filter((n) => n.zone === zone).length;
    const load = busiestSubnet(demand({ provider: "openstack", zones: ["a", "b", "c"],
      pools: [{ name: "general", count: 7 }, { name: "gpu", count: 2 }], layout: "zones", groups: false }))!;
    expect(load).toMatchObject({ zone: "a", agents: { general: 3, gpu: 1 }, masters: 1, need: 5 });
    expect(perZone("a")).toBe(4);
    expect(perZone("c")).toBe(2); // the busiest is the first zone, as the check says
  });

  it("masters count where agents share their subnet; OpenStack keeps 5 and has no groups (no spare)", () => {
    // One zone: 3 masters + 248 agents = 251 of 251.
    expect(subnetProblem(demand({ provider: "openstack", zones: [], layout: "zones", groups: false,
      pools: [{ name: "general", count: 248 }] }))).toBeUndefined();
    expect(subnetProblem(demand({ provider: "openstack", zones: [], layout: "zones", groups: false,
      pools: [{ name: "general", count: 249 }] }))).toMatch(
      /^the subnet 10\.42\.0\.0\/24 would need 252 addresses \(249 agents \(general 249\), 3 masters\) and OpenStack/);
  });

  it("GCP: every agent in one subnet, network.cidr's upper half; 4 reserved; 10% or a machine per zone spare", () => {
    const gcp = (cidr: string, counts: number[]) =>
      subnetProblem(demand({ provider: "gcp", cidr, zones: ["b", "c", "d"],
      layout: "upper-half", pools: counts.map((count, i) => ({ name: `p${i}`, count })) }));
    // A /20: its upper /21 is 2048 - 4 = 2044: 1850 agents + 185 spare = 2035; 1860 + 186 = 2046.
    expect(gcp("10.42.0.0/20", [1000, 850])).toBeUndefined();
    expect(gcp("10.42.0.0/20", [1000, 860])).toBe("the agents' subnet 10.42.8.0/21 would need 2046 addresses " +
      "(1860 agents (p0 1000, p1 860), 186 spare for the groups' rolling replacements) and GCP leaves 2044 of a /21 " +
      "(it reserves 4); lower agentPools[].count, or use a larger network.cidr (the agents get its upper half)");
    // Small pools keep one machine per zone spare (a regional group surges one per zone).
    expect(busiestSubnet(demand({ provider: "gcp", zones: ["b", "c", "d"], layout: "upper-half",
      pools: [{ name: "a", count: 5 }, { name: "b", count: 0 }] }))).toEqual({ subnet: "10.42.128.0/17", masters: 0,
      agents: { a: 5 }, spare: 3, need: 8, usable: 32764 });
    expect(gcp("10.42.0.0/16", [1000, 1000, 1000])).toBeUndefined();
    // The subnet judged is the one the GCP module makes.
    for (const cidr of ["10.42.0.0/16", "10.8.0.0/20", "172.16.0.0/12"]) {
      expect(busiestSubnet(demand({ provider: "gcp", cidr, zones: ["b", "c", "d"], layout: "upper-half" }))!.subnet)
        .toBe(agentSubnetCidr(planNetwork(cidr, 3)));
    }
  });

  it("DigitalOcean: the VPC is network.cidr; a larger range is the fix", () => {
    const pools = [1, 2, 3, 4].map((i) => ({ name: `p${i}`, count: 1000 }));
    const d = (cidr: string) =>
      subnetProblem(demand({ provider: "digitalocean", cidr, zones: [], layout: "vpc", pools }));
    expect(d("10.42.0.0/20")).toBe("the VPC 10.42.0.0/20 would need 4403 addresses (4000 agents (p1 1000, p2 1000, " +
      "p3 1000, p4 1000), 400 spare for the groups' rolling replacements, 3 masters) and DigitalOcean leaves 4088 of " +
      "a /20 (it reserves 8); lower agentPools[].count, or use a larger network.cidr (an RFC 1918 range, " +
      "a /16 at most)");
    expect(d("10.42.0.0/19")).toBeUndefined();
  });

  it("DigitalOcean without network.cidr: the /20 it picks is judged, and setting a range is the fix", () => {
    const raw = { ...validRaw("digitalocean"), agentPools: [{ name: "a", count: 1000 }, { name: "b", count: 1000 },
      { name: "c", count: 1000 }, { name: "d", count: 1000 }] };
    expect(raw).not.toHaveProperty("network");
    expect(problemsOf(raw)).toEqual([{ key: "agentPools[0].count", message: expect.stringMatching(new RegExp(
      "^1000 is not allowed; the VPC \\(network\\.cidr is not set: DigitalOcean gives it a /20\\) " +
      "would need 4403 addresses .* " +
      "or set a larger network\\.cidr")) }]);
    expect(problemsOf({ ...raw, network: { cidr: "10.42.0.0/16" } })).toEqual([]);
  });

  it("the subnets it judges are the ones the clouds make", () => {
    const zonesLayout = demand({ cidr: "10.8.0.0/20", zones: ZONES, layout: "zones" });
    expect(busiestSubnet(zonesLayout)!.subnet).toBe(planNetwork("10.8.0.0/20", 3).subnets[0].cidr);
    // AWS NAT egress: the agents' subnets right after the zones' (the AWS module's privateSubnetCidrs).
    expect(busiestSubnet(demand({ cidr: "10.8.0.0/20", zones: ZONES }))!.subnet).toBe("10.8.3.0/24");
    const model = parseModel({ ...validRaw("aws"), aws: { region: "eu-west-1", zones: ZONES },
      network: { cidr: "10.8.0.0/20" } }, {});
    expect(privateSubnetCidrs(model, planNetwork("10.8.0.0/20", 3))[0]).toBe("10.8.3.0/24");
    expect(busiestSubnet(demand({ cidr: "10.8.0.0/30" }))).toBeUndefined(); // too small: network.cidr's rule says so
  });
});

describe("the config check refuses counts that cannot fit, before any resource", () => {
  it("aws, 3 zones, 1000 agents: refused on agentPools, naming the zone, the need and the fix", () => {
    const raw = { ...validRaw("aws"), aws: { region: "eu-west-1", zones: ZONES },
      agentPools: [{ name: "general", count: 1000 }] };
    const p = problemsOf(raw);
    expect(p.map((x) => x.key)).toEqual(["agentPools[0].count"]);
    expect(p[0].message).toMatch(/^1000 is not allowed; zone eu-west-1a's/);
    expect(p[0].message).toMatch(/zone eu-west-1a's agent subnet 10\.42\.3\.0\/24 would need 368 addresses \(334 /);
    expect(p[0].message).toMatch(/34 spare for the groups' rolling replacements\) and AWS leaves 251 of a \/24/);
    expect(p[0].message).toMatch(/spread the agents over more zones \(aws\.zones\)/);
  });

  it("aws with public agents (aws.vpcId's default) counts the masters too", () => {
    const aws = { region: "eu-west-1", zones: ["eu-west-1a"], vpcId: "vpc-0123456789abcdef0" };
    const base = { ...validRaw("aws"), aws };
    // 1 zone: 3 masters + 225 agents + 23 spare = 251 of 251; one more agent does not fit.
    expect(problemsOf({ ...base, agentPools: [{ name: "general", count: 225 }] })).toEqual([]);
    expect(problemsOf({ ...base, agentPools: [{ name: "general", count: 226 }] }).map((x) => x.key))
      .toEqual(["agentPools[0].count"]);
  });

  it("the example sizes of every cloud fit", () => {
    for (const provider of ["aws", "gcp", "digitalocean", "openstack"] as const) {
      expect(problemsOf(validRaw(provider))).toEqual([]);
    }
  });
});

describe("the pool attribute is every agent's own", () => {
  it("a pool's attribute pool with another value is refused; its own name is allowed", () => {
    const raw = (attributes: Record<string, unknown>) =>
      ({ ...validRaw("aws"), agentPools: [{ name: "general", count: 2, attributes }] });
    expect(problemsOf(raw({ pool: "other" }))).toEqual([{ key: "agentPools[0].attributes.pool",
      message: expect.stringMatching(/pool set to its pool's name \("general"\).*use another attribute name/) }]);
    expect(problemsOf(raw({ pool: "general", rack: "r1" }))).toEqual([]);
  });
});
