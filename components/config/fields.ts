// Small reusable zod schemas. Each error text says what IS allowed; errors.ts prefixes the key and the
// bad value, so a message reads `masters.diskGb: 5 is not allowed; use a whole number from 10 to 16384`.
import { z } from "zod";
import { utils as sshUtils } from "ssh2";
import { hostBitsClear, networkOf, parseCidr } from "./cidrs";

/** A strict object: unknown keys (usually typos) are problems, and the message lists the keys allowed here. */
export function strict<T extends z.ZodRawShape>(shape: T, what: string) {
  const keys = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === "unrecognized_keys" ? `allowed keys in ${what}: ${keys}` : `use an object (${what}) with keys ${keys}`,
  });
}

export function wholeNumber(min: number, max: number) {
  const error = `use a whole number from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

export function text(what: string) {
  return z.string({ error: `use ${what}` }).trim().min(1, { error: `use ${what}` });
}

const DNS_LABEL = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
/** RFC 1123 label, starting with a letter: safe as hostname, resource name and Mesos cluster name. */
export function dnsLabel(max: number) {
  const error = `use a DNS label of 1 to ${max} characters: lower-case letters, digits and '-', starting with a letter, not ending with '-'`;
  return z.string({ error }).max(max, { error }).regex(DNS_LABEL, { error });
}

const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
/** An IPv4/IPv6 address or a DNS name. */
export const hostAddress = z.union([z.ipv4(), z.ipv6(), z.string().regex(HOSTNAME).refine((s) => !/^[0-9.]+$/.test(s))], {
  error: "use an IPv4 or IPv6 address or a DNS name such as node1.example.com",
});

/** `10.0.0.0/8` → [address as 32-bit number, prefix]; undefined if not an IPv4 CIDR. */
export function parseCidrV4(cidr: string): { base: number; prefix: number } | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return undefined;
  const base = m.slice(1, 5).reduce((acc, o) => acc * 256 + Number(o), 0);
  return { base, prefix: Number(m[5]) };
}

/** True when no bits are set after the prefix (10.0.0.0/8, not 10.0.0.5/8). */
export function isCanonicalV4(cidr: string): boolean {
  const p = parseCidrV4(cidr);
  if (!p) return true;
  const size = 2 ** (32 - p.prefix);
  return p.base % size === 0;
}

/** IPv4 or IPv6 CIDR, canonical (AWS, GCP and OpenStack refuse host bits in a rule's source). */
export const cidr = z
  .union([z.cidrv4(), z.cidrv6()], { error: "use a CIDR such as 203.0.113.0/24 or 2001:db8::/48" })
  .superRefine((c, ctx) => {
    const p = parseCidr(c);
    if (p && !hostBitsClear(p)) ctx.addIssue({ code: "custom", message: `host bits are set; use ${networkOf(p)}` });
  });

const KEY_TYPES = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;
/** One OpenSSH public key line, checked by ssh2's parser (the same code that later talks to the hosts). */
export const sshPublicKey = z.string({ error: "use one OpenSSH public key line (ssh-ed25519 AAAA... comment)" }).superRefine((line, ctx) => {
  const parsed = sshUtils.parseKey(line.trim());
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error || !key)
    ctx.addIssue({ code: "custom", message: `not an OpenSSH public key (${(key as Error)?.message ?? "unparsable"}); paste the one line of your ~/.ssh/id_ed25519.pub` });
  else if (key.isPrivateKey())
    ctx.addIssue({ code: "custom", message: "this is a PRIVATE key; use the public key line (~/.ssh/id_ed25519.pub) and set the private key with `pulumi config set --secret elastic-mesos:sshPrivateKey < ~/.ssh/id_ed25519`" });
  else if (!KEY_TYPES.test(key.type))
    ctx.addIssue({ code: "custom", message: `key type ${key.type} is refused; use an ssh-ed25519, ssh-rsa or ecdsa-sha2-* key` });
});

/** An unencrypted OpenSSH/PEM private key (the bootstrap cannot prompt for a passphrase). */
export const sshPrivateKey = z.string({ error: "use an unencrypted OpenSSH private key" }).superRefine((pem, ctx) => {
  const parsed = sshUtils.parseKey(pem);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error || !key) {
    const msg = (key as Error)?.message ?? "";
    ctx.addIssue({
      code: "custom",
      message: /passphrase|encrypted/i.test(msg)
        ? "the key is encrypted; use a key without passphrase (or `ssh-keygen -p -N '' -f KEY` on a copy)"
        : "not an OpenSSH or PEM private key; set it with `pulumi config set --secret elastic-mesos:sshPrivateKey < ~/.ssh/id_ed25519`",
    });
  } else if (!key.isPrivateKey()) {
    ctx.addIssue({ code: "custom", message: "this is a public key; sshPrivateKey needs the private key file" });
  }
});

/** "SHA256:" + 43 base64 characters, as printed by `ssh-keygen -lf` or `ssh-keyscan | ssh-keygen -lf -`. */
export const hostKeyFingerprint = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, {
  error: "use the SHA256 fingerprint from `ssh-keyscan HOST | ssh-keygen -lf -`, like SHA256: followed by 43 base64 characters",
});

export const httpUrl = z.url({ protocol: /^https?$/, error: "use an http:// or https:// URL" });
export const sha512Hex = z.string().regex(/^[0-9a-fA-F]{128}$/, { error: "use a SHA-512 checksum: 128 hexadecimal characters" });
export const pgpFingerprint = z.string().regex(/^[0-9A-Fa-f]{40}$/, { error: "use the 40 hex characters of the OpenPGP key fingerprint, without spaces" });
