// Adopting a cloud machine: its first boot ran the node's steps from cloud-init user-data (the first-boot unit,
// render/cloud-config.ts); from then on every change reaches it over SSH through the same step runner as bare
// metal. The host resource's create therefore runs nothing by itself: it waits for the first boot to finish,
// reads which scripts actually ran (their copies in STEPS_DIR, byte for byte what the user-data carried) and
// records those. Only the steps that differ from the current plan then run: none on a machine that was just
// made, the changed ones on a machine booted from older user-data (the machines ignore later user-data).
import { FIRSTBOOT_DONE, FIRSTBOOT_UNIT, STEPS_DIR } from "../render/cloud-config";

/** Where em_agent_identity (em-lib.sh) records the identity an agent runs with. */
const AGENT_IDENTITY = "/var/lib/elastic-mesos/agent-identity";

/** Seconds a create waits for the first boot by default (the cloud readiness deadline, components/readiness.ts). */
export const FIRSTBOOT_TIMEOUT_SECONDS = 1200;
/** Between two looks at the first boot. */
export const FIRSTBOOT_POLL_MS = 10_000;

export type FirstBootState = "done" | "running" | "failed";

/**
 * One look at the first boot (sudo, bash). Prints `state=<done|running|failed>`, then each kept script's
 * `sha256  path`, then (when not done) the unit's last lines. A machine made by a release before the
 * first-boot unit (a run-once runcmd) is done once cloud-init is.
 */
export function firstBootProbeScript(): string {
  return [
    "set -u",
    `if [ -e ${FIRSTBOOT_DONE} ]; then s=done`,
    `elif [ ! -e /etc/systemd/system/${FIRSTBOOT_UNIT} ] && cloud-init status 2>/dev/null | grep -q 'status: done'; then s=done`,
    `elif [ ! -e /etc/systemd/system/${FIRSTBOOT_UNIT} ] && cloud-init status 2>/dev/null | grep -q 'status: error'; then s=failed`,
    "else s=running; fi",
    'echo "state=$s"',
    `for f in ${STEPS_DIR}/*.sh; do [ -f "$f" ] && sha256sum "$f"; done`,
    // An agent's identity as its mesos step recorded it (em_agent_identity): what the agent runs with.
    `[ -f ${AGENT_IDENTITY} ] && echo "identity=$(base64 -w0 ${AGENT_IDENTITY})"`,
    'if [ "$s" != done ]; then',
    "  echo '--- tail'",
    `  journalctl -q -u ${FIRSTBOOT_UNIT} -o cat --no-pager -n 15 2>/dev/null || tail -n 15 /var/log/cloud-init-output.log 2>/dev/null || true`,
    "fi",
    "",
  ].join("\n");
}

export interface FirstBootProbe {
  state: FirstBootState;
  /** step name → SHA-256 of the script kept on the host (what ran, or is running). */
  ran: Record<string, string>;
  /** The unit's (or cloud-init's) last lines, when not done. */
  tail: string;
  /** Agents: the identity the agent was started with (Step.agentIdentity's form), when recorded. */
  identity?: string;
}

/** Pure: parses firstBootProbeScript's output. Unknown lines are ignored; no state line reads as running. */
export function parseFirstBoot(stdout: string): FirstBootProbe {
  const lines = stdout.split("\n");
  const at = lines.indexOf("--- tail");
  const head = at >= 0 ? lines.slice(0, at) : lines;
  const state = head.find((l) => l.startsWith("state="))?.slice("state=".length);
  const ran: Record<string, string> = {};
  for (const l of head) {
    // `<sha256>  /var/lib/elastic-mesos/steps/<index>-<step>.sh`
    const m = /^([0-9a-f]{64})\s+\S*\/\d+-([a-z0-9-]+)\.sh$/.exec(l.trim());
    if (m) ran[m[2]] = m[1];
  }
  const encoded = head.find((l) => l.startsWith("identity="))?.slice("identity=".length);
  // The record ends with the newline em_agent_identity wrote after the identity.
  const identity = encoded === undefined ? undefined : Buffer.from(encoded, "base64").toString("utf8").replace(/\n$/, "");
  return {
    state: state === "done" || state === "failed" ? state : "running",
    ran,
    tail: at >= 0 ? lines.slice(at + 1).join("\n").trim() : "",
    ...(identity !== undefined ? { identity } : {}),
  };
}

/** The message of a first boot that did not finish in time (or failed for good): host, what ran, its tail. */
export function firstBootFailure(label: string, probe: FirstBootProbe, waitedS: number): string {
  const why = probe.state === "failed" ? "cloud-init reports an error" : `not finished after ${waitedS} s`;
  return `${label}: first boot (cloud-init, ${FIRSTBOOT_UNIT}) ${why}; last output:\n` +
    `${(probe.tail || "(none)").split("\n").map((l) => `    ${l}`).join("\n")}\n` +
    `Look on the host: \`journalctl -u ${FIRSTBOOT_UNIT}\`; the unit retries on its own. Fix the cause (a mirror ` +
    "not reachable, a wrong artifact pin), then run `pulumi up` again: it waits for the first boot again";
}
