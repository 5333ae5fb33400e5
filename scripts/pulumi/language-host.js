#!/usr/bin/env node
// pulumi-language-nodejs for a Pulumi CLI built from its Go module (scripts/pulumi/install.sh).
//
// Why this exists: the CLI builds from the Go module proxy, but the proxy does not serve the Node.js language
// host's own module (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 answers 403), and a CLI
// without a language host cannot run `pulumi up`. This host does what Pulumi's does for a CommonJS TypeScript
// project: it serves the LanguageRuntime gRPC service with the SDK's own generated stubs, and runs the program
// with the SDK's own runner (`@pulumi/pulumi/cmd/run`, the same one the Go host starts), in a child `node` with
// the project's `nodeargs`. A CLI from pulumi.com ships its own host and never uses this file.
//
// One difference on purpose: the decrypted stack config reaches the program through a pipe, not through
// PULUMI_CONFIG in the child's initial environment, so no secret is readable in /proc/<pid>/environ.
"use strict";
const { spawn } = require("node:child_process");
const { readFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const path = require("node:path");

/** Exit code with which @pulumi/pulumi/cmd/run says "the error was already shown to the user". */
const BAIL_EXIT_CODE = 32;
const CONFIG_FD = 3;

if (process.argv[2] === "--run-program") runProgram(process.argv.slice(3));
else serve(process.argv.slice(2));

/** Child mode: take the config from the pipe, then hand over to the SDK's runner exactly as `node cmd/run` would. */
function runProgram([runPath, ...args]) {
  const { config, secretKeys } = JSON.parse(readFileSync(CONFIG_FD, "utf8"));
  process.env.PULUMI_CONFIG = JSON.stringify(config);
  process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(secretKeys);
  process.argv = [process.argv[0], runPath, ...args];
  require(runPath);
}

/** Host mode, as the engine starts a language plugin: `pulumi-language-nodejs [flags] <engine address>`. */
function serve(argv) {
  // The engine starts language plugins in the project directory: the SDK comes from the project's node_modules.
  const projectRequire = createRequire(path.join(process.cwd(), "package.json"));
  let grpc, services, messages, pluginMessages, sdkVersion;
  try {
    grpc = projectRequire("@grpc/grpc-js");
    services = projectRequire("@pulumi/pulumi/proto/language_grpc_pb.js");
    messages = projectRequire("@pulumi/pulumi/proto/language_pb.js");
    pluginMessages = projectRequire("@pulumi/pulumi/proto/plugin_pb.js");
    sdkVersion = projectRequire("@pulumi/pulumi/package.json").version;
  } catch (e) {
    process.stderr.write(`pulumi-language-nodejs: cannot load @pulumi/pulumi from ${process.cwd()}: ${e.message}\n` +
      "Run `npm ci` in the project first.\n");
    process.exit(1);
  }
  const engineAddress = argv.filter((a) => !a.startsWith("-")).pop() ?? "";
  const runPath = projectRequire.resolve("@pulumi/pulumi/cmd/run");

  const impl = {
    getPluginInfo(_call, cb) {
      const info = new pluginMessages.PluginInfo();
      info.setVersion(sdkVersion);
      cb(null, info);
    },
    // Plugins come from PATH or `pulumi plugin install`, never from a download triggered by the program's imports.
    getRequiredPlugins(_call, cb) {
      cb(null, new messages.GetRequiredPluginsResponse());
    },
    getRequiredPackages(_call, cb) {
      cb(null, new messages.GetRequiredPackagesResponse());
    },
    run(call, cb) {
      startProgram(call.request, engineAddress, runPath).then(
        (result) => {
          const resp = new messages.RunResponse();
          if (result.error) resp.setError(result.error);
          if (result.bail) resp.setBail(true);
          cb(null, resp);
        },
        (e) => cb(e, null),
      );
    },
  };
  const server = new grpc.Server();
  server.addService(services.LanguageRuntimeService, impl);
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      process.stderr.write(`pulumi-language-nodejs: cannot listen: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`${port}\n`); // the engine reads the port from our first line
  });
}

/** The runner's command line from a RunRequest (the flags cmd/run documents in its usage). */
function runnerArgs(req, engineAddress) {
  const info = req.getInfo();
  const flags = {
    monitor: req.getMonitorAddress(),
    engine: engineAddress,
    organization: req.getOrganization(),
    project: req.getProject(),
    stack: req.getStack(),
    pwd: req.getPwd(),
    "root-directory": info?.getRootDirectory(),
    parallel: req.getParallel() ? String(req.getParallel()) : "",
  };
  const args = Object.entries(flags).filter(([, v]) => v).map(([k, v]) => `--${k}=${v}`);
  if (req.getDryrun()) args.push("--dry-run");
  args.push(req.getProgram() || info?.getEntryPoint() || ".");
  return [...args, ...req.getArgsList()];
}

/** Run the program in a child node; resolves with the RunResponse's error/bail. */
function startProgram(req, engineAddress, runPath) {
  const options = req.getInfo()?.getOptions()?.toJavaScript() ?? {};
  const nodeArgs = String(options.nodeargs ?? "").split(/\s+/).filter(Boolean);
  const env = { ...process.env, PULUMI_NODEJS_TYPESCRIPT: options.typescript === false ? "false" : "true" };
  if (options.tsconfig) env.PULUMI_NODEJS_TSCONFIG_PATH = String(options.tsconfig);
  const config = Object.fromEntries(req.getConfigMap().entries());
  const payload = JSON.stringify({ config, secretKeys: req.getConfigsecretkeysList() });

  const child = spawn(process.execPath, [...nodeArgs, __filename, "--run-program", runPath, ...runnerArgs(req, engineAddress)], {
    cwd: req.getPwd() || process.cwd(),
    env,
    stdio: ["ignore", "inherit", "inherit", "pipe"],
  });
  child.stdio[CONFIG_FD].end(payload);
  return new Promise((resolve, reject) => {
    child.on("error", (e) => reject(new Error(`could not start node for the program: ${e.message}`)));
    child.on("exit", (code, signal) => {
      if (code === 0) resolve({});
      else if (code === BAIL_EXIT_CODE) resolve({ bail: true });
      else resolve({ error: `Program exited with ${signal ? `signal ${signal}` : `non-zero exit code: ${code}`}` });
    });
  });
}
