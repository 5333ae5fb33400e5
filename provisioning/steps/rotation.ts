// What a master's steps add while clusterSecret rotates (provisioning/rotation/README.md), and after: nothing at all
// on a cluster that never rotated, so its steps render as they always did.
//   - ZooKeeper: the previous super password, so the ACL migration authenticates whichever super user the server
//     it reaches knows (the old one until that server restarted with the new digest).
//   - Mesos: the previous admin password, which the gate tries on masters not rolled yet.
//   - the ZooKeeper ACL migration (rotation/zk-acls.ts), around the restart of mesos-master and Marathon with
//     their new digest credentials: before, so that they can use their znodes, and after, for the znodes the old
//     daemons made meanwhile. Once the rotation is over (previousClusterSecret removed), the same passes keep the
//     new ids only, and the previous generation's files go; later runs skip them (nothing left to drop).
import type { Ctx } from "./context";
import { generations } from "../rotation/principals";
import { aclMigration, znodeTrees } from "../rotation/zk-acls";
import type { FileSpec } from "./types";

/**
 * curl config with the admin's basic-auth credentials: keeps the password off command lines. Masters only
 * (Marathon 1.11 has a single HTTP user, so its gate needs admin); agents' gates use the health principal.
 * Written by the mesos step (steps/mesos.ts); here beside the previous generation's, which it replaces.
 */
export const ADMIN_CURLRC = "/etc/elastic-mesos/admin.curlrc";
export const PREVIOUS_ADMIN_CURLRC = "/etc/elastic-mesos/admin.previous.curlrc";

/** A cluster whose clusterSecret rotated at least once. */
const rotated = (ctx: Ctx) => (ctx.input.generation ?? 0) > 0;
/** The last rotation is over (no previous generation rendered), though a master may still hold its files. */
const ended = (ctx: Ctx) => !ctx.input.previous && rotated(ctx);

/**
 * Shell: `lines` only on a master that still holds the previous generation's files, i.e. in the `up` that ends a
 * rotation (or its re-run): dropPrevious removes them last, at the end of the mesos step.
 */
const whileEnding = (lines: string[]) => [`if [ -e ${PREVIOUS_ADMIN_CURLRC} ]; then`, ...lines.map((l) => `  ${l}`), "fi"];

/** Masters, while rotating: curl's config with the previous admin password, for masters not rolled yet. */
export function previousAdminFiles(ctx: Ctx): FileSpec[] {
  const p = ctx.input.previous;
  return p ? [{ path: PREVIOUS_ADMIN_CURLRC, content: `user = "admin:${p.adminPassword}"\n`, mode: "0600", owner: "root",
    group: "root", secret: true }] : [];
}

/** Shell lines: after a rotation, the previous generation's files go (nothing on a cluster that never rotated). */
export function dropPrevious(ctx: Ctx, files: string[]): string[] {
  if (!ended(ctx)) return [];
  return [`for f in ${files.join(" ")}; do if [ -e "$f" ]; then rm -f -- "$f"; em_mark "removed $f"; fi; done`];
}

/**
 * Shell lines first in a master's ZooKeeper step (the first of its steps a rotation's end changes) when a rotation
 * ends, its previous generation's files still there: every agent the leading master lists must present a certificate
 * the current CA alone verifies, or the step stops before anything restarts. An agent booted from a group's template
 * before the rotation (an instance refresh still under way), or missed by the rotation's first `pulumi up`, would be
 * refused once the masters drop the old generation. `ca`: the current CA alone (the step writes its files before its
 * commands).
 */
export function agentsRotated(ctx: Ctx, ca: string, curlrc = ADMIN_CURLRC): string[] {
  if (!ended(ctx) || !ctx.input.tls) return [];
  return whileEnding([
    "t=$(mktemp); pids=''; got=0",
    // The leader answers /master/slaves; the others redirect (to an address not always reachable from here).
    `for m in ${ctx.masterIps.join(" ")}; do`,
    `  c=$(curl -s -o "$t" -w '%{http_code}' --max-time 10 --cacert ${ca} -K ${curlrc} "https://$m:5050/master/slaves" || true)`,
    `  if [ "$c" = 200 ]; then got=1; pids=$(grep -oE '"pid": ?"[^"]*"' "$t" | sed -E 's/.*@([^"]*)"$/\\1/' || true); break; fi`,
    `done; rm -f "$t"`,
    `[ "$got" = 1 ] || em_fail "no master listed the agents (/master/slaves): a leader election may be under way; run pulumi up again"`,
    "stale=''",
    "for a in $pids; do",
    `  timeout 15 openssl s_client -connect "$a" -CAfile ${ca} -verify_return_error </dev/null >/dev/null 2>&1 || stale="$stale $a"`,
    "done",
    `[ -z "$stale" ] || em_fail "agents still present a certificate of the previous clusterSecret (or cannot be reached on` +
      ` their port):$stale. The old generation is refused once the masters drop it, so nothing was restarted here. A pool` +
      ` run as a group replaces its agents after the rotation's first pulumi up (AWS instance refresh, GCP instance group` +
      ` update, DigitalOcean pool): wait until it has, then run pulumi up again"`,
    `em_log "every agent ($(echo $pids | wc -w)) presents a certificate of the current CA"`,
  ]);
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
  const passes = { before: aclMigration(v, "127.0.0.1", trees, supers, false), after: aclMigration(v, "127.0.0.1", trees, supers) };
  if (ctx.input.previous) return passes;
  // After the rotation only the `up` that ends it has ids to drop; later runs of the step start no zkCli (about five
  // JVM starts) for nothing.
  return { before: whileEnding(passes.before), after: whileEnding(passes.after) };
}
