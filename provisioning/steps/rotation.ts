// What a master's steps add while clusterSecret rotates (provisioning/rotation/README.md), and after: nothing at all
// on a cluster that never rotated, so its steps render as they always did.
//   - ZooKeeper: the previous super password, so the ACL migration authenticates whichever super user the server
//     it reaches knows (the old one until that server restarted with the new digest).
//   - Mesos: the previous admin password, which the gate tries on masters not rolled yet.
//   - the ZooKeeper ACL migration (rotation/zk-acls.ts), around the restart of mesos-master and Marathon with
//     their new digest credentials: before, so that they can use their znodes, and after, for the znodes the old
//     daemons made meanwhile. Once the rotation is over (previousClusterSecret removed), the same passes keep the
//     new ids only, and the previous generation's files go.
import type { Ctx } from "./context";
import { generations } from "../rotation/principals";
import { aclMigration, znodeTrees } from "../rotation/zk-acls";
import type { FileSpec } from "./types";

export const PREVIOUS_ADMIN_CURLRC = "/etc/elastic-mesos/admin.previous.curlrc";

/** A cluster whose clusterSecret rotated at least once. */
const rotated = (ctx: Ctx) => (ctx.input.generation ?? 0) > 0;

/** Masters, while rotating: curl's config with the previous admin password, for masters not rolled yet. */
export function previousAdminFiles(ctx: Ctx): FileSpec[] {
  const p = ctx.input.previous;
  return p ? [{ path: PREVIOUS_ADMIN_CURLRC, content: `user = "admin:${p.adminPassword}"\n`, mode: "0600", owner: "root",
    group: "root", secret: true }] : [];
}

/** Shell lines: after a rotation, the previous generation's files go (nothing on a cluster that never rotated). */
export function dropPrevious(ctx: Ctx, files: string[]): string[] {
  if (ctx.input.previous || !rotated(ctx)) return [];
  return [`for f in ${files.join(" ")}; do if [ -e "$f" ]; then rm -f -- "$f"; em_mark "removed $f"; fi; done`];
}

/**
 * Shell lines around a master's restart of mesos-master and Marathon: the ZooKeeper ACL migration through its own
 * server, both generations' ids while rotating, the current ones only after. None on a cluster that never rotated.
 * `superFiles`: where the ZooKeeper step keeps each generation's super password (steps/zookeeper.ts).
 */
export function aclPasses(ctx: Ctx, superFiles: { current: string; previous: string }): { before: string[]; after: string[] } {
  if (!ctx.input.previous && !rotated(ctx)) return { before: [], after: [] };
  const gens = generations(ctx.input).map((x) => x.credentials);
  const trees = znodeTrees({ mesos: gens.map((c) => c.zkMesosPassword), marathon: gens.map((c) => c.zkMarathonPassword) });
  const supers = [superFiles.current, ...(ctx.input.previous ? [superFiles.previous] : [])];
  const v = ctx.input.artifacts.zookeeper.version;
  return { before: aclMigration(v, "127.0.0.1", trees, supers, false), after: aclMigration(v, "127.0.0.1", trees, supers) };
}
