// `provider: local`: the machines of a cluster as systemd-nspawn containers on this Linux machine, created by
// Pulumi resources (one image, one network, one machine per node), ready for the same SSH bootstrap as bare metal.
import * as pulumi from "@pulumi/pulumi";
import type { NodeSpec } from "../../components/contracts";
import type { ClusterModel } from "../../components/model";
import { LOCAL_DEBIAN_MIRROR, LOCAL_IMAGE_PACKAGES, LOCAL_SUITE, publicKeyOf } from "./plan";
import { LocalImage, LocalMachine, LocalNetwork } from "./resource";

export { LocalImage, LocalMachine, LocalNetwork } from "./resource";
export { LocalImageProvider, LocalMachineProvider, LocalNetworkProvider } from "./provider";
export { LOCAL_IMAGE_PACKAGES, publicKeyOf } from "./plan";

export interface LocalHost {
  node: NodeSpec;
  ip: pulumi.Output<string>;
  hostKeyFingerprint: pulumi.Output<string>;
  resource: pulumi.Resource;
}

/** The fields of model.local this needs (components/model.ts LocalModel). */
interface LocalSettings {
  bridge: string;
  egress: "nat" | "proxy";
  aptProxy?: string;
  stateDir: string;
  imageCache: string;
}

/**
 * One LocalImage, one LocalNetwork and one LocalMachine per node (named by its hostname). Root on each machine
 * accepts the public half of ssh.privateKey; the private key stays a secret in config (never an input).
 */
export function createLocalHosts(model: ClusterModel, nodes: NodeSpec[], parent: pulumi.Resource): { machines: LocalHost[] } {
  const local = model.local as (LocalSettings & object) | undefined;
  if (!local) throw new Error("provider local needs the local settings (elastic-mesos:local)");
  const privateKey = model.ssh.privateKey;
  if (!privateKey) {
    throw new Error("provider local needs elastic-mesos:sshPrivateKey (a secret): the machines accept its public key");
  }
  const cluster = model.cluster.name;
  const image = new LocalImage(`${cluster}-image`, {
    cacheDir: local.imageCache, suite: LOCAL_SUITE, debianMirror: LOCAL_DEBIAN_MIRROR,
    packages: [...LOCAL_IMAGE_PACKAGES], aptProxy: local.aptProxy,
  }, { parent });
  const network = new LocalNetwork(`${cluster}-network`, {
    bridge: local.bridge, cidr: model.network.cidr, egress: local.egress, stateDir: local.stateDir, cluster,
  }, { parent });
  // The public key is no secret; derived inside the apply so the private key itself never leaves the secret.
  const authorizedKey = pulumi.unsecret(privateKey.apply(publicKeyOf));
  const machines = nodes.map((node) => {
    const m = new LocalMachine(node.hostname, {
      cluster, name: node.hostname, stateDir: local.stateDir, bridge: local.bridge, cidr: model.network.cidr,
      gateway: network.gateway, image: image.path, egress: local.egress, aptProxy: local.aptProxy, authorizedKey,
      // An offline bundle is a directory of this machine: each machine sees it, read-only, where the steps look.
      ...(model.artifacts.offlineBundle ? { bindReadOnly: [model.artifacts.offlineBundle] } : {}),
    }, { parent, dependsOn: [image, network] });
    return { node, ip: m.ip, hostKeyFingerprint: m.hostKey.apply((k) => k.fingerprint), resource: m };
  });
  return { machines };
}
