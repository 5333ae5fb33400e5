// Polls the masters until the cluster is ready or the deadline passes, reporting progress when the
// picture changes. On timeout the error lists each failing check with the host it failed on.
import type { Runner } from "../baremetal/runner";
import type { SshTarget } from "../ssh/target";
import {
  HINTS, evaluate, parseProbe, probeScript, unreachableProbe,
  type Check, type ExpectedAgent, type ExpectedPool, type ProbeAuth, type Ports,
} from "./probes";

export interface ReadinessSpec {
  masters: { id: string; ip: string; target: SshTarget }[];
  agents: ExpectedAgent[];
  /** Pools run as groups: counted, not named (probes.ts ExpectedPool). */
  pools?: ExpectedPool[];
  quorum: number;
  ports: Ports;
  /** health for Mesos, admin for Marathon (probes.ts ProbeAuth). */
  auth: ProbeAuth;
  timeoutSeconds: number;
  /** Pause between rounds. Default 2 s. */
  intervalMs?: number;
}

export interface ReadinessResult { checks: Check[]; seconds: number; rounds: number }

/** Pure: one line per check that did not pass, with its hint; not-judged checks say why, without a hint. */
export function failureText(checks: Check[]): string {
  return checks.filter((c) => !c.ok).map((c) => c.judged === false ? `${c.name} ${c.detail}`
    : `${c.name} failed: ${c.detail}; ${HINTS[c.name] ?? ""}`).join(" | ");
}

export class ReadinessTimeout extends Error {
  constructor(readonly checks: Check[], readonly seconds: number) {
    const text = `cluster not ready after ${seconds} s: ${failureText(checks)}` +
      ` (passed: ${checks.filter((c) => c.ok).map((c) => c.name).join(", ") || "none"})`;
    super(text);
    this.message = text; // see SshError
    this.name = "ReadinessTimeout";
  }
}

/** A host presented another key than the expected one: never retried, never waited out. */
const isHostKeyMismatch = (e: unknown) => (e as { code?: string } | undefined)?.code === "HOST_KEY_MISMATCH";

function throwOnHostKeyMismatch(results: PromiseSettledResult<unknown>[]): void {
  const bad = results.find((r) => r.status === "rejected" && isHostKeyMismatch(r.reason)) as PromiseRejectedResult | undefined;
  if (bad) throw bad.reason;
}

export async function waitForReadiness(runner: Runner, spec: ReadinessSpec, progress: (msg: string) => void = () => {}): Promise<ReadinessResult> {
  const t0 = Date.now();
  const deadline = t0 + spec.timeoutSeconds * 1000;
  let rounds = 0;
  let lastSummary = "";
  // Every master's key is checked before the first probe, which carries the admin password: one changed
  // key stops the check with nothing sent anywhere. (A master that does not answer yet is probed later.)
  throwOnHostKeyMismatch(await runner.mapHosts(spec.masters, (m) => runner.connection(m.target)));
  for (;;) {
    rounds++;
    const results = await runner.mapHosts(spec.masters, (m) =>
      runner.runScript(m.target, probeScript(m.ip, spec.ports, spec.auth), { label: "readiness probe", okCodes: "any", timeoutMs: 30_000 }));
    throwOnHostKeyMismatch(results);
    const probes = spec.masters.map((m, i) => {
      const r = results[i];
      if (r.status === "fulfilled") return parseProbe(m.id, m.ip, r.value.stdout);
      return unreachableProbe(m.id, m.ip, (r.reason as Error).message.split("\n")[0]);
    });
    const checks = evaluate(probes, spec.agents, spec.quorum, spec.pools);
    const seconds = Math.round((Date.now() - t0) / 1000);
    const state = (c: Check) => (c.ok ? "ok" : c.judged === false ? "not judged" : "waiting");
    const summary = checks.map((c) => `${c.name}: ${state(c)}`).join(", ");
    if (summary !== lastSummary) { progress(`${seconds} s: ${summary}`); lastSummary = summary; }
    if (checks.every((c) => c.ok)) return { checks, seconds, rounds };
    if (Date.now() + (spec.intervalMs ?? 2_000) > deadline) throw new ReadinessTimeout(checks, seconds);
    await new Promise((r) => setTimeout(r, spec.intervalMs ?? 2_000));
  }
}
