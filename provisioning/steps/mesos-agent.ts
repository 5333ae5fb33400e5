// Step 3 on agents: mesos-agent registered with the masters found through ZooKeeper, its pool's
// containerizers, resources and attributes, authenticated with the "agent" principal. Clusterd runs on
// cgroup v2 with systemd integration off, so KillMode=process keeps tasks alive across agent restarts.
//
// Agents run with --reconfiguration_policy=additive: on restart Mesos recovers the checkpointed agent if
// its attributes and resources were only added to or grown. Any other change (an attribute's value, a
// removed or shrunk resource) makes Mesos 1.11 refuse to start ("Failed to perform recovery ... rm -f
// <work_dir>/meta/slaves/latest"). So the step records the agent's identity and, on such a change on a host
// that already ran the agent, removes meta/slaves/latest before the restart (em_agent_identity): the agent
// comes back as a new agent; the tasks that ran on it are lost and Marathon reschedules them elsewhere.
//
// Credentials on an agent are only its own: the "agent" principal, the read-only "health" one (its only
// HTTP user, so the operator API that launches and attaches to containers is closed to everyone else) and
// its own JWT key for its executors. No admin password, no ZooKeeper credential: /mesos is world-readable.
// And the "drain" principal (DRAIN_AGENT only), with which it drains itself before its machine shuts down
// (provisioning/steps/agent-drain.ts: mesos-agent-drain.service).
import { HEALTH_USER, agentJwtKey } from "../credentials";
import { assertFlags, flagName } from "../flags";
import { AGENT_USER, principal } from "../rotation/principals";
import { ACLS_FILE, DEFAULT_TASK_USER, acls } from "./acls";
import { DRAIN_SCRIPT, drainCommands, drainFiles } from "./agent-drain";
import type { Ctx } from "./context";
import { NODE_ENV } from "./install";
import { MESOS_BIN, ZK_FILE, aclsFile, versionedPrincipals, zkReadUrl } from "./mesos-master";
import { renderUnit, sq } from "./shell";
import { EXECUTOR_ENV, LIBPROCESS_SSL_ENV, executorTlsFiles, mesosTlsFiles, mesosTlsInputs, tlsOf } from "./tls";
import type { FileSpec } from "./types";

const CREDENTIAL = "/etc/mesos/credential";
const HTTP_CREDENTIALS = "/etc/mesos/http_credentials";
/** Signs and checks the executors' tokens (--authenticate_http_executors); one key per agent. */
const JWT_KEY = "/etc/mesos/jwt_secret_key";
/** curl config with the health principal: the agent's gate reads /metrics/snapshot with it. */
export const HEALTH_CURLRC = "/etc/elastic-mesos/health.curlrc";

/** The Linux user this agent's tasks run as (agentPools[i].taskUser). */
export function taskUserOf(ctx: Ctx): string {
  return ctx.input.node.taskUser || DEFAULT_TASK_USER;
}
const UNIT = "/etc/systemd/system/mesos-agent.service";
export const AGENT_WORK_DIR = "/var/lib/mesos/agent";

/** "k:v;k:v" in the pool's order (stable bytes for a stable config). */
function kv(map: Record<string, string | number>): string {
  return Object.entries(map)
    .map(([k, v]) => `${k}:${v}`)
    .join(";");
}

/** The pool name as an attribute, so Marathon apps can be placed with constraints [["pool","IS","gpu"]]. */
function attributesOf(ctx: Ctx): Record<string, string | number> {
  return { pool: ctx.input.node.pool!, ...ctx.input.node.attributes };
}

/**
 * What Mesos checks when it recovers an agent: "attribute NAME VALUE" and "resource NAME VALUE" lines
 * (names and values never hold spaces: components/config/mesos.ts). Empty resources are auto-detected
 * by Mesos from the host and are not part of what we render.
 */
export function agentIdentity(ctx: Ctx): string {
  return [
    ...Object.entries(attributesOf(ctx)).map(([k, v]) => `attribute ${k} ${v}`),
    ...Object.entries(ctx.input.node.resources).map(([k, v]) => `resource ${k} ${v}`),
  ].join("\n");
}

/**
 * Pure: why Mesos cannot recover an agent that ran with identity `had` when it restarts with `want` (both in
 * agentIdentity's form), or undefined when it can: em_identity_additive's rule (em-lib.sh), so that the provider
 * drains the agent exactly before the restarts on which the step forgets it. Every old attribute kept with its
 * value, every old resource kept, a number (digits and dots) only grown, no cpus/mem/disk/ports set where Mesos
 * had detected them; anything else is a change Mesos refuses.
 * One difference, on the safe side: values are compared as text, where awk compares two number-like values as
 * numbers ("1" and "1.0", "1e3" and "1000" are equal to the shell): so this never says "recoverable" where the
 * step forgets the agent, and where it drains for nothing the provider reactivates the agent (REACTIVATE_AGENT).
 */
export function identityChange(had: string, want: string): string | undefined {
  const lines = (s: string) =>
    s.split("\n").map((l) => l.replace(/^[ \t]+|[ \t]+$/g, "").split(/[ \t]+/)).filter((f) => f[0] !== "");
  const wanted = new Map(lines(want).map((f) => [`${f[0]} ${f[1] ?? ""}`, f[2] ?? ""]));
  // awk's string-to-number conversion: the longest leading number, 0 if there is none ("1.2.3" is 1.2).
  const num = (v: string) => Number(/^[0-9]*\.?[0-9]*/.exec(v)![0].replace(/^\.?$/, "0"));
  const numeric = (v: string) => /^[0-9.]+$/.test(v);
  for (const [kind, name = "", value = ""] of lines(had)) {
    const now = wanted.get(`${kind} ${name}`);
    if (now === undefined) return `${kind} ${name} removed`;
    if (now === value) continue;
    if (kind === "resource" && numeric(now) && numeric(value)) {
      if (num(now) >= num(value)) continue;
      return `resource ${name} shrank from ${value} to ${now}`;
    }
    return `${kind} ${name} changed from ${value} to ${now}`;
  }
  // Set where Mesos had detected it: the detected value may be larger than the one now set (a shrink).
  const before = new Set(lines(had).map((f) => `${f[0]} ${f[1] ?? ""}`));
  for (const key of wanted.keys()) {
    if (!before.has(key) && DETECTED.has(key)) return `${key} set where Mesos detected it (the detected value may be larger)`;
  }
  return undefined;
}

/** The resources a Mesos agent detects by itself when they are not set (`--resources`). */
const DETECTED = new Set(["resource cpus", "resource mem", "resource disk", "resource ports"]);

/** Step 3's commands on an agent: forget the checkpointed agent on a non-additive change, then (re)start. */
export function agentCommands(ctx: Ctx): string[] {
  return [
    `em_agent_identity ${sq(agentIdentity(ctx))} ${AGENT_WORK_DIR}`,
    `em_service mesos-agent ${[...AGENT_INPUTS, ...mesosTlsInputs(ctx)].join(" ")}`,
    ...drainCommands(),
  ];
}

export function agentFlags(ctx: Ctx): string[] {
  const node = ctx.input.node;
  const attributes = attributesOf(ctx);
  const isolation = ["cgroups/cpu", "cgroups/mem", "filesystem/linux", "namespaces/pid", "posix/rlimits"];
  const mesosContainerizer = node.containerizers.includes("mesos");
  if (mesosContainerizer) isolation.push("docker/runtime");
  const flags = [
    `--master=file://${ZK_FILE}`,
    `--work_dir=${AGENT_WORK_DIR}`,
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
    // The operator API (LAUNCH_NESTED_CONTAINER_SESSION, LAUNCH_CONTAINER, ATTACH_CONTAINER_INPUT...) runs
    // code as root: authenticated, and HTTP executors then authenticate with a token signed by JWT_KEY.
    "--authenticate_http_readwrite=true",
    "--authenticate_http_executors=true",
    `--jwt_secret_key=${JWT_KEY}`,
    `--acls=file://${ACLS_FILE}`,
    `--isolation=${isolation.join(",")}`,
    ...(mesosContainerizer ? ["--image_providers=docker"] : []),
    "--systemd_enable_support=false",
    "--reconfiguration_policy=additive",
    "--executor_registration_timeout=5mins",
    // Executors' own environment and TLS identity (provisioning/steps/tls.ts executorTlsFiles).
    ...(tlsOf(ctx)?.executor ? [`--executor_environment_variables=file://${EXECUTOR_ENV}`] : []),
  ];
  assertFlags("mesos-agent", flags.map(flagName));
  return flags;
}

export function agentFiles(ctx: Ctx): FileSpec[] {
  const c = ctx.input.credentials;
  const docker = ctx.input.node.containerizers.includes("docker");
  const unit = renderUnit({
    // The package version in the unit: a version bump changes the unit, so em_service restarts the agent on it.
    description: `Mesos agent ${ctx.input.artifacts.mesos.package} ${ctx.input.artifacts.mesos.version} of cluster ${ctx.input.cluster}, pool ${ctx.input.node.pool} (elastic-mesos)`,
    wants: ["network-online.target"],
    after: ["network-online.target", ...(docker ? ["docker.service"] : [])],
    // libprocess SSL (paths and switches, no secret): HTTPS only on 5051, TLS to the masters.
    service: [
      ["EnvironmentFile", NODE_ENV],
      ...(tlsOf(ctx) ? [["EnvironmentFile", LIBPROCESS_SSL_ENV] as [string, string]] : []),
      // A drained id this agent left at the last shutdown is forgotten: it registers as a new agent.
      ["ExecStartPre", `${DRAIN_SCRIPT} forget`],
    ],
    execStart: [`${MESOS_BIN}/mesos-agent`, ...agentFlags(ctx)],
    after_exec: [
      ["KillMode", "process"],
      ["Delegate", "true"],
      ["Restart", "always"],
      ["RestartSec", "10"],
      ["LimitNOFILE", "65536"],
    ],
  });
  const root = { mode: "0600", owner: "root", group: "root" };
  return [
    // No trailing newline: a flag value read verbatim. No credential in it, root-only all the same.
    { path: ZK_FILE, content: zkReadUrl(ctx), ...root },
    { path: CREDENTIAL, content: `${JSON.stringify({ principal: principal(AGENT_USER, ctx.input.generation ?? 0), secret: c.agentSecret })}\n`,
      ...root, secret: true },
    {
      path: HTTP_CREDENTIALS,
      content: `${JSON.stringify({ credentials: [{ principal: HEALTH_USER, secret: c.healthPassword }] })}\n`,
      ...root,
      secret: true,
    },
    // Read whole by Mesos as the HMAC key: no trailing newline.
    { path: JWT_KEY, content: agentJwtKey(c, ctx.input.node.id), ...root, secret: true },
    aclsFile(acls([taskUserOf(ctx)], versionedPrincipals(ctx))),
    { path: HEALTH_CURLRC, content: `user = "${HEALTH_USER}:${c.healthPassword}"\n`, ...root, secret: true },
    ...mesosTlsFiles(ctx),
    ...executorTlsFiles(ctx, taskUserOf(ctx)),
    ...drainFiles(ctx, AGENT_WORK_DIR),
    { path: UNIT, content: unit, mode: "0644", owner: "root", group: "root" },
  ];
}

export const AGENT_INPUTS = [ZK_FILE, CREDENTIAL, HTTP_CREDENTIALS, JWT_KEY, ACLS_FILE, NODE_ENV];
