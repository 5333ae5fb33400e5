// Entry point run by Pulumi's Node.js language host (CommonJS: `export =` of an async function; its
// result is the stack outputs). Data flows one way: stack config → validated model → MesosCluster.
import * as pulumi from "@pulumi/pulumi";
import { loadModel } from "./components/config";
import { MesosCluster } from "./components/cluster";

export = async () => {
  // Throws ConfigError listing every bad key before a single resource is registered.
  const model = loadModel();
  const cluster = new MesosCluster(model.cluster.name, { model });
  return {
    mesosUrl: cluster.mesosUrl,
    marathonUrl: cluster.marathonUrl,
    zookeeper: cluster.zookeeper,
    masters: cluster.masters,
    agents: cluster.agents,
    sshHints: cluster.sshHints,
    adminUser: cluster.adminUser,
    adminPassword: cluster.adminPassword,
  } satisfies Record<string, pulumi.Output<unknown>>;
};
