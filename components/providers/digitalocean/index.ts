// DigitalOcean provider module: VPC → tags → cloud firewalls → the account's SSH key → master droplets
// (bootstrapped over SSH) → one droplet autoscale pool per agent pool (its droplets bootstrap themselves from
// user-data that names the masters' addresses: contracts AgentGroup).
import type * as pulumi from "@pulumi/pulumi";
import type { MachineSet, ProviderArgs, ProviderModule } from "../../contracts";
import { clusterTag, resourceName, roleTag } from "../../naming";
import { doSdk } from "./sdk";
import { createFirewalls } from "./firewall";
import { createDroplet } from "./machines";
import { createAgentPools } from "./pools";
import { accountSshKey } from "./ssh-key";

export const digitalocean: ProviderModule = {
  createMachines(args: ProviderArgs, parent: pulumi.Resource): MachineSet {
    const { model, topology } = args;
    const cluster = model.cluster.name;
    // The token comes from DIGITALOCEAN_TOKEN (or `digitalocean:token` config), never from our config.
    const provider = new (doSdk.Provider())(resourceName(cluster, "digitalocean"), {}, { parent });
    const opts = { parent, provider };
    const Tag = doSdk.Tag();
    const tag = (name: string) => new Tag(name, { name }, opts).name;
    const tags = {
      nodes: tag(clusterTag(cluster)), masters: tag(roleTag(cluster, "master")), agents: tag(roleTag(cluster, "agent")),
    };
    const vpc = createVpc(args, opts);
    const sshKeyFingerprint = accountSshKey(cluster, model.ssh.publicKey!, opts);
    createFirewalls(model, tags, opts);
    const deps = { vpcUuid: vpc.id, sshKeyFingerprint, tags, opts };
    const masters = topology.masters.map((n) => createDroplet(args, n, deps));
    const groups = createAgentPools(args, { ...deps, masters });
    return { machines: masters, groups };
  },
};

/**
 * The cluster VPC, over network.cidr (RFC 1918, /16 to /20: the config refuses the rest before any resource).
 * With network.cidr not set, DigitalOcean picks the range (a /20 that overlaps none of the account's VPCs, where
 * the default 10.42.0.0/16 would clash with a second cluster's): a stack made by an earlier release, which sent
 * the default, keeps its range (ignoreChanges: the range of a VPC cannot change without replacing it).
 * Its deletion waits for its members: DigitalOcean refuses to delete a VPC that still has droplets (403), which
 * the provider retries until the delete timeout, and a pool's droplets go a while after the pool itself.
 */
function createVpc(args: ProviderArgs, opts: pulumi.CustomResourceOptions) {
  const { model } = args;
  const name = resourceName(model.cluster.name, "vpc");
  const assigned = model.network.defaulted === true;
  const range = assigned ? {} : { ipRange: model.network.cidr };
  return new (doSdk.Vpc())(name, { name, region: model.digitalocean!.region, ...range },
    { ...opts, customTimeouts: { delete: "20m" }, ...(assigned ? { ignoreChanges: ["ipRange"] } : {}) });
}
