// Draining an agent through the Mesos operator API before it is removed: the agent's id from GET_AGENTS,
// DRAIN_AGENT on the leading master (a non-leader redirects there), then GET_AGENTS until the agent
// reports DRAINED, i.e. every task has left. Every call goes to the masters' operator API with the admin
// principal (DRAIN_AGENT writes), so `target` should be a master: agents hold no admin credential and are
// not sent one. Nothing is asked of the agent itself (its HTTP API knows only the read-only principal).
import type { SshTarget } from "../ssh/target";
import { CLUSTER_CA } from "../steps/tls";
import { curlScript, parseCurl, type Runner } from "./runner";
import type { DrainSpec, HostNode } from "./types";

export interface DrainAuth { user?: string; password?: string }

export interface DrainResult {
  /** "drained", or why nothing had to be drained. */
  outcome: "drained" | "agent not running" | "agent not registered";
  agentId?: string;
  seconds: number;
}

/** Pure: the id of the agent at `ip:port` in a GET_AGENTS response (its pid or hostname), if registered. */
export function agentIdFromAgents(body: string, ip: string, port: number): string | undefined {
  try {
    const agents: any[] = JSON.parse(body)?.get_agents?.agents ?? [];
    const a = agents.find((x) => String(x?.pid ?? "").endsWith(`@${ip}:${port}`) ||
      (x?.agent_info?.hostname === ip && (x?.agent_info?.port ?? port) === port));
    const id = a?.agent_info?.id?.value;
    return typeof id === "string" && id ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Pure: the agent id from the agent's /state. */
export function agentIdFromState(body: string): string | undefined {
  try {
    const id = JSON.parse(body)?.id;
    return typeof id === "string" && id ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Pure: the drain state of one agent in a GET_AGENTS response, "GONE" when it is not listed. */
export function drainStateOf(body: string, agentId: string): string {
  const agents: any[] = JSON.parse(body)?.get_agents?.agents ?? [];
  const a = agents.find((x) => x?.agent_info?.id?.value === agentId);
  if (!a) return "GONE";
  return a.drain_info?.state ?? (a.deactivated ? "DEACTIVATED" : "ACTIVE");
}

/** How long the drain asks the masters again while none answers or none leads (a restart, an election). */
export const LEADER_WAIT_S = 90;

export const drainAgentBody = (agentId: string) =>
  JSON.stringify({ type: "DRAIN_AGENT", drain_agent: { agent_id: { value: agentId }, mark_gone: false } });

/** Drain `node` and wait for its tasks to leave; throws naming the host when the deadline passes. */
export async function drainAgent(runner: Runner, target: SshTarget, label: string, node: HostNode, spec: DrainSpec,
  auth: DrainAuth, log: (msg: string) => void = () => {}): Promise<DrainResult> {
  const t0 = Date.now();
  const seconds = () => Math.round((Date.now() - t0) / 1000);
  const curl = async (url: string, post?: string) =>
    parseCurl((await runner.runScript(target, curlScript(url, auth, { post, cacert: CLUSTER_CA }), { label: `curl ${url}`, okCodes: "any", timeoutMs: 30_000 })).stdout);

  let api: string | undefined;
  let agentId: string | undefined;
  let errors: string[] = [];
  // A master restarting or a leader election under way (no answer, 5xx) passes: the masters are asked again for
  // up to LEADER_WAIT_S. Anything else (a refused credential, say) stops at once.
  const waitUntil = t0 + Math.min(LEADER_WAIT_S, spec.timeoutSeconds) * 1000;
  for (let transient = spec.masters.length > 0; !api && transient && (errors.length === 0 || Date.now() < waitUntil);) {
    if (errors.length) {
      log(`${label}: no master accepted DRAIN_AGENT yet (${errors.join("; ")}); asking again (${seconds()} s)`);
      await new Promise((res) => setTimeout(res, 3_000));
    }
    errors = [];
    const statuses: number[] = [];
    for (const m of spec.masters) {
      // HTTPS only, verified against the cluster CA (a public file on every host) by the master's IP SAN.
      const url = `https://${m}:${spec.masterPort}/api/v1`;
      const listed = await curl(url, JSON.stringify({ type: "GET_AGENTS" }));
      if (listed.status !== 200) {
        statuses.push(listed.status);
        errors.push(`${m}: HTTP ${listed.status || "unreachable"} ${listed.body.trim().slice(0, 200)}`);
        continue;
      }
      agentId = agentIdFromAgents(listed.body, node.ip, spec.agentPort);
      if (!agentId) {
        log(`${label}: no agent at ${node.ip}:${spec.agentPort} is registered with the masters; nothing to drain`);
        return { outcome: "agent not registered", seconds: seconds() };
      }
      const r = await curl(url, drainAgentBody(agentId));
      if (r.status >= 200 && r.status < 300) { api = url; break; }
      if (r.status === 400 && /unknown|not found|not registered/i.test(r.body)) {
        log(`${label}: agent ${agentId} is not registered with the masters; nothing to drain`);
        return { outcome: "agent not registered", agentId, seconds: seconds() };
      }
      statuses.push(r.status);
      errors.push(`${m}: HTTP ${r.status || "unreachable"} ${r.body.trim().slice(0, 200)}`);
    }
    transient = statuses.every((st) => st === 0 || st >= 500);
  }
  if (!api || !agentId) {
    throw new Error(`${label}: could not drain agent ${agentId ?? `at ${node.ip}`}: no master accepted DRAIN_AGENT (${errors.join("; ")}); ` +
      `check that the masters are up and that the admin credentials are valid, then run the command again`);
  }
  log(`${label}: draining agent ${agentId} (DRAIN_AGENT sent)`);
  const deadline = t0 + spec.timeoutSeconds * 1000;
  let last = "DRAINING";
  for (;;) {
    const r = await curl(api, JSON.stringify({ type: "GET_AGENTS" }));
    if (r.status === 200) {
      last = drainStateOf(r.body, agentId);
      if (last === "DRAINED" || last === "GONE") return { outcome: "drained", agentId, seconds: seconds() };
    }
    if (Date.now() > deadline) {
      throw new Error(`${label}: agent ${agentId} still ${last} after ${spec.timeoutSeconds} s: tasks are still running on it; ` +
        `move or kill them in Marathon, or raise the drain timeout, then run the command again (nothing was removed yet)`);
    }
    log(`${label}: waiting for tasks to leave (${last}, ${seconds()} s)`);
    await new Promise((res) => setTimeout(res, 2_000));
  }
}

/** Pure: the ids of the agents registered at `ip:port` in a GET_AGENTS response (by pid or hostname). */
export function agentIdsAt(body: string, ip: string, port: number): string[] {
  try {
    const agents: any[] = JSON.parse(body)?.get_agents?.agents ?? [];
    return agents.filter((x) => String(x?.pid ?? "").endsWith(`@${ip}:${port}`) ||
      (x?.agent_info?.hostname === ip && (x?.agent_info?.port ?? port) === port))
      .map((x) => x?.agent_info?.id?.value).filter((id): id is string => typeof id === "string" && id !== "");
  } catch {
    return [];
  }
}

export const reactivateAgentBody = (agentId: string) =>
  JSON.stringify({ type: "REACTIVATE_AGENT", reactivate_agent: { agent_id: { value: agentId } } });

/**
 * After a restart that a drain came before: an agent that registered again under the id that was drained (Mesos
 * recovered it after all: the host's own record of its identity said so) would stay DRAINED, offered nothing,
 * until an operator reactivates it: REACTIVATE_AGENT. An agent back under a new id (what the drain was for) needs
 * nothing: the drained id went with the old agent. Asks the masters in order, as drainAgent does.
 */
export async function reactivateIfKept(runner: Runner, target: SshTarget, label: string, node: HostNode,
  spec: DrainSpec, auth: DrainAuth, drainedId: string, log: (msg: string) => void = () => {}):
  Promise<"reactivated" | "new agent"> {
  const opts = { okCodes: "any" as const, timeoutMs: 30_000 };
  const curl = async (url: string, post: string) => parseCurl((await runner.runScript(target,
    curlScript(url, auth, { post, cacert: CLUSTER_CA }), { label: `curl ${url}`, ...opts })).stdout);
  const errors: string[] = [];
  for (const m of spec.masters) {
    const url = `https://${m}:${spec.masterPort}/api/v1`;
    const listed = await curl(url, JSON.stringify({ type: "GET_AGENTS" }));
    if (listed.status !== 200) {
      errors.push(`${m}: HTTP ${listed.status || "unreachable"} ${listed.body.trim().slice(0, 200)}`);
      continue;
    }
    const ids = agentIdsAt(listed.body, node.ip, spec.agentPort);
    // Another id at the address too: the drained one is the old agent, on its way out.
    if (!(ids.length === 1 && ids[0] === drainedId)) return "new agent";
    const r = await curl(url, reactivateAgentBody(drainedId));
    if (r.status < 200 || r.status >= 300) {
      throw new Error(`${label}: agent ${drainedId} came back under its drained id and could not be reactivated ` +
        `(${m}: HTTP ${r.status || "unreachable"} ${r.body.trim().slice(0, 200)}); ` +
        "it is offered no task until it is: " +
        `send REACTIVATE_AGENT for ${drainedId} to the leading master, or run the command again`);
    }
    log(`${label}: came back as the same agent ${drainedId} (Mesos recovered it): reactivated`);
    return "reactivated";
  }
  throw new Error(`${label}: could not ask the masters whether agent ${drainedId} came back drained ` +
    `(${errors.join("; ")}); ` +
    `if GET_AGENTS lists it DRAINED, send REACTIVATE_AGENT for it, or run the command again`);
}
