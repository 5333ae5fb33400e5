// The master pin (`pulumi-nodejs:dynamic/elastic-mesos/cloud:MasterPin`), one per cloud master (AWS, GCP,
// OpenStack): a refusal, before anything changes, of every config change that the cloud would apply to a running
// master by replacing it or by stopping it (a new zone, subnet or planned address, a new machine type, a new key
// pair...). Masters hold the ZooKeeper votes and the Mesos replicated log: the cloud applies such a change to every
// master at once, and the cluster loses its quorum (replaced: its data too).
//
// How it stops the engine: the pins are registered before the provider module's network and instances, and every
// resource made after them depends on them (components/cluster.ts afterPins). A pin whose check fails never
// resolves, so nothing depending on it is registered. (Being registered first alone would not do: the engine
// checks and runs registrations concurrently, seen through the real CLI.) The inputs are plain facts taken from the
// config (no cloud output), so the check knows them at once.
// Images and user-data are not facts: the instances ignore changes of them (running hosts get changes over SSH).
//
// create/update/delete do nothing remote: no SSH, no cloud API. Like every dynamic resource here, its stored
// provider is the fixed shim (provisioning/dynamic/shim.ts); the messages below are loaded from the checkout.
import type * as pulumi from "@pulumi/pulumi";
import { stableJson } from "../baremetal/plan";
import { plain } from "../dynamic/plain";
import { ShimResource } from "../dynamic/shim";

export type PinnedCloud = "aws" | "gcp" | "openstack";

/** What the cloud must not change on a running master, each a plain value derived from the config. */
export interface MasterFacts {
  /** AWS region; GCP "project/region"; OpenStack region ("" = the provider's default). */
  region?: string;
  /** The zone the master is placed in. */
  zone?: string;
  /** The master's planned private address (follows network.cidr and the zones). */
  address?: string;
  /** AWS: the VPC the subnets are carved in ("vpc-..." given, or the CIDR of the stack's own VPC). */
  vpc?: string;
  /** Machine type / flavor. */
  size?: string;
  /** Root disk in GB (AWS: only a shrink is refused; GCP: any change). */
  diskGb?: number;
  /** AWS: "SHA256:..." of ssh.publicKey (a new key is a new key pair, which EC2 cannot give a running instance). */
  sshKey?: string;
}

export interface MasterPinInputs {
  cluster: string;
  /** Node id ("m1"). */
  node: string;
  cloud: PinnedCloud;
  facts: MasterFacts;
}

type Fact = keyof MasterFacts;

/** Per fact: the config key(s) a user changes, and why the cloud cannot apply it to a running master. */
const RULES: Record<PinnedCloud, Partial<Record<Fact, { key: string; why: string }>>> = {
  aws: {
    region: {
      key: "aws.region",
      why: "a new region is a new AWS provider: every resource of the stack would be replaced",
    },
    vpc: {
      key: "network.cidr / aws.vpcId",
      why: "the subnets are carved in the VPC: EC2 would replace the VPC or the subnets and every instance in them",
    },
    zone: { key: "aws.zones", why: "EC2 cannot move an instance to another zone: the master would be replaced" },
    address: {
      key: "network.cidr / aws.zones",
      why: "EC2 cannot change an instance's primary private address: the master would be replaced, and its " +
        "ZooKeeper and Mesos peers know it by that address",
    },
    size: {
      key: "masters.size",
      why: "EC2 changes an instance type only by stopping the instance: every master would be stopped at once, " +
        "and ZooKeeper would lose its quorum",
    },
    diskGb: { key: "masters.diskGb", why: "an EBS volume cannot shrink" },
    sshKey: {
      key: "ssh.publicKey",
      why: "a new public key is a new EC2 key pair, and EC2 changes an instance's key pair only by replacing " +
        "the instance",
    },
  },
  gcp: {
    region: {
      key: "gcp.project / gcp.region",
      why: "a new project or region is a new GCP provider: every resource of the stack would be replaced",
    },
    zone: { key: "gcp.zones", why: "GCE cannot move an instance to another zone: the master would be replaced" },
    address: {
      key: "network.cidr / gcp.zones",
      why: "the master's internal address is reserved and its ZooKeeper and Mesos peers know it by that address; " +
        "GCE changes a network interface only with the instance stopped or replaced",
    },
    size: {
      key: "masters.size",
      why: "GCE changes a machine type only by stopping the instance: every master would be stopped at once, " +
        "and ZooKeeper would lose its quorum",
    },
    diskGb: { key: "masters.diskGb", why: "a boot disk's size is set when it is made: GCE would replace the master" },
  },
  openstack: {
    region: {
      key: "openstack.region",
      why: "a new region is a new OpenStack provider: every resource would be replaced",
    },
    zone: {
      key: "openstack.zones",
      why: "Nova cannot move a server to another availability zone: the master would be replaced",
    },
    address: {
      key: "network.cidr / openstack.zones",
      why: "the master's port carries its planned fixed address, which its ZooKeeper and Mesos peers know it by; " +
        "a new subnet or zone replaces the port and the server",
    },
    size: {
      key: "masters.size",
      why: "Nova changes a flavor by resizing the server, which reboots it: every master would be rebooted at once, " +
        "and ZooKeeper would lose its quorum",
    },
  },
};

/** Whether a change of `fact` from `was` to `now` is refused (AWS disks may grow: EBS resizes a volume in place). */
function refused(cloud: PinnedCloud, fact: Fact, was: unknown, now: unknown): boolean {
  if (cloud === "aws" && fact === "diskGb") return typeof was === "number" && typeof now === "number" && now < was;
  return true;
}

/**
 * Pure: why the new facts of a running master are refused ([] = none). A fact the old inputs do not have (a
 * pin made by an older release, a fact added since) is recorded, never refused.
 */
export function pinFailures(olds: Partial<MasterPinInputs> | undefined,
  news: MasterPinInputs): { property: string; reason: string }[] {
  const was = olds?.facts;
  if (!was || typeof was !== "object") return [];
  const out: { property: string; reason: string }[] = [];
  for (const [fact, rule] of Object.entries(RULES[news.cloud] ?? {}) as [Fact, { key: string; why: string }][]) {
    const a = was[fact];
    const b = news.facts[fact];
    if (a === undefined || b === undefined || a === b || !refused(news.cloud, fact, a, b)) continue;
    out.push({
      property: "facts",
      reason: `${rule.key}: changing master ${news.node}'s ${fact} from ${JSON.stringify(a)} to ${JSON.stringify(b)} ` +
        `would disrupt a running master (${rule.why}): refused before anything changed. Put ${rule.key} back ` +
        `so that ${news.node}'s ${fact} stays ${JSON.stringify(a)}; changing a running master needs a ` +
        "master-by-master replacement this release does not make",
    });
  }
  return out;
}

export class MasterPinProvider implements pulumi.dynamic.ResourceProvider<MasterPinInputs, MasterPinInputs> {
  /** Runs in `preview` and `up` when the pin is registered, before the instances; never in `destroy`. */
  async check(olds: MasterPinInputs, news: MasterPinInputs): Promise<pulumi.dynamic.CheckResult<MasterPinInputs>> {
    return { inputs: news, failures: pinFailures(olds, news) };
  }

  async diff(_id: string, olds: MasterPinInputs, news: MasterPinInputs): Promise<pulumi.dynamic.DiffResult> {
    const facts = (v: MasterPinInputs) =>
      stableJson({ cluster: v.cluster, node: v.node, cloud: v.cloud, facts: v.facts });
    return { changes: facts(olds) !== facts(news) };
  }

  async create(inputs: MasterPinInputs): Promise<pulumi.dynamic.CreateResult<MasterPinInputs>> {
    return { id: `${inputs.cluster}:${inputs.node}:pin`, outs: plain(inputs) };
  }

  /** What check let through (a fact added, an AWS disk grown): recorded, nothing remote. */
  async update(_id: string, _olds: MasterPinInputs,
    news: MasterPinInputs): Promise<pulumi.dynamic.UpdateResult<MasterPinInputs>> {
    return { outs: plain(news) };
  }

  async delete(): Promise<void> {
    // Nothing remote belongs to a pin.
  }
}

export class MasterPin extends ShimResource {
  constructor(name: string, args: MasterPinInputs, opts?: pulumi.CustomResourceOptions) {
    super("elastic-mesos/cloud:MasterPin", name, { ...args }, opts);
  }
}
