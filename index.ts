// Entry point run by Pulumi's Node.js language host (CommonJS: `export =` of an async function; its
// result is the stack outputs). Data flows one way: stack config → validated model → MesosCluster
// (machines → bootstrap → readiness → outputs). `pulumi up` returns once the cluster is healthy.
import * as pulumi from "@pulumi/pulumi";
import { loadModel } from "./components/config";
import { MesosCluster } from "./components/cluster";
import { createSshBootstrap } from "./provisioning/baremetal";

export = async () => {
  // Throws ConfigError listing every bad key before a single resource is registered.
  const model = loadModel();
  // baremetal, local and digitalocean are installed over SSH (one resource per host, then readiness);
  // aws, gcp and openstack install themselves with cloud-init and MesosCluster waits for their health.
  const cluster = new MesosCluster(model.cluster.name, { model, sshBootstrap: createSshBootstrap });
  return {
    mesosUrl: cluster.mesosUrl,
    mesosUrls: cluster.mesosUrls,
    marathonUrl: cluster.marathonUrl,
    zookeeper: cluster.zookeeper,
    masters: cluster.masters,
    agents: cluster.agents,
    sshHints: cluster.sshHints,
    adminUser: cluster.adminUser,
    adminPassword: cluster.adminPassword,
    caCertificate: cluster.caCertificate,
  } satisfies Record<string, pulumi.Output<unknown>>;
};
