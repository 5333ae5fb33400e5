// AWS provider module: masters' pins → network → security groups → key pair → masters' Elastic IPs and
// address reservations → master instances; every agent pool an Auto Scaling group (groups.ts).
import type { MachineSet, NodeSpec, ProviderArgs, ProviderModule } from "../../contracts";
import type * as pulumi from "@pulumi/pulumi";
import { networkPlanFor } from "../../topology";
import { resourceName } from "../../naming";
import { awsSdk } from "./sdk";
import { createNetwork, privateSubnetCidrs } from "./network";
import { createFirewall } from "./firewall";
import { createInstance, imageResolver, reserveAddress, reserveMasterIp } from "./machines";
import { createAgentGroup } from "./groups";
import { pinMasters } from "../master-pin";

export const aws: ProviderModule = {
  createMachines(args: ProviderArgs, parent: pulumi.Resource): MachineSet {
    const { model, topology } = args;
    const cluster = model.cluster.name;
    const plan = networkPlanFor(model)!;
    // Before any resource: a cluster network with no room for the agents' private subnets is refused here.
    privateSubnetCidrs(model, plan);
    // An explicit provider pins the region from the model instead of ambient `aws:region` config.
    const provider = new (awsSdk.Provider())(resourceName(cluster, "aws"), { region: model.aws!.region }, { parent });
    const opts = { parent, provider };
    // First: a refused master change (masters.size, zones...) stops the engine before anything below.
    const pins = pinMasters(model, topology, "aws", parent);

    const net = createNetwork(model, plan, opts);
    const fw = createFirewall(model, net.vpcId, opts);
    const key = new (awsSdk.ec2().KeyPair)(resourceName(cluster, "key"), { publicKey: model.ssh.publicKey!, tags: { "elastic-mesos-cluster": cluster } }, opts);
    const subnetIdByZone = new Map(model.aws!.zones.map((z, i) => [z, net.subnetIds[i]] as const));
    const deps = { subnetIdByZone, nodesSgId: fw.nodesSgId, mastersSgId: fw.mastersSgId, keyName: key.keyName, opts };
    const images = imageResolver(model, { parent, provider });
    const ami = () => images().apply((i) => i.id);

    const eips = new Map(topology.masters.map((n) => [n.id, reserveAddress(model, n, opts)] as const));
    const publicIps = Object.fromEntries([...eips].map(([id, eip]) => [id, eip.publicIp]));
    // No agent can be given a master's planned address by EC2's automatic assignment: the reservations exist
    // before any instance is launched (a master waits for its pin and its reservation, the groups for them all).
    const reserved = topology.masters.map((n) => reserveMasterIp(n, subnetIdByZone.get(n.zone!)!, opts));
    const waitFor = (node: NodeSpec) => [pins.get(node.id)!, reserved[topology.masters.indexOf(node)]];
    const machines = topology.masters
      .map((node) => createInstance(args, node, deps, ami, publicIps, eips.get(node.id), waitFor(node)));
    const groupDeps = { subnetIds: net.agentSubnetIds, nodesSgId: fw.nodesSgId, keyName: key.keyName, image: images,
      opts, dependsOn: reserved };
    const groups = model.agentPools.map((pool) => createAgentGroup(args, pool, groupDeps, publicIps));
    return { machines, groups };
  },
};
