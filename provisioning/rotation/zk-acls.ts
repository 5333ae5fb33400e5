// The ZooKeeper side of a clusterSecret rotation: the ACL migration that keeps Mesos' and Marathon's znodes usable
// when their digest credentials change (design: provisioning/rotation/README.md).
//
// Why it is needed: ZooKeeper ties a znode's ACL to the digest id of the session that created it (Mesos:
// EVERYONE_READ_CREATOR_ALL, Marathon: CREATOR_ALL, plus world READ on its leader latch), and an id is
// `user:base64(sha1(user:password))`. New passwords are new ids, which may not even read Marathon's state.
// ZooKeeper never rewrites an existing znode's ACL by itself, so the provisioner does, as the super user:
//   - while a rotation runs, every znode of the trees gets both generations' ids (old and new clients work);
//   - when it is finished, only the new ones (the old credentials are refused).
// The ACL each tree gets is what its owner would have created with these ids, so nothing else changes.
import { createHash } from "node:crypto";
import { sq } from "../steps/shell";

/** The znodes Mesos' masters create (steps/mesos-master.ts MESOS_ZNODE; not imported: no step depends on this). */
export const MESOS_TREE = "/mesos";
/** Marathon's --zk path (steps/marathon.ts) and its leader latch, which Curator makes world-readable. */
export const MARATHON_TREE = "/marathon";
export const MARATHON_LATCH = `${MARATHON_TREE}/leader-curator`;

export interface AclEntry {
  scheme: "world" | "digest";
  /** "anyone", or a digest id `user:base64(sha1(user:password))`. */
  id: string;
  /** ZooKeeper's letters: "r" read, "cdrwa" all. */
  perms: "r" | "cdrwa";
}

/** A znode and everything under it, given one ACL (zkCli `setAcl -R`). Order matters: a later tree wins below it. */
export interface ZnodeTree {
  path: string;
  acl: AclEntry[];
}

/** ZooKeeper's DigestAuthenticationProvider id of user:password (what `addauth digest user:password` authenticates as). */
export function digestId(user: string, password: string): string {
  return `${user}:${createHash("sha1").update(`${user}:${password}`).digest("base64")}`;
}

/**
 * The trees' ACLs for the digest passwords in use: one generation normally, two (old and new) while a rotation
 * runs. Each digest id gets ALL, as its creator would have; /mesos and Marathon's latch stay world-readable
 * (agents and Marathon's --master find the leading master without a credential).
 */
export function znodeTrees(passwords: { mesos: string[]; marathon: string[] }): ZnodeTree[] {
  const world: AclEntry = { scheme: "world", id: "anyone", perms: "r" };
  const owners = (user: string, list: string[]): AclEntry[] => {
    if (list.length === 0) throw new Error(`znodeTrees: no ${user} password: the tree would have no owner`);
    return [...new Set(list)].map((p) => ({ scheme: "digest", id: digestId(user, p), perms: "cdrwa" }));
  };
  return [
    { path: MESOS_TREE, acl: [world, ...owners("mesos", passwords.mesos)] },
    { path: MARATHON_TREE, acl: owners("marathon", passwords.marathon) },
    { path: MARATHON_LATCH, acl: [world, ...owners("marathon", passwords.marathon)] },
  ];
}

/** zkCli's ACL syntax: `scheme:id:perms,…`. */
export const aclText = (acl: AclEntry[]) => acl.map((e) => `${e.scheme}:${e.id}:${e.perms}`).join(",");

/** How zkCli's getAcl prints an entry's id: `'digest,'user:hash`. */
const printedId = (e: AclEntry) => `'${e.scheme},'${e.id}`;

/**
 * Shell lines (bash, `set -eu`, em-lib loaded: em_zk_cli, em_fail, em_mark) that give the trees their ACLs
 * through the ZooKeeper server of version `v` on `ip`, as the super user, then check each existing tree root
 * holds exactly those ids. `superFiles`: files holding super passwords; each is tried (`addauth` accepts any
 * password, and the server knows one of them: the old one until it restarted with the new). Passwords are
 * piped to zkCli from the files, never arguments. A tree that does not exist yet (Marathon never ran) is skipped:
 * its owner creates it with its current credentials. `check` false: no getAcl check (a pass another one follows).
 */
export function aclMigration(v: string, ip: string, trees: ZnodeTree[], superFiles: string[], check = true): string[] {
  if (superFiles.length === 0) throw new Error("aclMigration: no super password file");
  const files = superFiles.map(sq).join(" ");
  const zkSuper = `zk_super() { { for f in ${files}; do printf 'addauth digest super:%s\\n' "$(cat "$f")"; done; ` +
    // zkCli prints its prompt before each answer, on the answer's line: gone, so each line is the answer's own.
    `printf '%s\\n' "$@" quit; } | em_zk_cli ${sq(v)} ${sq(ip)} | sed 's/^\\(\\[zk: [^]]*\\] \\)*//'; }`;
  const set = trees.map((t) => sq(`setAcl -R ${t.path} ${aclText(t.acl)}`)).join(" ");
  const lines = [
    zkSuper,
    `o=$(zk_super ${set}) || em_fail "ZooKeeper ACL migration through ${ip}: zkCli failed: $(tail -n 5 <<<"$o")"`,
    // zkCli reports a refusal in its output, not its exit status. A missing tree is fine (see above).
    `if grep -qE 'Insufficient permission|is not valid' <<<"$o"; then`,
    `  em_fail "ZooKeeper ACL migration through ${ip} refused: $(grep -E 'Insufficient permission|is not valid' <<<"$o" | head -n 3)"`,
    "fi",
  ];
  for (const t of check ? trees : []) {
    const want = t.acl.map(printedId);
    lines.push(
      `o=$(zk_super ${sq(`getAcl ${t.path}`)}) || em_fail "ZooKeeper: getAcl ${t.path} through ${ip} failed: $(tail -n 5 <<<"$o")"`,
      `if ! grep -q 'Node does not exist' <<<"$o"; then`,
      ...want.map((w) => `  grep -qxF ${sq(w)} <<<"$o" || em_fail "ZooKeeper: ${t.path} lacks an id after the ACL migration"`),
      `  [ "$(grep -c "^'" <<<"$o")" -eq ${want.length} ] || em_fail "ZooKeeper: ${t.path} keeps ids the migration removes"`,
      "fi",
    );
  }
  lines.push(`em_mark "ZooKeeper: ACLs of ${trees.map((t) => t.path).join(" ")} migrated"`);
  return lines;
}
