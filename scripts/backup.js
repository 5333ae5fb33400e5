// npm run backup -- [--stack NAME] [--to DIR]: copies the cluster's ZooKeeper data (Marathon's state included) and
// its Mesos replicated log into DIR/<cluster>-<UTC stamp>/ (default DIR: ./backups). provisioning/backup/backup.ts.
"use strict";
const { parseArgs } = require("node:util");
const { registerTs } = require("./lib/ts.js");

async function main() {
  const { values } = parseArgs({ options: { stack: { type: "string" }, to: { type: "string", default: "backups" } } });
  registerTs();
  const { stackFacts } = require("../provisioning/backup/stack.ts");
  const { backup } = require("../provisioning/backup/backup.ts");
  const say = (l) => console.log(`[backup] ${l}`);
  const facts = await stackFacts(values.stack);
  say(`stack ${facts.stack}, cluster ${facts.readiness.cluster}: ${facts.readiness.masters.length} master(s)`);
  const { dir, manifest } = await backup(facts, values.to, say);
  const log = "file" in manifest.mesosLog ? `${manifest.mesosLog.bytes} bytes of Mesos log from ${manifest.mesosLog.from}`
    : `no Mesos log (${manifest.mesosLog.absent})`;
  say(`done in ${manifest.seconds} s: ${manifest.zookeeper.bytes} bytes of ZooKeeper data from ${manifest.zookeeper.from}, ${log}`);
  say(`backup: ${dir}`);
  say(`restore: npm run restore -- --stack ${facts.stack} --from ${dir} --yes`);
}

main().catch((e) => {
  console.error(`[backup] error: ${e.message}`);
  process.exit(1);
});
