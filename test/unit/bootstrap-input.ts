// Builds BootstrapInputs for the bootstrap/render/flags tests: real artifacts and credentials resolved by
// the product's own functions, so the tests see exactly what a deployment would render.
import type { NodeSpec } from "../../components/contracts";
import type { AgentPoolModel, ArtifactOverrides, OsFamily, VersionsModel } from "../../components/model";
import { resolveArtifacts } from "../../provisioning/artifacts";
import { deriveCredentials } from "../../provisioning/credentials";
import type { BootstrapInput } from "../../provisioning/steps/types";

export const VERSIONS: VersionsModel = { mesos: "1.11.0-0.9.0", zookeeper: "3.8.6", marathon: "1.11.24", docker: "27.5.1" };
export const SECRET = "test-cluster-secret-0123456789abcdef";

export interface Shape {
  masters: 1 | 3 | 5;
  os?: OsFamily;
  overrides?: ArtifactOverrides;
  cluster?: string;
}

export const POOLS: Pick<AgentPoolModel, "name" | "resources" | "attributes" | "containerizers">[] = [
  { name: "general", resources: {}, attributes: {}, containerizers: ["docker", "mesos"] },
  { name: "gpu", resources: { cpus: 8, mem: 30000, gpus: 1, ports: "[31000-32000]" }, attributes: { rack: "r1", tier: 2 }, containerizers: ["mesos"] },
  { name: "batch", resources: { cpus: 2 }, attributes: { zone: "eu-west-1a" }, containerizers: ["docker"] },
];

export function masterIp(i: number): string {
  return `10.0.1.${10 + i}`;
}

function base(shape: Shape) {
  const cluster = shape.cluster ?? "prod";
  const os = shape.os ?? "debian-12";
  const masters = Array.from({ length: shape.masters }, (_, k) => ({ id: `m${k + 1}`, zkId: k + 1, ip: masterIp(k + 1), hostname: `${cluster}-m${k + 1}` }));
  return {
    cluster,
    os,
    masters,
    quorum: Math.floor(shape.masters / 2) + 1,
    artifacts: resolveArtifacts(VERSIONS, shape.overrides ?? {}, os),
    credentials: deriveCredentials(SECRET, cluster),
  };
}

function node(id: string, role: "master" | "agent", ordinal: number, extra: Partial<NodeSpec> = {}): NodeSpec {
  return { id, hostname: `prod-${id}`, role, ordinal, size: "m", diskGb: 50, resources: {}, attributes: {}, containerizers: ["mesos"],
    taskUser: role === "agent" ? "mesos-task" : "", ...extra };
}

export function masterInput(shape: Shape, k = 1): BootstrapInput {
  const b = base(shape);
  return { ...b, node: node(`m${k}`, "master", k, { zkId: k, plannedIp: masterIp(k) }) };
}

export function agentInput(shape: Shape, pool = POOLS[0], n = 1, selfIp?: string): BootstrapInput {
  const b = base(shape);
  return {
    ...b,
    ...(selfIp ? { selfIp } : {}),
    node: node(`${pool.name}-${n}`, "agent", n, { pool: pool.name, resources: pool.resources, attributes: pool.attributes, containerizers: pool.containerizers }),
  };
}

/** Every node of a cluster shape: all masters and one agent per pool. */
export function clusterInputs(shape: Shape): BootstrapInput[] {
  return [...Array.from({ length: shape.masters }, (_, k) => masterInput(shape, k + 1)), ...POOLS.map((p) => agentInput(shape, p))];
}
