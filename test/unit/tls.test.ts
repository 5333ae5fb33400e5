// The cluster CA and node certificates (provisioning/tls): the same bytes on every render, a new CA when
// the secret changes, and certificates that OpenSSL itself accepts for the right names and refuses for
// the wrong ones or from another cluster's CA.
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { caCertificate, nodeTls } from "../../provisioning/tls";

const SECRET = "tls-unit-test-secret-0123456789";
const M1 = { id: "m1", hostname: "prod-m1", ip: "10.42.1.10" };
const dir = mkdtempSync(join(tmpdir(), "em-tls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

/** `openssl verify` with extra checks; returns [exit code, output]. */
function verify(ca: string, cert: string, ...extra: string[]): [number, string] {
  const r = spawnSync("openssl", ["verify", "-CAfile", file("ca.pem", ca), ...extra, file("leaf.pem", cert)], { encoding: "utf8" });
  return [r.status ?? -1, `${r.stdout}${r.stderr}`];
}

const text = (pem: string): string => execFileSync("openssl", ["x509", "-noout", "-text", "-in", file("x.pem", pem)], { encoding: "utf8" });

describe("cluster CA", () => {
  it("is the same bytes for the same secret and cluster, and another CA for another secret or cluster", () => {
    const ca = caCertificate(SECRET, "prod");
    expect(caCertificate(SECRET, "prod")).toBe(ca);
    expect(caCertificate(`${SECRET}x`, "prod")).not.toBe(ca);
    expect(caCertificate(SECRET, "staging")).not.toBe(ca);
    // Distinct keys, not just distinct names: rotation means the old CA's signatures stop verifying.
    const key = (pem: string) => new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" }).toString("hex");
    expect(key(caCertificate(`${SECRET}x`, "prod"))).not.toBe(key(ca));
  });

  it("is a self-signed P-256 CA limited to signing node certificates, valid 2025-2045", () => {
    const ca = caCertificate(SECRET, "prod");
    const t = text(ca);
    expect(t).toContain("Signature Algorithm: ecdsa-with-SHA256");
    expect(t).toContain("NIST CURVE: P-256");
    expect(t).toMatch(/Subject: O\s?=\s?elastic-mesos, CN\s?=\s?elastic-mesos cluster prod CA/);
    expect(t).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(t).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(t).toContain("Not Before: Jan  1 00:00:00 2025 GMT");
    expect(t).toContain("Not After : Jan  1 00:00:00 2045 GMT");
    const x = new X509Certificate(ca);
    expect(x.ca).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
  });

  it("refuses a short secret with the command to make one, and an empty cluster name", () => {
    expect(() => caCertificate("short", "prod")).toThrow(/clusterSecret: .*openssl rand -base64 32/);
    expect(() => nodeTls(SECRET, "", M1)).toThrow(/cluster\.name/);
  });
});

describe("node certificates", () => {
  it("are the same bytes (certificate, key) on every render: deterministic keys and RFC 6979 signatures", () => {
    const a = nodeTls(SECRET, "prod", M1);
    expect(nodeTls(SECRET, "prod", { ...M1 })).toEqual(a);
    expect(a.caCert).toBe(caCertificate(SECRET, "prod"));
    expect(a.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const other = nodeTls(SECRET, "prod", { id: "m2", hostname: "prod-m2", ip: "10.42.1.11" });
    expect(other.key).not.toBe(a.key);
    // A node that moves gets a new key, not only a new SAN.
    expect(nodeTls(SECRET, "prod", { ...M1, ip: "10.42.1.99" }).key).not.toBe(a.key);
  });

  it("verify against the cluster CA with OpenSSL, for the node's address and hostname only", () => {
    const { caCert, cert } = nodeTls(SECRET, "prod", M1);
    expect(verify(caCert, cert)).toEqual([0, expect.stringContaining(": OK")]);
    expect(verify(caCert, cert, "-verify_ip", M1.ip)[0]).toBe(0);
    expect(verify(caCert, cert, "-verify_hostname", M1.hostname)[0]).toBe(0);
    expect(verify(caCert, cert, "-purpose", "sslserver")[0]).toBe(0);
    expect(verify(caCert, cert, "-purpose", "sslclient")[0]).toBe(0);
    const [wrongIp, out] = verify(caCert, cert, "-verify_ip", "10.42.1.11");
    expect(wrongIp).not.toBe(0);
    expect(out).toMatch(/IP address mismatch/);
    expect(verify(caCert, cert, "-verify_hostname", "prod-m2")[0]).not.toBe(0);
  });

  it("are refused by another cluster's CA and by the CA of a rotated secret", () => {
    const { cert } = nodeTls(SECRET, "prod", M1);
    const [code, out] = verify(caCertificate(`${SECRET}-rotated`, "prod"), cert);
    expect(code).not.toBe(0);
    expect(out).toMatch(/unable to get local issuer certificate|certificate signature failure/);
    expect(verify(caCertificate(SECRET, "staging"), cert)[0]).not.toBe(0);
  });

  it("carry the SANs, usages and validity the consumers check", () => {
    const { cert, key } = nodeTls(SECRET, "prod", M1);
    const t = text(cert);
    expect(t).toMatch(/Subject Alternative Name:\s+DNS:prod-m1, IP Address:10\.42\.1\.10\n/);
    expect(t).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(t).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(t).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(t).toMatch(/Issuer: O\s?=\s?elastic-mesos, CN\s?=\s?elastic-mesos cluster prod CA/);
    expect(t).toContain("Not Before: Jan  1 00:00:00 2025 GMT");
    expect(t).toContain("Not After : Jan  1 00:00:00 2035 GMT");
    // The key is the certificate's.
    const pub = (k: string) => createPublicKey(k).export({ type: "spki", format: "der" }).toString("hex");
    expect(pub(key)).toBe(new X509Certificate(cert).publicKey.export({ type: "spki", format: "der" }).toString("hex"));
    expect(createPrivateKey(key).asymmetricKeyDetails).toEqual({ namedCurve: "prime256v1" });
  });

  it("leave out the IP SAN when the address is not known at render time (cloud agents)", () => {
    const { cert } = nodeTls(SECRET, "prod", { id: "general-1", hostname: "prod-general-1" });
    expect(text(cert)).toMatch(/Subject Alternative Name:\s+DNS:prod-general-1\n/);
  });

  it("refuse a hostname or address that cannot go into a certificate, naming the node", () => {
    expect(() => nodeTls(SECRET, "prod", { ...M1, hostname: "Prod_M1" })).toThrow(/node m1: hostname "Prod_M1"/);
    expect(() => nodeTls(SECRET, "prod", { ...M1, ip: "10.42.1" })).toThrow(/node m1: address "10.42.1"/);
  });
});
