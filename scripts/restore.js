// npm run restore -- [--stack NAME] --from DIR --yes: puts a backup (npm run backup) back on every master of the
// stack, then waits for the cluster to be ready. It stops the whole cluster meanwhile, hence --yes.
// provisioning/backup/restore.ts.
"use strict";
const { parseArgs } = require("node:util");
const { registerTs } = require("./lib/ts.js");

async function main() {
  const { values } = parseArgs({ options: { stack: { type: "string" }, from: { type: "string" }, yes: { type: "boolean" } } });
  if (!values.from) throw new Error("--from: name the backup directory `npm run backup` printed (backups/<cluster>-<stamp>)");
  registerTs();
  const { stackFacts } = require("../provisioning/backup/stack.ts");
  const { readBackup } = require("../provisioning/backup/manifest.ts");
  const { restore } = require("../provisioning/backup/restore.ts");
  const say = (l) => console.log(`[restore] ${l}`);
  const backup = readBackup(values.from);
  const { manifest } = backup;
  const facts = await stackFacts(values.stack, true);
  if (!values.yes) {
    throw new Error(`a restore stops Marathon, Mesos and ZooKeeper on every master of stack ${facts.stack} and replaces ` +
      `their data with the backup of ${manifest.takenAt} (the current data is moved aside, not deleted); ` +
      "run it again with --yes to go ahead");
  }
  const r = await restore(facts, backup, say);
  say(`cluster ${facts.readiness.cluster} ready on the backup of ${manifest.takenAt}: down ${r.seconds} s ` +
    `(ZooKeeper serving after ${r.zkSeconds} s)`);
  for (const [id, where] of Object.entries(r.movedAside)) say(`${id}: previous data in ${where}`);
}

main().catch((e) => {
  console.error(`[restore] error: ${e.message}`);
  process.exit(1);
});
