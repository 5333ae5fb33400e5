// Step 3 on masters, the Mesos part: mesos-master with the ZooKeeper URL (digest credentials) read from a
// root-only file, quorum = floor(n/2)+1, authentication of frameworks (CRAM-MD5 and HTTP), agents and HTTP
// on, ACLs that give each principal only what it needs, advertised on the private address (no DNS needed,
// works behind cloud NAT). Only mesos-master holds the Mesos ZooKeeper write credential, and it talks to
// its own ZooKeeper server on 127.0.0.1, so the digest never crosses the network.
import { ADMIN_USER, DRAIN_USER, HEALTH_USER } from "../credentials";
import { assertFlags, flagName } from "../flags";
import { AGENT_USER, generations, names, principal } from "../rotation/principals";
import { ACLS_FILE, acls, masterTaskUsers } from "./acls";
import type { Ctx } from "./context";
import { renderUnit } from "./shell";
import { LIBPROCESS_SSL_ENV, mesosTlsFiles, mesosTlsInputs, tlsOf } from "./tls";
import type { FileSpec } from "./types";

export const MESOS_BIN = "/usr/sbin";
export const ZK_FILE = "/etc/mesos/zk";
const CREDENTIALS = "/etc/mesos/credentials";
const UNIT = "/etc/systemd/system/mesos-master.service";

/** The znode the Mesos masters register under (leader election, log replicas). */
export const MESOS_ZNODE = "/mesos";

/** The master's own ZooKeeper server: digest credentials sent to it never leave the host. */
export const LOCAL_ZK = "127.0.0.1:2181";

/** `zk://user:password@127.0.0.1:2181/path`: Mesos and Marathon then create their znodes with a digest ACL. */
export function zkUrl(user: string, password: string, path: string): string {
  return `zk://${user}:${password}@${LOCAL_ZK}/${path}`;
}

/**
 * `zk://ip1:2181,…/mesos` without a credential: the Mesos znodes are world-readable (EVERYONE_READ_CREATOR_ALL),
 * which is all an agent or Marathon's --master needs to find the leading master.
 */
export function zkReadUrl(ctx: Ctx, hosts = ctx.zkHosts): string {
  return `zk://${hosts}${MESOS_ZNODE}`;
}

export function masterFlags(ctx: Ctx): string[] {
  const ip = ctx.selfIp!;
  const flags = [
    `--zk=file://${ZK_FILE}`,
    `--quorum=${ctx.input.quorum}`,
    "--work_dir=/var/lib/mesos/master",
    "--log_dir=/var/log/mesos",
    `--cluster=${ctx.input.cluster}`,
    `--ip=${ip}`,
    `--advertise_ip=${ip}`,
    // What the UI and /redirect send browsers to (the leader's, from ZooKeeper): its public address where it
    // has one (clouds); peers and agents still use --advertise_ip, the private one.
    `--hostname=${ctx.publicAddress ?? ip}`,
    "--hostname_lookup=false",
    "--port=5050",
    "--authenticate_frameworks=true",
    "--authenticate_agents=true",
    "--authenticate_http_readonly=true",
    "--authenticate_http_readwrite=true",
    // Without it anyone reaching 5050 could SUBSCRIBE an HTTP framework and run tasks on every agent.
    "--authenticate_http_frameworks=true",
    "--http_framework_authenticators=basic",
    `--credentials=${CREDENTIALS}`,
    `--acls=file://${ACLS_FILE}`,
  ];
  assertFlags("mesos-master", flags.map(flagName));
  return flags;
}

export function masterFiles(ctx: Ctx): FileSpec[] {
  const c = ctx.input.credentials;
  // While clusterSecret rotates, the agents' principals of both generations (rotation/principals.ts): agents not
  // rolled yet keep registering and draining with the old ones.
  const both = generations(ctx.input);
  const credentials = {
    credentials: [
      ...both.map((x) => ({ principal: principal(AGENT_USER, x.g), secret: x.credentials.agentSecret })),
      { principal: "marathon", secret: c.marathonSecret },
      { principal: ADMIN_USER, secret: c.adminPassword },
      { principal: HEALTH_USER, secret: c.healthPassword },
      // Agents drain themselves before their machine stops (provisioning/steps/agent-drain.ts): ACL drain_agents only.
      ...both.map((x) => ({ principal: principal(DRAIN_USER, x.g), secret: x.credentials.drainPassword })),
    ],
  };
  const unit = renderUnit({
    // The package version in the unit: a version bump changes the unit, so em_service restarts the daemon on it.
    description: `Mesos master ${ctx.input.artifacts.mesos.package} ${ctx.input.artifacts.mesos.version} of cluster ${ctx.input.cluster} (elastic-mesos)`,
    wants: ["network-online.target"],
    after: ["network-online.target", "zookeeper.service"],
    // libprocess SSL (paths and switches, no secret): HTTPS only on 5050, TLS to agents and frameworks.
    service: tlsOf(ctx) ? [["EnvironmentFile", LIBPROCESS_SSL_ENV]] : [],
    execStart: [`${MESOS_BIN}/mesos-master`, ...masterFlags(ctx)],
    after_exec: [
      ["Restart", "always"],
      ["RestartSec", "10"],
      ["LimitNOFILE", "65536"],
    ],
  });
  return [
    zkFile(ctx),
    // Compact: masters' user-data is close to AWS's 16 KB (test/unit/render.test.ts).
    { path: CREDENTIALS, content: `${JSON.stringify(credentials)}\n`, mode: "0600", owner: "root", group: "root",
      secret: true },
    aclsFile(acls(masterTaskUsers(ctx.input.taskUsers), versionedPrincipals(ctx))),
    ...mesosTlsFiles(ctx),
    { path: UNIT, content: unit, mode: "0644", owner: "root", group: "root" },
  ];
}

/** Read by mesos-master (root): the write credential of /mesos. No trailing newline: a flag value read verbatim. */
export function zkFile(ctx: Ctx): FileSpec {
  const c = ctx.input.credentials;
  return { path: ZK_FILE, content: zkUrl("mesos", c.zkMesosPassword, MESOS_ZNODE.slice(1)), mode: "0600", owner: "root", group: "root", secret: true };
}

/** The agent and drain principals' names a node's ACLs allow: both generations' while clusterSecret rotates. */
export const versionedPrincipals = (ctx: Ctx) => ({ agent: names(ctx.input, AGENT_USER), drain: names(ctx.input, DRAIN_USER) });

/** Not a secret, but root-only like every file under /etc/mesos: task users learn nothing from it. */
export function aclsFile(doc: object): FileSpec {
  return { path: ACLS_FILE, content: `${JSON.stringify(doc)}\n`, mode: "0600", owner: "root", group: "root" };
}

export const MASTER_INPUTS = [ZK_FILE, CREDENTIALS, ACLS_FILE];

/** Files whose change restarts mesos-master: MASTER_INPUTS and the TLS material. */
export function masterInputs(ctx: Ctx): string[] {
  return [...MASTER_INPUTS, ...mesosTlsInputs(ctx)];
}
