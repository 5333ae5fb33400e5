// DigitalOcean provider module: VPC (ip range = network.cidr) → tags → cloud firewalls → droplets.
import type * as pulumi from "@pulumi/pulumi";
import type { MachineSet, ProviderArgs, ProviderModule } from "../../contracts";
import { clusterTag, resourceName, roleTag } from "../../naming";
import { doSdk } from "./sdk";
import { createFirewalls } from "./firewall";
import { createDroplet } from "./machines";
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
    const tags = { nodes: tag(clusterTag(cluster)), masters: tag(roleTag(cluster, "master")), agents: tag(roleTag(cluster, "agent")) };
    const vpc = new (doSdk.Vpc())(resourceName(cluster, "vpc"), { name: resourceName(cluster, "vpc"), region: model.digitalocean!.region, ipRange: model.network.cidr }, opts);
    // The account's key of this fingerprint when there is one (DigitalOcean refuses a second: 422), else ours.
    const sshKeyFingerprint = accountSshKey(cluster, model.ssh.publicKey!, opts);
    createFirewalls(model, tags, opts);
    const deps = { vpcUuid: vpc.id, sshKeyFingerprint, tags, opts };
    return { machines: [...topology.masters, ...topology.agents].map((n) => createDroplet(args, n, deps)) };
  },
};
