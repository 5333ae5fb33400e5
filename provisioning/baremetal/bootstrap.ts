// The SSH bootstrap for existing hosts (baremetal, local lab): one MesosHost per node running its
// rendered steps, masters first, agents after every master is up, then one readiness resource.
// This is the function MesosCluster calls through its `sshBootstrap` seam (components/cluster.ts).
import * as pulumi from "@pulumi/pulumi";
import type { SshBootstrapInput } from "../../components/cluster";
import type { Machine } from "../../components/contracts";
import { matchHosts } from "../../components/providers/baremetal";
import type { BaremetalHostModel, ClusterModel } from "../../components/model";
import { resolveArtifacts } from "../artifacts";
import { renderStepScripts } from "../render/ssh-plan";
import { renderSteps } from "../steps";
import type { BootstrapInput, Credentials } from "../steps/types";
import { ClusterReadiness } from "../health/readiness";
import { DEFAULT_PORTS } from "../health/probes";
import { cleanupPlan } from "./cleanup";
import { MesosHost } from "./resource";
import type { CleanupPlan, HostConnection, HostInputs } from "./types";

export interface SshBootstrapOptions {
  /** Seconds to wait for tasks to leave a removed agent. Default 600. */
  drainTimeoutSeconds?: number;
  /** Seconds the readiness check waits. Default 900. */
  readyTimeoutSeconds?: number;
  /** Seconds per step. Default 900. */
  stepTimeoutSeconds?: number;
}

/** Connection of a machine: its `baremetal.hosts` entry when there is one, else its address, port 22, `ssh.user`. */
export function connectionFor(model: ClusterModel, m: Machine): pulumi.Output<HostConnection> {
  const hosts = model.baremetal?.hosts ?? [];
  // The same host the provider module gave this node (the k-th host of its role or pool plays node k).
  const host: BaremetalHostModel | undefined = hosts.length ? matchHosts(model, [m.node])[0].host : undefined;
  if (!host) {
    return pulumi.output(m.publicIp ?? m.privateIp).apply((address) => ({ host: address, port: 22, user: model.ssh.user }));
  }
  const bastion = host.bastion ? model.baremetal!.bastions.find((b) => b.name === host.bastion) : undefined;
  if (host.bastion && !bastion) throw new Error(`baremetal.hosts[${hosts.indexOf(host)}].bastion: no bastion named "${host.bastion}" in baremetal.bastions`);
  return pulumi.output({
    host: host.address, port: host.port, user: host.user, hostKeyFingerprint: host.hostKeyFingerprint,
    configPath: `baremetal.hosts[${hosts.indexOf(host)}]`,
    bastion: bastion && { name: bastion.name, host: bastion.address, port: bastion.port, user: bastion.user, hostKeyFingerprint: bastion.hostKeyFingerprint },
  });
}

/** The admin HTTP principal of the bootstrap (provisioning/steps: Mesos and Marathon basic auth). */
export const ADMIN_USER = "admin";

/** Pure: the node as the provider records it (no credential in it). */
export function hostNodeOf(b: BootstrapInput, connection: HostConnection): HostInputs["node"] {
  return { id: b.node.id, role: b.node.role, pool: b.node.pool, hostname: b.node.hostname, ip: b.selfIp ?? connection.host };
}

/** Pure: how an agent is drained before removal (masters' addresses and ports, no credential). */
export function drainSpecOf(role: "master" | "agent", masterIps: string[], opts: SshBootstrapOptions = {}): HostInputs["drain"] {
  return role === "agent"
    ? { masters: masterIps, masterPort: DEFAULT_PORTS.mesos, agentPort: 5051, timeoutSeconds: opts.drainTimeoutSeconds ?? 600 }
    : undefined;
}

/**
 * Stand-in credentials for what does not depend on their values: the cleanup plan lists paths, units,
 * users and packages, never file contents. Rendering it from these (not the real ones) keeps it out of
 * the secret apply, so `pulumi preview` shows it, and it can never carry a credential by construction.
 */
const PLACEHOLDER = "not-a-credential";
const NO_CREDENTIALS: Credentials = { agentSecret: PLACEHOLDER, marathonSecret: PLACEHOLDER, adminPassword: PLACEHOLDER, zkMesosPassword: PLACEHOLDER, zkMarathonPassword: PLACEHOLDER };

/** Pure: what `delete` removes for this node, from its steps rendered without credentials. */
export function cleanupPlanOf(b: BootstrapInput): CleanupPlan {
  return cleanupPlan(renderSteps({ ...b, credentials: NO_CREDENTIALS }));
}

/**
 * Pure: a node's provider inputs from its bootstrap input. Used by the lab tests and the benchmark, so they
 * drive exactly what `pulumi up` would (createSshBootstrap assembles the same values, split by secrecy).
 */
export function hostInputsFor(b: BootstrapInput, connection: HostConnection, masterIps: string[], opts: SshBootstrapOptions = {}): HostInputs {
  return {
    cluster: b.cluster,
    node: hostNodeOf(b, connection),
    connection,
    steps: renderStepScripts(renderSteps(b)),
    cleanup: cleanupPlanOf(b),
    drain: drainSpecOf(b.node.role, masterIps, opts),
    adminUser: ADMIN_USER,
    adminPassword: b.credentials.adminPassword,
    stepTimeoutSeconds: opts.stepTimeoutSeconds ?? 900,
  };
}

/** The SshBootstrap seam: returns every host resource and the readiness resource. */
export function createSshBootstrap(input: SshBootstrapInput, opts: SshBootstrapOptions = {}): pulumi.Resource[] {
  const { name, model, topology, machines, credentials, parent } = input;
  const artifacts = resolveArtifacts(model.versions, model.artifacts, model.os);
  const masterMachines = topology.masters.map((n) => machines.find((m) => m.node.id === n.id)!);
  const masterIps = pulumi.all(masterMachines.map((m) => m.privateIp));
  const adminPassword = pulumi.secret(credentials.apply((c) => c.adminPassword));

  const host = (m: Machine, dependsOn: pulumi.Resource[]) => {
    const connection = connectionFor(model, m);
    const bootstrapInput = (c: Credentials, ips: string[], selfIp: string): BootstrapInput => ({
      cluster: model.cluster.name, os: model.os, node: m.node, selfIp, quorum: topology.quorum, artifacts, credentials: c,
      masters: topology.masters.map((n, i) => ({ id: n.id, zkId: n.zkId!, ip: ips[i], hostname: n.hostname })),
    });
    // Two applies: only the step scripts carry credentials (and come out secret); the node, its cleanup plan
    // and its drain settings are computed without them, so diffs and previews show their real values.
    const steps = pulumi.secret(pulumi.all([credentials, masterIps, m.privateIp]).apply(([c, ips, selfIp]) =>
      renderStepScripts(renderSteps(bootstrapInput(c, ips, selfIp)))));
    const plain = pulumi.all([masterIps, m.privateIp, connection]).apply(([ips, selfIp, conn]) => {
      const b = bootstrapInput(NO_CREDENTIALS, ips, selfIp);
      return { node: hostNodeOf(b, conn as HostConnection), cleanup: cleanupPlanOf(b), drain: drainSpecOf(m.node.role, ips, opts) };
    });
    return new MesosHost(`${m.node.hostname}-bootstrap`, {
      cluster: model.cluster.name,
      node: plain.apply((i) => i.node),
      connection,
      steps,
      cleanup: plain.apply((i) => i.cleanup),
      drain: m.node.role === "agent" ? plain.apply((i) => i.drain!) : undefined,
      adminUser: ADMIN_USER,
      adminPassword,
      stepTimeoutSeconds: opts.stepTimeoutSeconds ?? 900,
    }, { parent, dependsOn: [m.resource, ...dependsOn] });
  };

  // Masters together (ZooKeeper's gate needs its peers), agents once every master is through.
  const masters = masterMachines.map((m) => host(m, []));
  const agents = topology.agents.map((n) => host(machines.find((m) => m.node.id === n.id)!, masters));
  const all = [...masters, ...agents];

  const readiness = new ClusterReadiness(`${name}-ready`, {
    cluster: model.cluster.name,
    masters: pulumi.all(masterMachines.map((m, i) => pulumi.all([m.privateIp, connectionFor(model, m), masters[i].hostKey])
      .apply(([ip, connection, key]) => ({ id: m.node.id, ip, connection: connection as HostConnection, hostKeyFingerprint: key?.fingerprint })))),
    agents: pulumi.all(topology.agents.map((n) => pulumi.output(machines.find((m) => m.node.id === n.id)!.privateIp)
      .apply((ip) => ({ id: n.id, pool: n.pool, hostname: n.hostname, ip })))),
    quorum: topology.quorum,
    ports: DEFAULT_PORTS,
    adminUser: ADMIN_USER,
    adminPassword,
    timeoutSeconds: opts.readyTimeoutSeconds ?? 900,
    generation: pulumi.all(all.map((h) => h.stepHashes)).apply((hs) => JSON.stringify(hs)),
  }, { parent, dependsOn: all });
  return [...all, readiness];
}
