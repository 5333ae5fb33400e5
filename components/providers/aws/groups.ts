// Agent pools as EC2 Auto Scaling groups (contracts AgentGroup): per pool one launch template and one group
// across the zones' agent subnets, and a terminate lifecycle hook.
//
// - Heals: min = desired = the pool's count, and nothing else ever changes the group's size (no scaling policy),
//   so the group only replaces: an instance that fails its EC2 status checks, or that someone terminated, is
//   replaced by a new one that boots from the pool's user-data and joins by itself. The count is the config's:
//   raising or lowering it changes that group's desired (and min/max) size and nothing else.
// - Rolls: every change of the launch template (the pool's user-data, i.e. any change of what its agents run;
//   its size, disk, image; a newer OS image from the publisher) is a new template version, the group points at
//   that version, and the provider starts an instance refresh (a change of `launchTemplate` is one of its
//   triggers). It replaces the pool's instances keeping at least `minHealthyPercentage` of them in service: the
//   config's rollout.maxUnavailable (refreshPreferences). `pulumi up` does not wait for the refresh to finish.
// - Drains: a terminate lifecycle hook keeps a leaving instance (scale-in, refresh, a replaced unhealthy one, the
//   group's deletion) in Terminating:Wait for TERMINATE_HOOK_SECONDS. Nothing in the instance shuts down by
//   itself then, so the group's user-data carries a watcher (TERMINATE_WATCH_UNIT) that polls the instance
//   metadata's autoscaling/target-lifecycle-state (AWS: "Retrieve the target lifecycle state through instance
//   metadata") and powers the machine off as soon as it reads "Terminated": the shutdown runs the agent's own
//   drain (provisioning/steps/agent-drain.ts: DRAIN_AGENT with the agent's scoped "drain" credential, bounded by
//   AGENT_DRAIN_SECONDS) before mesos-agent stops. An OS-initiated poweroff has no EC2 deadline (a terminate does),
//   so the drain gets its full bound. The lifecycle action is NOT completed by anyone: no instance profile or
//   AWS credential is given to the machines, so the instance stays (stopped) in Terminating:Wait until the
//   heartbeat runs out, and the hook's default result CONTINUE then terminates it. Each leaving agent therefore
//   takes TERMINATE_HOOK_SECONDS, however fast it drained (a refresh of N agents one at a time: about N times
//   that, plus each new agent's warm-up).
import * as pulumi from "@pulumi/pulumi";
import { parse, stringify } from "yaml";
import type { AgentGroup, MasterPublicIps, ProviderArgs } from "../../contracts";
import type { AgentPoolModel, ClusterModel } from "../../model";
import { resourceName } from "../../naming";
import { awsUserData } from "../../../provisioning/render/cloud-config";
import { DRAIN_TIMEOUT_S } from "../../../provisioning/steps/agent-drain";
import type { AwsImage } from "./ami";
import { awsSdk } from "./sdk";

/** The bound of the agent's own drain at shutdown (mesos-agent-drain.service). */
export const AGENT_DRAIN_SECONDS = DRAIN_TIMEOUT_S;
/**
 * How long a leaving instance waits in Terminating:Wait: the watcher's poll, the agent's bounded drain and the
 * rest of the shutdown. AWS takes 30 to 7200 s (PutLifecycleHook HeartbeatTimeout).
 */
export const TERMINATE_HOOK_SECONDS = AGENT_DRAIN_SECONDS + 180;
/** Seconds after a new instance is in service before a refresh moves on: its first boot (install, registration). */
export const AGENT_WARMUP_SECONDS = 600;
/** How often the watcher reads the target lifecycle state. */
export const TERMINATE_WATCH_POLL_SECONDS = 5;
export const TERMINATE_WATCH_UNIT = "em-asg-watch.service";

export interface AwsGroupDeps {
  /** The agents' subnets, one per zone (private behind NAT, or public: network.ts). */
  subnetIds: pulumi.Input<string>[];
  nodesSgId: pulumi.Input<string>;
  keyName: pulumi.Input<string>;
  image: (image?: string) => pulumi.Output<AwsImage>;
  opts: pulumi.CustomResourceOptions;
  /** What the groups wait for (the masters' address reservations: no agent may take a master's address). */
  dependsOn: pulumi.Resource[];
}

export interface RefreshPercentages {
  minHealthyPercentage: number;
  maxHealthyPercentage: number;
}

/**
 * Instance refresh preferences from rollout.maxUnavailable for a pool of `desired` agents. AWS keeps
 * ceil(min% × desired) instances healthy (RefreshPreferences: "rounded up to the nearest integer"). "P%" is
 * min 100 − P. A count N is the largest min that keeps desired − N healthy: floor(100 × (desired − N) / desired),
 * one more where rounding would let more than N go (pools above 100 agents). Where that keeps every instance
 * (N below 1% of a large pool), nothing could be replaced, so the refresh launches first: max 101 (AWS: max 100
 * to 200, at most 100 above min). A count makes the percentages follow the pool's count: changing the count
 * updates them in place (no refresh starts: only launchTemplate, mixedInstancesPolicy or listed triggers do).
 */
export function refreshPreferences(maxUnavailable: number | string, desired: number): RefreshPercentages {
  if (typeof maxUnavailable === "string") {
    const p = Number(maxUnavailable.replace(/%$/, ""));
    return { minHealthyPercentage: 100 - p, maxHealthyPercentage: 100 };
  }
  const keep = desired - maxUnavailable;
  if (keep <= 0) return { minHealthyPercentage: 0, maxHealthyPercentage: 100 };
  let min = Math.floor((100 * keep) / desired);
  if (Math.ceil((min * desired) / 100) < keep) min += 1;
  return { minHealthyPercentage: min, maxHealthyPercentage: Math.ceil((min * desired) / 100) >= desired ? 101 : 100 };
}

/** Instances a refresh may launch above `desired` (maxHealthyPercentage over 100): the group's max size allows them. */
export function surgeOf(prefs: RefreshPercentages, desired: number): number {
  return Math.ceil((desired * (prefs.maxHealthyPercentage - 100)) / 100);
}

/**
 * The watcher's script, one line: polls the target lifecycle state (IMDSv2: a token first) and powers off on
 * "Terminated". Terse on purpose: it travels in the pool's user-data, whose cloud-config nearly fills EC2's 16 KB.
 */
export function terminateWatchScript(): string {
  const u = "http://169.254.169.254/latest";
  const state = "$u/meta-data/autoscaling/target-lifecycle-state";
  return `u=${u};while sleep ${TERMINATE_WATCH_POLL_SECONDS};do ` +
    `t=$(curl -sfm2 -XPUT -H"X-aws-ec2-metadata-token-ttl-seconds: 300" $u/api/token);` +
    `[ "$(curl -sfm2 -H"X-aws-ec2-metadata-token: $t" ${state})" = Terminated ]` +
    "&&exec systemctl poweroff;done";
}

/**
 * The watcher's unit: the script inline (systemd reads `$$` as `$` in ExecStart; the script has no `'` or `%`,
 * which the quoting and systemd's specifiers would take), restarted if it ever stops, started at every boot.
 */
export function terminateWatchUnit(): string {
  const script = terminateWatchScript();
  if (/['%\\]/.test(script)) throw new Error("terminate watcher: the script may not hold ', % or \\");
  return `[Service]\nExecStart=/bin/sh -c '${script.replace(/\$/g, "$$$$")}'\nRestart=always\n` +
    "[Install]\nWantedBy=multi-user.target\n";
}

/**
 * A group's user-data: the pool's #cloud-config with the watcher's unit added (a write_files entry, and its
 * enabling first in runcmd, before the first-boot unit), gzip'ed and base64'ed as every AWS user-data here (EC2
 * takes 16 KB before base64). The document is re-serialized as the renderer writes it (yaml, lineWidth 0), its
 * leading comment lines kept.
 */
export function groupUserData(cloudConfig: string, pool = "a pool"): string {
  const lines = cloudConfig.split("\n");
  const first = lines.findIndex((l) => !l.startsWith("#"));
  const doc = parse(lines.slice(first).join("\n")) as { write_files?: object[]; runcmd?: unknown[] };
  doc.write_files = [...(doc.write_files ?? []),
    { path: `/etc/systemd/system/${TERMINATE_WATCH_UNIT}`, content: terminateWatchUnit() }];
  doc.runcmd = [`systemctl enable --now ${TERMINATE_WATCH_UNIT}`, ...(doc.runcmd ?? [])];
  return awsUserData(`${lines.slice(0, first).join("\n")}\n${stringify(doc, { lineWidth: 0 })}`, `pool ${pool}`);
}

/** Tags of a pool's group, template and the instances and volumes it launches (no node id: they have none). */
export function groupTags(cluster: string, pool: string): Record<string, string> {
  return {
    Name: resourceName(cluster, pool),
    "elastic-mesos-cluster": cluster,
    "elastic-mesos-role": "agent",
    "elastic-mesos-pool": pool,
  };
}

/** One pool's launch template, Auto Scaling group and terminate hook. */
export function createAgentGroup(args: ProviderArgs, pool: AgentPoolModel, deps: AwsGroupDeps,
  masterPublicIps: MasterPublicIps): AgentGroup {
  const model: ClusterModel = args.model;
  const cluster = model.cluster.name;
  const autoscaling = awsSdk.autoscaling();
  const tags = groupTags(cluster, pool.name);
  const image = deps.image(pool.image);

  const template = new (awsSdk.ec2().LaunchTemplate)(
    resourceName(cluster, `${pool.name}-template`),
    {
      description: `elastic-mesos ${cluster}: agents of pool ${pool.name}`,
      imageId: image.apply((i) => i.id),
      instanceType: pool.size,
      keyName: deps.keyName,
      vpcSecurityGroupIds: [deps.nodesSgId],
      userData: pulumi.output(args.poolUserData(pool.name, masterPublicIps)).apply((u) => groupUserData(u, pool.name)),
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
      blockDeviceMappings: [{
        deviceName: image.apply((i) => i.rootDeviceName),
        ebs: { volumeSize: pool.diskGb, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
      }],
      tagSpecifications: [{ resourceType: "instance", tags }, { resourceType: "volume", tags }],
      updateDefaultVersion: true,
      tags,
    },
    deps.opts,
  );

  const desired = pool.count;
  const prefs = refreshPreferences(model.rollout.maxUnavailable, desired);
  // Deleting the group waits for its instances, each kept TERMINATE_HOOK_SECONDS by the hook (provider's default
  // delete timeout: 10 minutes).
  const deleteMinutes = Math.ceil(TERMINATE_HOOK_SECONDS / 60) + 10;
  const group = new autoscaling.Group(
    resourceName(cluster, `${pool.name}-group`),
    {
      vpcZoneIdentifiers: deps.subnetIds,
      desiredCapacity: desired,
      minSize: desired,
      maxSize: desired + surgeOf(prefs, desired),
      // The template version, not "$Latest": a new version is a change of launchTemplate, which starts a refresh.
      launchTemplate: { id: template.id, version: template.latestVersion.apply((v) => `${v}`) },
      healthCheckType: "EC2",
      defaultInstanceWarmup: AGENT_WARMUP_SECONDS,
      instanceRefresh: {
        strategy: "Rolling",
        preferences: { ...prefs, skipMatching: true },
        // Terraform attribute names (the provider's d.HasChanges): new subnets (aws.agentEgress changed) roll the
        // agents into them; a new template version always starts a refresh without being listed.
        triggers: ["vpc_zone_identifier"],
      },
      tags: Object.entries(tags).map(([key, value]) => ({ key, value, propagateAtLaunch: false })),
    },
    { ...deps.opts, dependsOn: deps.dependsOn, customTimeouts: { delete: `${deleteMinutes}m` } },
  );

  // A resource of its own (initialLifecycleHooks are read at the group's creation only), kept while the group is
  // deleted (deletedWith: Pulumi would otherwise delete it first, and the group's last instances would leave
  // without waiting for their drain).
  new autoscaling.LifecycleHook(
    resourceName(cluster, `${pool.name}-drain-hook`),
    {
      autoscalingGroupName: group.name,
      lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
      heartbeatTimeout: TERMINATE_HOOK_SECONDS,
      defaultResult: "CONTINUE",
    },
    { ...deps.opts, deletedWith: group },
  );
  return { pool: pool.name, desired, resource: group };
}
