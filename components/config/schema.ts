// The stack config schema (zod 4). Key reference — every key lives in the `elastic-mesos:` namespace;
// nested values can be set one at a time with `pulumi config set --path 'elastic-mesos:<key>' <value>`,
// whole values with `pulumi config set elastic-mesos:<key> '<json>'`. Unknown keys are errors (typos).
//
// key                           type                                   default                      meaning
// provider                      aws|gcp|digitalocean|openstack|        (required)                   where the machines come from
//                               baremetal|local
// cluster.name                  DNS label, <= 40 chars                 the stack name               prefix of every name; Mesos --cluster
// os                            debian-12|ubuntu-22.04|ubuntu-24.04|   debian-12                    host OS of every machine
//                               rocky-9
// masters.count                 1|3|5                                  3 (baremetal: master hosts)  ZooKeeper + Mesos master + Marathon
// masters.size                  machine size                           per provider (defaults.ts)   instance/machine type, droplet size, flavor
// masters.image                 image id or name                       from `os`                    image override
// masters.diskGb                10..16384                              50                           root disk
// agentPools                    list of pools (<= 100)                 [{name: general, count: 3}]
// agentPools[i].name            DNS label <= 40, unique                (required)                   agents are <cluster>-<pool>-<n>
// agentPools[i].count           0..1000                                (required; bare metal: its   agents in the pool
//                                                                      hosts)
// agentPools[i].size/image      as for masters                         per provider / from `os`
// agentPools[i].diskGb          10..16384                              100
// agentPools[i].resources       {name: number|"[a-b,...]"|"{x,y}"}     {} (agent detects)           Mesos --resources; ports must miss
//                                                                                                    22 2181 2281 2888 3888 5050 5051
//                                                                                                    8080 8443 15050
// agentPools[i].attributes      {name (letter first): number|text}     {}                           Mesos --attributes
// agentPools[i].containerizers  ["mesos"] | ["docker","mesos"] | ...   ["docker","mesos"]           Mesos --containerizers (must hold mesos)
// agentPools[i].taskUser        Linux user name ("root" = explicit     mesos-task                   user the pool's Mesos tasks run as
//                               opt-in to tasks as root)
// adminCidrs                    IPv4/IPv6 CIDRs, >= 1 (list or "a,b")  (required; local: the         who may reach SSH, Mesos, Marathon
//                                                                      bridge address /32)
// allowPublicAdmin              boolean                                false                        opt-in to 0.0.0.0/0 or ::/0 in adminCidrs
// destroy                       boolean                                false                        no effect (older releases needed it)
// ssh.user                      Linux user name                        admin/debian/ubuntu/rocky    login user (per provider and OS;
//                                                                      (clouds), root (DO, bm,      bare-metal hosts may override)
//                                                                      local)
// ssh.publicKey                 OpenSSH public key line                (required on clouds)         installed on cloud machines
// sshPrivateKey                 SECRET, unencrypted private key        (required)                   SSH bootstrap (bm, local, DO) and the
//                                                                                                    health check `pulumi up` waits for;
//                                                                                                    clouds: the half of ssh.publicKey
// clusterSecret                 SECRET, >= 16 chars                    (required)                   every cluster credential derives from it
// previousClusterSecret         SECRET, >= 16 chars, not clusterSecret (none)                       while rotating clusterSecret: the one it
//                                                                                                    replaces (README: Rotating clusterSecret)
// network.cidr                  private IPv4 CIDR (clouds /8../20,     10.42.0.0/16 (local:         cluster network, one /24 per zone
//                               AWS /16../20; local up to /24)         10.78.0.0/24)                (local: the bridge, gateway .1)
// rollout.maxUnavailable        count >= 1 or "N%" (1..100)            1                            agents of a pool changed at once by
//                                                                                                    an `up` (masters: always one)
// versions.mesos                Clusterd version x.y.z-a.b.c           1.11.0-0.9.0
// versions.zookeeper            3.8.x | 3.9.x                          3.8.6
// versions.marathon             x.y.z (no leading v)                   1.11.24
// versions.docker               x.y.z                                  27.5.1
// artifacts.mirror              plain http(s) URL (no user:pass@,      (upstream)                   replaces every upstream host
//                               query or fragment)
// artifacts.offlineBundle       absolute path on the hosts             (none)                       unpacked bundle: no network needed;
//                                                                                                    not together with mirror
// artifacts.zookeeper           {url?, sha512?}                        (derived)                    sha512 required with url, mirror
//                                                                                                    or offlineBundle
// artifacts.mesos               {aptRepo? "<uri> <suite> <component>", (derived)                    repo, signing key, package
//                               yumRepo?, keyUrl?, keyFingerprint? (40 hex), package?}
// artifacts.marathon            {image?, aptPackage?}                  (derived)
// artifacts.docker              {aptRepo?, yumRepo?, keyUrl?, keyFingerprint?}  (derived)   aptRepo as for mesos
// artifacts.testStandIns        boolean (local only, with mirror)      false                        set by `npm run up` on a machine with
//                                                                                                    no package source: test stand-ins
// aws                           {region, zones[>=1], vpcId?,           required if provider=aws
//                                agentEgress nat-per-zone|nat-single|public (nat-per-zone; public with vpcId)}:
//                                agents' way out (private behind NAT gateways, or public addresses)
// gcp                           {project, region, zones[>=1]}          required if provider=gcp
// digitalocean                  {region}                               required if provider=digitalocean
// openstack                     {externalNetwork, region?, zones?}     required if provider=openstack
// baremetal                     {hosts[>=1], bastions[]}               required if provider=baremetal
//   hosts[i]                    {name? (from address), address, port (22), user? (ssh.user), role master|agent,
//                                pool (agents: an agentPools name), hostKeyFingerprint? "SHA256:...", bastion? (a bastion name),
//                                replaces? (masters: the address of a lost machine this host takes the place of)}
//   bastions[i]                 {name, address, port (22), user? (ssh.user), hostKeyFingerprint?}
//   lostMasters[i]              IPv4 address of a removed master whose machine is lost for good ([])
// local                         {maxHosts 1..240 (12), bridge? (em-<cluster>), egress nat|proxy (nat), aptProxy? (http URL,
//                                required with proxy), stateDir (/var/lib/elastic-mesos/local), imageCache
//                                (/var/cache/elastic-mesos/images)}: machines this stack creates on this machine
//
// Blocks of providers other than the chosen one are ignored. Cross-field rules live in rules.ts, the
// assembly of the ClusterModel (with provider-specific defaults) in build.ts.
import { z } from "zod";
import { OS_FAMILIES, PROVIDERS, type ArtifactOverrides, type AwsModel, type DigitalOceanModel, type GcpModel, type OpenStackModel, type VersionsModel } from "../model";
import { DEFAULT_CONTAINERIZERS, DEFAULT_DISK_GB, DEFAULT_OS, DEFAULT_POOL, DEFAULT_TASK_USER, DEFAULT_VERSIONS } from "./defaults";
import { cidr, dnsLabel, parseCidrV4, isCanonicalV4, pgpFingerprint, sha512Hex, sshPrivateKey, sshPublicKey, strict, text, wholeNumber } from "./fields";
import { attributes, containerizers, resources } from "./mesos";
import { aptPackage, aptSource, bundlePath, mirrorUrl, packageName, safeUrl, yumRepoUrl } from "./sources";
import * as blocks from "./providers";

const masterCount = z.number({ error: "use 1, 3 or 5" }).refine((n) => n === 1 || n === 3 || n === 5, {
  error: (iss) =>
    typeof iss.input === "number" && iss.input > 0 && Number.isInteger(iss.input) && iss.input % 2 === 0
      ? `use 1, 3 or 5: an even count tolerates no more failures than ${(iss.input as number) - 1} (ZooKeeper needs a majority)`
      : "use 1, 3 or 5 (3 survives one failed master, 5 survives two)",
}) as z.ZodType<1 | 3 | 5, number>;

/** A Linux user name as useradd accepts it by default. */
function linuxUser(error: string) {
  return z.string({ error }).regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error });
}

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
    /** DNS label, unique among pools; agents are named `<cluster>-<pool>-<n>`. At most 40, as the bootstrap wants. */
    name: dnsLabel(40),
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
    /** Linux user the pool's tasks run as; "root" only when written here (tasks as root own the host). */
    taskUser: linuxUser("use a Linux user name such as mesos-task (\"root\" only if tasks must run as root)").default(DEFAULT_TASK_USER),
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

const imageRef = z.string().regex(/^[a-z0-9][a-z0-9._\/:-]*(@sha256:[a-f0-9]{64})?$/, { error: "use an image reference such as registry.example.com/marathon:v1.11.24" });
const repoOverrides = {
  /** The apt source: "<uri> <suite> <component>", e.g. "https://apt.example.com/mesos bookworm main". */
  aptRepo: aptSource.optional(),
  /** Base URL of the yum repository ($releasever and $basearch allowed). */
  yumRepo: yumRepoUrl.optional(),
  /** URL of the repository signing key. */
  keyUrl: safeUrl.optional(),
  /** Full OpenPGP fingerprint the key must have. */
  keyFingerprint: pgpFingerprint.optional(),
};

const artifacts = strict(
  {
    /** Base URL of your mirror (same layout as upstream); replaces every upstream host. */
    mirror: mirrorUrl.optional(),
    /** Absolute path of an unpacked offline bundle on every host: no network needed. */
    offlineBundle: bundlePath.optional(),
    /** ZooKeeper tarball: its URL and the SHA-512 it must have. */
    zookeeper: strict(
      {
        /** Full URL of the apache-zookeeper-<version>-bin.tar.gz to download. */
        url: safeUrl.optional(),
        /** SHA-512 of the tarball (the .sha512 file Apache publishes next to it). */
        sha512: sha512Hex.optional(),
      },
      "artifacts.zookeeper",
    ).optional(),
    /** Clusterd Mesos packages: repository, signing key, package name. */
    mesos: strict({ ...repoOverrides, /** Package name (default: mesos). */ package: packageName.optional() }, "artifacts.mesos").optional(),
    /** Marathon: a container image (default mesosphere/marathon:v<version>) or an apt package. */
    marathon: strict(
      {
        /** Image reference, e.g. registry.example.com/marathon:v1.11.24. */
        image: imageRef.optional(),
        /** Install from this apt package instead of running the image. */
        aptPackage: aptPackage.optional(),
      },
      "artifacts.marathon",
    ).optional(),
    /** Docker Engine packages on agents: repository and signing key. */
    docker: strict(repoOverrides, "artifacts.docker").optional(),
    /** Set by `npm run up` when only the project's test mirror was reachable: Mesos and Marathon are stand-ins. */
    testStandIns: z.boolean({ error: "use true or false" }).optional(),
  },
  "artifacts",
).superRefine((a, ctx) => {
  // The offline bundle replaces the mirror: with both, which one the hosts use would be a guess.
  if (a.mirror && a.offlineBundle)
    ctx.addIssue({
      code: "custom",
      path: ["offlineBundle"],
      message: "artifacts.mirror is set too; pick one: remove artifacts.mirror to install from the bundle, or remove artifacts.offlineBundle to download from the mirror",
    });
  // A mirror, a bundle or a custom URL is not Apache's origin: without a pinned checksum a tampered tarball
  // would be installed (the bootstrap refuses it too, but only once the first host's steps are rendered).
  // (A mirror that is not even http(s) is reported on its own; zod runs this refinement regardless.)
  const mirror = typeof a.mirror === "string" && /^https?:\/\//.test(a.mirror);
  const source = a.zookeeper?.url ? "artifacts.zookeeper.url" : mirror ? "a mirror" : a.offlineBundle ? "an offline bundle" : undefined;
  if (source && !a.zookeeper?.sha512)
    ctx.addIssue({
      code: "custom",
      path: ["zookeeper", "sha512"],
      message: `${source} is set, so pin the ZooKeeper tarball: use the 128 hex characters of its .sha512 file from https://downloads.apache.org/zookeeper/`,
    });
});

/** Accepts a list or a comma-separated string (`pulumi config set elastic-mesos:adminCidrs 203.0.113.0/24`). */
const MAX_UNAVAILABLE_ERROR = 'use a count of agents such as 2, or a percentage of the pool such as "25%"';
const maxUnavailable = z.union([
  z.number({ error: MAX_UNAVAILABLE_ERROR }).int({ error: MAX_UNAVAILABLE_ERROR }).min(1, { error: MAX_UNAVAILABLE_ERROR }),
  z.string({ error: MAX_UNAVAILABLE_ERROR }).regex(/^(100|[1-9][0-9]?)%$/, { error: MAX_UNAVAILABLE_ERROR }),
], { error: MAX_UNAVAILABLE_ERROR });

const adminCidrs = z.preprocess(
  (v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v),
  z.array(cidr, { error: "use a list of CIDRs such as [203.0.113.0/24]" }).min(1, {
    error: "list at least one CIDR allowed to reach SSH, Mesos and Marathon, e.g. your address: [203.0.113.7/32]",
  }).optional(), // required except on local (rules.ts), where this machine's bridge address is the default
);

export const rootSchema = strict(
  {
    /** Where the machines come from. */
    provider: z.enum(PROVIDERS, { error: `use one of ${PROVIDERS.join(", ")}` }),
    /** The cluster's identity. */
    cluster: strict({ /** DNS label, ≤ 40 chars; default: the stack name. */ name: dnsLabel(40).optional() }, "cluster").prefault({}),
    /** Host OS of every machine. */
    os: z.enum(OS_FAMILIES, { error: `use one of ${OS_FAMILIES.join(", ")}` }).default(DEFAULT_OS),
    /** The master nodes (each runs ZooKeeper, a Mesos master and Marathon). */
    masters: masters.prefault({}),
    /** Named groups of agents; default one pool "general" of 3. */
    agentPools: z.array(agentPool, { error: "use a list of pools: [{ name: general, count: 3 }]" }).max(100, { error: "use at most 100 pools" }).prefault([{ ...DEFAULT_POOL }]),
    /** Who may reach SSH, the Mesos UI/API and Marathon (nothing else is open to the outside). */
    adminCidrs,
    /** Explicit opt-in to accept 0.0.0.0/0 or ::/0 in adminCidrs. */
    allowPublicAdmin: z.boolean({ error: "use true or false" }).default(false),
    /**
     * No effect. Older releases wanted it set before `pulumi destroy`, but the engine configures a dynamic
     * provider with the config of the last `up`, so it never reached `destroy`; masters are now guarded where
     * an `up` and a `destroy` differ (readiness.ts masterChanges, provider.ts masterMove). Still accepted so
     * stacks that set it stay valid.
     */
    destroy: z.boolean({ error: "use true or false" }).default(false),
    /** How the machines are reached over SSH. */
    ssh: strict(
      {
        /** Login user (default per provider and OS, see defaults.ts). */
        user: linuxUser("use a Linux user name such as admin or root").optional(),
        /** One OpenSSH public key line; required on clouds. */
        publicKey: sshPublicKey.optional(),
      },
      "ssh",
    ).prefault({}),
    network: strict({ /** Cluster network (default 10.42.0.0/16; local: the stack's bridge 10.78.0.0/24). */ cidr: networkCidr.optional() }, "network").prefault({}),
    /** How changes roll through a running cluster (provisioning/rollout/). */
    rollout: strict(
      {
        /** Agents of one pool changed at once: a count, or a percentage of the pool ("25%"). Masters: always one. */
        maxUnavailable: maxUnavailable.default(1),
      },
      "rollout",
    ).prefault({}),
    /** Pinned component versions. */
    versions: versions.prefault({}),
    /** Where artifacts come from when not from upstream. */
    artifacts: artifacts.prefault({}),
    /** Plain value of the secret, only to check it; the model carries the secret Output. */
    clusterSecret: z.string({ error: "use at least 16 characters" }).min(16, { error: "use at least 16 characters: `openssl rand -base64 32`" }).optional(),
    /** Plain value of the secret, only to check it. */
    sshPrivateKey: sshPrivateKey.optional(),
    /** Plain value of the secret a rotation replaces (provisioning/rotation/README.md), only to check it. */
    previousClusterSecret: z.string({ error: "use the secret the cluster ran with" })
      .min(16, { error: "use the secret the cluster ran with (at least 16 characters)" }).optional(),
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
