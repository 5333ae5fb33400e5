// Loads the project's TypeScript from plain node: Pulumi's own ts-node, transpile only, with tsconfig.json's
// options (what the engine does when it runs the program). For the npm scripts that are not Pulumi programs.
"use strict";
const path = require("node:path");

let done = false;
function registerTs() {
  if (done) return;
  done = true;
  const tsutils = require("@pulumi/pulumi/tsutils");
  const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
  const project = path.resolve(__dirname, "..", "..", "tsconfig.json");
  const compilerOptions = tsutils.loadTypeScriptCompilerOptions(project);
  require(tsnodeRequire).register({ compiler: typescriptRequire, transpileOnly: true, project, skipProject: false,
    compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", ...compilerOptions } });
}

module.exports = { registerTs };
