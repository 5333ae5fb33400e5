// Names and labels shared by every provider, so a node is recognisable the same way on every cloud.
import type { NodeSpec } from "./contracts";

/** Pulumi resource name of a cluster-wide resource: `${cluster}-${what}` ("prod-vpc"). */
export function resourceName(cluster: string, what: string): string {
  return `${cluster}-${what}`;
}

/** Key/value labels of a node (AWS tags, GCP labels, OpenStack metadata). */
export function nodeLabels(cluster: string, node: NodeSpec): Record<string, string> {
  return {
    "elastic-mesos-cluster": cluster,
    "elastic-mesos-role": node.role,
    "elastic-mesos-node": node.id,
    ...(node.pool ? { "elastic-mesos-pool": node.pool } : {}),
  };
}

/** Flat tags for clouds that only have tag names (DigitalOcean, GCP network tags). */
export function clusterTag(cluster: string): string {
  return `elastic-mesos-${cluster}`;
}
export function roleTag(cluster: string, role: NodeSpec["role"]): string {
  return `elastic-mesos-${cluster}-${role}`;
}
export function poolTag(cluster: string, pool: string): string {
  return `elastic-mesos-${cluster}-pool-${pool}`;
}

/** Ports users reach from the admin CIDRs: SSH, the Mesos master UI/API, Marathon. Nothing else. */
/** Mesos 5050 and Marathon 8443 serve HTTPS only (Marathon's plain 8080 is off: --disable_http). */
export const ADMIN_PORTS = { ssh: 22, mesos: 5050, marathon: 8443 } as const;
