// The address arithmetic behind the public-admin guard and the firewalls' per-family split.
import { describe, expect, it } from "vitest";
import { contains, hostBitsClear, networkOf, parseCidr, publicAdminReason, splitByFamily } from "../../components/config/cidrs";

const p = (c: string) => parseCidr(c)!;

describe("cidrs", () => {
  it("parses both families, compressed IPv6 and IPv4-in-IPv6 included", () => {
    expect(p("203.0.113.0/24")).toMatchObject({ family: "ipv4", prefix: 24, base: 0xcb007100n });
    expect(p("2001:db8::/32")).toMatchObject({ family: "ipv6", prefix: 32, base: 0x20010db8n << 96n });
    expect(p("::/0").base).toBe(0n);
    expect(p("::ffff:192.0.2.1/128").base).toBe((0xffffn << 32n) | 0xc0000201n);
    for (const bad of ["1.2.3/8", "1.2.3.256/8", "1::2::3/64", "1:2:3:4:5:6:7:8:9/64", "10.0.0.0/33", "::/129", "gggg::/16"])
      expect(parseCidr(bad), bad).toBeUndefined();
  });

  it("canonical network addresses (RFC 5952 for IPv6)", () => {
    expect(networkOf(p("203.0.113.7/24"))).toBe("203.0.113.0/24");
    expect(networkOf(p("2001:db8:1234::1/48"))).toBe("2001:db8:1234::/48");
    expect(networkOf(p("2001:0:0:1:0:0:0:1/64"))).toBe("2001:0:0:1::/64");
    expect(networkOf(p("fe80::1/10"))).toBe("fe80::/10");
    expect(hostBitsClear(p("2001:db8::/32"))).toBe(true);
    expect(hostBitsClear(p("2001:db8::1/32"))).toBe(false);
  });

  it("containment is by family and prefix", () => {
    expect(contains(p("10.0.0.0/8"), p("10.1.2.0/24"))).toBe(true);
    expect(contains(p("10.0.0.0/8"), p("10.0.0.0/7"))).toBe(false);
    expect(contains(p("fc00::/7"), p("fd00::/8"))).toBe(true);
    expect(contains(p("0.0.0.0/0"), p("::/0"))).toBe(false);
  });

  it("splits by family keeping order", () => {
    expect(splitByFamily(["203.0.113.0/24", "2001:db8::/48", "10.0.0.0/8", "fd00::/8"])).toEqual({
      ipv4: ["203.0.113.0/24", "10.0.0.0/8"],
      ipv6: ["2001:db8::/48", "fd00::/8"],
    });
  });

  it("public ranges wider than /16 or /48 have a reason; private, special and narrow ones none", () => {
    for (const c of ["0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", "8.0.0.0/8", "203.0.0.0/15", "::/0", "2000::/3", "2001:db8::/47"])
      expect(publicAdminReason(c), c).toBeDefined();
    for (const c of ["203.0.0.0/16", "2001:db8::/48", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128"])
      expect(publicAdminReason(c), c).toBeUndefined();
  });
});
