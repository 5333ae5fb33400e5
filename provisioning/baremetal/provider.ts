// The dynamic provider behind one bare-metal node: create runs the node's steps over SSH, update
// re-runs only the steps whose content changed, delete drains an agent and removes what we installed.
//
// The class is not serialized into the state: the stored provider is a fixed shim that loads this file
// from the project (provisioning/dynamic/shim.ts), so every operation, delete included, runs this code.
// The inputs are the node's compact bootstrap input; the steps are rendered here (render.ts) with
// credentials derived from the stack config's clusterSecret, and the SSH private key comes from stack
// config too: no credential is ever an input or an output.
import type * as pulumi from "@pulumi/pulumi";
import { ADMIN_USER, deriveCredentials } from "../credentials";
import { hasUnknowns, plain } from "../dynamic/plain";
import { shimText } from "../dynamic/shim-text";
import type { Credentials, NodeTls } from "../steps/types";
import { masterTarget } from "../health/readiness";
import { describeTarget, type SshTarget } from "../ssh/target";
import { SshError, type SshErrorCode } from "../ssh/errors";
import { SshPool } from "../ssh/pool";
import { sshDelivery, type StepScript } from "../render/ssh-plan";
import { rollouts, type Turn } from "../rollout/coordinator";
import { leadershipScript, parseLeadership } from "../rollout/leader";
import { leaveScript, leaveSummary } from "../membership/leave";
import { LOG_SEED, NOT_ONE, RESTART_SCRIPT, snapshotScript, unpackScript } from "../membership/seed";
import { uploadCommand } from "../ssh/upload";
import { disruptive, rankOf } from "../rollout/plan";
import { footprintProbeScript, parseFootprint, renderCleanupScript } from "./cleanup";
import { FIRSTBOOT_POLL_MS, firstBootFailure, firstBootProbeScript, parseFirstBoot, type FirstBootProbe } from "./adopt";
import { drainAgent, reactivateIfKept, type DrainResult } from "./drain";
import { driftOf, driftProbeScript } from "./drift";
import { agentMove, keepIdentity, lostMachine } from "./identity";
import { changedSteps, diffHost, drainBeforeRestart, expectedHostKey, hashesOf, machineChange, pinChanged }
  from "./plan";
import { hostTls, renderHost, rotatedHostKey, type HostPlan } from "./render";
import type { Runner } from "./runner";
import type { HostInputs, HostOutputs, HostProps, LeaveProps, LegacyHostOutputs, LogSeedTarget, RecordedHostKey }
  from "./types";

export interface ProviderDeps {
  /** Runner for one operation; default: an SshPool. Tests inject fakes. */
  runner?: () => Runner;
  /** Progress lines (step output, drain progress). Default: stderr when ELASTIC_MESOS_LOG is set. */
  log?: (line: string) => void;
  /** Renders a node's plan; default renderHost. Tests inject small scripts they can run for real. */
  render?: (inputs: HostInputs, credentials: Credentials, tls?: NodeTls, previous?: Credentials,
    hostKey?: { privatePem: string }) => HostPlan;
  /** Pause between looks at a cloud machine's first boot; default FIRSTBOOT_POLL_MS. */
  pollMs?: number;
}

/** The `__provider` the engine stores for every host. */
const SHIM = shimText("elastic-mesos/baremetal:Host");
/** A master that fails so has not answered: the drain tries the next one. Any other failure stops it. */
const UNANSWERED: ReadonlySet<SshErrorCode> = new Set(["HOST_UNREACHABLE", "TIMEOUT", "CONNECTION_DROPPED"]);
/** The rollout group the leaving masters take turns in (one at a time, the Mesos leader last). */
const LEAVING = "masters-leaving";
/** Plans kept per process: check, diff and create/update of one host render once (about 50 KB each). */
const PLAN_CACHE_SIZE = 64;

/**
 * Pure: `spec` with a `drain` that holds unknowns replaced by the recorded one. In a preview where the masters
 * change (a grow re-runs their firewall step) their recorded keys, inside every agent's drain, are not known
 * yet; the drain is bookkeeping that `up` records without a command, so it must not make every agent "update".
 */
export function withRecordedDrain(spec: HostInputs, recorded: { drain?: HostInputs["drain"] } | undefined): HostInputs {
  if (!spec || typeof spec !== "object" || spec.drain === undefined || !hasUnknowns(spec.drain)) return spec;
  return { ...spec, drain: recorded?.drain };
}

/**
 * Pure: why new inputs may not move a master to another address ("" = they may). A master holds a ZooKeeper vote
 * and a replica of the Mesos log: it moves only when its entry says the machine it leaves is lost for good
 * (`replaces`, identity.ts lostMachine). Anything else is a reordered list or a typo, which must not wipe a master.
 */
export function masterMove(olds: Partial<HostInputs> | undefined, news: HostInputs): string {
  const from = olds?.connection?.host, to = news.connection?.host;
  if (olds?.node?.role !== "master" || !from || !to || from === to || lostMachine(olds, news)) return "";
  const entry = news.connection?.configPath ?? "baremetal.hosts[?]";
  const wrong = news.connection?.replaces ? ` (${entry}.replaces is ${news.connection.replaces}, not ${from})` : "";
  return `${entry}.address: moving master ${olds.node.id} from ${from} to ${to} is refused${wrong}: a master holds a ` +
    `ZooKeeper vote and a replica of the Mesos log. Put its address back (${from}); masters are m1, m2, ... in the ` +
    "order of the master entries of baremetal.hosts, so if you reordered those entries, put them back in that order. " +
    `If the machine at ${from} is lost for good, say so on the entry: \`pulumi config set --path ` +
    `'elastic-mesos:baremetal.hosts[<its index>].replaces' ${from}\`, then \`pulumi up\`: ${olds.node.id} is installed ` +
    `on ${to} and takes ${from}'s place in ZooKeeper and the Mesos log once the other masters rolled (the machine at ` +
    `${from} is stopped first if it still answers; it must never come back with its data)`;
}

/** An agent's identity as its outputs record it (plan.ts drainBeforeRestart reads it at the next update). */
const identity = (news: HostPlan): { agentIdentity?: string } =>
  news.agentIdentity === undefined ? {} : { agentIdentity: news.agentIdentity };

/**
 * Drift repairs made on this host so far: one more when `ran` re-runs a step a refresh marked drifted (drift.ts).
 * The readiness re-checks the cluster whenever the count changes (health/readiness.ts sshGeneration): a repaired
 * step's hash is the one recorded before the drift, so the hashes alone would not tell it.
 */
function repairs(olds: Pick<HostOutputs, "stepHashes" | "repairs"> | undefined,
  ran: readonly { step: string }[]): { repairs: number } {
  // Recorded even at 0: an output missing from the state is unknown in a preview, and the readiness reads it.
  return { repairs: (olds?.repairs ?? 0) + (ran.some((s) => olds?.stepHashes[s.step]?.startsWith("drift:")) ? 1 : 0) };
}

const ANOTHER_MACHINE = "another machine answers there";

/**
 * Why a machine said to be lost looks lost: it does not answer, or another machine answers there (another host key).
 * Undefined: the failure is not that (it answered: it is ours and alive).
 */
function lostLook(e: unknown): string | undefined {
  if (!(e instanceof SshError)) return undefined;
  if (e.code === "HOST_KEY_MISMATCH") return ANOTHER_MACHINE;
  return UNANSWERED.has(e.code) ? e.problem : undefined;
}

/** The key a host's state recorded, as a target expects it: a pin from the config, or the state's record. */
const recordedKey = (k: RecordedHostKey): { fingerprint: string; source: "config" | "state" } =>
  ({ fingerprint: k.fingerprint, source: k.source === "config" ? "config" : "state" });

/**
 * The host key a host presents after its steps ran: a cloud machine reached with its previous key while
 * clusterSecret rotates presents the pinned one once its install step ran (it installs it: steps/install.ts).
 */
export function keyAfter(seen: RecordedHostKey, news: Pick<HostPlan, "connection">, ran: readonly { step: string }[]):
  RecordedHostKey {
  const c = news.connection;
  const swapped = !!c.hostKeyFingerprint && seen.fingerprint === c.previousHostKeyFingerprint && ran.some((s) => s.step === "install");
  return swapped ? { ...seen, fingerprint: c.hostKeyFingerprint! } : seen;
}

/** The machine's id as the outputs record it (HostProps.machine), when the host is a cloud machine's. */
const machineOf = (machine: string | undefined): { machine?: string } => (machine === undefined ? {} : { machine });

export class MesosHostProvider implements pulumi.dynamic.ResourceProvider<HostProps, HostOutputs> {
  private privateKey: string | undefined;
  private clusterSecret: string | undefined;
  /** While clusterSecret rotates: the secret it replaces (stack config previousClusterSecret). */
  private previousSecret: string | undefined;
  private readonly deps: ProviderDeps | undefined;
  private readonly plans: Map<string, HostPlan>;

  constructor(deps?: ProviderDeps) {
    this.deps = deps;
    this.privateKey = undefined;
    this.clusterSecret = undefined;
    this.previousSecret = undefined;
    this.plans = new Map();
  }

  /** Called once per provider process with the whole stack config (also on `pulumi destroy`). */
  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.privateKey = req.config.get("sshPrivateKey");
    this.clusterSecret = req.config.get("clusterSecret");
    this.previousSecret = req.config.get("previousClusterSecret");
  }

  /** In a preview, `spec` is not known yet when any part of it is not: it is then checked at `up`. */
  async check(olds: HostProps, news: HostProps): Promise<pulumi.dynamic.CheckResult<HostProps>> {
    if (news.leave) return { inputs: news, failures: [] };
    // An agent installed under an earlier release's positional id keeps it (identity.ts): `inputs` carries it.
    const kept = news.spec && olds?.spec ? keepIdentity(olds.spec, news.spec) : news.spec;
    if (!kept) return { inputs: news, failures: [{ property: "spec", reason: "a host needs `spec` or `leave`" }] };
    const inputs = kept === news.spec ? news : { ...news, spec: kept };
    const i = withRecordedDrain(kept, olds?.spec);
    if (hasUnknowns(i)) return { inputs, failures: [] };
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const where = i?.connection?.configPath ?? i?.node?.id ?? "host";
    // A cloud machine's address is the cloud's: a master cannot move (the masters' pins refuse what would
    // replace one, components/providers/master-pin.ts), and a replaced agent is a new machine.
    const moved = i?.firstBoot ? "" : masterMove(olds?.spec, i) || agentMove(olds?.spec, i);
    if (moved) failures.push({ property: "spec", reason: moved });
    if (!i?.connection?.host) failures.push({ property: "spec", reason: `${where}.address is required` });
    if (i?.node?.role !== "master" && i?.node?.role !== "agent") failures.push({ property: "spec", reason: `${where}.role must be "master" or "agent"` });
    // Not the whole of news: its __provider is our own code's shim, and the engine's copy of it is no input.
    if (JSON.stringify(i).includes("PRIVATE KEY-----")) {
      failures.push({ property: "spec", reason: "a private key must not be an input; set it with `pulumi config set --secret elastic-mesos:sshPrivateKey`" });
    }
    if (failures.length === 0) {
      try {
        this.plan(i);
      } catch (e) {
        failures.push({ property: "spec", reason: `${where}: ${(e as Error).message}` });
      }
    }
    return { inputs, failures };
  }

  /** Step hashes rendered from the new inputs against the recorded ones: nothing is sent to the host. */
  async diff(_id: string, olds: LegacyHostOutputs, news: HostProps): Promise<pulumi.dynamic.DiffResult> {
    if (news.leave) {
      // A master still in the cluster leaves: one turn in its group, so that the Mesos leader goes last.
      if (!olds.left) rollouts.expect(news.leave.cluster, LEAVING, news.leave.id, 1);
      return { changes: !olds.left };
    }
    // Another cloud machine (lost and made anew, or replaced): this host goes with the old one (plan.ts).
    const machine = machineChange(olds.machine, news.machine);
    if (machine === "replace") return { changes: true, replaces: ["machine"], deleteBeforeReplace: true };
    // A preview with an address not known yet (a master being replaced) cannot render: say "update".
    // Unknowns only in `drain` are no change (withRecordedDrain).
    const spec = withRecordedDrain(news.spec, olds);
    if (hasUnknowns(spec)) return { changes: true, deleteBeforeReplace: true };
    const plan = this.plan(spec);
    const d = diffHost(olds, plan, SHIM);
    // Tell this deployment's rollout which hosts will take a turn, so its leader waits for them (coordinator.ts).
    // A master replacing its lost machine takes none: it installs after the others rolled, as a new master does.
    if (spec.rollout && d.replaces.length === 0 && !lostMachine(olds, spec) &&
      disruptive(changedSteps(olds.stepHashes, plan.steps))) {
      rollouts.expect(spec.cluster, spec.rollout.group, spec.node.id, spec.rollout.slots);
    }
    return { changes: d.changes || machine === "record", replaces: d.replaces, deleteBeforeReplace: true };
  }

  async create(props: HostProps): Promise<pulumi.dynamic.CreateResult<HostOutputs>> {
    if (props.leave) {
      // Never installed (a growth that failed before this master was made): nothing to leave, nothing to remove.
      const { cluster, id } = props.leave;
      return { id: `${cluster}:${id}:left`, outs: plain(leftRecord(cluster, id, "never installed: nothing to do")) };
    }
    const { spec, machine } = props;
    const plan = this.plan(spec);
    const outs = spec.firstBoot ? await this.adopt(plan, spec) : await this.converge(plan, spec, undefined);
    return { id: `${spec.cluster}:${spec.node.id}:${spec.connection.host}`,
      outs: plain({ ...outs, ...machineOf(machine) }) };
  }

  /** Also the one-time upgrade of state written before the shim: same hashes, so only the record is rewritten. */
  async update(_id: string, olds: LegacyHostOutputs, news: HostProps): Promise<pulumi.dynamic.UpdateResult<HostOutputs>> {
    if (news.leave) return { outs: plain(olds.left ? olds : await this.leave(olds, news.leave)) };
    // A master that left and is a master again installs like a new one (it waits for the masters' rollout too), and
    // so does one on the machine that replaces its lost one, once that one is stopped if it still answers.
    const lost = olds.left ? "" : lostMachine(olds, news.spec);
    if (lost) await this.stopLost(olds, news.spec);
    const outs = await this.converge(this.plan(news.spec), news.spec, olds.left || lost ? undefined : olds);
    return { outs: plain({ ...outs, ...machineOf(news.machine) }) };
  }

  /**
   * `pulumi refresh`: asks the host (one command) whether each step's files and daemons are still what it made
   * (drift.ts). A drifted step's recorded hash becomes "drift: <why>": the refresh shows the host changed, and
   * the next `pulumi up` re-runs that step, which repairs it. A host that does not answer is left as recorded
   * (a refresh must not fail on one host down); a host presenting another key stops the refresh.
   */
  async read(id: string, props?: HostOutputs): Promise<pulumi.dynamic.ReadResult<HostOutputs>> {
    if (!props?.watch || !props.hostKey) return { id, props };
    const runner = this.runner();
    const target = this.target(props, recordedKey(props.hostKey));
    try {
      const probe = await runner.runScript(target, driftProbeScript(props.watch, props.cleanup.files), { sudo: true, label: "drift check", timeoutMs: 60_000 });
      const drift = driftOf(props.watch, props.cleanup.files, probe.stdout);
      if (Object.keys(drift).length === 0) return { id, props };
      for (const [step, why] of Object.entries(drift)) this.progress()(`${props.node.id} (${props.connection.host}): step ${step}: ${why}`);
      return { id, props: plain({ ...props, stepHashes: { ...props.stepHashes, ...drift } }) };
    } catch (e) {
      if (!(e instanceof SshError && UNANSWERED.has(e.code))) throw e;
      this.progress()(`${props.node.id} (${props.connection.host}): not checked for drift: ${e.problem}`);
      return { id, props };
    } finally {
      await runner.close();
    }
  }

  async delete(_id: string, outs: LegacyHostOutputs): Promise<void> {
    // A master that left removed its footprint then; nothing on that machine is ours any more.
    if (outs.left) return;
    // Only `pulumi destroy` deletes a master that has not left: an `up` removing one makes it leave first (the
    // masters pin and LeaveProps), one that would move one stops at check() (masterMove). (A provider cannot tell
    // a destroy from an `up` itself: on `destroy` it gets the config of the last `up`.)
    const label = `${outs.node.id} (${outs.connection.host})`;
    const runner = this.runner();
    const target = this.target(outs, recordedKey(outs.hostKey));
    try {
      if (outs.node.role === "agent" && outs.drain) await this.drain(runner, outs, label, target);
      // A cloud machine is deleted right after (its resource depends on it): a drained agent is all it needs.
      if (outs.firstBoot) return;
      // Refused on a host that another cluster's owner mark claims (cleanup.ts cleanupGuard): nothing removed.
      await runner.runScript(target, this.cleanupScript(outs), {
        sudo: true, label: "cleanup (stop services, remove units, files, users, directories)", timeoutMs: 600_000,
      });
    } catch (e) {
      if (e instanceof SshError && e.code === "HOST_UNREACHABLE") {
        throw new Error(`${e.message}. If the host is gone for good, drop it from the stack state instead: ` +
          `pulumi state delete <urn of ${outs.node.id}> (find it with \`pulumi stack --show-urns\`)`);
      }
      throw e;
    } finally {
      await runner.close();
    }
  }

  /**
   * Drains an agent from a master: the calls carry the admin password, which agents never hold. The masters
   * are tried in order until one answers over SSH, each only with its key verified (pinned, or recorded by
   * its own MesosHost): one with no known key is skipped, never trusted on first use; another key stops all.
   */
  private async drain(runner: Runner, outs: Pick<HostOutputs, "cluster" | "node" | "drain">, label: string,
    own: SshTarget): Promise<DrainResult & { via: SshTarget }> {
    const spec = outs.drain!;
    const auth = { user: ADMIN_USER, password: this.credentials(outs.cluster).adminPassword };
    if (!spec.masterHosts) {
      // State recorded by an earlier release has no masters' connections: drain from the agent itself, as
      // then (it is sent the admin password once more). Any `pulumi up` records them, sending no command.
      return { ...(await drainAgent(runner, own, label, outs.node, spec, auth, this.log())), via: own };
    }
    const skipped: string[] = [];
    for (const m of spec.masterHosts) {
      const t = masterTarget({ ...m, ip: m.connection.host }, own.privateKey, {});
      if (!t.hostKeyFingerprint) {
        skipped.push(`${describeTarget(t)}: no host key recorded or pinned (${m.connection.configPath ?? m.id}.hostKeyFingerprint)`);
        continue;
      }
      try {
        await runner.connection(t); // a key mismatch throws here, naming the master, before anything is sent
      } catch (e) {
        if (!(e instanceof SshError && UNANSWERED.has(e.code))) throw e;
        skipped.push(`${describeTarget(t)}: ${e.problem}`);
        continue;
      }
      return { ...(await drainAgent(runner, t, label, outs.node, spec, auth, this.log())), via: t };
    }
    throw new Error(`${label}: could not drain the agent: no master answered over SSH with a verified host key ` +
      `(${skipped.join("; ") || "no master recorded"}); bring a master back (or pin its key), then run the command again ` +
      "(nothing was removed yet)");
  }

  /**
   * A master moving off its lost machine (baremetal.hosts[].replaces): the user says it is gone for good, but one
   * that still answers with the key its state recorded is stopped and cleaned first (its ZooKeeper server and log
   * replica must not come back beside the new ones). Nothing answering, or another machine there (another key),
   * is what a lost machine looks like: left alone. A machine of ours that answers and fails its cleanup stops the
   * `up` before anything else changed.
   */
  private async stopLost(olds: HostOutputs, spec: HostInputs): Promise<void> {
    const id = olds.node.id, from = olds.connection.host;
    const progress = this.progress();
    progress(`${id}: replacing its lost machine ${from} by ${spec.connection.host}`);
    const runner = this.runner(true);
    try {
      await runner.runScript(this.target(olds, recordedKey(olds.hostKey)), this.cleanupScript(olds),
        { sudo: true, label: "cleanup of the lost machine (stop services, remove units, files, users, directories)",
          timeoutMs: 600_000 });
      progress(`${id}: its lost machine ${from} still answered: stopped and cleaned`);
    } catch (e) {
      const why = lostLook(e);
      if (why === undefined) {
        throw new Error(`${id}: its machine ${from} answers but was not stopped: ${(e as Error).message}. Nothing else ` +
          `changed; stop it (or power it off), then run \`pulumi up\` again`);
      }
      progress(why === ANOTHER_MACHINE ? `${id}: another machine answers at ${from} (another host key): left alone`
        : `${id}: its lost machine ${from} does not answer (${why}): left alone`);
    } finally {
      await runner.close();
    }
  }

  /**
   * A master leaving the running cluster (membership/leave.ts), through the connection and host key its state
   * recorded: its turn among the leaving masters (the Mesos leader last), ZooKeeper's reconfig and the stop, then
   * the same cleanup as a delete. A failure leaves it in the cluster's record (the pin keeps it departing), and the
   * masters kept, which depend on it, untouched: the next `up` tries again.
   */
  private async leave(olds: HostOutputs, leave: LeaveProps["leave"]): Promise<HostOutputs> {
    const label = `${leave.id} (${olds.connection.host})`;
    // A machine the config says is lost is still asked, briefly: one that answers leaves as any other does.
    const lost = leave.lost ?? [];
    const listedLost = lost.includes(olds.connection.host);
    const runner = this.runner(listedLost);
    const target = this.target(olds, recordedKey(olds.hostKey));
    const progress = this.progress();
    let turn: Turn | undefined;
    try {
      const probe = await runner.runScript(target, leadershipScript(olds.node.ip),
        { sudo: true, shell: "bash", label: "leadership probe", timeoutMs: 30_000 }).catch((e) => {
        const why = listedLost ? lostLook(e) : undefined;
        if (why === undefined) throw e;
        return { lost: why };
      });
      if ("lost" in probe) return await this.leftLost(olds, leave, probe.lost);
      const lead = parseLeadership(probe.stdout);
      turn = await rollouts.acquire(leave.cluster, LEAVING, leave.id, 1, lead.mesos ? 2 : lead.zookeeper ? 1 : 0);
      progress(`${leave.id}: leaving the cluster: master ${turn.position} of ${turn.total} to leave` +
        (lead.mesos ? " (the Mesos leader: last)" : ""));
      const t0 = Date.now();
      const r = await runner.runScript(target, leaveScript(Number(leave.id.replace(/^m/, "")), olds.node.ip,
        lost.filter((a) => a !== olds.connection.host && a !== olds.node.ip)), {
        sudo: true, shell: "bash", label: "leave (ZooKeeper reconfig -remove; ZooKeeper, Marathon, Mesos stopped for good)",
        timeoutMs: 600_000, onLine: this.log() });
      await runner.runScript(target, this.cleanupScript(olds, leave.cluster), {
        sudo: true, label: "cleanup (stop services, remove units, files, users, directories)", timeoutMs: 600_000 });
      const summary = leaveSummary(r.stdout);
      progress(`${leave.id}: left in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${summary}`);
      turn.release();
      return leftFrom(olds, summary, runner.stats.commands);
    } catch (e) {
      turn?.release(new Error(`${label} did not leave: ${(e as Error).message}`));
      // Not reached before the reconfig: nothing changed. A machine gone for good leaves only when the config says
      // so (a machine that is only down would come back with a vote and a log replica the cluster no longer counts).
      const unanswered = e instanceof SshError && UNANSWERED.has(e.code) && !turn;
      const down = !unanswered ? "" : `. Nothing was changed: bring it back at ${olds.connection.host} and run ` +
        "`pulumi up` again. " + (olds.firstBoot
          // A cloud machine: the config has no lostMasters there (this release removes lost masters on bare metal only).
          ? "A cloud master whose machine is gone cannot leave with this release (a bare-metal one can: baremetal.lostMasters)"
          : `If its machine is lost for good, say so: \`pulumi config set --path ` +
            `'elastic-mesos:baremetal.lostMasters[${lost.length}]' ${olds.connection.host}\`, then \`pulumi up\``);
      throw new Error(`${label}: leaving the cluster failed: ${(e as Error).message}${down}`);
    } finally {
      await runner.close();
    }
  }

  /**
   * A removed master whose machine the config says is lost (baremetal.lostMasters) and that did not answer: it takes
   * its turn among the leaving masters and is recorded as left, nothing sent. Its ZooKeeper server is removed by a
   * master leaving in the same `up` (in the same reconfig as its own: removing one alone could leave a majority of
   * the rest dead) or else by the masters kept (steps/zookeeper.ts prunes a member they do not render that does not
   * serve); its Mesos log replica went with it, and its znodes expired with its sessions.
   */
  private async leftLost(olds: HostOutputs, leave: LeaveProps["leave"], why: string): Promise<HostOutputs> {
    const turn = await rollouts.acquire(leave.cluster, LEAVING, leave.id, 1, 0);
    turn.release();
    const summary = `lost: ${olds.connection.host} not reached (${why}); its ZooKeeper server is removed by the ` +
      "masters that stay";
    this.progress()(`${leave.id}: left: ${summary}`);
    return leftFrom(olds, summary, 0);
  }

  /**
   * A cloud machine (adopt.ts): waits until it answers SSH and its first boot is done, records what ran, then
   * runs only what differs from the plan (nothing on a new machine), taking its rollout turn like an update.
   */
  private async adopt(plan: HostPlan, inputs: HostInputs): Promise<HostOutputs> {
    const label = `${inputs.node.id} (${inputs.connection.host})`;
    const runner = this.runner();
    const target = this.target(plan, expectedHostKey(plan, undefined));
    try {
      const probe = await this.firstBootDone(runner, target, label, inputs.firstBoot!.timeoutSeconds);
      const conn = await runner.connection(target);
      const hostKey: RecordedHostKey = { fingerprint: conn.hostKey.fingerprint, type: conn.hostKey.type,
        source: plan.connection.hostKeyFingerprint ? "config" : "tofu" };
      // What ran, the agent's identity included: a mesos step that differs drains it only if Mesos cannot recover it.
      const ran: HostOutputs = { ...this.record(plan), stepHashes: probe.ran, hostKey, preexisting: [], stepsRun: 0,
        repairs: 0, commandsSent: runner.stats.commands, ...(probe.identity !== undefined ? { agentIdentity: probe.identity } : {}) };
      if (changedSteps(probe.ran, plan.steps).length === 0) return { ...ran, ...identity(plan) };
      // A master made for a running cluster booted only what comes before ZooKeeper (components/cluster.ts
      // BEFORE_ZOOKEEPER): the rest installs as a new master's does, after the running masters' rollout.
      const joining = inputs.node.role === "master" && probe.ran.zookeeper === undefined;
      this.progress()(`${label}: ${joining ? "joining the running cluster" : "booted from older user-data"}: running ` +
        changedSteps(probe.ran, plan.steps).map((s) => s.step).join(", "));
      return await this.converge(plan, inputs, ran, joining);
    } finally {
      await runner.close();
    }
  }

  /**
   * A running cloud master whose cluster masters join (HostInputs.joiners): before its turn, waits until each joining
   * master's machine finished its first boot, so that its restart with the new --quorum comes just before they run
   * Mesos. One that does not boot stops this master's update before anything changed on it.
   */
  private async joinersBooted(inputs: HostInputs): Promise<void> {
    const runner = this.runner();
    try {
      for (const j of inputs.joiners!) {
        const target = this.target({ node: { id: j.id }, connection: j.connection },
          { fingerprint: j.connection.hostKeyFingerprint, source: "config" });
        await this.firstBootDone(runner, target, `${j.id} (${j.connection.host})`, inputs.firstBoot!.timeoutSeconds)
          .catch((e) => {
            throw new Error(`${inputs.node.id} (${inputs.connection.host}): not changed: joining master ${(e as Error).message}`);
          });
      }
    } finally {
      await runner.close();
    }
  }

  /**
   * Waits until the machine at `target` answers and its first boot is done (adopt.ts): what ran. A boot that failed
   * or did not finish in `timeoutS` stops with its last output; SSH not answering yet is waited through, anything
   * else (a wrong host key, auth) stops at once.
   */
  private async firstBootDone(runner: Runner, target: SshTarget, label: string, timeoutS: number): Promise<FirstBootProbe> {
    const deadline = Date.now() + timeoutS * 1000;
    for (let said = false; ; said = true) {
      try {
        const r = await runner.runScript(target, firstBootProbeScript(), { sudo: true, shell: "bash", label: "first-boot check", timeoutMs: 60_000 });
        const probe = parseFirstBoot(r.stdout);
        if (probe.state === "done") return probe;
        if (probe.state === "failed" || Date.now() >= deadline) throw new Error(firstBootFailure(label, probe, timeoutS));
      } catch (e) {
        if (!(e instanceof SshError && UNANSWERED.has(e.code)) || Date.now() >= deadline) throw e;
      }
      if (!said) this.progress()(`${label}: waiting for its first boot (cloud-init)`);
      await new Promise((r) => setTimeout(r, this.deps?.pollMs ?? FIRSTBOOT_POLL_MS));
    }
  }

  /**
   * Connect (verifying the host key), record what exists, run the steps that changed. `joining`: a cloud master
   * adopted before its ZooKeeper and Mesos were installed (adopt): the rest runs as a new master's would (after the
   * running masters' rollout, from the one master's log copy), though what its first boot ran is recorded.
   */
  private async converge(news: HostPlan, inputs: HostInputs, olds: HostOutputs | undefined, joining = false): Promise<HostOutputs> {
    const toRun = olds ? changedSteps(olds.stepHashes, news.steps) : news.steps;
    // Only bookkeeping changed (drain settings, cleanup plan, the state's format...): record it without
    // touching the host. Built from scratch, so nothing of an older format (a password) is carried over.
    if (olds && toRun.length === 0 && !pinChanged(olds, news)) {
      return { ...this.record(news), ...identity(news), ...repairs(olds, []), hostKey: olds.hostKey,
        preexisting: olds.preexisting, stepsRun: 0, commandsSent: 0 };
    }
    const runner = this.runner();
    const target = this.target(news, expectedHostKey(news, olds));
    const log = this.log();
    // A running host whose update may restart a daemon waits for its turn (rollout order and gates).
    const rolls = olds !== undefined && !joining && inputs.rollout !== undefined && disruptive(toRun);
    const isNew = !olds || joining;
    let turn: Turn | undefined;
    // Growing from one master: its mesos-master was stopped for the copy of its log (membership/seed.ts).
    let stopped = false;
    try {
      if (rolls && inputs.joiners?.length && inputs.firstBoot) await this.joinersBooted(inputs);
      if (rolls) turn = await this.takeTurn(runner, target, inputs, toRun, this.progress());
      if (isNew && inputs.node.role === "master" && inputs.rollout) await this.afterMasters(inputs);
      const turnStart = Date.now();
      const conn = await runner.connection(target);
      const hostKey: RecordedHostKey = {
        fingerprint: conn.hostKey.fingerprint,
        type: conn.hostKey.type,
        source: news.connection.hostKeyFingerprint ? "config" : (olds?.hostKey.source ?? "tofu"),
      };
      let preexisting = olds?.preexisting ?? [];
      if (!olds) {
        const probe = await runner.runScript(target, footprintProbeScript(news.cleanup), { sudo: true, label: "footprint check", timeoutMs: 60_000 });
        preexisting = parseFootprint(probe.stdout);
      }
      // Growing from one master (membership/seed.ts): it sends its log in its turn, a new one starts from that.
      const seed = inputs.logSeed;
      if (olds && seed && "to" in seed && toRun.some((s) => s.step === "mesos")) {
        stopped = await this.sendLogSeed(runner, target, inputs, seed.to);
      }
      if (isNew && seed && "from" in seed) {
        const r = await runner.runScript(target, unpackScript(seed.from), { sudo: true, shell: "bash",
          label: `unpacking ${seed.from}'s replicated log`, timeoutMs: 300_000 });
        this.progress()(`${inputs.node.id}: ${r.stdout.trim().split("\n").pop()}`);
      }
      // A restart Mesos cannot recover kills the agent's tasks: it is drained first, inside its turn.
      const why = olds ? drainBeforeRestart(olds.agentIdentity, news.agentIdentity, toRun) : "";
      const undrain = why ? await this.drainFirst(runner, news, target, why) : undefined;
      const timeoutMs = (inputs.stepTimeoutSeconds ?? 900) * 1000;
      for (const s of toRun) {
        const label = `step ${s.index}/${news.steps.length} ${s.step} (${s.title})`;
        log(`${target.name}: ${label} started`);
        // sshDelivery: the step keeps itself in /var/lib/elastic-mesos/steps for re-runs by hand (README).
        await runner.runScript(target, sshDelivery(s), { sudo: true, shell: "bash", label, timeoutMs, onLine: (l) => log(`${target.name}: ${l}`) });
      }
      await undrain?.();
      turn?.release();
      // The turn's length (its restarts and their gates): bench/rollout.js sums these against the whole `up`.
      if (turn) this.progress()(`${inputs.node.id}: rolled in ${((Date.now() - turnStart) / 1000).toFixed(1)} s`);
      return { ...this.record(news), ...identity(news), ...repairs(olds, toRun), hostKey: keyAfter(hostKey, news, toRun),
        preexisting, stepsRun: toRun.length, commandsSent: runner.stats.commands };
    } catch (e) {
      // A step failed after the copy: mesos-master runs again as its unit now says (a re-run copies anew at --quorum=1).
      if (stopped) {
        await runner.runScript(target, RESTART_SCRIPT, { sudo: true, label: "mesos-master started again" })
          .catch(() => undefined);
      }
      // The first failure stops the hosts still waiting (they stay untouched); a re-run continues from here. So does
      // one before its turn (the leadership probe, the joining machines' first boot): it never ends a turn.
      const failed = new Error(`${inputs.node.id} (${inputs.connection.host}) failed: ${(e as Error).message}`);
      if (turn) turn.release(failed);
      else if (rolls) rollouts.halt(inputs.cluster, failed);
      throw e;
    } finally {
      await runner.close();
    }
  }

  /**
   * Drains an agent before a restart Mesos cannot recover (`why`), inside its rollout turn, so that its tasks
   * move before the old agent goes. Returns what to run once the steps have: an agent back under the drained id
   * after all (the host's own record judged the change recoverable) is reactivated (drain.ts reactivateIfKept);
   * one back under a new id, the usual case, needs nothing. A failed step leaves it drained: a re-run drains
   * it again (its state still holds the old identity), runs the steps and reactivates it if it kept its id.
   */
  private async drainFirst(runner: Runner, news: HostPlan, own: SshTarget, why: string): Promise<() => Promise<void>> {
    const label = `${news.node.id} (${news.connection.host})`;
    const progress = this.progress();
    if (!news.drain) {
      progress(`${news.node.id}: not drained before a restart Mesos cannot recover (${why}): no drain settings`);
      return async () => {};
    }
    progress(`${news.node.id}: draining before a restart Mesos cannot recover (${why})`);
    const d = await this.drain(runner, news, label, own);
    progress(`${news.node.id}: ${d.outcome}${d.agentId ? ` (agent ${d.agentId})` : ""} in ${d.seconds} s`);
    return async () => {
      if (d.outcome !== "drained" || !d.agentId) return;
      const auth = { user: ADMIN_USER, password: this.credentials(news.cluster).adminPassword };
      await reactivateIfKept(runner, d.via, label, news.node, news.drain!, auth, d.agentId, progress);
    };
  }

  /**
   * The one master of a cluster growing from one, in its turn (membership/seed.ts): stops its mesos-master if it still
   * runs with --quorum=1 and sends a copy of its log to each new master (their keys as the config pins them, else
   * trusted on first use, as their own create would); its steps then start it with the new --quorum. A failure
   * before that starts it again as it was, and the next `up` takes a new copy. True: it was stopped for a copy.
   */
  private async sendLogSeed(runner: Runner, target: SshTarget, inputs: HostInputs, to: LogSeedTarget[]): Promise<boolean> {
    const id = inputs.node.id;
    const progress = this.progress();
    const chunks: Buffer[] = [];
    let sending = "";
    let copy = Buffer.alloc(0);
    try {
      const snap = await runner.runScript(target, snapshotScript(), { sudo: true, shell: "bash",
        label: "copy of the replicated log", timeoutMs: 600_000, okCodes: [0, NOT_ONE], stdoutSink: (c) => chunks.push(c) });
      if (snap.code === NOT_ONE) {
        progress(`${id}: no copy of its replicated log taken (${snap.stderr.trim()}): the new masters got one before`);
        return false;
      }
      copy = Buffer.concat(chunks);
      for (const t of to) {
        const key = { fingerprint: t.connection.hostKeyFingerprint, source: "config" as const };
        sending = `${t.id} (${t.connection.host})`;
        await runner.exec(this.target({ node: t, connection: t.connection }, key), uploadCommand({ path: LOG_SEED, mode: "0600" }),
          { sudo: true, stdin: copy, label: `copy of ${id}'s replicated log`, timeoutMs: 300_000 });
      }
    } catch (e) {
      await runner.runScript(target, RESTART_SCRIPT, { sudo: true, label: "mesos-master started again" })
        .catch(() => undefined);
      const what = sending ? `sending a copy of ${id}'s replicated log to ${sending}` : `copying ${id}'s replicated log`;
      throw new Error(`${what} failed: ${(e as Error).message}. ${id}'s mesos-master runs again with --quorum=1 and ` +
        `nothing else changed; run \`pulumi up\` again${sending ? ` once ${sending} answers` : ""}`);
    }
    progress(`${id}: sent a copy of its replicated log (${copy.length} bytes) to ${to.map((t) => t.id).join(", ")}`);
    return true;
  }

  /**
   * A new master starts after the masters' rollout of this deployment: when masters are added to a running
   * cluster, the running ones first restart with the new --quorum (Mesos' order for growing; a new master started
   * earlier could make a majority of the new size disjoint from one of the old). In a new cluster nothing rolls:
   * this waits SETTLE_MS.
   */
  private async afterMasters(inputs: HostInputs): Promise<void> {
    try {
      await rollouts.afterGroup(inputs.cluster, inputs.rollout!.group);
    } catch (e) {
      throw new Error(`${inputs.node.id} (${inputs.connection.host}): not installed: the rollout of the running masters ` +
        `stopped because ${(e as Error).message}. Fix that, then run \`pulumi up\` again`);
    }
  }

  /**
   * Waits for this host's turn in its rollout group. A master asks itself first which daemons it leads, so
   * that the leader of what this update restarts goes last. Progress says which host of how many rolls.
   */
  private async takeTurn(runner: Runner, target: SshTarget, inputs: HostInputs, toRun: StepScript[],
    log: (line: string) => void): Promise<Turn> {
    const r = inputs.rollout!;
    const id = inputs.node.id;
    let rank = 0;
    if (inputs.node.role === "master") {
      const probe = await runner.runScript(target, leadershipScript(inputs.selfIp), { sudo: true, shell: "bash", label: "leadership probe", timeoutMs: 30_000 });
      const lead = parseLeadership(probe.stdout);
      rank = rankOf(toRun, lead);
      if (rank > 0) log(`${id}: leads ${[lead.zookeeper && "ZooKeeper", lead.mesos && "Mesos"].filter(Boolean).join(" and ")}: rolls after the other masters`);
    }
    try {
      const turn = await rollouts.acquire(inputs.cluster, r.group, id, r.slots, rank);
      log(`${id}: rolling ${r.group}: host ${turn.position} of ${turn.total} (${toRun.map((s) => s.step).join(", ")})`);
      return turn;
    } catch (e) {
      throw new Error(`${id} (${inputs.connection.host}): not changed: the rollout stopped because ${(e as Error).message}. ` +
        "Fix that, then run `pulumi up` again: hosts already rolled keep their change, the rest roll then");
    }
  }

  /** The parts of the outputs that come from the plan: never the scripts, only their hashes. */
  private record(news: HostPlan): Omit<HostOutputs, "hostKey" | "preexisting" | "stepsRun" | "commandsSent"> {
    return { cluster: news.cluster, node: news.node, connection: news.connection, stepHashes: hashesOf(news.steps), cleanup: news.cleanup,
      drain: news.drain, watch: news.watch, ...(news.firstBoot ? { firstBoot: news.firstBoot } : {}) };
  }

  /** The node's plan, rendered once per process for the same inputs (check, diff and create/update ask in turn). */
  private plan(inputs: HostInputs): HostPlan {
    const key = JSON.stringify(inputs);
    let p = this.plans.get(key);
    if (!p) {
      const credentials = this.credentials(inputs.cluster);
      const previous = inputs.rotating ? this.previousCredentials(inputs.cluster) : undefined;
      p = (this.deps?.render ?? renderHost)(inputs, credentials, this.tls(inputs), previous,
        rotatedHostKey(this.clusterSecret!, inputs));
      if (this.plans.size >= PLAN_CACHE_SIZE) this.plans.delete(this.plans.keys().next().value!);
      this.plans.set(key, p);
    }
    return p;
  }

  /** The cleanup of what a host's record says we installed, guarded by `cluster`'s owner mark (cleanup.ts). */
  private cleanupScript(outs: Pick<HostOutputs, "cluster" | "cleanup" | "preexisting">, cluster = outs.cluster): string {
    // A host not rolled yet by a rotation that stopped still carries the previous secret's mark.
    const previousId = this.previousSecret ? { previousId: deriveCredentials(this.previousSecret, cluster).ownerId } : {};
    return renderCleanupScript(outs.cleanup, outs.preexisting, { cluster, id: this.credentials(cluster).ownerId, ...previousId });
  }

  /** The previous generation's credentials, while clusterSecret rotates (HostInputs.rotating). */
  private previousCredentials(cluster: string): Credentials {
    if (!this.previousSecret) {
      throw new Error("clusterSecret rotates but previousClusterSecret is not in the stack config: set it to the secret " +
        "the cluster ran with (`pulumi config set --secret elastic-mesos:previousClusterSecret < old-secret-file`)");
    }
    return deriveCredentials(this.previousSecret, cluster);
  }

  private credentials(cluster: string): Credentials {
    if (!this.clusterSecret) {
      throw new Error("no cluster secret in the stack config: set it with " +
        '`pulumi config set --secret elastic-mesos:clusterSecret "$(openssl rand -base64 32)"`');
    }
    return deriveCredentials(this.clusterSecret, cluster);
  }

  /** The node's certificate and key from the cluster CA (derived like the credentials, never stored). */
  private tls(i: HostInputs): NodeTls {
    return hostTls(this.clusterSecret!, i, i.rotating ? this.previousSecret : undefined);
  }

  private target(p: { node: Pick<HostPlan["node"], "id">; connection: HostPlan["connection"] },
    key: { fingerprint?: string; source: "config" | "state" }): SshTarget {
    if (!this.privateKey) {
      throw new Error(`${p.node.id} (${p.connection.host}): no SSH private key: set it with ` +
        "`cat ~/.ssh/id_ed25519 | pulumi config set --secret elastic-mesos:sshPrivateKey`");
    }
    const c = p.connection;
    return {
      name: p.node.id, host: c.host, port: c.port, user: c.user, privateKey: this.privateKey,
      hostKeyFingerprint: key.fingerprint, hostKeySource: key.source, configPath: c.configPath,
      ...(c.hostKeyAlgorithm ? { hostKeyAlgorithm: c.hostKeyAlgorithm } : {}),
      // Only beside the configured pin itself (not a key recorded on first use).
      ...(c.previousHostKeyFingerprint && key.fingerprint === c.hostKeyFingerprint
        ? { previousHostKeyFingerprint: c.previousHostKeyFingerprint } : {}),
      bastion: c.bastion && { ...c.bastion, configPath: undefined },
    };
  }

  /** `brief`: two tries of 10 s, for a machine that is expected not to answer (stopLost). */
  private runner(brief = false): Runner {
    if (this.deps?.runner) return this.deps.runner();
    return new SshPool(brief ? { retries: 1, backoffMs: 1_000, readyTimeoutMs: 10_000 }
      : { retries: 4, backoffMs: 1_000, readyTimeoutMs: 20_000 });
  }

  /** Rollout progress (a few lines per host): always shown; the engine prints a provider's stderr. */
  private progress(): (line: string) => void {
    return this.deps?.log ?? ((l: string) => process.stderr.write(`elastic-mesos: ${l}\n`));
  }

  private log(): (line: string) => void {
    if (this.deps?.log) return this.deps.log;
    return process.env.ELASTIC_MESOS_LOG ? (l: string) => process.stderr.write(`${l}\n`) : () => {};
  }
}

/** The record of a master that left (`summary`: how), nothing of ours on its machine any more. */
function leftFrom(olds: HostOutputs, summary: string, commandsSent: number): HostOutputs {
  return { ...olds, stepHashes: {}, watch: undefined, stepsRun: 0, repairs: olds.repairs ?? 0, commandsSent,
    left: { at: new Date().toISOString(), summary } };
}

/** The record of a master that left without ever having been installed (LeaveProps; create). */
function leftRecord(cluster: string, id: string, summary: string): HostOutputs {
  return { cluster, node: { id, role: "master", hostname: `${cluster}-${id}`, ip: "" },
    connection: { host: "", port: 22, user: "" }, stepHashes: {}, hostKey: { fingerprint: "", type: "", source: "tofu" },
    cleanup: { units: [], files: [], dirs: [], users: [], packages: [] }, preexisting: [], stepsRun: 0, commandsSent: 0,
    repairs: 0, left: { at: new Date().toISOString(), summary } };
}
