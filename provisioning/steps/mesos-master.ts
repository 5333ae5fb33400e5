// Step 3 on masters, the Mesos part: mesos-master with the ZooKeeper URL (digest credentials) read from a
// root-only file, quorum = floor(n/2)+1, authentication of frameworks, agents and HTTP on, advertised on
// the private address (no DNS needed, works behind cloud NAT).
import { assertFlags, flagName } from "../flags";
import type { Ctx } from "./context";
import { renderUnit } from "./shell";
import type { FileSpec } from "./types";

export const MESOS_BIN = "/usr/sbin";
export const ZK_FILE = "/etc/mesos/zk";
const CREDENTIALS = "/etc/mesos/credentials";
const UNIT = "/etc/systemd/system/mesos-master.service";

/** `zk://user:password@ip1:2181,…/path`: Mesos and Marathon then create their znodes with a digest ACL. */
export function zkUrl(ctx: Ctx, user: string, password: string, path: string): string {
  return `zk://${user}:${password}@${ctx.zkHosts}/${path}`;
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
    `--hostname=${ip}`,
    "--hostname_lookup=false",
    "--port=5050",
    "--authenticate_frameworks=true",
    "--authenticate_agents=true",
    "--authenticate_http_readonly=true",
    "--authenticate_http_readwrite=true",
    `--credentials=${CREDENTIALS}`,
  ];
  assertFlags("mesos-master", flags.map(flagName));
  return flags;
}

export function masterFiles(ctx: Ctx): FileSpec[] {
  const c = ctx.input.credentials;
  const credentials = {
    credentials: [
      { principal: "agent", secret: c.agentSecret },
      { principal: "marathon", secret: c.marathonSecret },
      { principal: "admin", secret: c.adminPassword },
    ],
  };
  const unit = renderUnit({
    description: `Mesos master of cluster ${ctx.input.cluster} (elastic-mesos)`,
    wants: ["network-online.target"],
    after: ["network-online.target", "zookeeper.service"],
    service: [],
    execStart: [`${MESOS_BIN}/mesos-master`, ...masterFlags(ctx)],
    after_exec: [
      ["Restart", "always"],
      ["RestartSec", "10"],
      ["LimitNOFILE", "65536"],
    ],
  });
  return [
    zkFile(ctx),
    { path: CREDENTIALS, content: `${JSON.stringify(credentials, null, 2)}\n`, mode: "0600", owner: "root", group: "root", secret: true },
    { path: UNIT, content: unit, mode: "0644", owner: "root", group: "root" },
  ];
}

/** Read by mesos-master/mesos-agent (root). No trailing newline: it is a flag value read verbatim. */
export function zkFile(ctx: Ctx): FileSpec {
  const c = ctx.input.credentials;
  return { path: ZK_FILE, content: zkUrl(ctx, "mesos", c.zkMesosPassword, "mesos"), mode: "0600", owner: "root", group: "root", secret: true };
}

export const MASTER_INPUTS = [ZK_FILE, CREDENTIALS];
