// The host firewall step (provisioning/steps/firewall.ts): the rendered nftables rules per role and address
// family, the metadata block on agents, the syntax of the file checked by nft itself when it is installed
// (lab/host-deps.sh installs it), and that a change of membership re-runs only the firewall step.
import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cleanupPlan, renderCleanupScript } from "../../provisioning/baremetal/cleanup";
import { sortedAddresses } from "../../provisioning/baremetal/bootstrap";
import { renderStepScripts } from "../../provisioning/render/ssh-plan";
import { renderSteps } from "../../provisioning/steps";
import { buildContext } from "../../provisioning/steps/context";
import { FIREWALL_TABLE, addressRuns, expandRuns, renderFirewall, splitAdmin, taskPortRanges } from "../../provisioning/steps/firewall";
import type { BootstrapInput } from "../../provisioning/steps/types";
import { agentInput, masterInput, masterIp, POOLS } from "./bootstrap-input";

const AGENT_IP = "10.0.2.21";
const MEMBERS = [masterIp(1), masterIp(2), masterIp(3), AGENT_IP, "10.0.2.22"];
const V4 = ["10.77.0.1/32", "203.0.113.0/24"];
const V6 = ["2001:db8:7::/48"];
const fw = (adminCidrs = [...V4, ...V6], members = MEMBERS) => ({ adminCidrs, members });
const master = (f = fw()): BootstrapInput => ({ ...masterInput({ masters: 3 }), firewall: f });
const agent = (pool = POOLS[0], f: BootstrapInput["firewall"] | null = fw()): BootstrapInput =>
  ({ ...agentInput({ masters: 3 }, pool, 1, AGENT_IP), ...(f ? { firewall: f } : {}) });
const rules = (input: BootstrapInput) => renderFirewall(buildContext(input));
/** The rule lines of one chain of the rendered file. */
const chain = (text: string, name: string) => {
  const m = new RegExp(`  chain ${name} \\{\\n([\\s\\S]*?)\\n  \\}`).exec(text);
  return m ? m[1].split("\n").map((l) => l.trim()) : undefined;
};
const setLine = (text: string, name: string) => new RegExp(`set ${name} \\{[\\s\\S]*?\\n  \\}`).exec(text)?.[0] ?? "";

/** `nft -c -f`: parsed and validated by nft (and the kernel, when allowed) without loading. */
const nft = spawnSync("nft", ["--version"]).status === 0 && spawnSync("nft", ["-c", "-f", "-"], { input: "table inet em_probe\n" }).status === 0;
const nftCheck = (text: string) => execFileSync("nft", ["-c", "-f", "-"], { input: text, stdio: ["pipe", "pipe", "pipe"] });

describe("host firewall rules", () => {
  it("masters: policy drop; admin ports from both families; 2181/2281/5050 from cluster hosts; peer ports from masters only", () => {
    const text = rules(master());
    expect(text.startsWith("#!/usr/sbin/nft -f")).toBe(true);
    // Atomic replacement of our table only.
    expect(text).toContain(`table ${FIREWALL_TABLE}\ndelete table ${FIREWALL_TABLE}\ntable ${FIREWALL_TABLE} {`);
    expect(text).not.toMatch(/flush ruleset|table ip filter|table ip nat/);
    // Protocols by number: names would need /etc/protocols (netbase), absent on minimal hosts (found in the lab).
    expect(text).not.toMatch(/l4proto \{ [a-z]/);
    expect(setLine(text, "admin4")).toContain("elements = { 10.77.0.1/32, 203.0.113.0/24 }");
    expect(setLine(text, "admin6")).toContain("elements = { 2001:db8:7::/48 }");
    expect(setLine(text, "members4")).toContain(`elements = { ${MEMBERS.join(", ")} }`);
    expect(setLine(text, "members4")).toContain("flags timeout");
    expect(setLine(text, "masters4")).toContain(`elements = { ${masterIp(1)}, ${masterIp(2)}, ${masterIp(3)} }`);
    expect(chain(text, "input")).toEqual([
      "type filter hook input priority filter; policy drop;",
      'iifname "lo" accept',
      "ct state established,related accept",
      "ct state invalid drop",
      "meta l4proto { 1, 58 } accept",
      "ip saddr @admin4 tcp dport { 22, 5050, 5051, 8080, 8443 } accept",
      "ip6 saddr @admin6 tcp dport { 22, 5050, 5051, 8080, 8443 } accept",
      "ip saddr @members4 tcp dport { 2181, 2281, 5050 } accept",
      "ip saddr @masters4 tcp dport { 2888, 3888, 8080, 8443, 15050 } accept",
      'counter drop comment "not admitted by elastic-mesos"',
    ]);
    // No task runs on a master: no metadata rule there.
    expect(chain(text, "output")).toBeUndefined();
  });

  it("agents: 5051 from masters, the pool's task ports from cluster hosts, and no metadata service for tasks", () => {
    const text = rules(agent());
    const input = chain(text, "input")!;
    expect(input).toContain("ip saddr @masters4 tcp dport 5051 accept");
    expect(input).toContain("ip saddr @members4 tcp dport { 31000-32000 } accept"); // Mesos' default range
    expect(input.join("\n")).not.toMatch(/2181|2888|3888|15050/);
    expect(chain(text, "output")).toEqual([
      "type filter hook output priority filter; policy accept;",
      "ip daddr 169.254.169.254 meta skuid != 0 counter reject",
      "ip6 daddr fd00:ec2::254 meta skuid != 0 counter reject",
    ]);
    // Docker bridge traffic is forwarded, never the host's own: rejected whatever the uid.
    expect(chain(text, "forward")).toEqual([
      "type filter hook forward priority filter; policy accept;",
      "ip daddr 169.254.169.254 counter reject",
      "ip6 daddr fd00:ec2::254 counter reject",
    ]);
    const gpu = rules(agent({ ...POOLS[1], resources: { ...POOLS[1].resources, ports: "[31000-31500,32000-32100,40000]" } }));
    expect(chain(gpu, "input")).toContain("ip saddr @members4 tcp dport { 31000-31500, 32000-32100, 40000 } accept");
  });

  it("IPv4-only and IPv6-only admin CIDRs leave the other family's set empty (nothing admitted from it)", () => {
    const v4only = rules(master(fw(V4)));
    expect(setLine(v4only, "admin6")).not.toContain("elements");
    const v6only = rules(master(fw(V6)));
    expect(setLine(v6only, "admin4")).not.toContain("elements");
    expect(setLine(v6only, "admin6")).toContain("elements = { 2001:db8:7::/48 }");
    expect(splitAdmin(["192.0.2.0/24", "2001:DB8::/32", "::1"])).toEqual({ v4: ["192.0.2.0/24"], v6: ["2001:db8::/32", "::1"] });
  });

  it("clouds (no firewall input): agents still block the metadata service; masters have no firewall step", () => {
    const a = rules(agent(POOLS[0], null));
    expect(chain(a, "input")).toBeUndefined();
    expect(chain(a, "output")).toContain("ip daddr 169.254.169.254 meta skuid != 0 counter reject");
    expect(renderSteps(masterInput({ masters: 3 })).map((s) => `${s.index} ${s.name}`)).toEqual(["1 install", "2 zookeeper", "3 mesos"]);
    expect(renderStepScripts(renderSteps(masterInput({ masters: 3 })))[0].script).toContain("1/3 install");
    expect(renderSteps(agent(POOLS[0], null)).map((s) => s.name)).toEqual(["firewall", "install", "zookeeper", "mesos"]);
  });

  it("refuses bad input, naming the key", () => {
    expect(() => rules(master(fw(["10.0.0.0/33"])))).toThrow(/adminCidrs\[0\]: "10.0.0.0\/33" is not an IPv4 or IPv6 CIDR/);
    expect(() => rules(master(fw(["10.0.0.1; flush ruleset"])))).toThrow(/adminCidrs\[0\]/);
    expect(() => rules(master(fw(V4, MEMBERS.filter((m) => m !== masterIp(2)))))).toThrow(/members list lacks 10\.0\.1\.12/);
    expect(() => rules(master(fw(V4, [...MEMBERS, "10.0.2.x"])))).toThrow(/"10.0.2.x" is not an IPv4 address/);
    expect(() => taskPortRanges("[32000-31000]")).toThrow(/resources.ports/);
  });

  it.skipIf(!nft)("nft -c accepts every rendered file (masters, agents, both families, clouds)", () => {
    for (const input of [master(), master(fw(V4)), master(fw(V6)), agent(), agent(POOLS[1]), agent(POOLS[0], null)]) {
      expect(() => nftCheck(rules(input))).not.toThrow();
    }
    // And the leaving address the step adds in the same load.
    expect(() => nftCheck(`${rules(master())}add element ${FIREWALL_TABLE} members4 { 10.0.2.99 timeout 30m }\n`)).not.toThrow();
  });
});

describe("the firewall step", () => {
  const hashes = (input: BootstrapInput) => Object.fromEntries(renderStepScripts(renderSteps(input)).map((s) => [s.step, s.hash]));

  it("runs first, and steps are numbered 1-4", () => {
    const steps = renderSteps(master());
    expect(steps.map((s) => `${s.index} ${s.name}`)).toEqual(["1 firewall", "2 install", "3 zookeeper", "4 mesos"]);
    const script = renderStepScripts(steps)[0].script;
    expect(script).toContain("1/4 firewall");
    expect(script).toContain("em_pkg_has nftables '' || em_install nftables");
  });

  it("a host joining or leaving changes only the firewall step on the others (no daemon restart)", () => {
    const grown = fw(undefined, sortedAddresses([...MEMBERS, "10.0.2.23"]));
    for (const [before, after] of [[master(), master(grown)], [agent(), agent(POOLS[0], grown)]]) {
      const [a, b] = [hashes(before), hashes(after)];
      expect(Object.keys(a).filter((k) => a[k] !== b[k])).toEqual(["firewall"]);
    }
  });

  it("re-admits the addresses that left, for a while, in the same atomic load; refuses to lock out its own SSH session", () => {
    const script = renderStepScripts(renderSteps(master()))[0].script;
    expect(script).toContain(`fw_keep=' ${MEMBERS.join(" ")} '`);
    expect(script).toMatch(/echo "add element inet elastic_mesos members4 \{ \$a timeout 30m \}"; done; \} \| nft -f -/);
    expect(script).toContain("adminCidrs does not include $fw_peer, the address this SSH session comes from");
  });

  it("sorts members numerically, so the config's order does not matter", () => {
    expect(sortedAddresses(["10.0.0.20", "10.0.0.3", "10.0.0.100", "10.0.0.3"])).toEqual(["10.0.0.3", "10.0.0.20", "10.0.0.100"]);
  });

  it("delete removes the unit, the file and the table", () => {
    const plan = cleanupPlan(renderSteps(agent()));
    expect(plan.units).toContain("elastic-mesos-firewall.service");
    expect(plan.files).toEqual(expect.arrayContaining(["/etc/elastic-mesos/firewall.nft", "/etc/systemd/system/elastic-mesos-firewall.service"]));
    expect(plan.packages).not.toContain("nftables"); // shared with the rest of the host
    expect(renderCleanupScript(plan, [])).toContain(`nft delete table ${FIREWALL_TABLE}`);
  });
});

describe("gates under pipefail", () => {
  it("never pipe a command into `grep -q` (grep's early exit SIGPIPEs the writer: a healthy host fails its gate)", () => {
    for (const input of [master(), agent()]) {
      for (const s of renderStepScripts(renderSteps(input))) {
        const code = s.script.split("\n").map((l) => l.replace(/(^|\s)#.*$/, "")); // comments may name the pitfall
        expect(code.filter((l) => /\|\s*grep\s+-[A-Za-z]*q/.test(l)), s.step).toEqual([]);
      }
    }
  });
});

describe("member lists in every host's state", () => {
  it("write consecutive addresses as one run and expand back exactly", () => {
    const sorted = sortedAddresses(["10.0.0.9", "10.0.0.7", "10.0.0.8", "10.0.1.255", "10.0.2.0", "10.0.3.5"]);
    expect(addressRuns(sorted)).toEqual(["10.0.0.7-10.0.0.9", "10.0.1.255-10.0.2.0", "10.0.3.5"]);
    expect(expandRuns(addressRuns(sorted))).toEqual(sorted);
    // 1,000 hosts in a row: one entry, not 1,000 (the list is stored once per host).
    const many = Array.from({ length: 1000 }, (_, i) => `10.1.${Math.floor(i / 256)}.${i % 256}`);
    expect(addressRuns(many)).toEqual(["10.1.0.0-10.1.3.231"]);
  });

  it("a run renders as every one of its addresses in the members set", () => {
    const text = rules(master(fw(V4, addressRuns([masterIp(1), masterIp(2), masterIp(3), AGENT_IP, "10.0.2.22"]))));
    expect(setLine(text, "members4")).toContain(`elements = { ${[masterIp(1), masterIp(2), masterIp(3), AGENT_IP, "10.0.2.22"].join(", ")} }`);
  });
});
