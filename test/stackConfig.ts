// Loads Pulumi.yaml project defaults + a stack file into the flat map the Pulumi CLI hands the program
// (what it puts in PULUMI_CONFIG): keys "project:key", every structured value as JSON text. Nested YAML
// written by `pulumi config set --path` and top-level JSON strings from `pulumi config set` both end up
// as JSON text, exactly as with the real CLI. Stack files live in `stackConfigDir` (stacks/).
import { existsSync, readFileSync, readdirSync } from "fs";
import { join } from "path";
import { parse } from "yaml";
import { newKeyPair } from "./fixtures/ssh-server";

export interface StackConfig {
  project: string;
  /** Flat config map for `pulumi.runtime.setAllConfig`. */
  config: Record<string, string>;
  /** Keys the CLI would mark secret (none here: encrypted values cannot be read without the CLI). */
  secretKeys: string[];
}

const ROOT = join(__dirname, "..");

export function loadStackConfig(stack: string, dir = ROOT): StackConfig {
  const proj = parse(readFileSync(join(dir, "Pulumi.yaml"), "utf8")) as { name: string; stackConfigDir?: string; config?: Record<string, unknown> };
  const project = proj.name;
  const config: Record<string, string> = {};
  const put = (k: string, v: unknown) => {
    const key = k.includes(":") ? k : `${project}:${k}`;
    if (v && typeof v === "object" && "secure" in v) throw new Error(`${key} is encrypted; give it to the test instead`);
    config[key] = typeof v === "string" ? v : JSON.stringify(v);
  };
  // Project-level config: plain values, or { value } / { default } wrappers (typed declarations).
  for (const [k, v] of Object.entries(proj.config ?? {})) {
    if (v && typeof v === "object" && !Array.isArray(v) && ("value" in v || "default" in v)) put(k, "value" in v ? v.value : v.default);
    else put(k, v);
  }
  const file = stackFile(stack, dir, proj.stackConfigDir);
  if (existsSync(file)) {
    const doc = parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
    for (const [k, v] of Object.entries(doc?.config ?? {})) put(k, v);
  }
  return { project, config, secretKeys: [] };
}

export function stackFile(stack: string, dir = ROOT, stackConfigDir = "stacks"): string {
  return join(dir, stackConfigDir, `Pulumi.${stack}.yaml`);
}

/** Names of the committed stacks (`stacks/Pulumi.<name>.yaml`). */
export function committedStacks(dir = ROOT): string[] {
  // Only the examples: the e2e suite and bench:engine create (and remove) stacks of their own in stacks/
  // while other test files run, and a user's own stacks live there too.
  return readdirSync(join(dir, "stacks"))
    .map((f) => /^Pulumi\.(.+-example)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => !!s)
    .sort();
}

/** The flat map turned into parseModel's input: namespace stripped, JSON values parsed (as loadModel does). */
export function rawFromConfig(config: Record<string, string>, namespace = "elastic-mesos"): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (!k.startsWith(`${namespace}:`)) continue;
    const key = k.slice(namespace.length + 1);
    try {
      raw[key] = ["provider", "os"].includes(key) ? v : JSON.parse(v);
    } catch {
      raw[key] = v;
    }
  }
  return raw;
}

// ---- Valid raw stack configs for tests (keys without the namespace), one per provider. ----

/** A throwaway key pair (the public half is what users paste into ssh.publicKey). */
export const TEST_KEYS = newKeyPair({ comment: "test@elastic-mesos" });
export const TEST_CLUSTER_SECRET = "test-cluster-secret-0123456789";

export function validRaw(provider: "aws" | "gcp" | "digitalocean" | "openstack" | "baremetal" | "local"): Record<string, any> {
  const base: Record<string, any> = {
    provider,
    adminCidrs: ["203.0.113.0/24"],
    agentPools: [{ name: "general", count: 2 }],
    clusterSecret: TEST_CLUSTER_SECRET,
    // Every provider: the SSH bootstrap and/or the health check `pulumi up` waits for log in with it.
    sshPrivateKey: TEST_KEYS.private,
  };
  switch (provider) {
    case "aws":
      return { ...base, ssh: { publicKey: TEST_KEYS.public }, aws: { region: "eu-west-1", zones: ["eu-west-1a", "eu-west-1b"] } };
    case "gcp":
      return { ...base, ssh: { publicKey: TEST_KEYS.public }, gcp: { project: "my-project", region: "europe-west1", zones: ["europe-west1-b"] } };
    case "digitalocean":
      return { ...base, ssh: { publicKey: TEST_KEYS.public }, digitalocean: { region: "fra1" } };
    case "openstack":
      return { ...base, ssh: { publicKey: TEST_KEYS.public }, openstack: { externalNetwork: "public" } };
    case "baremetal":
      return {
        ...base,
        agentPools: [{ name: "general" }, { name: "big" }],
        baremetal: {
          hosts: [
            { address: "10.0.0.11", role: "master" },
            { address: "10.0.0.12", role: "master" },
            { address: "10.0.0.13", role: "master" },
            { address: "10.0.0.21", role: "agent", pool: "general" },
            { name: "node22", address: "10.0.0.22", role: "agent", pool: "general", user: "admin", port: 2222 },
            { name: "big1", address: "10.0.0.31", role: "agent", pool: "big" },
          ],
        },
      };
    case "local":
      return { ...base, local: { maxHosts: 6 } };
  }
}
