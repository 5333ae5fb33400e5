// Every cluster credential, derived from the one cluster secret with HMAC-SHA256. Deterministic, so a
// re-run (or a new master) gets the same passwords without a random provider or state to keep; distinct
// per cluster name and per purpose, so one leaked credential reveals nothing about the others.
import { createHmac } from "node:crypto";
import type { Credentials } from "./steps/types";

/** The admin HTTP principal of the bootstrap (Mesos and Marathon basic auth); its password is adminPassword. */
export const ADMIN_USER = "admin";
/** The read-only HTTP principal of health checks and gates: may GET read-only endpoints and view, nothing else. */
export const HEALTH_USER = "health";
/**
 * The HTTP principal an agent drains itself with before its machine shuts down (mesos-agent-drain): its only
 * Mesos ACL permission is drain_agents (Mesos 1.11 names no agent in that ACL: it may drain any agent).
 */
export const DRAIN_USER = "drain";

/** Bumped only if the derivation ever changes (it would rotate every credential of every cluster). */
const SCHEME = "elastic-mesos/credentials/v1";

/**
 * 32 characters of base64url (192 bits): no ':' '@' '/' or quotes, so a credential is safe inside a
 * `zk://user:pass@host` URL, a `user:pass` pair, JSON and a systemd environment file without escaping.
 */
function derive(clusterSecret: string, clusterName: string, purpose: string): string {
  return createHmac("sha256", clusterSecret)
    .update(`${SCHEME}\0${clusterName}\0${purpose}`)
    .digest("base64url")
    .slice(0, 32);
}

export function deriveCredentials(clusterSecret: string, clusterName: string): Credentials {
  if (typeof clusterSecret !== "string" || clusterSecret.length < 16) {
    throw new Error(
      'clusterSecret: must be at least 16 characters; set it with `pulumi config set --secret clusterSecret "$(openssl rand -base64 32)"`',
    );
  }
  if (!clusterName) throw new Error("cluster.name: must not be empty (it salts every derived credential)");
  return {
    agentSecret: derive(clusterSecret, clusterName, "mesos-principal/agent"),
    marathonSecret: derive(clusterSecret, clusterName, "mesos-principal/marathon"),
    adminPassword: derive(clusterSecret, clusterName, "http/admin"),
    zkMesosPassword: derive(clusterSecret, clusterName, "zookeeper-digest/mesos"),
    zkMarathonPassword: derive(clusterSecret, clusterName, "zookeeper-digest/marathon"),
    zkSuperPassword: derive(clusterSecret, clusterName, "zookeeper-digest/super"),
    healthPassword: derive(clusterSecret, clusterName, "http/health"),
    drainPassword: derive(clusterSecret, clusterName, "http/drain"),
    agentJwtRoot: derive(clusterSecret, clusterName, "mesos-agent/jwt-root"),
    ownerId: hostOwnerId(clusterSecret, clusterName),
  };
}

/**
 * The id a host's owner mark carries (/etc/elastic-mesos/owner): 16 characters of an HMAC of its own label, so
 * two stacks that share a cluster name still differ, and the id says nothing about the secret or a credential.
 */
export function hostOwnerId(clusterSecret: string, clusterName: string): string {
  return derive(clusterSecret, clusterName, "host-owner/id").slice(0, 16);
}

/**
 * One agent's `--jwt_secret_key` (it signs and checks its executors' tokens): derived from agentJwtRoot and the
 * node id, so one agent's key says nothing about another's, and the root itself is never written to a host.
 */
export function agentJwtKey(credentials: Credentials, nodeId: string): string {
  return createHmac("sha256", credentials.agentJwtRoot).update(`${SCHEME}\0jwt\0${nodeId}`).digest("base64url");
}
