// Runs the three validation passes (root schema, the chosen provider's block, cross-field rules),
// collects every problem, and assembles the ClusterModel with the provider-specific defaults.
import type * as pulumi from "@pulumi/pulumi";
import { PROVIDERS, type AgentPoolModel, type BaremetalModel, type ClusterModel, type LocalModel, type MastersModel, type ProviderName } from "../model";
import { DEFAULT_CLUSTER_NAME, DEFAULT_LOCAL_NETWORK_CIDR, DEFAULT_MASTER_COUNT, DEFAULT_NETWORK_CIDR, DEFAULT_SIZES, defaultLocalBridge, defaultSshUser } from "./defaults";
import { gatewayOf } from "../topology";
import { problemsFromIssues, type Problem } from "./errors";
import { hostNameFrom, providerBlocks, type ParsedBaremetal } from "./providers";
import { crossFieldRules } from "./rules";
import { rootSchema, type ParsedPool, type ParsedRoot } from "./schema";

export interface ResolvedSecrets {
  clusterSecret?: pulumi.Output<string>;
  sshPrivateKey?: pulumi.Output<string>;
  previousClusterSecret?: pulumi.Output<string>;
}

/** What to type when the chosen provider's block is missing. */
const BLOCK_EXAMPLE: Record<ProviderName, string> = {
  aws: `'elastic-mesos:aws' '{"region":"eu-west-1","zones":["eu-west-1a","eu-west-1b","eu-west-1c"]}'`,
  gcp: `'elastic-mesos:gcp' '{"project":"my-project","region":"europe-west1","zones":["europe-west1-b","europe-west1-c","europe-west1-d"]}'`,
  digitalocean: `'elastic-mesos:digitalocean' '{"region":"fra1"}'`,
  openstack: `'elastic-mesos:openstack' '{"externalNetwork":"public"}'`,
  baremetal: `'elastic-mesos:baremetal' '{"hosts":[{"address":"10.0.0.11","role":"master"},{"address":"10.0.0.21","role":"agent","pool":"general"}]}'`,
  local: `'elastic-mesos:local' '{"egress":"nat"}'`,
};

/** Validates `raw`; returns the model, or undefined with `problems` filled (never both). */
export function buildModel(raw: Record<string, unknown>, secrets: ResolvedSecrets, problems: Problem[]): ClusterModel | undefined {
  const found: Problem[] = [];
  const root = rootSchema.safeParse(raw);
  if (!root.success) found.push(...problemsFromIssues(root.error.issues, raw));

  const provider = (PROVIDERS as readonly unknown[]).includes(raw.provider) ? (raw.provider as ProviderName) : undefined;
  let block: unknown;
  if (provider) {
    const rawBlock = raw[provider];
    if (rawBlock === undefined && provider !== "local") {
      found.push({
        key: provider,
        message: `missing provider block; provider is "${provider}", so set it, e.g. \`pulumi config set ${BLOCK_EXAMPLE[provider]}\``,
      });
    } else {
      const parsed = providerBlocks[provider].safeParse(rawBlock ?? {});
      if (parsed.success) block = parsed.data;
      else found.push(...problemsFromIssues(parsed.error.issues, rawBlock, [provider]));
    }
  }

  const cross = crossFieldRules({ hasClusterSecret: !!secrets.clusterSecret, hasSshPrivateKey: !!secrets.sshPrivateKey }).safeParse(raw);
  if (!cross.success) found.push(...problemsFromIssues(cross.error.issues, raw));

  problems.push(...dedupe(found));
  if (problems.length > 0 || !root.success || !provider) return undefined;
  return assemble(root.data, block, secrets);
}

/** Sorted by key so problems of one key sit together; identical lines reported once. */
function dedupe(found: Problem[]): Problem[] {
  const seen = new Set<string>();
  return found
    .filter((p) => !seen.has(`${p.key}\n${p.message}`) && seen.add(`${p.key}\n${p.message}`))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function assemble(root: ParsedRoot, block: unknown, secrets: ResolvedSecrets): ClusterModel {
  const provider = root.provider;
  const sizes = DEFAULT_SIZES[provider];
  const sshUser = root.ssh.user ?? defaultSshUser(provider, root.os);
  const baremetal = provider === "baremetal" ? baremetalModel(block as ParsedBaremetal, sshUser) : undefined;
  const clusterName = root.cluster.name ?? DEFAULT_CLUSTER_NAME;
  const cidr = root.network.cidr ?? (provider === "local" ? DEFAULT_LOCAL_NETWORK_CIDR : DEFAULT_NETWORK_CIDR);

  const masters: MastersModel = {
    count: baremetal ? (baremetal.hosts.filter((h) => h.role === "master").length as 1 | 3 | 5) : (root.masters.count ?? (DEFAULT_MASTER_COUNT as 3)),
    size: root.masters.size ?? sizes.master,
    diskGb: root.masters.diskGb,
    ...(root.masters.image ? { image: root.masters.image } : {}),
  };
  const agentPools = root.agentPools.map((p: ParsedPool): AgentPoolModel => ({
    ...p,
    count: baremetal ? baremetal.hosts.filter((h) => h.pool === p.name).length : (p.count ?? 0),
    size: p.size ?? sizes.agent,
  }));

  const model: ClusterModel = {
    provider,
    cluster: { name: clusterName },
    os: root.os,
    masters,
    agentPools,
    // Local: only this machine (its address on the stack's bridge) unless the user lists more.
    adminCidrs: root.adminCidrs ?? [`${gatewayOf(cidr)}/32`],
    allowPublicAdmin: root.allowPublicAdmin,
    ssh: {
      user: sshUser,
      ...(root.ssh.publicKey ? { publicKey: root.ssh.publicKey.trim() } : {}),
      ...(secrets.sshPrivateKey ? { privateKey: secrets.sshPrivateKey } : {}),
    },
    network: { cidr, ...(root.network.cidr === undefined ? { defaulted: true as const } : {}) },
    rollout: root.rollout,
    versions: root.versions,
    artifacts: root.artifacts,
    clusterSecret: secrets.clusterSecret!,
    ...(secrets.previousClusterSecret ? { previousClusterSecret: secrets.previousClusterSecret } : {}),
  };
  if (baremetal) model.baremetal = baremetal;
  if (provider === "local") model.local = { ...(block as Omit<LocalModel, "bridge">), bridge: (block as Partial<LocalModel>).bridge ?? defaultLocalBridge(clusterName) };
  else if (provider !== "baremetal") (model as unknown as Record<string, unknown>)[provider] = block;
  return model;
}

function baremetalModel(b: ParsedBaremetal, sshUser: string): BaremetalModel {
  return {
    hosts: b.hosts.map((h) => ({ ...h, name: h.name ?? hostNameFrom(h.address), user: h.user ?? sshUser })),
    bastions: b.bastions.map((x) => ({ ...x, user: x.user ?? sshUser })),
    lostMasters: b.lostMasters,
  };
}
