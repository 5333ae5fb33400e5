// One master pin per cloud master (provisioning/cloud/master-pin.ts): the facts of a running master the cloud
// would change only by replacing or stopping it, taken from the config alone. Each cloud's module makes the pins
// first (before its network and instances, which the cluster then makes depend on them: a refused change leaves
// them unregistered) and makes every master's instance depend on its pin.
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "../model";
import type { NodeSpec, Topology } from "../contracts";
import { MasterPin, type MasterFacts, type PinnedCloud } from "../../provisioning/cloud/master-pin";
import { fingerprintOf } from "../../provisioning/ssh/hostkey";

/** "SHA256:..." of an OpenSSH public key line (as ssh-keygen -l prints it); "" when it has no key blob. */
export function publicKeyFingerprint(line: string): string {
  const blob = line.trim().split(/\s+/)[1];
  if (!blob) return "";
  return fingerprintOf(Buffer.from(blob, "base64"));
}

/** Pure: what `cloud` must not change on master `node` (see MasterFacts). */
export function masterFacts(model: ClusterModel, cloud: PinnedCloud, node: NodeSpec): MasterFacts {
  const common = { zone: node.zone ?? "", address: node.plannedIp ?? "", size: node.size };
  switch (cloud) {
    case "aws":
      return {
        region: model.aws!.region,
        vpc: model.aws!.vpcId ?? model.network.cidr,
        ...common,
        diskGb: node.diskGb,
        sshKey: publicKeyFingerprint(model.ssh.publicKey ?? ""),
      };
    case "gcp":
      return { region: `${model.gcp!.project}/${model.gcp!.region}`, ...common, diskGb: node.diskGb };
    case "openstack":
      // diskGb is the boot volume's size, which running servers ignore (openstack/machines.ts OPENSTACK_IGNORED);
      // the key pair keeps its name, so a new key replaces no server.
      return { region: model.openstack!.region ?? "", ...common };
  }
}

/** The pins of every master, by node id. No provider: a pin touches no cloud. */
export function pinMasters(model: ClusterModel, topology: Topology, cloud: PinnedCloud,
  parent: pulumi.Resource): Map<string, MasterPin> {
  const cluster = model.cluster.name;
  return new Map(topology.masters.map((n) => [n.id, new MasterPin(`${n.hostname}-pin`,
    { cluster, node: n.id, cloud, facts: masterFacts(model, cloud, n) }, { parent })] as const));
}
