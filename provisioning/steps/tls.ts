// Step 3's TLS pieces (Mesos libprocess SSL, Marathon HTTPS), from the node's material of the cluster CA
// (BootstrapInput.tls). Pure: files, environment and shell lines the master and agent renderers include.
//
// libprocess reads its TLS settings from LIBPROCESS_SSL_* variables (mesos-stack.md §6.4): paths and
// switches, no secret, so they live in an EnvironmentFile. Downgrade is off: a plaintext peer or browser is
// refused on 5050/5051. Server certificates are verified, by IP SAN (masters and agents advertise their IP).
import { createHash } from "node:crypto";
import type { Ctx } from "./context";
import type { FileSpec, NodeTls } from "./types";

export const MESOS_TLS_DIR = "/etc/mesos/tls";
export const MESOS_CERT = `${MESOS_TLS_DIR}/cert.pem`;
export const MESOS_KEY = `${MESOS_TLS_DIR}/key.pem`;
/**
 * The cluster CA: trust anchor of libprocess, of the gates' and probes' curl and of Marathon's leader proxy.
 * Public (the stack output caCertificate), so outside the root-only /etc/mesos: probes that run as a
 * non-root login user (readiness, drain) and Marathon (user marathon, or its container) read it too.
 */
export const CLUSTER_CA = "/etc/ssl/elastic-mesos/ca.pem";
export const LIBPROCESS_SSL_ENV = "/etc/mesos/libprocess-ssl.env";
/** PKCS#12 made on the host from the PEM files (Marathon 1.11 reads a Java key store, not PEM). */
export const MARATHON_KEYSTORE = "/etc/marathon/keystore.p12";
export const MARATHON_HTTPS_PORT = 8443;
/** Marathon's scheduler driver speaks libprocess too: its own copy of the node's key, readable by marathon only. */
export const MARATHON_CERT = "/etc/marathon/tls-cert.pem";
export const MARATHON_KEY = "/etc/marathon/tls-key.pem";
/** The cluster CA as a Java trust store: Marathon's leader proxy (a standby forwarding to the leader's 8443). */
export const MARATHON_TRUSTSTORE = "/etc/marathon/truststore.p12";

/** Our keys are ECDSA: only ECDHE-ECDSA suites can be used; AEAD ones only. */
const CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305";

export function tlsOf(ctx: Ctx): NodeTls | undefined {
  return ctx.input.tls;
}

/**
 * LIBPROCESS_SSL_* for mesos-master and mesos-agent (and, with its own copy of the key, Marathon's scheduler
 * driver), in a fixed order (same bytes every render).
 */
export function libprocessSsl(cert = MESOS_CERT, key = MESOS_KEY, verify = true): [string, string][] {
  return [
    ["LIBPROCESS_SSL_ENABLED", "true"],
    ["LIBPROCESS_SSL_CERT_FILE", cert],
    ["LIBPROCESS_SSL_KEY_FILE", key],
    ["LIBPROCESS_SSL_CA_FILE", CLUSTER_CA],
    // Off only where some peers' certificates cannot name their address (NodeTls.unverifiedPeers).
    ["LIBPROCESS_SSL_VERIFY_SERVER_CERT", String(verify)],
    // Not REQUIRE_CLIENT_CERT: browsers and curl reach 5050/5051 with HTTP basic auth, not client certificates.
    ["LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME", "openssl"],
    // Masters and agents are addressed by IP (--hostname=<ip>): their certificates carry it as an IP SAN.
    ["LIBPROCESS_SSL_VERIFY_IPADD", "true"],
    // The real flag name (the docs' prose says ENABLE_DOWNGRADE, which libprocess silently ignores).
    ["LIBPROCESS_SSL_SUPPORT_DOWNGRADE", "false"],
    ["LIBPROCESS_SSL_ENABLE_TLS_V1_2", "true"],
    ["LIBPROCESS_SSL_ENABLE_TLS_V1_0", "false"],
    ["LIBPROCESS_SSL_ENABLE_TLS_V1_1", "false"],
    ["LIBPROCESS_SSL_ENABLE_SSL_V3", "false"],
    ["LIBPROCESS_SSL_CIPHERS", CIPHERS],
  ];
}

/** The node's certificate, key (root only, a secret) and the CA, plus the libprocess environment file. */
export function mesosTlsFiles(ctx: Ctx): FileSpec[] {
  const tls = tlsOf(ctx);
  if (!tls) return [];
  const env = libprocessSsl(MESOS_CERT, MESOS_KEY, !tls.unverifiedPeers).map(([k, v]) => `${k}=${v}\n`).join("");
  return [
    { path: MESOS_CERT, content: tls.cert, mode: "0444", owner: "root", group: "root" },
    { path: MESOS_KEY, content: tls.key, mode: "0400", owner: "root", group: "root", secret: true },
    clusterCaFile(tls),
    { path: LIBPROCESS_SSL_ENV, content: env, mode: "0644", owner: "root", group: "root" },
  ];
}

export function clusterCaFile(tls: NodeTls): FileSpec {
  return { path: CLUSTER_CA, content: tls.caCert, mode: "0444", owner: "root", group: "root" };
}

/** Files whose change restarts mesos-master / mesos-agent (em_service inputs). */
export function mesosTlsInputs(ctx: Ctx): string[] {
  const tls = tlsOf(ctx);
  if (!tls) return [];
  return [MESOS_CERT, MESOS_KEY, CLUSTER_CA, LIBPROCESS_SSL_ENV, ...(tls.executor ? [EXECUTOR_ENV] : [])];
}

/** Executors' TLS material: outside the root-only /etc/mesos, readable by the pool's task user (their user). */
export const EXECUTOR_TLS_DIR = "/etc/ssl/elastic-mesos/executor";
export const EXECUTOR_CERT = `${EXECUTOR_TLS_DIR}/cert.pem`;
export const EXECUTOR_KEY = `${EXECUTOR_TLS_DIR}/key.pem`;
/** --executor_environment_variables (stout reads file:// values): executors get only this environment. */
export const EXECUTOR_ENV = "/etc/mesos/executor-env.json";
const EXECUTOR_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Agents: executors (and their tasks) are libprocess processes too, and with downgrade off they must speak
 * TLS to their agent. Without --executor_environment_variables they would inherit the agent's environment,
 * LIBPROCESS_SSL_KEY_FILE included, a key the task user must not (and cannot) read. So they get an
 * environment of their own with the executor certificate, whose key the task user's group may read.
 */
export function executorTlsFiles(ctx: Ctx, taskUser: string): FileSpec[] {
  const ex = tlsOf(ctx)?.executor;
  if (!ex) return [];
  const env = Object.fromEntries([
    ["PATH", EXECUTOR_PATH],
    ...libprocessSsl(EXECUTOR_CERT, EXECUTOR_KEY, !tlsOf(ctx)!.unverifiedPeers),
  ]);
  return [
    { path: EXECUTOR_CERT, content: ex.cert, mode: "0444", owner: "root", group: "root" },
    { path: EXECUTOR_KEY, content: ex.key, mode: "0440", owner: "root", group: taskUser, secret: true },
    { path: EXECUTOR_ENV, content: `${JSON.stringify(env, null, 2)}\n`, mode: "0600", owner: "root", group: "root" },
  ];
}

/**
 * The key store's password. It protects a file that holds the same key as MESOS_KEY (both readable only by
 * their service), so it adds no secret: derived from the key, stable across renders, different per node.
 */
export function keystorePassword(tls: NodeTls): string {
  return storePassword("marathon-keystore", tls.key);
}

/** A Java store's password, derived from what it holds (stable across renders): for a `purpose` of ours. */
export function storePassword(purpose: string, material: string): string {
  return createHash("sha256").update(`elastic-mesos/${purpose}\0${material}`).digest("base64url").slice(0, 24);
}

/**
 * Shell lines (masters): rebuild Marathon's PKCS#12 key store when the PEM files change, never otherwise (a
 * PKCS#12 has random salts: rebuilding it every run would restart Marathon every run). 3DES/SHA-1 PBE and a
 * SHA-1 MAC: the encodings every Java 8 reads (OpenSSL 3's default AES/PBKDF2 needs 8u301 or later).
 */
export function keystoreCommands(ctx: Ctx): string[] {
  const tls = tlsOf(ctx);
  if (!tls) return [];
  const stamp = "/var/lib/elastic-mesos/stamps/marathon-keystore";
  return [
    `ks_sum=$(cat ${MESOS_CERT} ${MESOS_KEY} | sha256sum | cut -d' ' -f1)`,
    `if [ ! -s ${MARATHON_KEYSTORE} ] || [ "$(cat ${stamp} 2>/dev/null || true)" != "$ks_sum" ]; then`,
    `  ks_tmp=$(mktemp /etc/marathon/.keystore-XXXXXX)`,
    // The password through the environment, not argv.
    `  EM_KS_PASS=${keystorePassword(tls)} openssl pkcs12 -export -in ${MESOS_CERT} -inkey ${MESOS_KEY} -certfile ${CLUSTER_CA} \\`,
    `    -name marathon -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 -passout env:EM_KS_PASS -out "$ks_tmp"`,
    `  chown marathon:marathon "$ks_tmp"; chmod 0400 "$ks_tmp"; mv -f "$ks_tmp" ${MARATHON_KEYSTORE}`,
    `  em_put ${stamp} 0600 root root < <(printf '%s\\n' "$ks_sum")`,
    `  em_mark ${MARATHON_KEYSTORE}`,
    "fi",
  ];
}

/** Marathon's copy of the node's certificate and key (its scheduler driver's libprocess), readable by marathon only. */
export function marathonTlsFiles(ctx: Ctx): FileSpec[] {
  const tls = tlsOf(ctx);
  if (!tls) return [];
  return [
    { path: MARATHON_CERT, content: tls.cert, mode: "0444", owner: "marathon", group: "marathon" },
    { path: MARATHON_KEY, content: tls.key, mode: "0400", owner: "marathon", group: "marathon", secret: true },
    // CLUSTER_CA: written by mesosTlsFiles (masters run both).
  ];
}

/** The trust store's password: it guards a public certificate, so it is no secret (derived from the CA). */
export function truststorePassword(tls: NodeTls): string {
  return storePassword("marathon-truststore", tls.caCert);
}

/**
 * Marathon's environment for TLS: LIBPROCESS_SSL_* for its scheduler driver (its own key copy), and JAVA_OPTS
 * (read by bin/marathon) pointing the JVM's default trust store at the cluster CA, which the leader proxy uses.
 */
export function marathonTlsEnv(ctx: Ctx): Record<string, string> {
  const tls = tlsOf(ctx);
  if (!tls) return {};
  const java = [
    `-Djavax.net.ssl.trustStore=${MARATHON_TRUSTSTORE}`,
    "-Djavax.net.ssl.trustStoreType=PKCS12",
    `-Djavax.net.ssl.trustStorePassword=${truststorePassword(tls)}`,
  ];
  return { ...Object.fromEntries(libprocessSsl(MARATHON_CERT, MARATHON_KEY)), JAVA_OPTS: java.join(" ") };
}

/** Files whose change restarts Marathon. */
export function marathonTlsInputs(ctx: Ctx): string[] {
  return tlsOf(ctx) ? [MARATHON_CERT, MARATHON_KEY, CLUSTER_CA, MARATHON_KEYSTORE, MARATHON_TRUSTSTORE] : [];
}

/**
 * Shell lines (masters): the CA as a PKCS#12 trust store, made by keytool (the JDK that runs ZooKeeper on every
 * master has it; OpenSSL 3.0 cannot mark a PKCS#12 certificate as trusted for Java), only when the CA changes.
 */
export function truststoreCommands(ctx: Ctx): string[] {
  const tls = tlsOf(ctx);
  if (!tls) return [];
  const stamp = "/var/lib/elastic-mesos/stamps/marathon-truststore";
  if (bundle(tls.caCert)) {
    return pkcs12TrustStore({ pem: CLUSTER_CA, p12: MARATHON_TRUSTSTORE, password: truststorePassword(tls), owner: "marathon",
      stamp, alias: "elastic-mesos-ca" });
  }
  return [
    `ts_sum=$(sha256sum <${CLUSTER_CA} | cut -d' ' -f1)`,
    `if [ ! -s ${MARATHON_TRUSTSTORE} ] || [ "$(cat ${stamp} 2>/dev/null || true)" != "$ts_sum" ]; then`,
    `  ts_dir=$(mktemp -d /etc/marathon/.truststore-XXXXXX)`,
    `  EM_TS_PASS=${truststorePassword(tls)} keytool -importcert -noprompt -alias elastic-mesos-ca -file ${CLUSTER_CA} \\`,
    `    -storetype PKCS12 -keystore "$ts_dir/ts.p12" -storepass:env EM_TS_PASS >/dev/null`,
    `  chown marathon:marathon "$ts_dir/ts.p12"; chmod 0444 "$ts_dir/ts.p12"; mv -f "$ts_dir/ts.p12" ${MARATHON_TRUSTSTORE}; rmdir "$ts_dir"`,
    `  em_put ${stamp} 0600 root root < <(printf '%s\\n' "$ts_sum")`,
    `  em_mark ${MARATHON_TRUSTSTORE}`,
    "fi",
  ];
}

/**
 * Shell lines: the certificates of `pem` (the two CAs of a clusterSecret rotation) as a PKCS#12 trust store, one
 * alias each, rebuilt only when `pem` changes. Java takes both as anchors this way; a PEM trust store would not do:
 * both CAs have the cluster's name, and ZooKeeper's PEM loader keys its entries by that name (the last one wins).
 */
export function pkcs12TrustStore(o: { pem: string; p12: string; password: string; owner: string; stamp: string; alias: string }): string[] {
  return [
    `ts_sum=$(sha256sum <${o.pem} | cut -d' ' -f1)`,
    `if [ ! -s ${o.p12} ] || [ "$(cat ${o.stamp} 2>/dev/null || true)" != "$ts_sum" ]; then`,
    `  ts_dir=$(mktemp -d ${o.p12.replace(/\/[^/]*$/, "")}/.truststore-XXXXXX)`,
    `  awk -v d="$ts_dir" '/BEGIN CERTIFICATE/{n++} n{print > (d "/ca-" n ".pem")}' ${o.pem}`,
    `  for f in "$ts_dir"/ca-*.pem; do n=\${f##*/ca-}`,
    `    EM_TS_PASS=${o.password} keytool -importcert -noprompt -alias "${o.alias}-\${n%.pem}" -file "$f" \\`,
    `      -storetype PKCS12 -keystore "$ts_dir/ts.p12" -storepass:env EM_TS_PASS >/dev/null; rm -f "$f"`,
    "  done",
    `  chown ${o.owner}:${o.owner} "$ts_dir/ts.p12"; chmod 0444 "$ts_dir/ts.p12"; mv -f "$ts_dir/ts.p12" ${o.p12}; rmdir "$ts_dir"`,
    `  em_put ${o.stamp} 0600 root root < <(printf '%s\\n' "$ts_sum")`,
    `  em_mark ${o.p12}`,
    "fi",
  ];
}

/** More than one certificate: the CAs of a rotation (tls rotatingMaterial). */
export const bundle = (pem: string) => (pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length > 1;

/** Marathon's HTTPS flags: HTTPS on 8443 only (--disable_http), the key store made by keystoreCommands. */
export function marathonTlsArgs(ctx: Ctx): [string, string?][] {
  const tls = tlsOf(ctx);
  if (!tls) return [];
  return [
    ["--https_port", String(MARATHON_HTTPS_PORT)],
    ["--ssl_keystore_path", MARATHON_KEYSTORE],
    ["--ssl_keystore_password", keystorePassword(tls)],
    ["--disable_http"],
  ];
}
