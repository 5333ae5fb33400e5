// Loaded by the shim stored as `__provider` (shim.ts) inside the dynamic-provider plugin: returns a fresh
// provider for one resource kind, from this checkout. Plain JavaScript because nothing compiles
// TypeScript in the plugin yet: it registers Pulumi's own ts-node the way the Node.js language host
// does for a CommonJS project (@pulumi/pulumi/cmd/run), transpile-only (the program's run type-checks
// nothing either: tsconfig.json says noCheck), with the project's TypeScript and tsconfig.json.
"use strict";
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..");

/** kind (the resource's module:type) → [module of the implementation, exported class]. */
const IMPLEMENTATIONS = {
  "elastic-mesos/baremetal:Host": ["../baremetal/provider", "MesosHostProvider"],
  "elastic-mesos/health:Readiness": ["../health/readiness", "ReadinessProvider"],
  "elastic-mesos/cloud:MasterPin": ["../cloud/master-pin", "MasterPinProvider"],
  "elastic-mesos/cluster:Masters": ["../membership/pin", "MastersPinProvider"],
  "elastic-mesos/local:Image": ["../local/provider", "LocalImageProvider"],
  "elastic-mesos/local:Network": ["../local/provider", "LocalNetworkProvider"],
  "elastic-mesos/local:Machine": ["../local/provider", "LocalMachineProvider"],
};

/** Compiles .ts on require, unless something already does (ts-node, the language host, a test runner). */
function registerTypeScript() {
  if (require.extensions[".ts"]) return;
  const tsutils = require(require.resolve("@pulumi/pulumi/tsutils", { paths: [ROOT] }));
  const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
  const project = path.join(ROOT, "tsconfig.json");
  const compilerOptions = tsutils.loadTypeScriptCompilerOptions(project);
  require(tsnodeRequire).register({
    compiler: typescriptRequire,
    transpileOnly: true,
    project,
    skipProject: false,
    compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true", ...compilerOptions },
  });
}

exports.load = (kind) => {
  const impl = IMPLEMENTATIONS[kind];
  if (!impl) throw new Error(`elastic-mesos: no dynamic provider for "${kind}" in ${ROOT} (is this checkout older than the stack?)`);
  registerTypeScript();
  const Provider = require(impl[0])[impl[1]];
  return new Provider();
};
