// The validated cluster model: what `components/config` produces from the stack config and what every
// later stage (topology, providers, bootstrap) reads. Plain data only, no Pulumi Outputs, except the
// secrets, which stay Outputs so they never appear in plain text in state or logs.
import type * as pulumi from "@pulumi/pulumi";

export const PROVIDERS = ["aws", "gcp", "digitalocean", "openstack", "baremetal", "local"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** Host operating systems the bootstrap supports. Anything else is refused at validation time. */
export const OS_FAMILIES = ["debian-12", "ubuntu-22.04", "ubuntu-24.04", "rocky-9"] as const;
export type OsFamily = (typeof OS_FAMILIES)[number];

export type Containerizer = "mesos" | "docker";

export interface ClusterModel {
  provider: ProviderName;
  cluster: {
    /** DNS label (a-z, 0-9, '-', max 40 chars): prefixes every resource name and is Mesos' `--cluster`. */
    name: string;
  };
  /** Host OS of every machine (cloud images are chosen from it; bare-metal hosts must run it). */
  os: OsFamily;
  masters: MastersModel;
  agentPools: AgentPoolModel[];
  /** CIDRs allowed to reach SSH, the Mesos UI/API and Marathon. Never 0.0.0.0/0 without `allowPublicAdmin`. */
  adminCidrs: string[];
  /** Explicit opt-in to accept 0.0.0.0/0 (or ::/0) in adminCidrs. */
  allowPublicAdmin: boolean;
  ssh: SshModel;
  /**
   * Private network of the cluster on clouds; masters get fixed addresses inside it (see topology). `defaulted`:
   * network.cidr was not set (cidr is the default): a DigitalOcean VPC then takes a range DigitalOcean picks.
   */
  network: { cidr: string; defaulted?: true };
  /** How an `up` rolls changes through running hosts (provisioning/rollout/). */
  rollout: RolloutModel;
  versions: VersionsModel;
  artifacts: ArtifactOverrides;
  /**
   * One secret from which every cluster credential is derived (HMAC), so credentials are stable across
   * runs without a random provider: `openssl rand -base64 32 | pulumi config set --secret elastic-mesos:clusterSecret`.
   */
  clusterSecret: pulumi.Output<string>;
  /** While clusterSecret rotates: the secret it replaces (provisioning/rotation/README.md). */
  previousClusterSecret?: pulumi.Output<string>;
  aws?: AwsModel;
  gcp?: GcpModel;
  digitalocean?: DigitalOceanModel;
  openstack?: OpenStackModel;
  baremetal?: BaremetalModel;
  local?: LocalModel;
}

export interface RolloutModel {
  /** Agents of one pool changed at once: a count (>= 1) or a percentage of the pool ("25%"). Masters: one. */
  maxUnavailable: number | string;
}

export interface MastersModel {
  /** 1, 3 or 5: ZooKeeper and the Mesos replicated log need an odd-sized majority. */
  count: 1 | 3 | 5;
  /** Machine size (instance type, machine type, droplet size or flavor); ignored on baremetal/local. */
  size: string;
  /** Image override (AMI id, GCE image, droplet image slug, Glance image name). */
  image?: string;
  diskGb: number;
}

export interface AgentPoolModel {
  /** DNS label, unique among pools: part of every agent's name. */
  name: string;
  /** 0 to 1000 machines. */
  count: number;
  size: string;
  image?: string;
  diskGb: number;
  /** Mesos `--resources`, e.g. { cpus: 4, mem: 8192, gpus: 1, ports: "[31000-32000]" }; empty = auto-detect. */
  resources: Record<string, number | string>;
  /** Mesos `--attributes`, e.g. { rack: "a", tier: 2 }. */
  attributes: Record<string, string | number>;
  containerizers: Containerizer[];
  /** Linux user the pool's Mesos tasks run as (default "mesos-task"; "root" only when configured). */
  taskUser: string;
}

export interface SshModel {
  /** Login user on the machines (root or a sudoer without password). */
  user: string;
  /** OpenSSH public key line installed on cloud machines (ssh-ed25519/ssh-rsa/ecdsa-sha2-*). */
  publicKey?: string;
  /** Private key for SSH-driven bootstrap and health checks (a Pulumi secret). */
  privateKey?: pulumi.Output<string>;
}

export interface VersionsModel {
  /** Clusterd package version, e.g. "1.11.0-0.9.0". */
  mesos: string;
  /** Apache ZooKeeper, 3.8.x or 3.9.x. */
  zookeeper: string;
  /** Marathon image tag without the leading "v", e.g. "1.11.24". */
  marathon: string;
  /** Docker engine package version on agents, e.g. "27.5.1". */
  docker: string;
}

/**
 * Where artifacts come from when not from upstream. Every field is optional: the bootstrap
 * (`provisioning/artifacts.ts`) resolves defaults from `versions` and the OS.
 */
export interface ArtifactOverrides {
  /** Base URL of the user's mirror (http or https); replaces every upstream host. */
  mirror?: string;
  /** Path on each host of an unpacked offline bundle (same layout as the mirror): no network needed. */
  offlineBundle?: string;
  zookeeper?: { url?: string; sha512?: string };
  mesos?: { aptRepo?: string; yumRepo?: string; keyUrl?: string; keyFingerprint?: string; package?: string };
  marathon?: { image?: string; aptPackage?: string };
  /**
   * Set by `npm run up` when it had to use the project's test mirror: Mesos and Marathon are then the
   * test stand-ins, and the program says so in its output. Local stacks only.
   */
  testStandIns?: boolean;
  docker?: { aptRepo?: string; yumRepo?: string; keyUrl?: string; keyFingerprint?: string };
}

/** How a cloud's agents reach the internet (packages, registries): AWS `aws.agentEgress`. */
export const AWS_AGENT_EGRESS = ["nat-per-zone", "nat-single", "public"] as const;
export type AwsAgentEgress = (typeof AWS_AGENT_EGRESS)[number];

export interface AwsModel {
  region: string;
  zones: string[];
  /** Existing VPC to use instead of creating one. */
  vpcId?: string;
  /**
   * Agents' egress: private addresses behind a NAT gateway per zone or one for all zones, or public addresses.
   * Default (providers/aws/network.ts agentEgressOf): nat-per-zone in a VPC of ours, public with `vpcId`.
   */
  agentEgress?: AwsAgentEgress;
}
export interface GcpModel {
  project: string;
  region: string;
  zones: string[];
}
export interface DigitalOceanModel {
  region: string;
}
export interface OpenStackModel {
  region?: string;
  /** Name of the external network for floating IPs / the router gateway. */
  externalNetwork: string;
  zones?: string[];
}

/** A host the user already has. */
export interface BaremetalHostModel {
  /** Stable name of the host in the cluster, a DNS label (defaults from the address). */
  name: string;
  address: string;
  port: number;
  user: string;
  role: "master" | "agent";
  /** Pool name, for agents. */
  pool?: string;
  /** "SHA256:..." host key fingerprint; absent = trust on first use. */
  hostKeyFingerprint?: string;
  /** Name of an entry in `bastions` to jump through. */
  bastion?: string;
  /** Masters: the address of the lost machine this host replaces (provisioning/baremetal/provider.ts masterMove). */
  replaces?: string;
}
export interface BaremetalModel {
  hosts: BaremetalHostModel[];
  bastions: { name: string; address: string; port: number; user: string; hostKeyFingerprint?: string }[];
  /** Addresses of removed masters whose machines are lost for good: they leave without being reached. */
  lostMasters: string[];
}
/** `provider: local`: machines this stack creates on this Linux machine (systemd-nspawn on a bridge). */
export interface LocalModel {
  /** Most machines the stack may have in all (a typo'd count is refused, not obeyed). */
  maxHosts: number;
  /** Linux bridge the machines share (<= 15 characters); default "em-" + the cluster name. */
  bridge: string;
  /**
   * How machines reach package sources: "nat" (default) gives them a default route through the bridge,
   * masqueraded, and this machine's DNS; "proxy" gives them no route out, only to `aptProxy`.
   */
  egress: "nat" | "proxy";
  /** http://host:port of an apt proxy: required with egress "proxy", optional with "nat". */
  aptProxy?: string;
  /** Where machines live: <stateDir>/<cluster>/ (root only). */
  stateDir: string;
  /** Cached base images, shared by stacks (kept by `pulumi destroy`; `npm run down -- --purge` removes it). */
  imageCache: string;
}
