// (work in progress: the zod schema lands in the next commit)
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterModel } from "../model";
import type { Problem } from "./errors";

export function buildModel(
  _raw: Record<string, unknown>,
  _secrets: { clusterSecret?: pulumi.Output<string>; sshPrivateKey?: pulumi.Output<string> },
  problems: Problem[],
): ClusterModel | undefined {
  problems.push({ key: "", message: "schema not implemented yet" });
  return undefined;
}
