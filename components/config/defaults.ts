// Defaults applied when a key is absent from the stack config. Kept apart from the schema so the
// README's config table, the examples in stacks/ and the tests all quote one source.
import type { OsFamily, ProviderName, VersionsModel } from "../model";

/** Pinned component versions: the combination the bootstrap is tested with. */
export const DEFAULT_VERSIONS: VersionsModel = {
  mesos: "1.11.0-0.9.0",
  zookeeper: "3.8.6",
  marathon: "1.11.24",
  docker: "27.5.1",
};

export const DEFAULT_OS: OsFamily = "debian-12";
/** /16: room for one /24 per zone and fixed master addresses, in RFC 1918 space. */
export const DEFAULT_NETWORK_CIDR = "10.42.0.0/16";
/** A local stack's bridge network: the gateway (this machine) is .1, machines get .11 upwards. The test lab
 * keeps 10.77.0.0/24 (lab/), so the two can run side by side. */
export const DEFAULT_LOCAL_NETWORK_CIDR = "10.78.0.0/24";
/** Three masters survive the loss of one; one master is a single point of failure. */
export const DEFAULT_MASTER_COUNT = 3;
/** Used by parseModel when no cluster name is given; loadModel passes the stack name instead. */
export const DEFAULT_CLUSTER_NAME = "mesos";
/** Docker first so Marathon's Docker apps use it; the Mesos containerizer runs everything else. */
export const DEFAULT_CONTAINERIZERS: ["docker", "mesos"] = ["docker", "mesos"];
export const DEFAULT_SSH_PORT = 22;
/** Unprivileged Linux user Mesos tasks run as (the agent's --switch_user); "root" only when a pool says so. */
export const DEFAULT_TASK_USER = "mesos-task";
/** Most machines a local stack may have (each is a container on this machine); raise local.maxHosts for more. */
export const DEFAULT_LOCAL_MAX_HOSTS = 12;
/** Where a local stack's machines live, and the base images they share. */
export const DEFAULT_LOCAL_STATE_DIR = "/var/lib/elastic-mesos/local";
export const DEFAULT_LOCAL_IMAGE_CACHE = "/var/cache/elastic-mesos/images";
/** A local stack's bridge: "em-" + the cluster name, cut to Linux's 15-character interface names. */
export const defaultLocalBridge = (cluster: string): string => `em-${cluster}`.slice(0, 15).replace(/-+$/, "");
/** Used when agentPools is absent: one general-purpose pool. */
export const DEFAULT_POOL = { name: "general", count: 3 } as const;

/** Root disk sizes (GB): masters keep ZooKeeper and the replicated log; agents keep sandboxes and images. */
export const DEFAULT_DISK_GB = { master: 50, agent: 100 } as const;

/**
 * Machine sizes per provider. Masters need ~2 vCPU / 8 GB (ZooKeeper, Mesos master, Marathon's JVM);
 * agents are general purpose. Bare metal and local hosts are whatever they are, so size is informative only.
 */
export const DEFAULT_SIZES: Record<ProviderName, { master: string; agent: string }> = {
  aws: { master: "m6i.large", agent: "m6i.xlarge" },
  gcp: { master: "e2-standard-2", agent: "e2-standard-4" },
  digitalocean: { master: "s-2vcpu-4gb", agent: "s-4vcpu-8gb" },
  openstack: { master: "m1.medium", agent: "m1.large" },
  baremetal: { master: "existing-host", agent: "existing-host" },
  local: { master: "container", agent: "container" },
};

/**
 * Login user of the stock cloud images of each OS (cloud-init installs the SSH key for it);
 * bare metal and local hosts default to root.
 */
export function defaultSshUser(provider: ProviderName, os: OsFamily): string {
  if (provider === "baremetal" || provider === "local" || provider === "digitalocean") return "root";
  if (os.startsWith("ubuntu")) return "ubuntu";
  if (os.startsWith("rocky")) return "rocky";
  return provider === "aws" ? "admin" : "debian";
}
