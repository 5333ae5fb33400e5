// The local provider's shell helpers that need no root (provisioning/local/sh/lib): parameters from JSON, the
// JSON result, address arithmetic, the machine's networkd file per egress mode. Run for real with bash.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const LIB = join(__dirname, "..", "..", "provisioning", "local", "sh", "lib");
function sh(script: string, input = ""): { code: number; out: string; err: string } {
  const r = spawnSync("bash", ["-c", `set -euo pipefail; for f in common json net machine image; do . "${LIB}/$f.sh"; done\n${script}`],
    { input, encoding: "utf8" });
  return { code: r.status ?? -1, out: r.stdout.trim(), err: r.stderr };
}

describe("local.sh parameters and results", () => {
  it("sets P_<key> from one JSON object: strings, lists, booleans; quoting survives", () => {
    const r = sh('em_params; printf "%s|%s|%s|%s" "$P_name" "$P_packages" "$P_flag" "$P_weird"',
      JSON.stringify({ name: "demo-m1", packages: ["a", "b"], flag: true, weird: "it's $(touch /tmp/x) `id`" }));
    expect(r.out).toBe("demo-m1|a,b|true|it's $(touch /tmp/x) `id`");
  });
  it("refuses what is not one JSON object, and bad keys", () => {
    expect(sh("em_params", "[1]").code).not.toBe(0);
    expect(sh("em_params", "nope").err).toMatch(/not JSON/);
    expect(sh("em_params", '{"a;b":1}').err).toMatch(/bad parameter name/);
  });
  it("prints one JSON line, embedding json: values", () => {
    expect(JSON.parse(sh('em_result ip 10.0.0.11 running json:true hostKey \'json:{"type":"t"}\'').out))
      .toEqual({ ip: "10.0.0.11", running: true, hostKey: { type: "t" } });
  });
});

describe("addresses", () => {
  it("checks a cidr and does its arithmetic", () => {
    expect(sh('em_cidr_check 10.78.0.0/24; echo "$EM_PREFIX $(em_int_ip $((EM_NET_BASE + 11)))"').out).toBe("24 10.78.0.11");
    expect(sh("em_cidr_check 10.78.0.5/24").err).toMatch(/host bits/);
    expect(sh("em_cidr_check 10.78.0.0/8").err).toMatch(/prefix/);
    expect(sh("em_in_cidr 10.77.0.1 10.79.0.0/24 && echo in || echo out").out).toBe("out");
    expect(sh("em_in_cidr 10.79.0.200 10.79.0.0/24 && echo in || echo out").out).toBe("in");
    expect(sh("em_url_host http://10.77.0.1:3142/").out).toBe("10.77.0.1");
  });
  it("never uses a loopback resolver as the machines' DNS", () => {
    const out = sh("em_upstream_nameservers").out.split("\n").filter(Boolean);
    for (const ns of out) expect(ns).not.toMatch(/^127\./);
  });
});

describe("machine network file", () => {
  const conf = (args: string) => {
    const root = mkdtempSync(join(tmpdir(), "em-nd-"));
    sh(`em_networkd ${root} ${args}`);
    return readFileSync(join(root, "etc/systemd/network/10-host0.network"), "utf8");
  };
  it("proxy egress: the address and a /32 route to the proxy host, no default route", () => {
    const c = conf("10.79.0.11/24 Route=10.77.0.1/32@10.79.0.1");
    expect(c).toContain("Address=10.79.0.11/24");
    expect(c).toContain("[Route]\nDestination=10.77.0.1/32\nGateway=10.79.0.1");
    expect(c.split("[Route]")[0]).not.toMatch(/^Gateway=/m); // the [Network] section: no default route
  });
  it("nat egress: a default gateway", () => {
    expect(conf("10.78.0.12/24 Gateway=10.78.0.1")).toMatch(/^Gateway=10\.78\.0\.1$/m);
  });
  it("the lab's form: the address only", () => {
    expect(conf("10.77.0.11/24")).toBe("[Match]\nName=host0\n\n[Network]\nAddress=10.77.0.11/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n");
  });
});
