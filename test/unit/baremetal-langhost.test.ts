// The providers as the real engine loads them: a plain Node process in the project directory (as the
// pulumi-resource-pulumi-nodejs plugin is), no TypeScript registered, evaluates the stored `__provider`
// (the shim) with require-from-string, calls handler(), configure() with the stack config, then
// check / create / diff over SSH against the in-process server (which records the real step scripts
// instead of running them). Also: the shim refuses to run outside the project.
import { describe, it, expect, afterAll } from "vitest";
import { execFile } from "child_process";
import { createHash } from "crypto";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { promisify } from "util";
import { deriveCredentials } from "../../provisioning/credentials";
import { shimText } from "../../provisioning/dynamic/shim-text";
import { hostInputs, startSshServer, TEST_CLUSTER_SECRET, type TestSshServer } from "../fixtures/ssh-server";
import { deliveredScript } from "../../provisioning/render/ssh-plan";

const root = resolve(__dirname, "../..");
const scratch = mkdtempSync(join(tmpdir(), "em-langhost-"));
let server: TestSshServer | undefined;
afterAll(async () => { await server?.close(); rmSync(scratch, { recursive: true, force: true }); });

const run = async (args: string[], cwd: string, timeout: number) =>
  (await promisify(execFile)(process.execPath, args, { cwd, timeout })).stdout.toString();

/** What getProvider() in @pulumi/pulumi/cmd/dynamic-provider does with the stored text, then one host's life. */
const PLUGIN = `
const fs = require("fs");
const [shimsFile, inputsFile, keyFile, secret] = process.argv.slice(1);
const shims = JSON.parse(fs.readFileSync(shimsFile, "utf8"));
const requireFromString = require(require.resolve("require-from-string", { paths: [require.resolve("@pulumi/pulumi")] }));
(async () => {
  const tsBefore = !!require.extensions[".ts"];
  const config = { sshPrivateKey: fs.readFileSync(keyFile, "utf8"), clusterSecret: secret };
  const configure = async (p) => (await p.configure({ config: { get: (k) => config[k] } }), p);
  const p = await configure(requireFromString(shims.host).handler());
  const ready = await configure(requireFromString(shims.readiness).handler());
  const inputs = JSON.parse(fs.readFileSync(inputsFile, "utf8"));
  const news = { spec: inputs, __provider: shims.host };
  const checked = await p.check({}, news);
  const created = await p.create(checked.inputs);
  const same = await p.diff(created.id, { ...created.outs, __provider: shims.host }, news);
  const rack = await p.diff(created.id, created.outs, { spec: { ...inputs, node: { ...inputs.node, attributes: { rack: "z" } } } });
  console.log(JSON.stringify({ tsBefore, checked, created, same, rack, readiness: typeof ready.diff }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe("the shim, loaded as the dynamic-provider plugin loads it", () => {
  it("is small and fixed, and in a plain Node process loads, configures and runs the project's providers", async () => {
    const shims = { host: shimText("elastic-mesos/baremetal:Host"), readiness: shimText("elastic-mesos/health:Readiness") };
    for (const t of Object.values(shims)) {
      expect(t.length).toBeLessThan(700);
      expect(t).toMatch(/^exports\.handler = \(\) => \{/);
    }
    // The exact bytes every stack's state holds: changing them would touch every resource (see shim-text.ts).
    expect(createHash("sha256").update(shims.host).digest("hex").slice(0, 16)).toBe(SHIM_HOST_SHA256_16);

    const scripts: string[] = [];
    server = await startSshServer({ handler: async (_c, stdin) => (scripts.push(deliveredScript(stdin)), { code: 0, stdout: "" }) });
    const files = { shims: join(scratch, "shims.json"), inputs: join(scratch, "inputs.json"), key: join(scratch, "key") };
    writeFileSync(files.shims, JSON.stringify(shims));
    writeFileSync(files.inputs, JSON.stringify(hostInputs({
      connection: { host: "127.0.0.1", port: server.port, user: "root", configPath: "baremetal.hosts[0]" }, drain: undefined,
    })));
    writeFileSync(files.key, server.clientKey, { mode: 0o600 });
    // Async: the SSH server lives in this process and must keep answering while the child runs.
    const out = await run(["-e", PLUGIN, files.shims, files.inputs, files.key, TEST_CLUSTER_SECRET], root, 180_000);
    const r = JSON.parse(out.trim().split("\n").at(-1)!);
    expect(r.tsBefore).toBe(false); // nothing compiled TypeScript before the shim registered ts-node
    expect(r.readiness).toBe("function");
    expect(r.checked.failures).toEqual([]);
    expect(r.created.outs).toMatchObject({ stepsRun: 4, hostKey: { fingerprint: server.fingerprint, source: "tofu" } });
    // The footprint probe, then the four real step scripts (firewall, install, zookeeper, mesos), rendered in the child with the credentials it
    // derived from clusterSecret; what it recorded is their hashes, and no credential.
    const steps = scripts.slice(1);
    expect(steps).toHaveLength(4);
    expect(Object.values(r.created.outs.stepHashes)).toEqual(steps.map((s) => createHash("sha256").update(s).digest("hex")));
    const creds = deriveCredentials(TEST_CLUSTER_SECRET, "prod");
    expect(steps.join("\n")).toContain(creds.agentSecret);
    for (const c of [TEST_CLUSTER_SECRET, ...Object.values(creds)]) expect(JSON.stringify(r.created.outs)).not.toContain(c);
    expect(r.same).toMatchObject({ changes: false });
    expect(r.rack).toMatchObject({ changes: true, replaces: [] });
  }, 240_000);

  it("outside the project directory it fails and says where it ran", async () => {
    const shimFile = join(scratch, "shim.js");
    writeFileSync(shimFile, shimText("elastic-mesos/baremetal:Host"));
    const rfs = require.resolve("require-from-string", { paths: [require.resolve("@pulumi/pulumi")] });
    const err = await run(["-e", `require(${JSON.stringify(rfs)})(require("fs").readFileSync(${JSON.stringify(shimFile)}, "utf8")).handler()`],
      scratch, 30_000).then(() => "no error", (e: Error & { stderr?: string }) => String(e.stderr));
    expect(err).toContain(`elastic-mesos: the dynamic provider runs in ${scratch}, which is not the elastic-mesos project ` +
      "(no Pulumi.yaml with name: elastic-mesos); run pulumi in the project directory");
  }, 60_000);
});

/** First 16 hex digits of the host shim's SHA-256: if this test fails, the shim text changed; it must not. */
const SHIM_HOST_SHA256_16 = "b969bf1bb44c798b";
