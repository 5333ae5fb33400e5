// Admin CIDRs of both families, through the whole program under mocks, for each cloud: every rule that
// takes a CIDR carries it in the field its cloud wants for that family (the clouds refuse the rest):
// AWS cidrIpv4 / cidrIpv6, GCP one rule per family, OpenStack the matching ethertype, DigitalOcean both
// in one sourceAddresses list.
import { describe, it, expect } from "vitest";
import { runProgram, type RunResult } from "./harness";
import { SSH_PRIVATE, SSH_PUB, STACKS } from "./fixtures";
import { loadStackConfig, rawFromConfig } from "../stackConfig";

const V4 = "203.0.113.0/24";
const V6 = "2001:db8:1234::/48";
const V6B = "2001:db8:5678::/56";
const dual = (p: keyof typeof STACKS) => ({ ...STACKS[p], adminCidrs: [V4, V6, V6B] });
const of = (r: RunResult, type: string) => r.resources.filter((x) => x.type === type);
const isV6 = (c: string) => c.includes(":");

describe("admin CIDRs of both families", () => {
  it("AWS: IPv4 ranges only in cidrIpv4, IPv6 ranges only in cidrIpv6, each on SSH, 5050 and 8443", async () => {
    const r = await runProgram(dual("aws"));
    const admin = of(r, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((x) => !x.inputs.referencedSecurityGroupId);
    for (const rule of admin.map((x) => x.inputs)) {
      // Exactly one of the two fields, and the right one for the family.
      expect((rule.cidrIpv4 === undefined) !== (rule.cidrIpv6 === undefined), JSON.stringify(rule)).toBe(true);
      if (rule.cidrIpv4 !== undefined) expect(isV6(rule.cidrIpv4)).toBe(false);
      if (rule.cidrIpv6 !== undefined) expect(isV6(rule.cidrIpv6)).toBe(true);
    }
    const seen = admin.map((x) => [x.inputs.cidrIpv4 ?? x.inputs.cidrIpv6, x.inputs.fromPort, x.inputs.cidrIpv6 ? "v6" : "v4"]);
    const want = [V4, V6, V6B].flatMap((c) => [22, 5050, 8443].map((p) => [c, p, isV6(c) ? "v6" : "v4"]));
    expect(seen.map(String).sort()).toEqual(want.map(String).sort());
  });

  it("GCP: one rule per family for SSH and for the UIs, never mixing families in sourceRanges", async () => {
    const r = await runProgram(dual("gcp"));
    const fw = Object.fromEntries(of(r, "gcp:compute/firewall:Firewall").map((f) => [f.name, f.inputs]));
    for (const f of Object.values(fw)) {
      const ranges: string[] = f.sourceRanges ?? [];
      expect(new Set(ranges.map(isV6)).size, JSON.stringify(ranges)).toBeLessThanOrEqual(1);
    }
    expect(fw["prod-admin-ssh"].sourceRanges).toEqual([V4]);
    expect(fw["prod-admin-ssh-ipv6"].sourceRanges).toEqual([V6, V6B]);
    expect(fw["prod-admin-ui"].sourceRanges).toEqual([V4]);
    expect(fw["prod-admin-ui-ipv6"]).toMatchObject({ sourceRanges: [V6, V6B], targetTags: ["elastic-mesos-prod-master"] });
    expect(fw["prod-admin-ssh-ipv6"].allows).toEqual(fw["prod-admin-ssh"].allows);
    expect(fw["prod-admin-ui-ipv6"].allows).toEqual(fw["prod-admin-ui"].allows);
    // And Google's health checkers (IPv4 ranges) to the agents' port, whatever the admin CIDRs (gcp-groups.test.ts).
    expect(Object.keys(fw).sort()).toEqual(["prod-admin-ssh", "prod-admin-ssh-ipv6", "prod-admin-ui",
      "prod-admin-ui-ipv6", "prod-agent-health-checks", "prod-intra-cluster"]);
  });

  it("GCP: IPv6-only admin CIDRs make only IPv6 rules (no rule with empty sourceRanges)", async () => {
    const r = await runProgram({ ...STACKS.gcp, adminCidrs: [V6] });
    const names = of(r, "gcp:compute/firewall:Firewall").map((f) => f.name).sort();
    expect(names)
      .toEqual(["prod-admin-ssh-ipv6", "prod-admin-ui-ipv6", "prod-agent-health-checks", "prod-intra-cluster"]);
  });

  it("OpenStack: every rule's ethertype matches its remoteIpPrefix", async () => {
    const r = await runProgram(dual("openstack"));
    const rules = of(r, "openstack:networking/secGroupRule:SecGroupRule").map((x) => x.inputs);
    const admin = rules.filter((x) => x.remoteIpPrefix !== undefined);
    expect(admin).toHaveLength(9);
    for (const rule of admin) expect(rule.ethertype, JSON.stringify(rule)).toBe(isV6(rule.remoteIpPrefix) ? "IPv6" : "IPv4");
    expect(admin.filter((x) => x.ethertype === "IPv6").map((x) => x.remoteIpPrefix).sort()).toEqual([V6, V6, V6, V6B, V6B, V6B].sort());
  });

  it("DigitalOcean: both families together in each admin rule's sourceAddresses", async () => {
    const r = await runProgram(dual("digitalocean"));
    const fw = Object.fromEntries(of(r, "digitalocean:index/firewall:Firewall").map((f) => [f.name, f.inputs]));
    const admin = [...fw["prod-nodes-fw"].inboundRules, ...fw["prod-masters-fw"].inboundRules].filter((x: any) => x.sourceAddresses);
    expect(admin.map((x: any) => x.portRange).sort()).toEqual(["22", "5050", "8443"]);
    for (const rule of admin) expect(rule.sourceAddresses).toEqual([V4, V6, V6B]);
  });

  it("the shipped AWS example stack (an IPv4 and an IPv6 admin range) renders each in its own field", async () => {
    const example = rawFromConfig(loadStackConfig("aws-example").config);
    const cidrs = example.adminCidrs as string[];
    expect(cidrs.some(isV6) && cidrs.some((c) => !isV6(c))).toBe(true);
    // The example's public key has no private half here: the fixtures' pair stands in for it.
    const r = await runProgram({ ...example, ssh: { ...(example.ssh as object), publicKey: SSH_PUB }, clusterSecret: STACKS.aws.clusterSecret, sshPrivateKey: SSH_PRIVATE });
    const admin = of(r, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((x) => !x.inputs.referencedSecurityGroupId);
    expect(admin.map((x) => x.inputs.cidrIpv6 ?? "").filter(Boolean).sort()).toEqual(cidrs.filter(isV6).flatMap((c) => [c, c, c]));
    expect(admin.map((x) => x.inputs.cidrIpv4 ?? "").filter(Boolean).sort()).toEqual(cidrs.filter((c) => !isV6(c)).flatMap((c) => [c, c, c]));
  });
});
