// The readiness resource (`pulumi-nodejs:dynamic/elastic-mesos/health:Readiness`): create/update wait
// until every master answers, ZooKeeper has a quorum, a Mesos leader is elected, every agent of every pool is
// registered and active (a pool run as a self-healing group: as many as its desired size, counted by the agents'
// `pool` attribute, since their names are not known in advance), and Marathon has a leader whose framework is
// subscribed (probes.ts: small endpoints only; a check that depends on a failed one is reported "not judged",
// never passed). It re-checks only when the cluster changed (its inputs carry a hash of every node's step hashes),
// so a no-change `pulumi up` sends nothing. Like the host, its stored provider is the fixed shim
// (provisioning/dynamic/shim.ts), and the admin password is derived from the stack config's clusterSecret in the
// provider: it is neither an input nor an output.
//
// Host keys: the probe sends the admin password to every master, so a master's key is verified like the
// host provider does it. A key pinned in config wins; else the key its MesosHost recorded (SSH bootstrap);
// else the key this resource recorded the first time it saw it (cloud stacks: trust on first use, kept
// in `hostKeys` and expected on every later check). A changed key stops the check before anything is sent.
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import type { Runner } from "../baremetal/runner";
import type { HostConnection } from "../baremetal/types";
import { stableJson } from "../baremetal/plan";
import { HEALTH_USER, deriveCredentials } from "../credentials";
import { plain } from "../dynamic/plain";
import { ShimResource } from "../dynamic/shim";
import { shimText } from "../dynamic/shim-text";
import { SshPool } from "../ssh/pool";
import { endpointKey, type SshBastion, type SshTarget } from "../ssh/target";
import type { ExpectedAgent, ExpectedPool, Ports } from "./probes";
import { waitForReadiness } from "./wait";

export interface ReadinessInputs {
  cluster: string;
  masters: { id: string; ip: string; connection: HostConnection; hostKeyFingerprint?: string }[];
  agents: ExpectedAgent[];
  /**
   * Pools run as self-healing groups: at least `desired` usable agents of each must be registered (counted, their
   * names are not known). Absent when there is none, so a cluster without groups keeps the inputs it had.
   */
  pools?: ExpectedPool[];
  quorum: number;
  /** Masters the masters pin let leave (membership/pin.ts departing): their removal is planned, not refused. */
  departing?: string[];
  ports: Ports;
  /** HTTP principal of the probes; its password is derived from clusterSecret. */
  adminUser?: string;
  timeoutSeconds: number;
  /** Changes whenever any node's steps changed: forces a re-check. */
  generation: string;
}

export interface ReadinessOutputs extends ReadinessInputs {
  seconds: number;
  checks: { name: string; ok: boolean; judged?: false; detail: string }[];
  /** SSH endpoint ("root@10.0.0.11:22", "u@jump:22->u@10.0.1.5:22") → "SHA256:..." of the key it presented. */
  hostKeys: Record<string, string>;
}

/** The outputs that are not inputs, and what releases before the shim also stored: a diff ignores them. */
const OUTPUT_ONLY = ["seconds", "checks", "hostKeys", "adminPassword", "__provider"] as const;
const SHIM = shimText("elastic-mesos/health:Readiness");

/**
 * Pure: the generation of an SSH-bootstrapped cluster, a hash of every host's step hashes (64 bytes, not 200 per
 * host) and, once any host has had one, of its drift repairs (a repair restores the hashes recorded before it).
 */
export function sshGeneration(stepHashes: Record<string, string>[], repairs: (number | undefined)[] = []): string {
  const counted = repairs.some((n) => (n ?? 0) > 0) ? { stepHashes, repairs: repairs.map((n) => n ?? 0) } : stepHashes;
  return `sha256:${createHash("sha256").update(stableJson(counted)).digest("hex")}`;
}

/** Pure: a generation in today's form. Releases before the shim stored the step hashes' JSON itself. */
export function normalGeneration(g: string): string {
  if (!g.startsWith("[")) return g;
  try {
    return sshGeneration(JSON.parse(g));
  } catch {
    return g;
  }
}

/** Pure: the inputs part of stored outputs (or of new inputs), in a form that compares across releases. */
function comparable(v: object): string {
  const x: Record<string, unknown> = { ...v };
  for (const k of OUTPUT_ONLY) delete x[k];
  if (typeof x.generation === "string") x.generation = normalGeneration(x.generation);
  return stableJson(x);
}

/** Pure: outputs written before the shim (the password or the old closure in them): rewritten once, unchecked. */
export function legacyReadiness(olds: Record<string, unknown>): boolean {
  return olds.adminPassword !== undefined || (olds.__provider !== undefined && olds.__provider !== SHIM);
}

/**
 * Pure: the SSH target of a master. The expected key is the one pinned in config (source "config"), else
 * the one its host resource recorded, else the one this resource recorded (both source "state"); none
 * means first use. A bastion's key likewise: pinned, else recorded.
 */
export function masterTarget(m: ReadinessInputs["masters"][number], privateKey: string, recorded: Record<string, string>): SshTarget {
  const c = m.connection;
  let bastion: (SshBastion & { hostKeySource?: "config" | "state" }) | undefined;
  if (c.bastion) {
    const pinned = c.bastion.hostKeyFingerprint;
    // hostKeySource rides along: the pool spreads the bastion into its own target (wording of a mismatch).
    bastion = { ...c.bastion, hostKeyFingerprint: pinned ?? recorded[endpointKey(c.bastion)], hostKeySource: pinned ? "config" : "state" };
  }
  const base = { name: m.id, host: c.host, port: c.port, user: c.user, privateKey, bastion, configPath: c.configPath,
    ...(c.hostKeyAlgorithm ? { hostKeyAlgorithm: c.hostKeyAlgorithm } : {}),
    // Beside a pin only (connect.ts): a cloud machine's previous derived key while clusterSecret rotates.
    ...(c.previousHostKeyFingerprint ? { previousHostKeyFingerprint: c.previousHostKeyFingerprint } : {}) };
  const fingerprint = c.hostKeyFingerprint ?? m.hostKeyFingerprint ?? recorded[endpointKey(base)];
  return { ...base, hostKeyFingerprint: fingerprint, hostKeySource: c.hostKeyFingerprint ? "config" : "state" };
}

/**
 * Pure: what to record. Keys seen in this run, plus recorded keys of endpoints still in use that were not
 * reached this time (a master down during a check keeps its key); endpoints no longer used are dropped.
 */
export function keysToRecord(targets: SshTarget[], recorded: Record<string, string>, seen: ReadonlyMap<string, { fingerprint: string }> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const endpoints = targets.flatMap((t) => [endpointKey(t), ...(t.bastion ? [endpointKey(t.bastion)] : [])]);
  for (const e of endpoints) {
    const fp = seen?.get(e)?.fingerprint ?? recorded[e];
    if (fp) out[e] = fp;
  }
  return out;
}

/**
 * Pure: why a change of the masters is refused ([] = none). Masters hold the ZooKeeper votes and the Mesos
 * replicated log, so removing one is a membership change, not a clean-up. The masters pin (membership/pin.ts)
 * refuses it first, before any resource; this is the second net, for state the pin has not recorded yet. Only an
 * `up` checks new inputs against old ones, before the engine deletes anything, so `pulumi destroy` is never
 * refused and the host provider removes masters without any flag.
 */
export function masterChanges(olds: Partial<Pick<ReadinessInputs, "masters">> | undefined,
  news: Pick<ReadinessInputs, "masters" | "departing">): string[] {
  if (!Array.isArray(olds?.masters) || !Array.isArray(news.masters)) return [];
  const removed = olds.masters.filter((o) => !news.masters.some((n) => n.id === o.id) && !news.departing?.includes(o.id));
  if (removed.length === 0) return [];
  const which = removed.map((m) => `${m.id} (${m.ip})`).join(", ");
  return [`removing master${removed.length > 1 ? "s" : ""} ${which} from a running cluster is refused: masters hold the ` +
    "ZooKeeper votes and the Mesos replicated log, so a master leaves before the others lower --quorum, and the " +
    "masters pin had no record of the masters to plan that (state of an earlier release). Put the master back in the " +
    "config and run `pulumi up` once (it records them), then remove it; to remove the whole cluster, run `pulumi destroy`"];
}

export class ReadinessProvider implements pulumi.dynamic.ResourceProvider<ReadinessInputs, ReadinessOutputs> {
  private privateKey: string | undefined;
  private clusterSecret: string | undefined;
  private readonly deps: { runner?: () => Runner; log?: (l: string) => void } | undefined;

  constructor(deps?: { runner?: () => Runner; log?: (l: string) => void }) {
    this.deps = deps;
    this.privateKey = undefined;
    this.clusterSecret = undefined;
  }

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.privateKey = req.config.get("sshPrivateKey");
    this.clusterSecret = req.config.get("clusterSecret");
  }

  /** Runs in `preview` and `up`, before any step; never in `destroy`. */
  async check(olds: ReadinessInputs, news: ReadinessInputs): Promise<pulumi.dynamic.CheckResult<ReadinessInputs>> {
    return { inputs: news, failures: masterChanges(olds, news).map((reason) => ({ property: "masters", reason })) };
  }

  async diff(_id: string, olds: ReadinessOutputs, news: ReadinessInputs): Promise<pulumi.dynamic.DiffResult> {
    return { changes: comparable(olds) !== comparable(news) || legacyReadiness(olds as unknown as Record<string, unknown>) };
  }

  async create(inputs: ReadinessInputs): Promise<pulumi.dynamic.CreateResult<ReadinessOutputs>> {
    return { id: `${inputs.cluster}:readiness`, outs: plain(await this.wait(inputs, {})) };
  }

  /** Also the one-time upgrade of state written before the shim: the cluster did not change, so nothing is checked. */
  async update(_id: string, olds: ReadinessOutputs, news: ReadinessInputs): Promise<pulumi.dynamic.UpdateResult<ReadinessOutputs>> {
    if (comparable(olds) === comparable(news)) {
      return { outs: plain({ ...news, seconds: olds.seconds, checks: olds.checks, hostKeys: olds.hostKeys ?? {} }) };
    }
    return { outs: plain(await this.wait(news, olds.hostKeys ?? {})) };
  }

  async delete(): Promise<void> {
    // Nothing on the hosts belongs to this resource.
  }

  private async wait(inputs: ReadinessInputs, recorded: Record<string, string>): Promise<ReadinessOutputs> {
    const key = this.privateKey;
    if (!key) throw new Error("readiness: no SSH private key: `cat ~/.ssh/id_ed25519 | pulumi config set --secret elastic-mesos:sshPrivateKey`");
    if (!this.clusterSecret) {
      throw new Error('readiness: no cluster secret: `pulumi config set --secret elastic-mesos:clusterSecret "$(openssl rand -base64 32)"`');
    }
    // Mesos is only read: the read-only health principal. Marathon 1.11 knows a single HTTP user, the admin.
    const c = deriveCredentials(this.clusterSecret, inputs.cluster);
    const auth = { mesos: { user: HEALTH_USER, password: c.healthPassword }, marathon: { user: inputs.adminUser, password: c.adminPassword } };
    const runner = this.deps?.runner ? this.deps.runner() : new SshPool({ retries: 2, backoffMs: 1_000, parallelism: 8 });
    const log = this.deps?.log ?? (process.env.ELASTIC_MESOS_LOG ? (l: string) => process.stderr.write(`${l}\n`) : () => {});
    try {
      const masters = inputs.masters.map((m) => ({ id: m.id, ip: m.ip, target: masterTarget(m, key, recorded) }));
      const r = await waitForReadiness(runner, {
        masters, agents: inputs.agents, pools: inputs.pools ?? [], quorum: inputs.quorum, ports: inputs.ports,
        auth, timeoutSeconds: inputs.timeoutSeconds,
      }, (msg) => log(`readiness ${inputs.cluster}: ${msg}`));
      const hostKeys = keysToRecord(masters.map((m) => m.target), recorded, runner.seenKeys);
      return { ...inputs, seconds: r.seconds, checks: r.checks, hostKeys };
    } finally {
      await runner.close();
    }
  }
}

export type ReadinessArgs = { [K in keyof ReadinessInputs]: pulumi.Input<ReadinessInputs[K]> };

export class ClusterReadiness extends ShimResource {
  declare public readonly seconds: pulumi.Output<number>;
  declare public readonly checks: pulumi.Output<{ name: string; ok: boolean; judged?: false; detail: string }[]>;
  /** Masters' (and bastions') host keys seen by the checks, expected by every later check. */
  declare public readonly hostKeys: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: ReadinessArgs, opts?: pulumi.CustomResourceOptions) {
    super("elastic-mesos/health:Readiness", name, { seconds: undefined, checks: undefined, hostKeys: undefined, ...args }, opts);
  }
}
