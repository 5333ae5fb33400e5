// The only door from the stack config to the rest of the program: read `elastic-mesos:*`, validate all
// of it (schema.ts, providers.ts, rules.ts), and either return a ClusterModel or throw one ConfigError
// that lists every problem, before any resource is registered.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "../model";
import { buildModel } from "./build";
import { ConfigError, NAMESPACE, type Problem } from "./errors";

export { ConfigError, type Problem } from "./errors";
export { DEFAULT_VERSIONS, DEFAULT_SIZES, DEFAULT_NETWORK_CIDR, DEFAULT_OS } from "./defaults";

export interface ConfigSecrets {
  clusterSecret?: pulumi.Output<string>;
  sshPrivateKey?: pulumi.Output<string>;
  previousClusterSecret?: pulumi.Output<string>;
}

/** Keys read as plain text; every other key holds JSON when set at the top level (the CLI passes JSON). */
const TEXT_KEYS = new Set(["provider", "os", "clusterSecret", "sshPrivateKey", "previousClusterSecret"]);
const SECRET_KEYS = ["clusterSecret", "sshPrivateKey", "previousClusterSecret"] as const;

/**
 * Pure core used by loadModel and tests. `raw` = the config values without the namespace, structured
 * values already JSON-parsed. The secrets' plain values may be in `raw` too: they are checked there and
 * never echoed, and the model only carries them as secret Outputs (from `secrets`, or wrapped here).
 */
export function parseModel(raw: Record<string, unknown>, secrets: ConfigSecrets): ClusterModel {
  const resolved = {
    clusterSecret: secrets.clusterSecret ?? asSecret(raw.clusterSecret),
    sshPrivateKey: secrets.sshPrivateKey ?? asSecret(raw.sshPrivateKey),
    previousClusterSecret: secrets.previousClusterSecret ?? asSecret(raw.previousClusterSecret),
  };
  const problems: Problem[] = [];
  const model = buildModel(raw, resolved, problems);
  if (problems.length > 0 || !model) throw new ConfigError(problems);
  return model;
}

function asSecret(v: unknown): pulumi.Output<string> | undefined {
  return typeof v === "string" && v !== "" ? pulumi.secret(v) : undefined;
}

/** Reads `elastic-mesos:*` with pulumi.Config and validates it; throws ConfigError listing EVERY problem. */
export function loadModel(config: pulumi.Config = new pulumi.Config(NAMESPACE)): ClusterModel {
  const prefix = `${config.name}:`;
  const raw: Record<string, unknown> = {};
  const problems: Problem[] = [];
  // Every key of the namespace, so a typo (`elastic-mesos:agentPool`) is reported rather than ignored.
  for (const fullKey of Object.keys(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    if ((SECRET_KEYS as readonly string[]).includes(key)) continue;
    const text = config.get(key);
    if (text === undefined) continue;
    raw[key] = TEXT_KEYS.has(key) ? text : parseJson(text);
  }
  const secrets: ConfigSecrets = {};
  for (const key of SECRET_KEYS) {
    const plain = pulumi.runtime.getConfig(`${prefix}${key}`);
    if (plain === undefined) continue;
    // Checked in plain text here, never echoed; the model gets the secret Output.
    raw[key] = plain;
    secrets[key] = config.requireSecret(key);
    if (!isConfigSecret(`${prefix}${key}`))
      problems.push({ key, message: `stored in plain text; set it again with \`pulumi config set --secret ${prefix}${key} ...\` so it is encrypted in the stack file` });
  }
  if (raw.cluster === undefined || (isObject(raw.cluster) && raw.cluster.name === undefined)) {
    // The stack name is the natural default; made DNS-safe (stacks may be named "Prod_EU").
    raw.cluster = { ...(isObject(raw.cluster) ? raw.cluster : {}), name: clusterNameFromStack(pulumi.getStack()) };
  }
  try {
    const model = parseModel(raw, secrets);
    if (problems.length > 0) throw new ConfigError(problems);
    return model;
  } catch (e) {
    if (e instanceof ConfigError && problems.length > 0) {
      const same = (p: Problem, q: Problem) => p.key === q.key && p.message === q.message;
      throw new ConfigError([...problems, ...e.problems.filter((p) => !problems.some((q) => same(p, q)))]);
    }
    throw e;
  }
}

/** `Prod_EU.1` → `prod-eu-1`, at most 40 characters. */
export function clusterNameFromStack(stack: string): string {
  const s = stack.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^[^a-z]+/, "").slice(0, 40).replace(/-+$/, "");
  return s || "mesos";
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // a plain string: the schema says what the key expects (adminCidrs accepts "a,b")
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

/** Whether the engine passed this key as a secret (`pulumi config set --secret`). */
function isConfigSecret(fullKey: string): boolean {
  const fn = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  return typeof fn === "function" ? fn(fullKey) : true;
}
