// GCP agent pools as self-healing groups: per pool an instance template (the pool's bootstrap, rendered once from
// its template node, as the startup script every GCE image runs) and a regional managed instance group over the
// cluster's zones. The group keeps `count` agents (target size), replaces one whose Mesos agent stops answering
// (autohealing on an HTTPS health check of the agent's port 5051), and rolls a template change with the update
// policy below; its agents join by themselves and drain themselves when they shut down. The agents have no
// external address (network.ts: Cloud NAT egress).
import type * as pulumi from "@pulumi/pulumi";
import type { AgentGroup, MasterPublicIps, ProviderArgs } from "../../contracts";
import type { AgentPoolModel, ClusterModel } from "../../model";
import { clusterTag, nodeLabels, poolTag, resourceName, roleTag } from "../../naming";
import { poolTemplateNode } from "../../topology";
import { CLOUD_READY_TIMEOUT_SECONDS } from "../../readiness";
import { slotsFor } from "../../../provisioning/rollout/plan";
import { gcpSdk } from "./sdk";
import { bootMetadata, IMAGE_FAMILIES, loginMetadata } from "./machines";

/** The Mesos agent's port: its /health answers 200 over HTTPS (the cluster CA's certificate; GCE does not verify). */
export const AGENT_PORT = 5051;
/** Where Google's health checkers connect from (its documented ranges for HTTP(S) health checks). */
export const HEALTH_CHECK_RANGES = ["35.191.0.0/16", "130.211.0.0/22"];
/**
 * Seconds a new agent has before its health counts (0..3600): its first boot installs Mesos, the same deadline the
 * cloud readiness gives a first boot. Shorter, and a slow mirror would have the group recreate agents forever.
 */
export const AUTOHEAL_DELAY_SECONDS = CLOUD_READY_TIMEOUT_SECONDS;

export interface UpdateLimits {
  maxSurgeFixed: number;
  maxUnavailableFixed: number;
}

/**
 * Pure: a regional group's rolling-update limits from `rollout.maxUnavailable` (a count, or a percentage of the
 * pool: provisioning/rollout slotsFor, as for SSH-managed agents). GCE accepts a fixed value of 0 or of at least
 * the number of zones (and one of the two above 0); a percentage only for groups of 10 or more. So: fixed values
 * always; at most that many agents unavailable when it reaches the zone count, else none (never more than the
 * user allowed), and new agents made first, one per zone (GCE's own default surge), before old ones go.
 */
export function updateLimits(maxUnavailable: number | string, count: number, zones: number): UpdateLimits {
  const allowed = count > 0 ? slotsFor(maxUnavailable, count) : 0;
  return { maxSurgeFixed: zones, maxUnavailableFixed: allowed >= zones ? allowed : 0 };
}

export interface GroupDeps {
  /** The agents' subnetwork (network.ts). */
  subnetwork: pulumi.Input<string>;
  healthCheck: pulumi.Input<string>;
  opts: pulumi.CustomResourceOptions;
  /** What the templates wait for (the masters' internal address reservations). */
  dependsOn: pulumi.Resource[];
}

/** The health check every group's autohealing uses: the agent's /health on 5051, over HTTPS. */
export function createAgentHealthCheck(model: ClusterModel, network: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions) {
  const compute = gcpSdk.compute();
  const cluster = model.cluster.name;
  const check = new compute.HealthCheck(resourceName(cluster, "agent-health"), {
    httpsHealthCheck: { port: AGENT_PORT, requestPath: "/health" },
    checkIntervalSec: 10,
    timeoutSec: 5,
    healthyThreshold: 2,
    // 30 s without an answer: the group recreates the agent (after AUTOHEAL_DELAY_SECONDS for a new one).
    unhealthyThreshold: 3,
  }, opts);
  // Google's checkers reach the agents' port, nothing else of theirs (GCE drops it without this rule).
  new compute.Firewall(resourceName(cluster, "agent-health-checks"), {
    network, direction: "INGRESS", sourceRanges: HEALTH_CHECK_RANGES, targetTags: [roleTag(cluster, "agent")],
    allows: [{ protocol: "tcp", ports: [String(AGENT_PORT)] }],
  }, opts);
  return check;
}

/** One pool: its template and its regional group (target size = the pool's count). */
export function createAgentGroup(args: ProviderArgs, pool: AgentPoolModel, deps: GroupDeps,
  publicIps: MasterPublicIps): AgentGroup {
  const { model } = args;
  const compute = gcpSdk.compute();
  const cluster = model.cluster.name;
  const g = model.gcp!;
  const node = poolTemplateNode(cluster, pool);
  // Immutable in GCE: any change makes a new template (name from the prefix) before the old one goes, and the
  // group rolls to it; nothing else in the cluster changes.
  const template = new compute.InstanceTemplate(resourceName(cluster, `${pool.name}-template`), {
    namePrefix: `${cluster}-${pool.name}-`,
    machineType: pool.size,
    disks: [{ boot: true, autoDelete: true, sourceImage: pool.image ?? IMAGE_FAMILIES[model.os],
      diskSizeGb: pool.diskGb }],
    // No access config: no external address (Cloud NAT, network.ts).
    networkInterfaces: [{ subnetwork: deps.subnetwork }],
    metadata: bootMetadata(args.poolUserData(pool.name, publicIps))
      .apply((boot) => ({ ...boot, ...loginMetadata(model) })),
    tags: [clusterTag(cluster), roleTag(cluster, "agent"), poolTag(cluster, pool.name)],
    labels: nodeLabels(cluster, node),
    shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
  }, { ...deps.opts, dependsOn: deps.dependsOn });
  const group = new compute.RegionInstanceGroupManager(resourceName(cluster, `${pool.name}-group`), {
    name: `${cluster}-${pool.name}`,
    baseInstanceName: `${cluster}-${pool.name}`,
    region: g.region,
    distributionPolicyZones: g.zones,
    versions: [{ name: "current", instanceTemplate: template.selfLinkUnique }],
    targetSize: pool.count,
    updatePolicy: {
      type: "PROACTIVE",
      // A new template means new agents (its bootstrap runs at a first boot only).
      minimalAction: "REPLACE",
      replacementMethod: "SUBSTITUTE",
      ...updateLimits(model.rollout.maxUnavailable, pool.count, g.zones.length),
    },
    autoHealingPolicies: { healthCheck: deps.healthCheck, initialDelaySec: AUTOHEAL_DELAY_SECONDS },
  }, deps.opts);
  return { pool: pool.name, desired: pool.count, resource: group };
}
