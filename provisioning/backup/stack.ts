// What a backup or a restore needs to know about a stack, read through the Pulumi CLI: the masters and their
// pinned host keys (the readiness resource's state: the same targets `pulumi up` checks), and secrets from the
// stack config: the SSH key to reach the masters, and for a restore the cluster secret its readiness check derives
// the probes' passwords from. Nothing is taken from the environment or the command line.
import { execFile } from "node:child_process";
import { join } from "node:path";
import type { ReadinessOutputs } from "../health/readiness";

export interface StackFacts {
  stack: string;
  /** The readiness resource's outputs: cluster, masters (connections), agents, pools, ports, recorded host keys. */
  readiness: ReadinessOutputs;
  privateKey: string;
  /** Only when asked for (a restore's readiness check derives the health and admin passwords from it). */
  clusterSecret?: string;
}

/** Runs the project's Pulumi CLI (`npm run pulumi`); resolves with stdout. */
export type PulumiCli = (args: string[]) => Promise<string>;

const REPO_ROOT = join(__dirname, "..", "..");

/** The project's CLI through scripts/pulumi/run.sh (found or built, the passphrase `npm run up` made). */
export const projectCli: PulumiCli = (args) =>
  new Promise((resolve, reject) => {
    execFile("bash", [join(REPO_ROOT, "scripts", "pulumi", "run.sh"), ...args, "--color", "never"],
      { cwd: REPO_ROOT, maxBuffer: 256 << 20, timeout: 600_000 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const tail = String(stderr).trim().split("\n").slice(-5).join("\n");
        reject(new Error(`pulumi ${args.filter((a) => !a.startsWith("--show")).join(" ")} failed: ${tail || err.message}`));
      });
  });

const READINESS_TYPE = "elastic-mesos/health:Readiness";

/** Pure: the readiness resource's outputs in `pulumi stack export` JSON; throws with the next command when absent. */
export function readinessOf(exported: unknown, stack: string): ReadinessOutputs {
  const resources = (exported as { deployment?: { resources?: { urn?: string; outputs?: unknown }[] } })?.deployment?.resources ?? [];
  // The URN's type part: `pulumi-nodejs:dynamic/elastic-mesos/health:Readiness`.
  const found = resources.filter((r) => typeof r.urn === "string" && r.urn.includes(`dynamic/${READINESS_TYPE}::`));
  if (found.length === 0) {
    throw new Error(`stack ${stack} has no cluster that passed its readiness check (nothing to back up or restore): ` +
      `run \`npm run pulumi -- up --stack ${stack}\` first`);
  }
  if (found.length > 1) throw new Error(`stack ${stack} has ${found.length} readiness resources; expected one`);
  const outs = found[0].outputs as ReadinessOutputs | undefined;
  if (!outs || !Array.isArray(outs.masters) || outs.masters.length === 0 || typeof outs.cluster !== "string") {
    throw new Error(`stack ${stack}: its readiness resource records no masters; run \`npm run pulumi -- up --stack ${stack}\``);
  }
  return outs;
}

/** The stack's facts: `stack` or the selected stack; the cluster secret only with `withClusterSecret`. */
export async function stackFacts(stack: string | undefined, withClusterSecret = false, cli: PulumiCli = projectCli): Promise<StackFacts> {
  const name = stack ?? (await cli(["stack", "--show-name"])).trim();
  const exported = JSON.parse(await cli(["stack", "export", "--stack", name]));
  const readiness = readinessOf(exported, name);
  const secret = async (key: string, how: string) => {
    // Only a missing key reads as absent: another failure (a wrong passphrase) keeps its own message.
    const v = (await cli(["config", "get", `elastic-mesos:${key}`, "--stack", name]).catch((e: Error) => {
      if (/not found/i.test(e.message)) return "";
      throw e;
    })).replace(/\n$/, "");
    if (!v) throw new Error(`stack ${name} has no elastic-mesos:${key}: ${how}`);
    return v;
  };
  return {
    stack: name,
    readiness,
    privateKey: await secret("sshPrivateKey", "the key `pulumi up` reached the masters with; set it again with " +
      "`cat ~/.ssh/id_ed25519 | npm run pulumi -- config set --secret elastic-mesos:sshPrivateKey`"),
    ...(withClusterSecret
      ? { clusterSecret: await secret("clusterSecret", "the cluster's credentials derive from it; without it the cluster cannot be checked") }
      : {}),
  };
}
