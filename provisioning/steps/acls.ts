// Mesos ACLs (--acls, local authorizer, `permissive: false`): each principal gets only what it needs, and
// whatever no rule allows is refused. Rule and object names are Mesos 1.11's ACLs message
// (include/mesos/authorizer/acls.proto: the `ACLs` message's fields and each rule's object field).
//   marathon: registers frameworks (any role) and runs tasks, only as the pools' task users;
//   agent:    registers agents, nothing else;
//   health:   GETs /metrics/snapshot and views frameworks, tasks, executors and roles (what /state shows);
//   drain:    drains agents (DRAIN_AGENT), nothing else: what an agent asks for itself before its machine stops;
//   admin:    everything.
import { ADMIN_USER, DRAIN_USER, HEALTH_USER } from "../credentials";

export const ACLS_FILE = "/etc/mesos/acls.json";
/** The default pool task user (components/config: agentPools[i].taskUser). */
export const DEFAULT_TASK_USER = "mesos-task";

type Entity = { type: "ANY" | "NONE" } | { values: string[] };
type Rule = Record<string, Entity>;
const ANY: Entity = { type: "ANY" };
const only = (...values: string[]): Entity => ({ values });

/** Every authorizable action of Mesos 1.11 with the name of its object: admin may do each of them. */
export const ACTIONS: Record<string, string> = {
  register_frameworks: "roles",
  run_tasks: "users",
  teardown_frameworks: "framework_principals",
  reserve_resources: "roles",
  unreserve_resources: "reserver_principals",
  create_volumes: "roles",
  destroy_volumes: "creator_principals",
  resize_volumes: "roles",
  get_quotas: "roles",
  update_quotas: "roles",
  view_roles: "roles",
  update_weights: "roles",
  get_endpoints: "paths",
  view_frameworks: "users",
  view_tasks: "users",
  view_executors: "users",
  access_sandboxes: "users",
  access_mesos_logs: "logs",
  view_flags: "flags",
  set_log_level: "level",
  attach_containers_input: "users",
  attach_containers_output: "users",
  launch_nested_containers_as_user: "users",
  launch_nested_containers_under_parent_with_user: "users",
  launch_nested_container_sessions_as_user: "users",
  launch_nested_container_sessions_under_parent_with_user: "users",
  kill_nested_containers: "users",
  wait_nested_containers: "users",
  remove_nested_containers: "users",
  view_containers: "users",
  register_agents: "agents",
  update_maintenance_schedules: "machines",
  get_maintenance_schedules: "machines",
  start_maintenances: "machines",
  stop_maintenances: "machines",
  get_maintenance_statuses: "machines",
  mark_agents_gone: "agents",
  launch_standalone_containers: "users",
  kill_standalone_containers: "users",
  wait_standalone_containers: "users",
  remove_standalone_containers: "users",
  view_standalone_containers: "users",
  modify_resource_provider_configs: "resource_providers",
  mark_resource_providers_gone: "resource_providers",
  view_resource_providers: "resource_providers",
  prune_images: "images",
  drain_agents: "agents",
  deactivate_agents: "agents",
  reactivate_agents: "agents",
  create_block_disks: "roles",
  destroy_block_disks: "roles",
  create_mount_disks: "roles",
  destroy_mount_disks: "roles",
  destroy_raw_disks: "roles",
};

/** The endpoints the health principal may GET where Mesos authorizes by path (get_endpoints). */
export const HEALTH_ENDPOINTS = ["/metrics/snapshot"];
const HEALTH_VIEWS = ["view_frameworks", "view_tasks", "view_executors", "view_roles"];

/** The names of the principals that exist once per credential generation (rotation/principals.ts). */
export interface VersionedPrincipals {
  agent: string[];
  drain: string[];
}

/**
 * The ACLs of a master (taskUsers: every pool's) or an agent (its own pool's task user). Rules are checked
 * in order and the first whose principal and object match decides; no match = refused (permissive false).
 * `versioned`: the agent and drain principals' names, both generations' while clusterSecret rotates.
 */
export function acls(taskUsers: string[], versioned: VersionedPrincipals = { agent: ["agent"], drain: [DRAIN_USER] }):
  { permissive: false } & Record<string, unknown> {
  const users = [...new Set(taskUsers)].sort();
  if (users.length === 0) throw new Error("acls: no task user (agentPools[i].taskUser)");
  const rules: Record<string, Rule[]> = {};
  const add = (action: string, principal: string | string[], object: Entity) => {
    const name = ACTIONS[action];
    if (!name) throw new Error(`acls: ${action} is not a Mesos 1.11 ACL`);
    (rules[action] ??= []).push({ principals: only(...[principal].flat()), [name]: object });
  };
  add("register_frameworks", "marathon", ANY);
  add("run_tasks", "marathon", only(...users));
  add("register_agents", versioned.agent, ANY);
  add("get_endpoints", HEALTH_USER, only(...HEALTH_ENDPOINTS));
  for (const v of HEALTH_VIEWS) add(v, HEALTH_USER, ANY);
  // Its object is implicit in Mesos 1.11 (acls.proto DrainAgent: "Use Entity type ANY or NONE"): no agent can be named.
  add("drain_agents", versioned.drain, ANY);
  for (const action of Object.keys(ACTIONS)) add(action, ADMIN_USER, ANY);
  return { permissive: false, ...rules };
}

/** The pools' task users a master allows (BootstrapInput.taskUsers, else the default). */
export function masterTaskUsers(taskUsers: string[] | undefined): string[] {
  return taskUsers?.length ? taskUsers : [DEFAULT_TASK_USER];
}

/**
 * Marathon's --mesos_user: the default task user when a pool uses it, else the first other non-root one in
 * name order (root only if every pool asks for it). Independent of order, so the cloud-init path (pools in
 * config order) and the bare-metal one (sorted) agree.
 */
export function defaultTaskUser(taskUsers: string[]): string {
  if (taskUsers.includes(DEFAULT_TASK_USER)) return DEFAULT_TASK_USER;
  return [...taskUsers].sort().find((u) => u !== "root") ?? taskUsers[0] ?? DEFAULT_TASK_USER;
}
