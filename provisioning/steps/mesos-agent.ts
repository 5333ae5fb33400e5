// Step 3 on agents: mesos-agent registered with the masters found through ZooKeeper, its pool's
// containerizers, resources and attributes, authenticated with the "agent" principal. Clusterd runs on
// cgroup v2 with systemd integration off, so KillMode=process keeps tasks alive across agent restarts.
import { assertFlags, flagName } from "../flags";
import type { Ctx } from "./context";
import { NODE_ENV } from "./install";
import { MESOS_BIN, ZK_FILE, zkFile } from "./mesos-master";
import { renderUnit } from "./shell";
import type { FileSpec } from "./types";

const CREDENTIAL = "/etc/mesos/credential";
const HTTP_CREDENTIALS = "/etc/mesos/http_credentials";
const UNIT = "/etc/systemd/system/mesos-agent.service";

/** "k:v;k:v" in the pool's order (stable bytes for a stable config). */
function kv(map: Record<string, string | number>): string {
  return Object.entries(map)
    .map(([k, v]) => `${k}:${v}`)
    .join(";");
}

export function agentFlags(ctx: Ctx): string[] {
  const node = ctx.input.node;
  // The pool name as an attribute, so Marathon apps can be placed with constraints [["pool","IS","gpu"]].
  const attributes = { pool: node.pool!, ...node.attributes };
  const isolation = ["cgroups/cpu", "cgroups/mem", "filesystem/linux", "namespaces/pid", "posix/rlimits"];
  const mesosContainerizer = node.containerizers.includes("mesos");
  if (mesosContainerizer) isolation.push("docker/runtime");
  const flags = [
    `--master=file://${ZK_FILE}`,
    "--work_dir=/var/lib/mesos/agent",
    "--log_dir=/var/log/mesos",
    "--ip=${SELF_IP}",
    "--advertise_ip=${SELF_IP}",
    "--hostname=${SELF_IP}",
    "--hostname_lookup=false",
    "--port=5051",
    `--containerizers=${node.containerizers.join(",")}`,
    ...(Object.keys(node.resources).length ? [`--resources=${kv(node.resources)}`] : []),
    `--attributes=${kv(attributes)}`,
    `--credential=${CREDENTIAL}`,
    `--http_credentials=${HTTP_CREDENTIALS}`,
    "--authenticate_http_readonly=true",
    `--isolation=${isolation.join(",")}`,
    ...(mesosContainerizer ? ["--image_providers=docker"] : []),
    "--systemd_enable_support=false",
    "--reconfiguration_policy=additive",
    "--executor_registration_timeout=5mins",
  ];
  assertFlags("mesos-agent", flags.map(flagName));
  return flags;
}

export function agentFiles(ctx: Ctx): FileSpec[] {
  const c = ctx.input.credentials;
  const docker = ctx.input.node.containerizers.includes("docker");
  const unit = renderUnit({
    description: `Mesos agent of cluster ${ctx.input.cluster}, pool ${ctx.input.node.pool} (elastic-mesos)`,
    wants: ["network-online.target"],
    after: ["network-online.target", ...(docker ? ["docker.service"] : [])],
    service: [["EnvironmentFile", NODE_ENV]],
    execStart: [`${MESOS_BIN}/mesos-agent`, ...agentFlags(ctx)],
    after_exec: [
      ["KillMode", "process"],
      ["Delegate", "true"],
      ["Restart", "always"],
      ["RestartSec", "10"],
      ["LimitNOFILE", "65536"],
    ],
  });
  return [
    zkFile(ctx),
    { path: CREDENTIAL, content: `${JSON.stringify({ principal: "agent", secret: c.agentSecret })}\n`, mode: "0600", owner: "root", group: "root", secret: true },
    {
      path: HTTP_CREDENTIALS,
      content: `${JSON.stringify({ credentials: [{ principal: "admin", secret: c.adminPassword }] })}\n`,
      mode: "0600",
      owner: "root",
      group: "root",
      secret: true,
    },
    { path: UNIT, content: unit, mode: "0644", owner: "root", group: "root" },
  ];
}

export const AGENT_INPUTS = [ZK_FILE, CREDENTIAL, HTTP_CREDENTIALS, NODE_ENV];
