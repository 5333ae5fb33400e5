// Entry point run by Pulumi's Node.js language host (CommonJS: `export =` of an async function; its
// result is the stack outputs). Data flows one way: stack config → validated model → MesosCluster
// (machines → bootstrap → readiness → outputs). `pulumi up` returns once the cluster is healthy.
import * as pulumi from "@pulumi/pulumi";
import { loadModel } from "./components/config";
import { MesosCluster } from "./components/cluster";
import { createSshBootstrap } from "./provisioning/baremetal";
import { localPreflight } from "./provisioning/local/preflight";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";

/** What a cluster built from the project's test mirror is, in its output and its stack outputs. */
const STAND_INS =
  "TEST STAND-INS: Mesos and Marathon on this cluster are the project's test fixtures, not Apache Mesos or " +
  "Marathon (no package source was reachable from this machine, so `npm run up` used the project's test " +
  "mirror). ZooKeeper, SSH, systemd and TLS are real. Set artifacts.mirror or artifacts.offlineBundle (or run " +
  "where Clusterd's repository and Docker Hub answer) to install the real ones.";

/** True under `pulumi.runtime.setMocks` (test/program), where no resource is really created. */
function mocked(): boolean {
  return pulumi.runtime.getMonitor() instanceof MockMonitor;
}

export = async () => {
  // Throws ConfigError listing every bad key before a single resource is registered.
  const model = loadModel();
  // Local machines are made on this machine: check it can (root or sudo, tools, cgroups, memory, disk, bridge
  // and subnet free) before the first resource, too. Under Pulumi's mocks (the program tests) nothing is made.
  if (model.provider === "local" && !mocked()) localPreflight(model as Parameters<typeof localPreflight>[0]);
  // baremetal, local and digitalocean are installed over SSH (one resource per host, then readiness);
  // aws, gcp and openstack install themselves with cloud-init and MesosCluster waits for their health.
  const cluster = new MesosCluster(model.cluster.name, { model, sshBootstrap: createSshBootstrap });
  // `npm run up` on a machine with no package source installs the project's test mirror: say so loudly.
  if (model.artifacts.testStandIns) void pulumi.log.warn(STAND_INS);
  return {
    ...(model.artifacts.testStandIns ? { testStandIns: pulumi.output(STAND_INS) } : {}),
    mesosUrl: cluster.mesosUrl,
    mesosUrls: cluster.mesosUrls,
    marathonUrl: cluster.marathonUrl,
    zookeeper: cluster.zookeeper,
    masters: cluster.masters,
    agents: cluster.agents,
    // Pools run as self-healing groups (AWS, GCP, DigitalOcean): desired size and group, no addresses.
    ...(cluster.groups.length ? { agentGroups: cluster.agentGroups } : {}),
    sshHints: cluster.sshHints,
    adminUser: cluster.adminUser,
    adminPassword: cluster.adminPassword,
    caCertificate: cluster.caCertificate,
  } satisfies Record<string, pulumi.Output<unknown>>;
};
