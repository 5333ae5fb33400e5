// The bootstrap as data: a node's three steps, each a set of files, idempotent commands and a health
// gate. Rendered once from a BootstrapInput; delivered either as #cloud-config or over SSH
// (provisioning/render/), so no step is ever written twice.
import type { NodeSpec } from "../../components/contracts";
import type { OsFamily } from "../../components/model";

export interface FileSpec {
  path: string;
  content: string;
  /** Octal string, e.g. "0644", "0600", "0640". */
  mode: string;
  owner: string;
  group: string;
  /** True when the content carries a credential: never logged, never world-readable. */
  secret?: boolean;
}

export interface HealthGate {
  /** What the gate waits for, in words a user understands ("ZooKeeper reports leader or follower"). */
  description: string;
  /** Shell script that exits 0 once healthy; retried until timeoutSeconds. */
  script: string;
  timeoutSeconds: number;
  /** What to check when the gate times out ("check that port 2888 is open between masters"). */
  hint: string;
}

export type StepName = "firewall" | "install" | "zookeeper" | "mesos";

export interface Step {
  name: StepName;
  /** 1 to 4: its position in renderSteps. */
  index: number;
  /**
   * How many steps its node's plan has, when a first boot carries only some of them (a master joining a running
   * cluster boots its install step alone: components/cluster.ts BEFORE_ZOOKEEPER). Its script says "1/3" then, as
   * the same step rendered for SSH does, so its hash is the plan's. Absent: the length of the list it is in.
   */
  of?: number;
  title: string;
  files: FileSpec[];
  /** Idempotent shell commands, run in order with `set -eu` after the files are written. */
  commands: string[];
  gate: HealthGate;
  /** The cluster the host belongs to (renderSteps sets it): a step of another cluster is refused there. */
  owner?: HostOwner;
  /**
   * Agents' mesos step: the identity it starts the agent with and records (em_agent_identity), as data: the
   * bare-metal provider compares it with the recorded one to drain the agent before a restart Mesos cannot
   * recover (provisioning/baremetal/plan.ts drainBeforeRestart). Never read back from the script.
   */
  agentIdentity?: string;
}

/** A host's owner mark: the cluster's name and its ownerId (an identifier derived from clusterSecret). */
export interface HostOwner {
  cluster: string;
  id: string;
  /** While clusterSecret rotates: the previous secret's id, which a host may still carry (em_owner re-marks it). */
  previousId?: string;
}

/** Resolved (concrete) artifact sources for one host OS. */
export interface ResolvedArtifacts {
  /**
   * `url` is tried first, then `fallbackUrl` (upstream: the CDN, then archive.apache.org, which keeps every
   * release); the tarball is accepted only if it matches `sha512`, or the official `.sha512` at `sha512Url`.
   */
  zookeeper: { version: string; url: string; fallbackUrl?: string; sha512?: string; sha512Url?: string };
  mesos:
    | { kind: "apt"; repoLine: string; keyUrl: string; keyFingerprint?: string; package: string; version: string }
    | { kind: "yum"; baseUrl: string; keyUrl: string; keyFingerprint?: string; package: string; version: string };
  /** `archiveUrl`: a `docker save` tarball (mirror/offline bundle) loaded instead of pulling `image`. */
  marathon: { kind: "image"; image: string; archiveUrl?: string } | { kind: "apt"; package: string; version: string };
  /** apt hosts: `repoLine` is "<uri> <suite> <component>"; rocky-9: it is the yum `baseurl`. */
  docker?: { repoLine: string; keyUrl: string; keyFingerprint?: string; version: string };
  /** Offline bundle directory on the host, if any: every URL above is then a file:// path. */
  offlineBundle?: string;
}

/** The credentials a node needs, as plain strings (only ever handled inside a secret Output). */
export interface Credentials {
  /** Agent principal "agent" → masters (CRAM-MD5). */
  agentSecret: string;
  /** Framework principal "marathon" → masters (CRAM-MD5). */
  marathonSecret: string;
  /** HTTP principal "admin": operators, drain, Marathon (basic auth); only on masters. */
  adminPassword: string;
  /** ZooKeeper digest users (only on masters: agents and Marathon's --master read /mesos without one). */
  zkMesosPassword: string;
  zkMarathonPassword: string;
  /** ZooKeeper's super user (masters only): `reconfig` when a master joins or leaves; no daemon connects with it. */
  zkSuperPassword: string;
  /** HTTP principal "health": read-only endpoints of masters and agents (gates, readiness). */
  healthPassword: string;
  /** HTTP principal "drain": DRAIN_AGENT only (ACL drain_agents); every agent holds it to drain itself on shutdown. */
  drainPassword: string;
  /** Root of the agents' JWT keys (agentJwtKey): never written to a host itself. */
  agentJwtRoot: string;
  /** Not a credential: the id that marks a host as this cluster's (/etc/elastic-mesos/owner); reveals nothing. */
  ownerId: string;
}

/**
 * A node's TLS material from the cluster CA (provisioning/tls): PEM, derived from clusterSecret like the
 * credentials. `key` is a credential (written 0400, never logged); `caCert` is public.
 */
export interface NodeTls {
  caCert: string;
  cert: string;
  /** PKCS#8 PEM. */
  key: string;
  /**
   * Agents: the certificate and key of their executors (libprocess, run as the pool's task user, who must not
   * read the agent's own key). Same names as the agent's certificate: the agent reaches them at its address.
   */
  executor?: { cert: string; key: string };
  /**
   * True where some peers' certificates cannot name their address (cloud-init agents learn it only at boot):
   * libprocess then encrypts without verifying peers' certificates, which would refuse those agents.
   */
  unverifiedPeers?: boolean;
}

export interface BootstrapInput {
  cluster: string;
  os: OsFamily;
  node: NodeSpec;
  /** This node's private address; absent on clouds, where the script discovers it at boot. */
  selfIp?: string;
  /**
   * `publicAddress`: the master's public IPv4 where admins reach it through NAT or on another interface
   * (clouds: a reserved address); Mesos advertises it (--hostname) so every master's UI and /redirect send
   * the browser to the leader's reachable address, and the master's certificate names it. Absent on bare
   * metal and local, where `ip` is what admins reach.
   */
  masters: { id: string; zkId: number; ip: string; hostname: string; publicAddress?: string }[];
  quorum: number;
  artifacts: ResolvedArtifacts;
  /** The current generation's credentials (the new ones while clusterSecret rotates). */
  credentials: Credentials;
  /**
   * While clusterSecret rotates (provisioning/rotation/README.md): the previous generation's credentials, which
   * verifiers keep accepting until the `up` after the rotation drops them. Absent otherwise.
   */
  previous?: Credentials;
  /**
   * How many times clusterSecret rotated (the masters pin's `generation`; absent: 0): names the principals that
   * exist once per generation (rotation/principals.ts), so a rotation's old and new ones can both be accepted.
   */
  generation?: number;
  /**
   * The host firewall's addresses (provisioning/steps/firewall.ts): set for hosts bootstrapped over SSH on
   * bare metal and local, where no cloud firewall exists. `members`: every cluster host's address, sorted,
   * consecutive ones as one "first-last" run (firewall.ts addressRuns: the list is in every host's state).
   */
  firewall?: { adminCidrs: string[]; members: string[] };
  /**
   * Masters: every pool's task user (the users Marathon may run tasks as, Mesos ACL run_tasks). Absent:
   * ["mesos-task"], the default pool task user. Agents use their own node.taskUser.
   */
  taskUsers?: string[];
  /**
   * Masters: the one master of a cluster growing from one, whose log the new masters start from (membership/seed.ts).
   * It restarts with the new --quorum before they start: its gate lets fewer masters than the quorum run Mesos.
   */
  seedsNewMasters?: true;
  /**
   * Masters of a cluster whose masters change online without a host firewall (DigitalOcean: its cloud firewall
   * admits every droplet of the cluster's tag): they render what a joining master takes (steps/context.ts
   * onlineMembership). Bare metal and local imply it by their `firewall`.
   */
  onlineMembership?: true;
  /**
   * A cloud machine's SSH host key, once clusterSecret rotated (baremetal/render.ts rotatedHostKey): the install
   * step puts it in place of the one its first boot installed. Absent everywhere else.
   */
  sshHostKey?: { privatePem: string };
  /**
   * This node's TLS material (provisioning/tls nodeTls). The program and the bare-metal provider always
   * give it; without it the steps render no TLS (older unit-test inputs).
   */
  tls?: NodeTls;
}
