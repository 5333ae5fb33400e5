// The masters pin (`pulumi-nodejs:dynamic/elastic-mesos/cluster:Masters`), one per cluster on every provider: a
// refusal, before anything changes, of a change of the set of masters (masters.count, or the master entries of
// baremetal.hosts) on a running cluster. Masters hold the ZooKeeper votes and the Mesos replicated log. This
// release renders ZooKeeper's ensemble as a static server list, and rolling a new list through running masters
// can elect two ZooKeeper leaders: growing 3 → 5, the first restarted master and the two new ones are a majority
// of 5 while the two not yet restarted are still a majority of 3. Shrinking, the masters kept would be rolled to
// the smaller list before the readiness check (registered last) could refuse the removal. Mesos also needs its
// replicated log re-seeded to grow from one master.
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
}

const list = (ids: string[]) => (ids.length === 1 ? ids[0] : `${ids[0]}-${ids[ids.length - 1]}`);

/** Pure: why the new set of masters is refused ([] = it is the recorded one, or nothing is recorded yet). */
export function membershipFailures(olds: Partial<MastersPinInputs> | undefined,
  news: MastersPinInputs): { property: string; reason: string }[] {
  const was = olds?.masters;
  if (!Array.isArray(was) || was.length === 0) return [];
  if (was.length === news.masters.length && was.every((id, i) => id === news.masters[i])) return [];
  const change = `from ${was.length} (${list(was)}) to ${news.masters.length} (${list(news.masters)})`;
  return [{
    property: "masters",
    reason: `${news.key}: changing the masters of running cluster ${news.cluster} ${change} is refused before ` +
      "anything changed. Masters hold the ZooKeeper votes and the Mesos replicated log, and this release changes " +
      "ZooKeeper's ensemble only by rolling a new static server list through the running masters, which can elect " +
      `two leaders (and Mesos needs its log re-seeded to grow from one master). Put ${news.key} back to ` +
      `${was.length} master${was.length > 1 ? "s" : ""}. Offline, a cluster of another size can take this one's state: ` +
      "`npm run backup`, `pulumi destroy`, change the count, `pulumi up`, `npm run restore` (README: Backups and recovery)",
  }];
}

export class MastersPinProvider implements pulumi.dynamic.ResourceProvider<MastersPinInputs, MastersPinInputs> {
  /** Runs in `preview` and `up` when the pin is registered, before any other resource; never in `destroy`. */
  async check(olds: MastersPinInputs, news: MastersPinInputs): Promise<pulumi.dynamic.CheckResult<MastersPinInputs>> {
    return { inputs: news, failures: membershipFailures(olds, news) };
  }

  async diff(_id: string, olds: MastersPinInputs, news: MastersPinInputs): Promise<pulumi.dynamic.DiffResult> {
    return { changes: JSON.stringify([olds.cluster, olds.masters, olds.key]) !== JSON.stringify([news.cluster, news.masters, news.key]) };
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
  constructor(name: string, args: MastersPinInputs, opts?: pulumi.CustomResourceOptions) {
    super("elastic-mesos/cluster:Masters", name, { ...args }, opts);
  }
}
