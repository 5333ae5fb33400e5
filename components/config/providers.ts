// One block per provider. Only the chosen provider's block is read and validated: a stack that moved
// from aws to gcp may keep its old aws block without being blocked by it.
import { z } from "zod";
import { AWS_AGENT_EGRESS, type ProviderName } from "../model";
import { DEFAULT_LOCAL_IMAGE_CACHE, DEFAULT_LOCAL_MAX_HOSTS, DEFAULT_LOCAL_STATE_DIR, DEFAULT_SSH_PORT } from "./defaults";
import { dnsLabel, hostAddress, hostKeyFingerprint, strict, text, wholeNumber } from "./fields";

const zoneList = (example: string) =>
  z
    .array(text(`a zone name such as ${example}`), { error: `use a list of zones such as [${example}]` })
    .min(1, { error: `use at least one zone, such as [${example}]; masters and agents are spread over the zones` })
    .refine((zs) => new Set(zs).size === zs.length, { error: "list each zone once" });

const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$/;
const GCP_REGION = /^[a-z]+-[a-z]+\d+$/;

export const aws = strict(
  {
    /** AWS region, e.g. eu-west-1. */
    region: z.string().regex(AWS_REGION, { error: "use an AWS region such as eu-west-1" }),
    /** Availability zones of the region (masters are spread over them, one subnet each). */
    zones: zoneList("eu-west-1a, eu-west-1b, eu-west-1c"),
    /** Existing VPC to use instead of creating one. */
    vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, { error: "use a VPC id such as vpc-0123456789abcdef0" }).optional(),
    /** Agents' egress: nat-per-zone (default), nat-single, or public (default with vpcId). */
    agentEgress: z.enum(AWS_AGENT_EGRESS, { error: `use one of ${AWS_AGENT_EGRESS.join(", ")}` }).optional(),
  },
  "aws",
).superRefine((b, ctx) => {
  // A VPC that is not ours keeps its own routing: no NAT gateway or route table of ours goes into it.
  if (b.vpcId && b.agentEgress && b.agentEgress !== "public")
    ctx.addIssue({
      code: "custom",
      path: ["agentEgress"],
      message: "with aws.vpcId the VPC's own routing carries the agents' traffic, so no NAT gateway is made in it; " +
        "use agentEgress public (the default there), or remove vpcId to get a VPC with " +
        (b.agentEgress === "nat-single" ? "a NAT gateway" : "NAT gateways"),
    });
  if (!AWS_REGION.test(b.region)) return; // reported on region; zones can't be judged against it
  b.zones.forEach((zone, i) => {
    if (!zone.startsWith(b.region))
      ctx.addIssue({ code: "custom", path: ["zones", i], message: `zones must be in region ${b.region}; use e.g. ${b.region}a` });
  });
});

export const gcp = strict(
  {
    /** GCP project id. */
    project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, { error: "use a GCP project id: 6 to 30 lower-case letters, digits and '-'" }),
    /** Region, e.g. europe-west1. */
    region: z.string().regex(GCP_REGION, { error: "use a GCP region such as europe-west1" }),
    /** Zones of the region, e.g. [europe-west1-b, europe-west1-c, europe-west1-d]. */
    zones: zoneList("europe-west1-b, europe-west1-c, europe-west1-d"),
  },
  "gcp",
).superRefine((b, ctx) => {
  if (!GCP_REGION.test(b.region)) return;
  b.zones.forEach((zone, i) => {
    if (!zone.startsWith(`${b.region}-`))
      ctx.addIssue({ code: "custom", path: ["zones", i], message: `zones must be in region ${b.region}; use e.g. ${b.region}-b` });
  });
});

export const digitalocean = strict(
  {
    /** Region slug, e.g. fra1, ams3, nyc3. */
    region: z.string().regex(/^[a-z]{3}\d$/, { error: "use a DigitalOcean region slug such as fra1, ams3 or nyc3" }),
  },
  "digitalocean",
);

export const openstack = strict(
  {
    /** Name of the external network for floating IPs and the router gateway. */
    externalNetwork: text("the name of the external network (`openstack network list --external`)"),
    /** Region, when the cloud has several. */
    region: text("an OpenStack region name such as RegionOne").optional(),
    /** Availability zones to spread nodes over (default: the cloud's default zone). */
    zones: zoneList("nova").optional(),
  },
  "openstack",
);

const bastion = strict(
  {
    /** Name hosts refer to in `bastion`. */
    name: dnsLabel(63),
    /** IP address or DNS name. */
    address: hostAddress,
    /** SSH port. */
    port: wholeNumber(1, 65535).default(DEFAULT_SSH_PORT),
    /** Login user on the bastion (default: ssh.user). */
    user: text("a login user name").optional(),
    /** Pin the bastion's host key: "SHA256:..." (absent = trust on first use). */
    hostKeyFingerprint: hostKeyFingerprint.optional(),
  },
  "a bastion",
);

const host = strict(
  {
    /** Stable name in the cluster (default: derived from the address). */
    name: dnsLabel(63).optional(),
    /**
     * IPv4 address the bootstrap connects to and the cluster uses for the host: it becomes the host's
     * ZooKeeper server entry and Mesos --ip, which the bootstrap (steps/context.ts) takes only as IPv4.
     */
    address: z.ipv4({
      error: "use the host's IPv4 address, such as 10.0.0.11: the cluster addresses its hosts by IPv4 (ZooKeeper's server list, Mesos --ip); a DNS name or IPv6 address works for a bastion, not for a host",
    }),
    /** SSH port. */
    port: wholeNumber(1, 65535).default(DEFAULT_SSH_PORT),
    /** Login user (default: ssh.user). */
    user: text("a login user name").optional(),
    /** What the host runs: master (ZooKeeper, Mesos master, Marathon) or agent. */
    role: z.enum(["master", "agent"], { error: "use \"master\" or \"agent\"" }),
    /** Agents: the agentPools entry this host belongs to. */
    pool: z.string({ error: "use the name of an entry of agentPools" }).optional(),
    /** Pin the host key: "SHA256:..." (absent = trust on first use, then pinned in state). */
    hostKeyFingerprint: hostKeyFingerprint.optional(),
    /** Name of a bastion to jump through. */
    bastion: z.string({ error: "use the name of an entry of baremetal.bastions" }).optional(),
    /**
     * Masters: the address of the machine this host replaces, lost for good (provider.ts masterMove). Saying it is
     * what lets a master move to another address: the old machine is stopped if it still answers, then left alone.
     */
    replaces: z.ipv4({ error: "use the IPv4 address the master had on the machine it replaces, such as 10.0.0.13" })
      .optional(),
  },
  "a host",
);

export const baremetal = strict(
  {
    /** The machines you already have; masters.count and each pool's count follow from this list. */
    hosts: z.array(host, { error: "use a list of hosts: [{ address, role, pool }]" }).min(1, { error: "list at least one master host" }),
    /** SSH jump hosts. */
    bastions: z.array(bastion, { error: "use a list of bastions: [{ name, address }]" }).default([]),
    /**
     * Addresses of removed masters whose machines are lost for good: they leave the cluster without being reached
     * (provisioning/baremetal/provider.ts leave). A removed master not listed here must answer to leave.
     */
    lostMasters: z.array(z.ipv4({ error: "use the IPv4 address the lost master had, such as 10.0.0.15" }),
      { error: "use a list of addresses: [10.0.0.15]" }).default([]),
  },
  "baremetal",
);

const absolutePath = (example: string) =>
  z.string({ error: `use an absolute path such as ${example}` }).regex(/^\/[A-Za-z0-9._/-]*$/, {
    error: `use an absolute path such as ${example} (letters, digits, . _ - and /)`,
  }).refine((p) => !p.split("/").includes(".."), { error: `use an absolute path without "..", such as ${example}` });

export const local = strict(
  {
    /** Most machines in the stack (each is a container on this machine); more is refused, not capped. */
    maxHosts: wholeNumber(1, 240).default(DEFAULT_LOCAL_MAX_HOSTS),
    /** Linux bridge of the stack's machines (default "em-" + the cluster name). */
    bridge: z.string({ error: "use a Linux interface name such as em-local" }).regex(/^[a-z][a-z0-9-]{0,14}$/, {
      error: "use a Linux interface name of at most 15 lower-case letters, digits and dashes, such as em-local",
    }).optional(),
    /** nat: machines reach package sources through this machine (masquerade); proxy: only through aptProxy. */
    egress: z.enum(["nat", "proxy"], { error: "use nat (machines reach the internet through this machine) or proxy (only aptProxy)" }).default("nat"),
    /** http://host:port of an apt proxy the machines use (required with egress: proxy). */
    aptProxy: z.url({ protocol: /^http$/, error: "use an http:// URL of an apt proxy, such as http://10.77.0.1:3142" })
      .refine((u) => !/@/.test(u.replace(/^http:\/\//, "").split("/")[0]), { error: "use a proxy URL without user:password@" }).optional(),
    /** Where the machines live (root only). */
    stateDir: absolutePath(DEFAULT_LOCAL_STATE_DIR).default(DEFAULT_LOCAL_STATE_DIR),
    /** Cached base images, shared by local stacks. */
    imageCache: absolutePath(DEFAULT_LOCAL_IMAGE_CACHE).default(DEFAULT_LOCAL_IMAGE_CACHE),
  },
  "local",
).superRefine((l, ctx) => {
  if (l.egress === "proxy" && !l.aptProxy)
    ctx.addIssue({ code: "custom", path: ["aptProxy"], message: "egress is proxy, so the machines need an apt proxy: set local.aptProxy to http://<host>:<port>, or set local.egress to nat" });
});

/** Schemas by provider. `local` has defaults for everything, so its block may be left out. */
export const providerBlocks = { aws, gcp, digitalocean, openstack, baremetal, local } satisfies Record<ProviderName, z.ZodType>;

export type ParsedBaremetal = z.output<typeof baremetal>;

/** Default host name from its address: `node1.example.com` → `node1`, `10.0.0.5` → `h-10-0-0-5`. */
export function hostNameFrom(address: string): string {
  const isIp = /^[0-9.]+$/.test(address) || address.includes(":");
  const base = (isIp ? address : address.split(".")[0]).toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  return /^[a-z]/.test(base) ? base.slice(0, 63) : `h-${base}`.slice(0, 63);
}
