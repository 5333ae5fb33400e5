// One droplet autoscale pool per agent pool (contracts AgentGroup): a fixed-size pool of `count` droplets, all
// made from one template whose user-data is the pool's rendered bootstrap (the masters' actual addresses in it),
// so DigitalOcean replaces a lost agent by itself and the new droplet joins alone. Arguments as the SDK documents
// them (@pulumi/digitalocean 4.80.1 DropletAutoscale, and the API reference it follows):
// - config.targetNumberInstances: a fixed size, 1 to 1000, "cannot be used with any other config options";
//   a pool of count 0 has no autoscale pool at all (the API takes no empty pool);
// - dropletTemplate: size, region, image (slug) and sshKeys (fingerprints) required; vpcUuid, tags, userData,
//   withDropletAgent (the metrics agent, like the droplets' `monitoring`) optional;
// - a template change is an in-place update of the pool: DigitalOcean boots droplets from the new template and
//   destroys the old ones after the cooldown (10 minutes, fixed for fixed-size pools), with a shutdown event 60 s
//   before each destroy (the agent's clean shutdown drains it).
// Deleting the resource (`pulumi destroy`, or a pool removed or set to 0) deletes the pool with its droplets.
import type * as pulumi from "@pulumi/pulumi";
import type { AgentPoolModel } from "../../model";
import type { AgentGroup, Machine, ProviderArgs } from "../../contracts";
import { poolTag, resourceName } from "../../naming";
import { IMAGE_SLUGS } from "./machines";
import { doSdk } from "./sdk";

export interface PoolDeps {
  vpcUuid: pulumi.Input<string>;
  sshKeyFingerprint: pulumi.Input<string>;
  tags: { nodes: pulumi.Input<string>; agents: pulumi.Input<string> };
  /** The master droplets: the pools' user-data names their addresses. */
  masters: Machine[];
  opts: pulumi.CustomResourceOptions;
}

/**
 * Pure: the pools that get an autoscale pool. The API takes 1 to 1000 (config.target_number_instances); the
 * config already caps a count at 1000, and a count of 0 gets no pool at all.
 */
export function groupedPools(pools: AgentPoolModel[]): AgentPoolModel[] {
  return pools.filter((p) => p.count >= 1);
}

export function createAgentPools(args: ProviderArgs, deps: PoolDeps): AgentGroup[] {
  const { model } = args;
  const cluster = model.cluster.name;
  const Tag = doSdk.Tag();
  const Pool = doSdk.DropletAutoscale();
  return groupedPools(model.agentPools).map((pool) => {
    // The pool's own tag, made before the template names it (the firewall rules go by the cluster tags).
    const tag = new Tag(poolTag(cluster, pool.name), { name: poolTag(cluster, pool.name) }, deps.opts).name;
    const resource = new Pool(
      resourceName(cluster, `${pool.name}-pool`),
      {
        name: resourceName(cluster, pool.name),
        config: { targetNumberInstances: pool.count },
        dropletTemplate: {
          size: pool.size,
          region: model.digitalocean!.region,
          image: pool.image ?? IMAGE_SLUGS[model.os],
          sshKeys: [deps.sshKeyFingerprint],
          vpcUuid: deps.vpcUuid,
          tags: [deps.tags.nodes, deps.tags.agents, tag],
          userData: args.poolUserData(pool.name, undefined, deps.masters),
          withDropletAgent: true,
        },
      },
      deps.opts,
    );
    return { pool: pool.name, desired: pool.count, resource };
  });
}
