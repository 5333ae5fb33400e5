// The provider as the real engine sees it: compiled by the language host's ts-node (CommonJS, the
// project's tsconfig.json), serialized there, then loaded by a plain Node process (as the
// pulumi-resource-pulumi-nodejs plugin does) that configures it and creates a host over SSH.
import { describe, it, expect, afterAll } from "vitest";
import { execFile } from "child_process";
import { promisify } from "util";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { hostInputs, markerSteps, startSshServer, type TestSshServer } from "../fixtures/ssh-server";

const root = resolve(__dirname, "../..");
const scratch = mkdtempSync(join(tmpdir(), "em-langhost-"));
let server: TestSshServer | undefined;
afterAll(async () => { await server?.close(); rmSync(scratch, { recursive: true, force: true }); });

const run = async (args: string[], timeout: number) =>
  (await promisify(execFile)(process.execPath, args, { cwd: root, timeout })).stdout.toString();

const LANGHOST = `
const tsutils = require("@pulumi/pulumi/tsutils");
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
require(tsnodeRequire).register({ compiler: typescriptRequire, transpileOnly: true, project: "tsconfig.json", skipProject: false,
  compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", ...compilerOptions } });
const pulumi = require("@pulumi/pulumi");
const { MesosHostProvider } = require("./provisioning/baremetal/provider.ts");
const { ReadinessProvider } = require("./provisioning/health/readiness.ts");
(async () => {
  const out = {};
  for (const [name, p] of [["host", new MesosHostProvider()], ["readiness", new ReadinessProvider()]]) {
    out[name] = (await pulumi.runtime.serializeFunction(() => p, { allowSecrets: true })).text;
  }
  require("fs").writeFileSync(process.argv[1], JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

const PLUGIN = `
const fs = require("fs");
const [textFile, inputsFile, key] = process.argv.slice(1);
const p = require("require-from-string")(JSON.parse(fs.readFileSync(textFile, "utf8")).host).handler();
(async () => {
  await p.configure({ config: { get: (k) => (k === "sshPrivateKey" ? fs.readFileSync(key, "utf8") : undefined) } });
  const inputs = JSON.parse(fs.readFileSync(inputsFile, "utf8"));
  const created = await p.create(inputs);
  const same = await p.diff(created.id, created.outs, inputs);
  inputs.connection.hostKeyFingerprint = "SHA256:" + "A".repeat(43);
  const wrong = await p.update(created.id, created.outs, inputs).then(() => "no error", (e) => e.name + ": " + e.message);
  console.log(JSON.stringify({ created, same, wrong }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe("language host → plugin round trip", () => {
  it("the provider compiled by ts-node serializes, and a plain Node process runs it over SSH", async () => {
    server = await startSshServer();
    const texts = join(scratch, "providers.json");
    // Async: the SSH server lives in this process and must keep answering while the children run.
    await run(["-e", LANGHOST, texts], 120_000);
    const parsed = JSON.parse(readFileSync(texts, "utf8"));
    expect(parsed.host).toContain('require("ssh2")');
    expect(parsed.readiness).toContain("exports.handler");

    const inputsFile = join(scratch, "inputs.json");
    writeFileSync(inputsFile, JSON.stringify(hostInputs({
      connection: { host: "127.0.0.1", port: server.port, user: "root", configPath: "baremetal.hosts[0]" },
      cleanup: { units: [], files: [], dirs: [], users: [], packages: [] }, drain: undefined,
    }, markerSteps(server.dir))));
    const keyFile = join(scratch, "key");
    writeFileSync(keyFile, server.clientKey, { mode: 0o600 });
    // Plain node, cwd = project (node_modules for ssh2), no ts-node: exactly what the plugin has.
    const out = await run(["-e", PLUGIN, texts, inputsFile, keyFile], 60_000);
    const r = JSON.parse(out);
    expect(r.created.outs).toMatchObject({ stepsRun: 3, hostKey: { fingerprint: server.fingerprint, source: "tofu" } });
    expect(readFileSync(join(server.dir, "runs"), "utf8")).toBe("install-1\nzookeeper\nmesos\n");
    expect(r.same.changes).toBe(false);
    expect(r.wrong).toMatch(/^HostKeyMismatch: general-1 \(127\.0\.0\.1:\d+\): host key mismatch: expected SHA256:A{43}, the host presented /);
  }, 180_000);
});
