// AWS provider module: network → security groups → key pair → instances.
import type { MachineSet, ProviderArgs, ProviderModule } from "../../contracts";
import type * as pulumi from "@pulumi/pulumi";
import { networkPlanFor } from "../../topology";
import { resourceName } from "../../naming";
import { awsSdk } from "./sdk";
import { createNetwork } from "./network";
import { createFirewall } from "./firewall";
import { amiResolver, createInstance } from "./machines";

export const aws: ProviderModule = {
  createMachines(args: ProviderArgs, parent: pulumi.Resource): MachineSet {
    const { model, topology } = args;
    const cluster = model.cluster.name;
    // An explicit provider pins the region from the model instead of ambient `aws:region` config.
    const provider = new (awsSdk.Provider())(resourceName(cluster, "aws"), { region: model.aws!.region }, { parent });
    const opts = { parent, provider };

    const net = createNetwork(model, networkPlanFor(model)!, opts);
    const fw = createFirewall(model, net.vpcId, opts);
    const key = new (awsSdk.ec2().KeyPair)(resourceName(cluster, "key"), { publicKey: model.ssh.publicKey!, tags: { "elastic-mesos-cluster": cluster } }, opts);
    const subnetIdByZone = new Map(model.aws!.zones.map((z, i) => [z, net.subnetIds[i]] as const));
    const deps = { subnetIdByZone, nodesSgId: fw.nodesSgId, mastersSgId: fw.mastersSgId, keyName: key.keyName, opts };
    const ami = amiResolver(model, { parent, provider });

    const machines = [...topology.masters, ...topology.agents].map((node) => createInstance(args, node, deps, ami));
    return { machines };
  },
};
