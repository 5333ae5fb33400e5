// The stack config schema (zod 4). Key reference — every key lives in the `elastic-mesos:` namespace;
// nested values can be set one at a time with `pulumi config set --path 'elastic-mesos:<key>' <value>`.
//
// | key                     | type                               | default                     | meaning
// |-------------------------|------------------------------------|-----------------------------|---------------------------------------------
// | provider                | aws|gcp|digitalocean|openstack|baremetal|local | (required)  | where the machines come from
// | cluster.name            | DNS label, ≤ 40 chars              | the stack name              | prefix of every name; Mesos `--cluster`
// | os                      | debian-12|ubuntu-22.04|ubuntu-24.04|rocky-9 | debian-12      | host OS of every machine
// | masters.count           | 1 | 3 | 5                          | 3 (baremetal: master hosts) | ZooKeeper + Mesos masters + Marathon
// | masters.size            | machine size                       | per provider (defaults.ts)  | instance type / machine type / droplet size / flavor
// | masters.image           | image id or name                   | from `os`                   | image override
// | masters.diskGb          | 10..16384                          | 50                          | root disk
// | agentPools[i].name      | DNS label, unique                  | (required)                  | part of every agent's hostname
// | agentPools[i].count     | 0..1000                            | (required; baremetal: hosts)| agents in the pool
// | agentPools[i].size/image/diskGb | as for masters             | per provider / `os` / 100   |
// | agentPools[i].resources | { name: number | "[a-b,...]" | "{x,y}" } | {} (auto-detect)   | Mesos `--resources`
// | agentPools[i].attributes| { name: number | text }            | {}                          | Mesos `--attributes`
// | agentPools[i].containerizers | ["docker","mesos"] | ["mesos"] | ["docker","mesos"]          | Mesos `--containerizers`
// | agentPools              | list                               | [{name: general, count: 3}] |
// | adminCidrs              | list of IPv4/IPv6 CIDRs, ≥ 1       | (required)                  | who may reach SSH, Mesos and Marathon
// | allowPublicAdmin        | boolean                            | false                       | opt-in to accept 0.0.0.0/0 or ::/0 in adminCidrs
// | ssh.user                | login name                         | per provider and OS         | user the bootstrap logs in as
// | ssh.publicKey           | OpenSSH public key line            | (required on clouds)        | installed on cloud machines
// | sshPrivateKey           | secret, unencrypted private key    | (required: baremetal/local) | used by the SSH bootstrap and health checks
// | clusterSecret           | secret, ≥ 16 chars                 | (required)                  | every cluster credential is derived from it
// | network.cidr            | private IPv4 CIDR; clouds /8../20  | 10.42.0.0/16 (local: 10.77.0.0/24) | cluster network, one /24 per zone
// | versions.mesos/zookeeper/marathon/docker | version strings   | 1.11.0-0.9.0/3.8.6/1.11.24/27.5.1 | pinned components
// | artifacts.mirror        | http(s) URL                        | (upstream)                  | replaces every upstream host
// | artifacts.offlineBundle | absolute path on the hosts         | (none)                      | unpacked bundle, no network needed
// | artifacts.zookeeper.{url,sha512} / mesos.{aptRepo,yumRepo,keyUrl,keyFingerprint,package}
// |   / marathon.{image,aptPackage} / docker.{aptRepo,yumRepo,keyUrl,keyFingerprint} | | (derived) | per-artifact overrides
// | aws                     | {region, zones[≥1], vpcId?}        | required when provider=aws  |
// | gcp                     | {project, region, zones[≥1]}       | required when provider=gcp  |
// | digitalocean            | {region}                           | required when provider=digitalocean |
// | openstack               | {externalNetwork, region?, zones?} | required when provider=openstack |
// | baremetal               | {hosts[], bastions[]}              | required when provider=baremetal | hosts: {name?, address, port=22, user?, role, pool?, hostKeyFingerprint?, bastion?}
// | local                   | {maxHosts}                         | {maxHosts: 3}               | the lab on this machine; caps every pool's count
// |                         |                                    |                             | (a `baremetal` block, if given, lists the lab hosts)
//
// Blocks of providers other than the chosen one are ignored. Cross-field rules live in rules.ts, the
// assembly of the ClusterModel (with provider-specific defaults) in build.ts.
import { z } from "zod";
import { OS_FAMILIES, PROVIDERS, type ArtifactOverrides, type AwsModel, type DigitalOceanModel, type GcpModel, type OpenStackModel, type VersionsModel } from "../model";
import { DEFAULT_CONTAINERIZERS, DEFAULT_DISK_GB, DEFAULT_OS, DEFAULT_POOL, DEFAULT_VERSIONS } from "./defaults";
import { cidr, dnsLabel, httpUrl, parseCidrV4, isCanonicalV4, pgpFingerprint, sha512Hex, sshPrivateKey, sshPublicKey, strict, text, wholeNumber } from "./fields";
import { attributes, containerizers, resources } from "./mesos";
import * as blocks from "./providers";

const masterCount = z.number({ error: "use 1, 3 or 5" }).refine((n) => n === 1 || n === 3 || n === 5, {
  error: (iss) =>
    typeof iss.input === "number" && iss.input > 0 && Number.isInteger(iss.input) && iss.input % 2 === 0
      ? `use 1, 3 or 5: an even count tolerates no more failures than ${(iss.input as number) - 1} (ZooKeeper needs a majority)`
      : "use 1, 3 or 5 (3 survives one failed master, 5 survives two)",
}) as z.ZodType<1 | 3 | 5, number>;

const size = text("a machine size (instance type, machine type, droplet size or flavor)");
const image = text("an image id or name");
const diskGb = wholeNumber(10, 16384);

const masters = strict(
  {
    /** 1, 3 or 5 masters (ZooKeeper + Mesos master + Marathon on each). Baremetal: the number of master hosts. */
    count: masterCount.optional(),
    /** Machine size; default per provider (defaults.ts). */
    size: size.optional(),
    /** Image override; default from `os`. */
    image: image.optional(),
    /** Root disk in GB. */
    diskGb: diskGb.default(DEFAULT_DISK_GB.master),
  },
  "masters",
);

export const agentPool = strict(
  {
    /** DNS label, unique among pools; agents are named `<cluster>-<pool>-<n>`. */
    name: dnsLabel(63),
    /** Agents in the pool, 0 to 1000. Required except on baremetal, where it is the number of the pool's hosts. */
    count: wholeNumber(0, 1000).optional(),
    /** Machine size; default per provider. */
    size: size.optional(),
    /** Image override; default from `os`. */
    image: image.optional(),
    /** Root disk in GB. */
    diskGb: diskGb.default(DEFAULT_DISK_GB.agent),
    /** Mesos `--resources`; empty = detected by the agent. */
    resources: resources.default({}),
    /** Mesos `--attributes` for placement constraints. */
    attributes: attributes.default({}),
    /** Mesos `--containerizers`, in the order they are tried. */
    containerizers: containerizers.default([...DEFAULT_CONTAINERIZERS]),
  },
  "an agent pool",
);

/** Private IPv4 space: a public range would shadow real internet addresses inside the cluster. */
const PRIVATE_V4 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"].map((c) => parseCidrV4(c)!);
const networkCidr = z.cidrv4({ error: "use an IPv4 CIDR such as 10.42.0.0/16" }).superRefine((c, ctx) => {
  const p = parseCidrV4(c);
  if (!p) return; // already reported by cidrv4
  // Clouds need /20 or larger (one /24 per zone, rules.ts); the local lab runs on a /24 bridge.
  if (p.prefix < 8 || p.prefix > 24) ctx.addIssue({ code: "custom", message: "use a prefix from /8 to /24, such as 10.42.0.0/16" });
  else if (!isCanonicalV4(c)) ctx.addIssue({ code: "custom", message: "host bits are set; use the network address (e.g. 10.42.0.0/16)" });
  else if (!PRIVATE_V4.some((r) => p.base >= r.base && p.base < r.base + 2 ** (32 - r.prefix)))
    ctx.addIssue({ code: "custom", message: "use a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10)" });
});

const versions = strict(
  {
    /** Clusterd Mesos package version. */
    mesos: z.string().regex(/^\d+\.\d+\.\d+-\d+\.\d+\.\d+$/, { error: "use a Clusterd package version such as 1.11.0-0.9.0" }).default(DEFAULT_VERSIONS.mesos),
    /** Apache ZooKeeper 3.8.x or 3.9.x. */
    zookeeper: z.string().regex(/^3\.(8|9)\.\d+$/, { error: "use ZooKeeper 3.8.x or 3.9.x, such as 3.8.6" }).default(DEFAULT_VERSIONS.zookeeper),
    /** Marathon image tag without the leading "v". */
    marathon: z.string().regex(/^\d+\.\d+\.\d+$/, { error: "use the Marathon version without the leading v, such as 1.11.24" }).default(DEFAULT_VERSIONS.marathon),
    /** Docker Engine package version on agents. */
    docker: z.string().regex(/^\d+\.\d+\.\d+$/, { error: "use a Docker Engine version such as 27.5.1" }).default(DEFAULT_VERSIONS.docker),
  },
  "versions",
);

const packageName = z.string().regex(/^[a-z0-9][a-z0-9.+-]*$/, { error: "use a package name such as mesos" });
const imageRef = z.string().regex(/^[a-z0-9][a-z0-9._\/:-]*(@sha256:[a-f0-9]{64})?$/, { error: "use an image reference such as registry.example.com/marathon:v1.11.24" });
const repoOverrides = {
  /** Base URL of the apt repository. */
  aptRepo: httpUrl.optional(),
  /** Base URL of the yum repository. */
  yumRepo: httpUrl.optional(),
  /** URL of the repository signing key. */
  keyUrl: httpUrl.optional(),
  /** Full OpenPGP fingerprint the key must have. */
  keyFingerprint: pgpFingerprint.optional(),
};

const artifacts = strict(
  {
    /** Base URL of your mirror (same layout as upstream); replaces every upstream host. */
    mirror: httpUrl.optional(),
    /** Absolute path of an unpacked offline bundle on every host: no network needed. */
    offlineBundle: z.string().regex(/^\/[^\0]*$/, { error: "use an absolute path on the hosts, such as /opt/elastic-mesos/bundle" }).optional(),
    zookeeper: strict({ url: httpUrl.optional(), sha512: sha512Hex.optional() }, "artifacts.zookeeper").optional(),
    mesos: strict({ ...repoOverrides, package: packageName.optional() }, "artifacts.mesos").optional(),
    marathon: strict({ image: imageRef.optional(), aptPackage: packageName.optional() }, "artifacts.marathon").optional(),
    docker: strict(repoOverrides, "artifacts.docker").optional(),
  },
  "artifacts",
).superRefine((a, ctx) => {
  // A mirror is not Apache's origin: without a pinned checksum a tampered tarball would be installed.
  if (a.mirror && /^https?:\/\//.test(a.mirror) && !a.zookeeper?.url && !a.zookeeper?.sha512)
    ctx.addIssue({
      code: "custom",
      path: ["zookeeper", "sha512"],
      message: "a mirror is set, so pin the ZooKeeper tarball: use the 128 hex characters of its .sha512 file from https://downloads.apache.org/zookeeper/",
    });
});

/** Accepts a list or a comma-separated string (`pulumi config set elastic-mesos:adminCidrs 203.0.113.0/24`). */
const adminCidrs = z.preprocess(
  (v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v),
  z.array(cidr, { error: "use a list of CIDRs such as [203.0.113.0/24]" }).min(1, {
    error: "list at least one CIDR allowed to reach SSH, Mesos and Marathon, e.g. your address: [203.0.113.7/32]",
  }),
);

export const rootSchema = strict(
  {
    /** Where the machines come from. */
    provider: z.enum(PROVIDERS, { error: `use one of ${PROVIDERS.join(", ")}` }),
    cluster: strict({ /** DNS label, ≤ 40 chars; default: the stack name. */ name: dnsLabel(40).optional() }, "cluster").prefault({}),
    /** Host OS of every machine. */
    os: z.enum(OS_FAMILIES, { error: `use one of ${OS_FAMILIES.join(", ")}` }).default(DEFAULT_OS),
    masters: masters.prefault({}),
    agentPools: z.array(agentPool, { error: "use a list of pools: [{ name: general, count: 3 }]" }).max(100, { error: "use at most 100 pools" }).prefault([{ ...DEFAULT_POOL }]),
    adminCidrs,
    /** Explicit opt-in to accept 0.0.0.0/0 or ::/0 in adminCidrs. */
    allowPublicAdmin: z.boolean({ error: "use true or false" }).default(false),
    ssh: strict(
      {
        /** Login user (default per provider and OS, see defaults.ts). */
        user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "use a Linux user name such as admin or root" }).optional(),
        /** One OpenSSH public key line; required on clouds. */
        publicKey: sshPublicKey.optional(),
      },
      "ssh",
    ).prefault({}),
    network: strict({ /** Cluster network (default 10.42.0.0/16; local: the lab bridge 10.77.0.0/24). */ cidr: networkCidr.optional() }, "network").prefault({}),
    versions: versions.prefault({}),
    artifacts: artifacts.prefault({}),
    /** Plain value of the secret, only to check it; the model carries the secret Output. */
    clusterSecret: z.string({ error: "use at least 16 characters" }).min(16, { error: "use at least 16 characters: `openssl rand -base64 32`" }).optional(),
    /** Plain value of the secret, only to check it. */
    sshPrivateKey: sshPrivateKey.optional(),
    // Provider blocks: validated only for the chosen provider (see providers.ts).
    aws: z.unknown().optional(),
    gcp: z.unknown().optional(),
    digitalocean: z.unknown().optional(),
    openstack: z.unknown().optional(),
    baremetal: z.unknown().optional(),
    local: z.unknown().optional(),
  },
  "the elastic-mesos namespace",
);

export type ParsedRoot = z.output<typeof rootSchema>;
export type ParsedPool = z.output<typeof agentPool>;
export { blocks };

// Compile-time checks: what the schema produces fits the ClusterModel (see components/model.ts).
type Assignable<T extends U, U> = T;
export type SchemaFitsModel = [
  Assignable<z.output<typeof versions>, VersionsModel>,
  Assignable<z.output<typeof artifacts>, ArtifactOverrides>,
  Assignable<z.output<typeof blocks.aws>, AwsModel>,
  Assignable<z.output<typeof blocks.gcp>, GcpModel>,
  Assignable<z.output<typeof blocks.digitalocean>, DigitalOceanModel>,
  Assignable<z.output<typeof blocks.openstack>, OpenStackModel>,
];
