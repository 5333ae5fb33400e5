// Step 3's TLS pieces (provisioning/steps/tls.ts): the libprocess variables are the names libprocess really
// reads, the key is root's alone, and Marathon's key store is built from the PEM files once, then only when
// they change (a PKCS#12 has random salts: rebuilding it every run would restart Marathon every run).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildContext } from "../../provisioning/steps/context";
import { CLUSTER_CA, MESOS_CERT, MESOS_KEY, MARATHON_KEYSTORE, keystoreCommands, keystorePassword, libprocessSsl, marathonTlsArgs, mesosTlsFiles } from "../../provisioning/steps/tls";
import { caCertificate, executorTls, nodeTls } from "../../provisioning/tls";
import { renderSteps } from "../../provisioning/steps";
import { EXECUTOR_CERT, EXECUTOR_ENV, EXECUTOR_KEY } from "../../provisioning/steps/tls";
import { curlScript, parseCurl } from "../../provisioning/baremetal/runner";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { agentInput, masterInput, SECRET } from "./bootstrap-input";

const input = masterInput({ masters: 3 }, 1);
const tls = nodeTls(SECRET, input.cluster, { id: "m1", hostname: input.node.hostname, ip: input.masters[0].ip });
const ctx = buildContext({ ...input, tls });
const dir = mkdtempSync(join(tmpdir(), "em-mtls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("libprocess TLS", () => {
  it("uses libprocess' real variable names: TLS required, server certificates verified by IP, no downgrade", () => {
    const env = Object.fromEntries(libprocessSsl());
    expect(env).toMatchObject({
      LIBPROCESS_SSL_ENABLED: "true", LIBPROCESS_SSL_VERIFY_SERVER_CERT: "true", LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME: "openssl",
      LIBPROCESS_SSL_VERIFY_IPADD: "true", LIBPROCESS_SSL_SUPPORT_DOWNGRADE: "false", LIBPROCESS_SSL_ENABLE_TLS_V1_2: "true",
      LIBPROCESS_SSL_CERT_FILE: MESOS_CERT, LIBPROCESS_SSL_KEY_FILE: MESOS_KEY, LIBPROCESS_SSL_CA_FILE: CLUSTER_CA,
    });
    // Names the docs' prose uses but libprocess silently ignores.
    for (const wrong of ["ENABLE_DOWNGRADE", "VERIFY_DEPTH", "ECDH_CURVE"]) expect(Object.keys(env)).not.toContain(`LIBPROCESS_SSL_${wrong}`);
  });

  it("writes the key for root only (a secret), the certificate and CA world-readable, nothing without TLS material", () => {
    const files = Object.fromEntries(mesosTlsFiles(ctx).map((f) => [f.path, f]));
    expect(files[MESOS_KEY]).toMatchObject({ content: tls.key, mode: "0400", owner: "root", secret: true });
    expect(files[MESOS_CERT]).toMatchObject({ content: tls.cert, mode: "0444" });
    expect(files[CLUSTER_CA]).toMatchObject({ content: tls.caCert, mode: "0444" });
    expect(mesosTlsFiles(buildContext(input))).toEqual([]);
  });
});

describe("executors and cloud peers", () => {
  const a = agentInput({ masters: 3 });
  const agent = { ...a, selfIp: "10.0.1.21", node: { ...a.node, taskUser: "etl" } };
  const subject = { id: agent.node.id, hostname: agent.node.hostname, ip: agent.selfIp };
  const files = (tls: typeof tlsA) => Object.fromEntries(renderSteps({ ...agent, tls }).flatMap((st) => st.files).map((f) => [f.path, f]));
  const tlsA = { ...nodeTls(SECRET, agent.cluster, subject), executor: executorTls(SECRET, agent.cluster, subject) };

  it("executors get their own environment and certificate: a key the task user's group reads, not the agent's", () => {
    const f = files(tlsA);
    const unit = f["/etc/systemd/system/mesos-agent.service"].content;
    expect(unit).toContain(`--executor_environment_variables=file://${EXECUTOR_ENV}`);
    expect(f[EXECUTOR_KEY]).toMatchObject({ content: tlsA.executor.key, mode: "0440", owner: "root", group: "etl", secret: true });
    expect(tlsA.executor.key).not.toBe(tlsA.key);
    const env = JSON.parse(f[EXECUTOR_ENV].content);
    expect(f[EXECUTOR_ENV]).toMatchObject({ mode: "0600", owner: "root" });
    expect(env).toMatchObject({ LIBPROCESS_SSL_ENABLED: "true", LIBPROCESS_SSL_CERT_FILE: EXECUTOR_CERT, LIBPROCESS_SSL_KEY_FILE: EXECUTOR_KEY,
      LIBPROCESS_SSL_CA_FILE: CLUSTER_CA, LIBPROCESS_SSL_VERIFY_SERVER_CERT: "true", LIBPROCESS_SSL_SUPPORT_DOWNGRADE: "false" });
    expect(env.PATH).toMatch(/\/usr\/bin/);
    expect(Object.values(env).every((v) => typeof v === "string")).toBe(true); // Mesos refuses anything else
    // The agent reaches its executors at its own address: their certificate names it, and chains to the CA.
    const cert = join(dir, "executor.pem");
    const ca = join(dir, "ca-x.pem");
    writeFileSync(cert, tlsA.executor.cert);
    writeFileSync(ca, tlsA.caCert);
    execFileSync("openssl", ["verify", "-CAfile", ca, "-verify_ip", "10.0.1.21", cert]);
  });

  it("where agents' certificates cannot name their address (cloud-init), libprocess encrypts without verifying peers", () => {
    const f = files({ ...tlsA, unverifiedPeers: true });
    expect(f["/etc/mesos/libprocess-ssl.env"].content).toContain("LIBPROCESS_SSL_VERIFY_SERVER_CERT=false\n");
    expect(JSON.parse(f[EXECUTOR_ENV].content).LIBPROCESS_SSL_VERIFY_SERVER_CERT).toBe("false");
    expect(files(tlsA)["/etc/mesos/libprocess-ssl.env"].content).toContain("LIBPROCESS_SSL_VERIFY_SERVER_CERT=true\n");
  });
});

describe("Marathon key store", () => {
  it("serves HTTPS only, on 8443", () => {
    expect(marathonTlsArgs(ctx)).toEqual([["--https_port", "8443"], ["--ssl_keystore_path", MARATHON_KEYSTORE], ["--ssl_keystore_password", keystorePassword(tls)], ["--disable_http"]]);
  });

  it("is built from the PEM files with Java 8's PBE, holds the node's chain, and is rebuilt only when they change", () => {
    // The step's own lines, with its paths moved into a scratch directory and the library's two calls stubbed.
    const sub = (s: string) => s.replaceAll("/etc/mesos/tls", dir).replaceAll("/etc/ssl/elastic-mesos", dir).replaceAll("/etc/marathon", dir).replaceAll("/var/lib/elastic-mesos/stamps", dir)
      .replace('chown marathon:marathon "$ks_tmp"; ', "");
    const script = [
      "set -euo pipefail",
      `em_put() { cat >"$1"; }`,
      `em_mark() { echo "changed: $1"; }`,
      ...keystoreCommands(ctx).map(sub),
    ].join("\n");
    writeFileSync(join(dir, "cert.pem"), tls.cert);
    writeFileSync(join(dir, "key.pem"), tls.key, { mode: 0o600 });
    writeFileSync(join(dir, "ca.pem"), tls.caCert);
    const first = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain(`changed: ${dir}/keystore.p12`);
    const ks = join(dir, "keystore.p12");
    expect((statSync(ks).mode & 0o777).toString(8)).toBe("400");
    const info = execFileSync("openssl", ["pkcs12", "-in", ks, "-info", "-nokeys", "-passin", `pass:${keystorePassword(tls)}`], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(info).toContain("subject=O = elastic-mesos, CN = prod-m1");
    expect(info).toContain("subject=O = elastic-mesos, CN = elastic-mesos cluster prod CA");
    const infoRun = spawnSync("openssl", ["pkcs12", "-in", ks, "-info", "-noout", "-passin", `pass:${keystorePassword(tls)}`], { encoding: "utf8" });
    const dump = `${infoRun.stdout}${infoRun.stderr}`;
    expect(dump).toMatch(/MAC: sha1/);
    expect(dump).toMatch(/pbeWithSHA1And3-KeyTripleDES-CBC/);
    const bytes = readFileSync(ks);
    const again = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    expect(again.stdout).not.toContain("changed:");
    expect(readFileSync(ks).equals(bytes)).toBe(true);
  });
});

describe("curl probes over TLS (curlScript cacert)", () => {
  it("reach an https server whose certificate chains to the cluster CA, and refuse another CA or plain http", async () => {
    const local = nodeTls(SECRET, "prod", { id: "probe", hostname: "localhost", ip: "127.0.0.1" });
    const server = createServer({ cert: local.cert, key: local.key }, (req, res) => res.end(`ok ${req.headers.authorization ?? ""}`));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const curl = async (url: string, ca: string) => {
      const script = curlScript(url, { user: "health", password: "pw" }, { cacert: join(dir, ca), timeoutS: 5 });
      const r = await new Promise<string>((resolve) => {
        const child = spawn("bash", ["-c", script]);
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d));
        child.on("close", () => resolve(out));
      });
      return parseCurl(r);
    };
    try {
      writeFileSync(join(dir, "probe-ca.pem"), local.caCert);
      writeFileSync(join(dir, "other-ca.pem"), caCertificate(`${SECRET}-other`, "prod"));
      const ok = await curl(`https://127.0.0.1:${port}/metrics/snapshot`, "probe-ca.pem");
      expect(ok).toEqual({ status: 200, body: `ok Basic ${Buffer.from("health:pw").toString("base64")}` });
      expect((await curl(`https://127.0.0.1:${port}/`, "other-ca.pem")).status).toBe(0);
      expect((await curl(`http://127.0.0.1:${port}/`, "probe-ca.pem")).status).not.toBe(200);
    } finally {
      server.close();
    }
  });
});
