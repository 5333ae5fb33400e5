// The only door from the stack config to the rest of the program: read `elastic-mesos:*`, validate all
// of it with the zod schema (schema.ts), and either return a ClusterModel or throw one ConfigError that
// lists every problem, before any resource is registered.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "../model";
import { ConfigError, NAMESPACE, type Problem } from "./errors";
import { buildModel } from "./schema";

export { ConfigError, type Problem } from "./errors";

export interface ConfigSecrets {
  clusterSecret?: pulumi.Output<string>;
  sshPrivateKey?: pulumi.Output<string>;
}

/**
 * Pure core used by loadModel and tests. `raw` = the config values without the namespace, structured
 * values already JSON-parsed. The secrets' plain values may also be in `raw` (they are checked there and
 * never echoed); the model only ever carries them as the secret Outputs of `secrets`.
 */
export function parseModel(raw: Record<string, unknown>, secrets: ConfigSecrets): ClusterModel {
  const problems: Problem[] = [];
  const model = buildModel(raw, secrets, problems);
  if (problems.length > 0 || !model) throw new ConfigError(problems);
  return model;
}

/** Reads `elastic-mesos:*` with pulumi.Config and validates it; throws ConfigError listing EVERY problem. */
export function loadModel(config: pulumi.Config = new pulumi.Config(NAMESPACE)): ClusterModel {
  void config;
  throw new ConfigError([{ key: "", message: "loadModel: not wired yet" }]);
}
