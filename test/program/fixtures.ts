// Test fixtures: a valid ClusterModel built directly (no config parsing), and the stack config maps the
// program tests feed to `pulumi.runtime.setAllConfig`, one per provider.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterModel, AgentPoolModel, ProviderName } from "../../components/model";

export const PROJECT = "elastic-mesos";
/** A throwaway test key pair (never used anywhere but these mocks). */
export const SSH_PRIVATE = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACAN5Vl8wPKltR8QxowPXaxhRg1gzEOGh4uP4egIMF9fiQAAAJAkC1L1JAtS
9QAAAAtzc2gtZWQyNTUxOQAAACAN5Vl8wPKltR8QxowPXaxhRg1gzEOGh4uP4egIMF9fiQ
AAAEDDocsShfoDFTqv9KoBJCLBxFl3No/iu1Zy7sgQ95uk3g3lWXzA8qW1HxDGjA9drGFG
DWDMQ4aHi4/h6AgwX1+JAAAADWFkbWluQGV4YW1wbGU=
-----END OPENSSH PRIVATE KEY-----\n`;
export const SSH_PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA3lWXzA8qW1HxDGjA9drGFGDWDMQ4aHi4/h6AgwX1+J admin@example";

export function pool(name: string, count: number, extra: Partial<AgentPoolModel> = {}): AgentPoolModel {
  return { name, count, size: "m6i.xlarge", diskGb: 100, resources: {}, attributes: {}, containerizers: ["mesos"], taskUser: "mesos-task", ...extra };
}

/** A valid model for tests of pure functions (topology): AWS, 3 masters, two pools, three zones. */
export function awsModel(overrides: Partial<ClusterModel> = {}): ClusterModel {
  return {
    provider: "aws",
    cluster: { name: "prod" },
    os: "debian-12",
    masters: { count: 3, size: "m6i.large", diskGb: 50 },
    agentPools: [pool("general", 3), pool("gpu", 1)],
    adminCidrs: ["203.0.113.0/24"],
    allowPublicAdmin: false,
    ssh: { user: "admin", publicKey: SSH_PUB },
    network: { cidr: "10.20.0.0/16" },
    rollout: { maxUnavailable: 1 },
    versions: { mesos: "1.11.0-0.9.0", zookeeper: "3.8.6", marathon: "1.11.24", docker: "27.5.1" },
    artifacts: {},
    clusterSecret: pulumi.secret("s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"),
    aws: { region: "eu-west-1", zones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"] },
    ...overrides,
  };
}

export type ConfigMap = Record<string, unknown>;

const common = (provider: ProviderName): ConfigMap => ({
  provider,
  cluster: { name: "prod" },
  masters: { count: 3, size: "m6i.large" },
  agentPools: [
    { name: "general", count: 3, size: "m6i.xlarge" },
    { name: "gpu", count: 1, size: "g5.xlarge", resources: { gpus: 1 } },
  ],
  adminCidrs: ["203.0.113.0/24"],
  ssh: { user: "admin", publicKey: SSH_PUB },
  network: { cidr: "10.20.0.0/16" },
  clusterSecret: "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t",
  sshPrivateKey: SSH_PRIVATE,
});

/** Stack config per provider (keys without the project prefix; the harness adds it). */
export const STACKS: Record<ProviderName, ConfigMap> = {
  aws: { ...common("aws"), aws: { region: "eu-west-1", zones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"] } },
  gcp: { ...common("gcp"), gcp: { project: "my-proj", region: "europe-west1", zones: ["europe-west1-b", "europe-west1-c", "europe-west1-d"] } },
  digitalocean: { ...common("digitalocean"), digitalocean: { region: "ams3" } },
  openstack: { ...common("openstack"), openstack: { externalNetwork: "public", zones: ["nova"] } },
  baremetal: {
    ...common("baremetal"),
    agentPools: [{ name: "general", count: 2 }],
    masters: { count: 3 },
    baremetal: {
      hosts: [
        { name: "h1", address: "10.77.0.11", role: "master" },
        { name: "h2", address: "10.77.0.12", role: "master" },
        { name: "h3", address: "10.77.0.13", role: "master" },
        { name: "h4", address: "10.77.0.14", role: "agent", pool: "general" },
        { name: "h5", address: "10.77.0.15", role: "agent", pool: "general" },
      ],
    },
  },
  local: {
    ...common("local"),
    ssh: { publicKey: SSH_PUB }, // local machines log in root only
    masters: { count: 1 },
    agentPools: [{ name: "general", count: 2 }],
    network: { cidr: "10.77.0.0/24" },
    local: { maxHosts: 6, egress: "proxy", aptProxy: "http://10.77.0.1:3142" },
  },
};

/** The secret config keys (the CLI marks `--secret` values like this). */
export const SECRET_KEYS = ["clusterSecret", "sshPrivateKey"];
