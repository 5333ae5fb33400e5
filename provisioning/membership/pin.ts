// The masters pin (`pulumi-nodejs:dynamic/elastic-mesos/cluster:Masters`), one per cluster on every provider: it
// decides, before anything changes, whether a change of the set of masters (masters.count, or the master entries of
// baremetal.hosts) may go ahead on a running cluster. Masters hold the ZooKeeper votes and the Mesos replicated log.
//
// Let through, on every provider (a cloud machine, too, takes every change after its first boot over SSH):
// - growing (1 → 3 → 5): ZooKeeper's members change by reconfiguration, each new server adding itself
//   (steps/zookeeper.ts), and Mesos' order holds: the running masters restart with the new --quorum one at a time,
//   the leader last, and only then do the new masters start (the host provider's afterMasters). A cloud machine
//   made for a new master boots only what comes before ZooKeeper (check() records it as `joining`); its host
//   installs the rest. From one master, check() records `seeded`: the new masters start from a copy of its
//   replicated log (membership/seed.ts);
// - shrinking (5 → 3 → 1), the highest ids going: Mesos' order is the other way round, the masters that go stop for
//   good before the others restart with the lower --quorum. The engine would delete them last, so check() records
//   them as `departing`; the program registers each as a leaving host (membership/leave.ts) that the masters kept
//   depend on, whose update removes its ZooKeeper server by reconfiguration and stops everything on it, reaching
//   the host with the key its own state pinned. A cloud deletes the machines that left at the end of the `up`.
// Refused, with the reason and the offline way: a change of the running masters' ids. A change of clusterSecret,
// told by an identifier of the secret that reveals nothing, goes through only as a rotation (rotationOf: with
// previousClusterSecret), never together with a change of the masters.
//
// How it stops the engine: it is the first resource the cluster registers, its inputs are plain config facts, and
// every other resource of the cluster depends on it (components/cluster.ts afterPins). A failed check never
// resolves it, so nothing else is registered. Being first alone is not enough: the engine checks and runs
// registrations concurrently (through the real CLI, hosts rolled to the new server list while the refusal printed).
// `pulumi destroy` never checks: it removes everything, masters included, with no flag.
import type * as pulumi from "@pulumi/pulumi";
import { plain } from "../dynamic/plain";
import { ShimResource } from "../dynamic/shim";

export interface MastersPinInputs {
  cluster: string;
  /** The masters' node ids in order ("m1", "m2", "m3"): ZooKeeper ids are their numbers. */
  masters: string[];
  /** Where a user changes them: "masters.count" or "baremetal.hosts (the master entries)". */
  key: string;
  /** The provider adds masters to a running cluster (membership/pin.ts ONLINE_MEMBERSHIP). */
  online?: boolean;
  /**
   * Set by check(), never by the program: masters removed from the config that leave (or have left) through a
   * leaving host resource (membership/leave.ts). Kept until an id is a master again: a failed `up` leaves them
   * here, so the next one still makes them leave before the masters kept lower --quorum.
   */
  departing?: string[];
  /**
   * Set by check(), never by the program: the cluster grew from the one master `from`, and `to` start from a copy
   * of its replicated log (membership/seed.ts). Kept while the masters stay these: a failed `up` leaves a new
   * master to create, and its copy waits on its machine. Always recorded (NO_SEED: none): every master's inputs
   * read it, and an output missing from the state is unknown in a preview, which would make them all "update".
   */
  seeded?: { from: string; to: string[] };
  /**
   * Set by check(), never by the program: the masters the last change of the masters added to the running cluster.
   * A cloud machine made for one boots only what comes before ZooKeeper (components/cluster.ts), and its host
   * installs the rest over SSH after the running masters restarted with the new --quorum (baremetal/provider.ts
   * adopt). Kept while the masters stay these (a failed `up` may leave one to make); always recorded ([]: none).
   */
  joining?: string[];
  /** An identifier of clusterSecret (credentials.ts hostOwnerId: an HMAC that reveals nothing of it); a secret input. */
  secretId?: string;
  /** The identifier of previousClusterSecret, while the user rotates clusterSecret (rotation/README.md); secret. */
  previousSecretId?: string;
  /** The provider rotates clusterSecret as a rolling change (ROTATES): the others refuse a changed secret. */
  rotates?: boolean;
  /**
   * Set by check(), never by the program: how many times clusterSecret rotated (0: never). It names the principals a
   * rotation keeps two of (rotation/principals.ts). Always recorded, like `joining`.
   */
  generation?: number;
  /**
   * Set by check(), never by the program: while a rotation runs, the id of the secret it rotates from ("" none).
   * Kept until an `up` runs without previousClusterSecret, which drops the previous generation everywhere.
   */
  rotatingFrom?: string;
}

/** Pure: the same masters, in the same order. */
const sameMasters = (was: string[], now: string[]) => was.length === now.length && was.every((id, i) => id === now[i]);

/** Pure: the masters added to a running cluster by the last change of its masters (recorded, or this change). */
export function joiningMasters(olds: Partial<MastersPinInputs> | undefined, news: MastersPinInputs): string[] {
  const was = olds?.masters ?? [];
  if (sameMasters(was, news.masters)) return olds?.joining ?? [];
  return was.length ? news.masters.filter((id) => !was.includes(id)) : [];
}

/** The pin's `seeded` when no master starts from a copy. */
export const NO_SEED: Readonly<{ from: string; to: string[] }> = { from: "", to: [] };

/** Pure: the masters that start from a copy of the one running master's log (recorded, or this growth from one). */
export function seededMasters(olds: Partial<MastersPinInputs> | undefined,
  news: MastersPinInputs): MastersPinInputs["seeded"] {
  const was = olds?.masters ?? [];
  if (sameMasters(was, news.masters)) return olds?.seeded?.to?.length ? olds.seeded : undefined;
  return was.length === 1 && news.masters.length > 1 ? { from: was[0], to: news.masters.slice(1) } : undefined;
}

const byOrdinal = (a: string, b: string) => Number(a.slice(1)) - Number(b.slice(1)) || a.localeCompare(b);

/** Pure: the masters that leave or have left (recorded ones not in `news`, and those removed before), in id order. */
export function departingMasters(olds: Partial<MastersPinInputs> | undefined, news: MastersPinInputs): string[] {
  const gone = [...(olds?.departing ?? []), ...(olds?.masters ?? [])].filter((id) => !news.masters.includes(id));
  return [...new Set(gone)].sort(byOrdinal);
}

/**
 * Providers whose masters change online: a new master's ZooKeeper and Mesos install over SSH in its turn (after the
 * running ones restarted with the new --quorum), never at its machine's first boot. steps/context.ts
 * onlineMembership renders what a joining master needs. Every provider of this release.
 */
export const ONLINE_MEMBERSHIP: ReadonlySet<string> = new Set(["baremetal", "local", "digitalocean", "aws", "gcp", "openstack"]);

const list = (ids: string[]) => (ids.length === 1 ? ids[0] : `${ids[0]}-${ids[ids.length - 1]}`);

const OFFLINE = "Offline, a cluster of another size can take this one's state: `npm run backup`, `pulumi destroy`, " +
  "change the count, `pulumi up`, `npm run restore` (README: Backups and recovery)";

/** Pure: why the new set of masters is refused ([] = it is the recorded one, a change this release makes online, or
 * nothing is recorded yet). */
export function membershipFailures(olds: Partial<MastersPinInputs> | undefined,
  news: MastersPinInputs): { property: string; reason: string }[] {
  const was = olds?.masters;
  if (!Array.isArray(was) || was.length === 0) return [];
  if (sameMasters(was, news.masters)) return [];
  const change = `from ${was.length} (${list(was)}) to ${news.masters.length} (${list(news.masters)})`;
  const back = `Put ${news.key} back to ${was.length} master${was.length > 1 ? "s" : ""}.`;
  const refuse = (why: string) => [{ property: "masters",
    reason: `${news.key}: changing the masters of running cluster ${news.cluster} ${change} is refused before anything ` +
      `changed: ${why}. ${back} ${OFFLINE}` }];
  if (news.masters.length < was.length) {
    if (!news.masters.every((id, i) => id === was[i])) {
      return refuse("the masters kept keep their ids (m1, m2, ... are their ZooKeeper ids): the last ones go");
    }
    // Every provider: the masters that go leave over SSH (their hosts take every later change that way), and the
    // cloud deletes their machines at the end of the `up`, after they left.
    return [];
  }
  if (!was.every((id, i) => id === news.masters[i])) {
    return refuse("the running masters keep their ids (m1, m2, ... are their ZooKeeper ids): masters are added after " +
      "the last one");
  }
  if (!news.online) {
    // Every provider of this release is online (ONLINE_MEMBERSHIP): a pin whose program says otherwise refuses.
    return refuse("this provider does not add masters to a running cluster");
  }
  return [];
}

/**
 * Providers whose hosts take a clusterSecret rotation as a rolling change: every provider of this release (a cloud
 * machine's install step also replaces its derived SSH host key; a group's new template boots both generations).
 */
export const ROTATES: ReadonlySet<string> = new Set(["baremetal", "local", "aws", "gcp", "openstack", "digitalocean"]);

const KEEP_OLD = "Set the old value again, from stdin (`pulumi config set --secret elastic-mesos:clusterSecret < old-secret-file`), " +
  "then run `pulumi up`: until an `up` has run with it, `pulumi destroy` would use the secret this one was given";
const ROTATE = "To rotate it: `pulumi config set --secret elastic-mesos:previousClusterSecret < old-secret-file`, " +
  "set the new clusterSecret, `pulumi up`; then `pulumi config rm elastic-mesos:previousClusterSecret` and `pulumi up` " +
  "again (README: Rotating clusterSecret)";

/**
 * Pure: a rotation's record after this check (generation, rotatingFrom), or why it is refused. A rotation starts when
 * clusterSecret changed and previousClusterSecret is the secret the cluster ran with; it runs while
 * previousClusterSecret stays that secret; the first `up` without it ends it.
 */
export function rotationOf(olds: Partial<MastersPinInputs> | undefined, news: MastersPinInputs):
  { generation: number; rotatingFrom: string; failures: { property: string; reason: string }[] } {
  const generation = olds?.generation ?? 0;
  const from = olds?.rotatingFrom ?? "";
  const refuse = (reason: string) => ({ generation, rotatingFrom: from, failures: [{ property: "secretId", reason }] });
  const pinned = olds?.secretId;
  const prev = news.previousSecretId;
  if (!pinned || !news.secretId) {
    return prev ? refuse(`previousClusterSecret: set, but cluster ${news.cluster} runs with no secret to rotate from ` +
      "yet: `pulumi config rm elastic-mesos:previousClusterSecret`") : { generation, rotatingFrom: from, failures: [] };
  }
  if (pinned === news.secretId) {
    if (!prev) return { generation, rotatingFrom: "", failures: [] }; // no rotation, or the `up` that ends one
    if (prev === from) return { generation, rotatingFrom: from, failures: [] }; // the rotation's `up` again
    return refuse(`previousClusterSecret: cluster ${news.cluster} runs with clusterSecret already and is not rotating ` +
      "from this previousClusterSecret: `pulumi config rm elastic-mesos:previousClusterSecret`, then `pulumi up`");
  }
  const changed = `clusterSecret: changed on running cluster ${news.cluster}, refused before anything changed`;
  if (!prev) {
    return refuse(`${changed}. Every credential, the cluster CA and the hosts' owner mark derive from it: changing it ` +
      `alone would lock the hosts out of each other. ${ROTATE}. Or keep it: ${KEEP_OLD}`);
  }
  if (prev !== pinned) {
    return refuse(`${changed}: previousClusterSecret is not the secret the cluster runs with. Set it to that one, or ` +
      `keep clusterSecret: ${KEEP_OLD}`);
  }
  if (from) {
    return refuse(`${changed}: the last rotation has not ended. Set clusterSecret back, ` +
      "`pulumi config rm elastic-mesos:previousClusterSecret`, `pulumi up`; then rotate again");
  }
  if (!news.rotates) {
    // Every provider of this release rotates (ROTATES): a pin whose program says otherwise refuses.
    return refuse(`${changed}: this provider does not rotate it. ${KEEP_OLD}`);
  }
  return { generation: generation + 1, rotatingFrom: pinned, failures: [] };
}

/** Pure: a rotation and a change of the masters in one `up` is refused (each rolls through every master). */
export function oneChangeAtATime(olds: Partial<MastersPinInputs> | undefined, news: MastersPinInputs,
  rotating: boolean): { property: string; reason: string }[] {
  const was = olds?.masters ?? [];
  if (!rotating || sameMasters(was, news.masters) || was.length === 0) return [];
  return [{ property: "masters", reason: `${news.key}: changing the masters while clusterSecret rotates is refused before ` +
    "anything changed: put the masters back, end the rotation (`pulumi config rm elastic-mesos:previousClusterSecret`, " +
    "`pulumi up`), then change them" }];
}

export class MastersPinProvider implements pulumi.dynamic.ResourceProvider<MastersPinInputs, MastersPinInputs> {
  /** Runs in `preview` and `up` when the pin is registered, before any other resource; never in `destroy`. */
  async check(olds: MastersPinInputs, news: MastersPinInputs): Promise<pulumi.dynamic.CheckResult<MastersPinInputs>> {
    const rotation = rotationOf(olds, news);
    const failures = [...membershipFailures(olds, news), ...rotation.failures,
      ...oneChangeAtATime(olds, news, rotation.rotatingFrom !== "")];
    const { departing: _, seeded: __, joining: ___, generation: ____, rotatingFrom: _____, ...given } = news;
    const departing = failures.length ? [] : departingMasters(olds, news);
    const seeded = failures.length ? undefined : seededMasters(olds, news);
    const joining = failures.length ? [] : joiningMasters(olds, news);
    // All always recorded (none: [] and NO_SEED): an output missing from the state is unknown in a preview, and the
    // masters' and the readiness' inputs read them.
    return { inputs: { ...given, departing, seeded: seeded ?? { ...NO_SEED }, joining, generation: rotation.generation,
      rotatingFrom: rotation.rotatingFrom }, failures };
  }

  async diff(_id: string, olds: MastersPinInputs, news: MastersPinInputs): Promise<pulumi.dynamic.DiffResult> {
    // `online` is the provider's, not the cluster's: a change of it alone is nothing to record.
    const facts = (p: MastersPinInputs) => JSON.stringify([p.cluster, p.masters, p.key, p.departing ?? null,
      p.secretId ?? "", p.seeded ?? null, p.joining ?? null, p.generation ?? 0, p.rotatingFrom ?? ""]);
    return { changes: facts(olds) !== facts(news) };
  }

  async create(inputs: MastersPinInputs): Promise<pulumi.dynamic.CreateResult<MastersPinInputs>> {
    return { id: `${inputs.cluster}:masters`, outs: plain(inputs) };
  }

  /** What check let through (the key's wording): recorded, nothing remote. */
  async update(_id: string, _olds: MastersPinInputs, news: MastersPinInputs): Promise<pulumi.dynamic.UpdateResult<MastersPinInputs>> {
    return { outs: plain(news) };
  }

  async delete(): Promise<void> {
    // Nothing remote belongs to the pin.
  }
}

export class MastersPin extends ShimResource {
  /** The masters that leave in this `up` or have left (check() sets it): membership/leave.ts. */
  declare public readonly departing: pulumi.Output<string[] | undefined>;
  /** The masters that start from a copy of the one master's log (check() sets it): membership/seed.ts. */
  declare public readonly seeded: pulumi.Output<MastersPinInputs["seeded"]>;
  /** The masters the last change of the masters added to the running cluster (check() sets it). */
  declare public readonly joining: pulumi.Output<string[] | undefined>;
  /** How many times clusterSecret rotated (check() sets it; absent in state of earlier releases: 0). */
  declare public readonly generation: pulumi.Output<number | undefined>;

  constructor(name: string, args: { [K in keyof MastersPinInputs]: pulumi.Input<MastersPinInputs[K]> },
    opts?: pulumi.CustomResourceOptions) {
    super("elastic-mesos/cluster:Masters", name, { ...args, departing: undefined, seeded: undefined, joining: undefined,
      generation: undefined, rotatingFrom: undefined }, opts);
  }
}
