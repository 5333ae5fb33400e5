// Address arithmetic on admin CIDRs, for both families. No dependencies: the cloud firewall modules
// import `splitByFamily` from here (each cloud wants IPv4 and IPv6 sources in different fields or rules).

export type Family = "ipv4" | "ipv6";

export interface ParsedCidr {
  family: Family;
  /** The address as an unsigned integer (32 or 128 bits). */
  base: bigint;
  prefix: number;
  bits: 32 | 128;
}

function v4ToBig(addr: string): bigint | undefined {
  const parts = addr.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
}

/** `2001:db8::1`, `::`, `::ffff:192.0.2.1` → 128-bit integer; undefined when malformed. */
function v6ToBig(addr: string): bigint | undefined {
  let text = addr.toLowerCase();
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = v4ToBig(dotted[2]);
    if (v4 === undefined) return undefined;
    text = `${dotted[1]}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (all.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Parses an IPv4 or IPv6 CIDR; undefined when it is neither (the schema reports that). */
export function parseCidr(cidr: string): ParsedCidr | undefined {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(cidr.trim());
  if (!m) return undefined;
  const prefix = Number(m[2]);
  if (m[1].includes(":")) {
    const base = v6ToBig(m[1]);
    return base === undefined || prefix > 128 ? undefined : { family: "ipv6", base, prefix, bits: 128 };
  }
  const base = v4ToBig(m[1]);
  return base === undefined || prefix > 32 ? undefined : { family: "ipv4", base, prefix, bits: 32 };
}

/** The family of a CIDR as the schema accepted it (anything with ':' is IPv6). */
export function familyOf(cidr: string): Family {
  return cidr.includes(":") ? "ipv6" : "ipv4";
}

/** Splits CIDRs by family, keeping their order: clouds take each family in its own field or rule. */
export function splitByFamily(cidrs: readonly string[]): Record<Family, string[]> {
  return { ipv4: cidrs.filter((c) => familyOf(c) === "ipv4"), ipv6: cidrs.filter((c) => familyOf(c) === "ipv6") };
}

/** True when the address bits after the prefix are zero (clouds refuse host bits in rule sources). */
export function hostBitsClear(p: ParsedCidr): boolean {
  const hostBits = BigInt(p.bits - p.prefix);
  return (p.base & ((1n << hostBits) - 1n)) === 0n;
}

/** True when every address of `inner` is inside `outer` (same family). */
export function contains(outer: ParsedCidr, inner: ParsedCidr): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  const shift = BigInt(outer.bits - outer.prefix);
  return inner.base >> shift === outer.base >> shift;
}

/**
 * Space that is not the public internet: RFC 1918, CGNAT (RFC 6598), loopback, link-local, IPv6 unique
 * local (fc00::/7), link-local and loopback. A range inside one of these cannot open the cluster to the world.
 */
export const NON_PUBLIC = [
  "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
  "fc00::/7", "fe80::/10", "::1/128",
] as const;
const NON_PUBLIC_PARSED = NON_PUBLIC.map((c) => parseCidr(c)!);

/** The widest public prefix allowed without allowPublicAdmin: a /16 of IPv4, a /48 (one site) of IPv6. */
export const WIDEST_PUBLIC_PREFIX: Record<Family, number> = { ipv4: 16, ipv6: 48 };

export function isNonPublic(p: ParsedCidr): boolean {
  return NON_PUBLIC_PARSED.some((n) => contains(n, p));
}

/**
 * Why an admin CIDR needs `allowPublicAdmin: true`, or undefined when it does not: it reaches public
 * address space (is not inside NON_PUBLIC) and is wider than WIDEST_PUBLIC_PREFIX. Several halves such as
 * 0.0.0.0/1 + 128.0.0.0/1 are each caught, not only /0.
 */
export function publicAdminReason(cidr: string): string | undefined {
  const p = parseCidr(cidr);
  if (!p || isNonPublic(p)) return undefined;
  const widest = WIDEST_PUBLIC_PREFIX[p.family];
  if (p.prefix >= widest) return undefined;
  if (p.prefix === 0) return "it opens SSH, Mesos and Marathon to the whole internet";
  const share = p.family === "ipv4" ? `2^${32 - p.prefix} IPv4 addresses` : `2^${128 - p.prefix} IPv6 addresses`;
  return (
    `it opens SSH, Mesos and Marathon to ${share} of public address space (a /${p.prefix}; without allowPublicAdmin ` +
    `a public admin range may be at most a /${widest}, and only RFC 1918, 100.64.0.0/10, loopback, link-local and ` +
    "fc00::/7 ranges may be wider)"
  );
}

/** The network address of `p` (host bits cleared) in canonical text: 203.0.113.0/24, 2001:db8::/48. */
export function networkOf(p: ParsedCidr): string {
  const hostBits = BigInt(p.bits - p.prefix);
  const base = (p.base >> hostBits) << hostBits;
  if (p.family === "ipv4") return `${[24n, 16n, 8n, 0n].map((s) => (base >> s) & 255n).join(".")}/${p.prefix}`;
  const groups = Array.from({ length: 8 }, (_, i) => Number((base >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: compress the longest run of two or more zero groups (the first one on a tie).
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  const text = best.at < 0 ? hex.join(":") : `${hex.slice(0, best.at).join(":")}::${hex.slice(best.at + best.len).join(":")}`;
  return `${text}/${p.prefix}`;
}
