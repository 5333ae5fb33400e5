// Loads the project's TypeScript from plain node: Pulumi's own ts-node, transpile only, with tsconfig.json's
// options, registered the way the Node.js language host does for a CommonJS project (@pulumi/pulumi/cmd/run). The
// program's run type-checks nothing either (tsconfig.json says noCheck). Used by the dynamic providers' loader
// (provisioning/dynamic/load.js), the npm scripts that are not Pulumi programs, and the benches.
"use strict";
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..", "..");

/** Compiles .ts on require, unless something already does (ts-node, the language host, a test runner). */
function registerTs() {
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

module.exports = { registerTs };
