// The cluster's TLS material: a CA and one certificate per node, derived from the secret clusterSecret the
// way credentials.ts derives passwords. Nothing is random and nothing is stored: a re-run renders the
// same bytes (so no daemon restarts), a new master gets its certificate without any state, and changing
// clusterSecret (or cluster.name) rotates the CA and every node certificate at once.
//
// Keys: ECDSA P-256. Every consumer reads it: OpenSSL (libprocess), Java 17 (ZooKeeper) and Java 8
// (Marathon 1.11's image; it has no Ed25519). Private scalars come from HKDF-SHA256 over clusterSecret,
// reduced to the curve order with @noble/curves' mapHashToField (FIPS 186-5 A.2.1, no bias). Signatures
// use @noble/curves' RFC 6979 deterministic nonces (OpenSSL, and so node:crypto, picks a random nonce).
// Certificates are built from @peculiar/asn1-x509's typed RFC 5280 structures: no hand-written ASN.1.
//
// The node key is a credential (FileSpec secret); the CA certificate is public (stack output caCertificate).
// No host ever holds the CA key: every certificate is signed where the steps are rendered.
import { createHash, createPrivateKey, hkdfSync } from "node:crypto";
import { p256 } from "@noble/curves/nist";
import { mapHashToField } from "@noble/curves/abstract/modular";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { ECParameters, ECPrivateKey, id_ecdsaWithSHA256, id_ecPublicKey, id_secp256r1 } from "@peculiar/asn1-ecc";
import {
  AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, AuthorityKeyIdentifier, BasicConstraints, Certificate,
  ExtendedKeyUsage, Extension, Extensions, GeneralName, id_ce_authorityKeyIdentifier, id_ce_basicConstraints,
  id_ce_extKeyUsage, id_ce_keyUsage, id_ce_subjectAltName, id_ce_subjectKeyIdentifier, id_kp_clientAuth,
  id_kp_serverAuth, KeyIdentifier, KeyUsage, KeyUsageFlags, Name, RelativeDistinguishedName, SubjectAlternativeName,
  SubjectKeyIdentifier, SubjectPublicKeyInfo, TBSCertificate, Validity, Version,
} from "@peculiar/asn1-x509";
import type { NodeTls } from "../steps/types";
import { fingerprintOf } from "../ssh/hostkey";

/** Bumped only if the derivation ever changes (it would rotate the CA and every node certificate). */
const SCHEME = "elastic-mesos/tls/v1";

/**
 * Fixed validity, so a re-render is byte-identical. The CA lasts 20 years and node certificates 10; a
 * cluster older than that rotates by changing clusterSecret (which also rotates every password).
 */
export const VALIDITY = {
  notBefore: new Date("2025-01-01T00:00:00Z"),
  caNotAfter: new Date("2045-01-01T00:00:00Z"),
  nodeNotAfter: new Date("2035-01-01T00:00:00Z"),
};

const OID_CN = "2.5.4.3";
const OID_O = "2.5.4.10";
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Who a node certificate is for. `ip` is its private address (absent on clouds for agents: see README). */
export interface TlsSubject {
  id: string;
  hostname: string;
  ip?: string;
  /** More IP SANs: a cloud master's public address, which browsers reach and Mesos redirects them to. */
  extraIps?: string[];
}

interface KeyPair {
  /** 32-byte private scalar. */
  d: Uint8Array;
  /** Uncompressed SEC1 point (65 bytes). */
  pub: Uint8Array;
}

interface Ca {
  key: KeyPair;
  name: Name;
  keyId: Uint8Array;
  pem: string;
}

function checkInputs(clusterSecret: string, clusterName: string): void {
  if (typeof clusterSecret !== "string" || clusterSecret.length < 16) {
    throw new Error(
      'clusterSecret: must be at least 16 characters; set it with `pulumi config set --secret clusterSecret "$(openssl rand -base64 32)"`',
    );
  }
  if (!clusterName) throw new Error("cluster.name: must not be empty (it salts the cluster CA)");
}

/** A P-256 key pair from clusterSecret, distinct per cluster and per purpose. */
function deriveKey(clusterSecret: string, clusterName: string, purpose: string): KeyPair {
  // 48 bytes for a 256-bit order: mapHashToField needs at least 40 for a negligible bias.
  const okm = new Uint8Array(hkdfSync("sha256", clusterSecret, SCHEME, `${clusterName}\0${purpose}`, 48));
  const d = mapHashToField(okm, p256.CURVE.n);
  return { d, pub: p256.getPublicKey(d, false) };
}

function name(cn: string): Name {
  const rdn = (type: string, value: string) =>
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) })]);
  return new Name([rdn(OID_O, "elastic-mesos"), rdn(OID_CN, cn)]);
}

function spki(pub: Uint8Array): SubjectPublicKeyInfo {
  return new SubjectPublicKeyInfo({
    algorithm: new AlgorithmIdentifier({
      algorithm: id_ecPublicKey,
      parameters: AsnConvert.serialize(new ECParameters({ namedCurve: id_secp256r1 })),
    }),
    subjectPublicKey: toArrayBuffer(pub),
  });
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the public key bits. */
function keyId(pub: Uint8Array): Uint8Array {
  return createHash("sha1").update(pub).digest();
}

/** 16 bytes from the key and purpose, positive (top bit clear) and never starting with a zero byte. */
function serial(purpose: string, pub: Uint8Array): ArrayBuffer {
  const b = createHash("sha256").update(`${SCHEME}\0serial\0${purpose}\0`).update(pub).digest().subarray(0, 16);
  b[0] = (b[0] & 0x7f) | 0x40;
  return toArrayBuffer(b);
}

function ext(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** Signs the TBSCertificate with RFC 6979 ECDSA-SHA256 and returns the certificate as PEM. */
function sign(tbs: TBSCertificate, signer: KeyPair): string {
  const tbsDer = AsnConvert.serialize(tbs);
  const digest = createHash("sha256").update(new Uint8Array(tbsDer)).digest();
  const sig = p256.sign(digest, signer.d, { lowS: true });
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: id_ecdsaWithSHA256 }),
    signatureValue: toArrayBuffer(sig.toDERRawBytes()),
  });
  return pem("CERTIFICATE", new Uint8Array(AsnConvert.serialize(cert)));
}

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** PKCS#8 PEM, the form OpenSSL, ZooKeeper's PEM key store and `openssl pkcs12` all read. */
function privateKeyPem(k: KeyPair): string {
  const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url");
  const jwk = { kty: "EC", crv: "P-256", d: b64u(k.d), x: b64u(k.pub.subarray(1, 33)), y: b64u(k.pub.subarray(33, 65)) };
  return createPrivateKey({ key: jwk, format: "jwk" }).export({ type: "pkcs8", format: "pem" }) as string;
}

// One CA per (secret, cluster) is derived once per process: a stack renders thousands of nodes against it.
// Keyed by a hash, so the map never holds the secret as a key.
const caCache = new Map<string, Ca>();

function clusterCa(clusterSecret: string, clusterName: string): Ca {
  checkInputs(clusterSecret, clusterName);
  const cacheKey = createHash("sha256").update(`${clusterSecret}\0${clusterName}`).digest("hex");
  const hit = caCache.get(cacheKey);
  if (hit) return hit;
  const key = deriveKey(clusterSecret, clusterName, "ca");
  const subject = name(`elastic-mesos cluster ${clusterName} CA`);
  const id = keyId(key.pub);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serial("ca", key.pub),
    signature: new AlgorithmIdentifier({ algorithm: id_ecdsaWithSHA256 }),
    issuer: subject,
    subject,
    validity: new Validity({ notBefore: VALIDITY.notBefore, notAfter: VALIDITY.caNotAfter }),
    subjectPublicKeyInfo: spki(key.pub),
    extensions: new Extensions([
      // pathLen 0: this CA signs node certificates only, never another CA.
      ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, pathLenConstraint: 0 })),
      ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
      ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(toArrayBuffer(id))),
    ]),
  });
  const ca: Ca = { key, name: subject, keyId: id, pem: sign(tbs, key) };
  if (caCache.size > 16) caCache.clear();
  caCache.set(cacheKey, ca);
  return ca;
}

/**
 * The new cluster CA's certificate signed by the old CA's key, for a clusterSecret rotation (provisioning/rotation):
 * a node with a certificate of the new CA sends this one after its own, so a peer that still trusts only the old CA
 * verifies it (leaf, then this, then the old CA). Both CAs have the same name (the cluster's), which makes this a
 * self-issued certificate, RFC 4210's "new with old" root key update: RFC 5280 6.1.4 does not count it against the
 * old CA's path length of 0. Its key identifiers tell the two CAs apart.
 */
export function crossSignedCa(newSecret: string, oldSecret: string, clusterName: string): string {
  const next = clusterCa(newSecret, clusterName);
  const old = clusterCa(oldSecret, clusterName);
  if (Buffer.from(next.keyId).equals(Buffer.from(old.keyId))) throw new Error("crossSignedCa: the old and new secrets are the same");
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serial("ca-cross", next.key.pub),
    signature: new AlgorithmIdentifier({ algorithm: id_ecdsaWithSHA256 }),
    issuer: old.name,
    subject: next.name,
    validity: new Validity({ notBefore: VALIDITY.notBefore, notAfter: VALIDITY.caNotAfter }),
    subjectPublicKeyInfo: spki(next.key.pub),
    extensions: new Extensions([
      ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, pathLenConstraint: 0 })),
      ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
      ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(toArrayBuffer(next.keyId))),
      ext(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(toArrayBuffer(old.keyId)) })),
    ]),
  });
  return sign(tbs, old.key);
}

/**
 * A node's material while clusterSecret rotates (provisioning/rotation/README.md): it trusts both CAs, and sends the
 * cross-signed new CA after its own certificate (libprocess loads a chain file, ZooKeeper's PEM key store a chain),
 * so peers not rolled yet, which trust only the old CA, verify it. The `up` after the rotation drops both extras.
 */
export function rotatingMaterial(m: NodeTls, newSecret: string, oldSecret: string, clusterName: string): NodeTls {
  const cross = crossSignedCa(newSecret, oldSecret, clusterName);
  return { ...m, caCert: `${m.caCert}${caCertificate(oldSecret, clusterName)}`, cert: `${m.cert}${cross}`,
    ...(m.executor ? { executor: { ...m.executor, cert: `${m.executor.cert}${cross}` } } : {}) };
}

/** A cloud machine's SSH host key, derived like the certificates: known before the machine exists. */
export interface SshHostKey {
  /** SEC1 PEM ("EC PRIVATE KEY"), the classic form sshd reads; goes into the machine's user-data only. */
  privatePem: string;
  /** The OpenSSH public key line ("ecdsa-sha2-nistp256 AAAA..."). */
  publicLine: string;
  /** "SHA256:..." as `ssh-keygen -lf` prints it: what the step runner and the readiness pin. */
  fingerprint: string;
  algorithm: "ecdsa-sha2-nistp256";
}

/**
 * The SSH host key of a cloud node (ECDSA P-256), from clusterSecret: its user-data installs it at first boot
 * (cloud-init `ssh_keys`), and every SSH connection to the machine pins it, so none trusts a key on first use.
 */
export function sshHostKey(clusterSecret: string, clusterName: string, nodeId: string): SshHostKey {
  checkInputs(clusterSecret, clusterName);
  const k = deriveKey(clusterSecret, clusterName, `ssh-host\0${nodeId}`);
  // SEC1 without the optional public key (OpenSSL computes it on load): about 100 bytes less in user-data, where a
  // 5-master cluster's masters are within 1% of AWS's 16 KB (test/unit/render.test.ts).
  const d = new OctetString(toArrayBuffer(k.d));
  const der = AsnConvert.serialize(new ECPrivateKey({ version: 1, privateKey: d, parameters: new ECParameters({ namedCurve: id_secp256r1 }) }));
  const privatePem = pem("EC PRIVATE KEY", new Uint8Array(der));
  // RFC 5656 public key blob: string "ecdsa-sha2-nistp256", string "nistp256", string Q (uncompressed point).
  const str = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const blob = Buffer.concat([str(Buffer.from("ecdsa-sha2-nistp256")), str(Buffer.from("nistp256")), str(Buffer.from(k.pub))]);
  return { privatePem, publicLine: `ecdsa-sha2-nistp256 ${blob.toString("base64")}`, fingerprint: fingerprintOf(blob),
    algorithm: "ecdsa-sha2-nistp256" };
}

/** The cluster CA certificate (PEM). Public: the stack output `caCertificate`, the trust anchor for clients. */
export function caCertificate(clusterSecret: string, clusterName: string): string {
  return clusterCa(clusterSecret, clusterName).pem;
}

/**
 * An agent's executors' certificate and key: the agent's names, its own key (derived apart), so the key the
 * task user can read is not the agent's. Executors listen on the agent's address, where the agent reaches them.
 */
export function executorTls(clusterSecret: string, clusterName: string, agent: TlsSubject): { cert: string; key: string } {
  const { cert, key } = nodeTls(clusterSecret, clusterName, { ...agent, id: `${agent.id}/executor` });
  return { cert, key };
}

/** Everything a node's steps need of the cluster CA: its certificate and key, and its executors' on an agent. */
export function nodeMaterial(clusterSecret: string, clusterName: string, subject: TlsSubject, role: "master" | "agent"): NodeTls {
  const tls = nodeTls(clusterSecret, clusterName, subject);
  return role === "agent" ? { ...tls, executor: executorTls(clusterSecret, clusterName, subject) } : tls;
}

/**
 * A node's certificate and key, signed by the cluster CA. SANs: its hostname (DNS) and private address
 * (IP), which is what libprocess (VERIFY_IPADD), ZooKeeper's hostname verification and browsers match, and
 * `extraIps` (a cloud master's public address, where browsers reach it).
 * Both serverAuth and clientAuth: ZooKeeper quorum links and libprocess connections are mutual.
 */
export function nodeTls(clusterSecret: string, clusterName: string, subject: TlsSubject): NodeTls {
  const where = `node ${subject.id}`;
  if (!DNS_NAME.test(subject.hostname)) throw new Error(`${where}: hostname "${subject.hostname}" is not a DNS name; it goes into the TLS certificate`);
  if (subject.ip !== undefined && !IPV4.test(subject.ip)) throw new Error(`${where}: address "${subject.ip}" is not an IPv4 address`);
  const extraIps = subject.extraIps ?? [];
  const badExtra = extraIps.find((ip) => !IPV4.test(ip));
  if (badExtra !== undefined) throw new Error(`${where}: public address "${badExtra}" is not an IPv4 address`);
  const ca = clusterCa(clusterSecret, clusterName);
  // The address is part of the key's derivation: a node that moves gets a new key, not just a new SAN.
  // Extra addresses only when there are some: certificates without them keep their exact bytes.
  const extra = extraIps.map((ip) => `\0${ip}`).join("");
  const purpose = `node\0${subject.id}\0${subject.hostname}\0${subject.ip ?? ""}${extra}`;
  const key = deriveKey(clusterSecret, clusterName, purpose);
  const sans = [new GeneralName({ dNSName: subject.hostname })];
  if (subject.ip) sans.push(new GeneralName({ iPAddress: subject.ip }));
  for (const ip of extraIps) sans.push(new GeneralName({ iPAddress: ip }));
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serial(purpose, key.pub),
    signature: new AlgorithmIdentifier({ algorithm: id_ecdsaWithSHA256 }),
    issuer: ca.name,
    subject: name(subject.hostname),
    validity: new Validity({ notBefore: VALIDITY.notBefore, notAfter: VALIDITY.nodeNotAfter }),
    subjectPublicKeyInfo: spki(key.pub),
    extensions: new Extensions([
      ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
      ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
      ext(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth, id_kp_clientAuth])),
      ext(id_ce_subjectAltName, false, new SubjectAlternativeName(sans)),
      ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(toArrayBuffer(keyId(key.pub)))),
      ext(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(toArrayBuffer(ca.keyId)) })),
    ]),
  });
  return { caCert: ca.pem, cert: sign(tbs, ca.key), key: privateKeyPem(key) };
}
