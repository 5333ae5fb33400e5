// AWS provider module: masters' pins → network → security groups → key pair → masters' Elastic IPs and
// address reservations → instances.
import type { MachineSet, NodeSpec, ProviderArgs, ProviderModule } from "../../contracts";
import type * as pulumi from "@pulumi/pulumi";
import { networkPlanFor } from "../../topology";
import { resourceName } from "../../naming";
import { awsSdk } from "./sdk";
import { createNetwork } from "./network";
import { createFirewall } from "./firewall";
import { amiResolver, createInstance, reserveAddress, reserveMasterIp } from "./machines";
import { pinMasters } from "../master-pin";

export const aws: ProviderModule = {
  createMachines(args: ProviderArgs, parent: pulumi.Resource): MachineSet {
    const { model, topology } = args;
    const cluster = model.cluster.name;
    // An explicit provider pins the region from the model instead of ambient `aws:region` config.
    const provider = new (awsSdk.Provider())(resourceName(cluster, "aws"), { region: model.aws!.region }, { parent });
    const opts = { parent, provider };
    // First: a refused master change (masters.size, zones...) stops the engine before anything below.
    const pins = pinMasters(model, topology, "aws", parent);

    const net = createNetwork(model, networkPlanFor(model)!, opts);
    const fw = createFirewall(model, net.vpcId, opts);
    const key = new (awsSdk.ec2().KeyPair)(resourceName(cluster, "key"), { publicKey: model.ssh.publicKey!, tags: { "elastic-mesos-cluster": cluster } }, opts);
    const subnetIdByZone = new Map(model.aws!.zones.map((z, i) => [z, net.subnetIds[i]] as const));
    const deps = { subnetIdByZone, nodesSgId: fw.nodesSgId, mastersSgId: fw.mastersSgId, keyName: key.keyName, opts };
    const ami = amiResolver(model, { parent, provider });

    const eips = new Map(topology.masters.map((n) => [n.id, reserveAddress(model, n, opts)] as const));
    const publicIps = Object.fromEntries([...eips].map(([id, eip]) => [id, eip.publicIp]));
    // No agent can be given a master's planned address by EC2's automatic assignment: the reservations exist
    // before any instance is launched (a master waits for its pin and its reservation, an agent for them all).
    const reserved = topology.masters.map((n) => reserveMasterIp(n, subnetIdByZone.get(n.zone!)!, opts));
    const waitFor = (node: NodeSpec) => node.role === "master"
      ? [pins.get(node.id)!, reserved[topology.masters.indexOf(node)]] : reserved;
    const machines = [...topology.masters, ...topology.agents]
      .map((node) => createInstance(args, node, deps, ami, publicIps, eips.get(node.id), waitFor(node)));
    return { machines };
  },
};
