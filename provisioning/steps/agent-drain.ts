// An agent drains itself before its machine shuts down (a cloud's scale-in, instance refresh or preemption, an
// operator's poweroff): mesos-agent-drain.service is ordered After=mesos-agent, so at shutdown systemd runs its
// ExecStop (DRAIN_AGENT for this agent's id on the leading master, then waits for DRAINED) before it stops
// mesos-agent, while the network is still up (After=network-online.target). Bounded: after DRAIN_TIMEOUT_S, or
// when no master answers, it logs why and lets the machine go on shutting down (TimeoutStopSec backs that up).
//
// Only a shutdown drains: the ExecStop asks systemd whether the machine is stopping (`is-system-running`), so a
// `systemctl restart mesos-agent` by a step or the rollout (which drains from a master itself and reactivates,
// provisioning/baremetal/drain.ts) and a restart of this unit on a changed input drain nothing. The unit has no
// Requires=/PartOf= on mesos-agent: stopping or restarting the agent never stops this unit.
//
// A machine that comes back (a reboot, a stopped VM started again) would register under the drained id, which
// Mesos keeps DRAINED (offered nothing) until an operator reactivates it; the drain principal may not reactivate.
// So the drain leaves a mark with the id, and mesos-agent's ExecStartPre (`forget`) removes meta/slaves/latest
// when it still names that id: the agent registers as a new one (its tasks had left or died with the machine).
//
// The credential: the "drain" HTTP principal (provisioning/credentials.ts DRAIN_USER), whose only ACL is
// drain_agents (provisioning/steps/acls.ts), in a root-only curl config (-K): never in an argument or the
// environment. Over TLS, the masters are verified against the cluster CA by their IP SAN.
import { DRAIN_USER } from "../credentials";
import { principal } from "../rotation/principals";
import type { Ctx } from "./context";
import { CLUSTER_CA, tlsOf } from "./tls";
import type { FileSpec } from "./types";

export const DRAIN_SCRIPT = "/usr/local/sbin/mesos-agent-drain";
export const DRAIN_CURLRC = "/etc/elastic-mesos/drain.curlrc";
export const DRAIN_UNIT = "/etc/systemd/system/mesos-agent-drain.service";
/** Written when a master accepted this agent's DRAIN_AGENT: the drained id, forgotten at the agent's next start. */
export const DRAIN_MARK = "/var/lib/elastic-mesos/self-drained";
/** How long a shutdown waits for this agent's tasks to leave (clouds give a stopping machine a few minutes). */
export const DRAIN_TIMEOUT_S = 120;
/**
 * No master answering at all (no connection) for this long ends the wait early: the whole cluster going away
 * (`pulumi destroy`, `npm run down`) stops its agents and masters at once, and an agent must not hold its machine
 * for DRAIN_TIMEOUT_S then. A master restarting or an election answers (503, 307) or is back within it.
 */
export const NO_MASTER_S = 20;
/** DRAIN_AGENT's max_grace_period: tasks get at most this long to stop, so they can leave within the timeout. */
export const DRAIN_MAX_GRACE_S = 60;

/** The script's text: `on-stop` (the unit's ExecStop), `drain` (now, for an operator) and `forget`. */
export function drainScript(ctx: Ctx, workDir: string): string {
  const tls = !!tlsOf(ctx);
  const masters = ctx.masterIps.map((ip) => `${ip}:5050`).join(" ");
  return `#!/bin/bash
# elastic-mesos (provisioning/steps/agent-drain.ts): mesos-agent-drain on-stop|drain|forget
set -u
MASTERS=\${EM_DRAIN_MASTERS:-"${masters}"}
CA=${tls ? CLUSTER_CA : ""}
RC=\${EM_DRAIN_CURLRC:-${DRAIN_CURLRC}}
W=\${EM_AGENT_WORK_DIR:-${workDir}}/meta/slaves/latest
MARK=\${EM_DRAIN_MARK:-${DRAIN_MARK}}
T=\${EM_DRAIN_TIMEOUT:-${DRAIN_TIMEOUT_S}}
Q=\${EM_DRAIN_QUIET:-${NO_MASTER_S}}
log() { echo "mesos-agent-drain: $*"; }
aid() { local l; l=$(readlink "$W") && basename "$l"; }
o=$(mktemp) || exit 0
trap 'rm -f "$o"' EXIT
call() {
  local a=(-sS --max-time 5 -o "$o" -w '%{http_code}' -K "$RC")
  [ -n "$CA" ] && a+=(--cacert "$CA")
  [ $# -gt 1 ] && a+=(-H 'Content-Type: application/json' -d "$2")
  curl "\${a[@]}" "${tls ? "https" : "http"}://$m$1" 2>/dev/null
}
drain() {
  local id m c lead="" why st="" end=$((SECONDS + T)) heard=$SECONDS
  id=$(aid) || { log "no agent id in $W: nothing to drain"; return; }
  local b='{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"'"$id"'"},'
  b+='"max_grace_period":{"nanoseconds":${DRAIN_MAX_GRACE_S}000000000}}}'
  while [ -z "$lead" ]; do
    why=""
    for m in $MASTERS; do
      c=$(call /api/v1 "$b")
      [ "$c" = 000 ] || heard=$SECONDS
      case $c in
        2??) lead=$m; break ;;
        400) if grep -Eqi 'unknown|not found|not registered' "$o"; then
          log "agent $id is not registered: nothing to drain"; return; fi ;;
        401|403) log "$m refused the drain credential (HTTP $c): not drained"; return ;;
      esac
      why="$why $m: $c $(head -c 100 "$o");"
    done
    [ -n "$lead" ] && break
    [ $SECONDS -ge $end ] && { log "no master drained agent $id in $T s ($why): not drained"; return; }
    [ $((SECONDS - heard)) -ge "$Q" ] && { log "no master answered for $Q s ($why): not drained"; return; }
    sleep 2
  done
  echo "$id" >"$MARK"
  log "draining agent $id (DRAIN_AGENT accepted by $lead)"
  while :; do
    for m in $lead $MASTERS; do
      [ "$(call "/slaves?slave_id=$id")" = 200 ] || continue
      st=$(grep -Eo '"state" *: *"[A-Z]+"' "$o" | grep -Eo '[A-Z]+' | head -1)
      grep -Eq '"slaves" *: *\\[ *\\]' "$o" && st=GONE
      break
    done
    case $st in DRAINED|GONE) log "agent $id $st in $((SECONDS + T - end)) s"; return ;; esac
    [ $SECONDS -ge $end ] && { log "agent $id still \${st:-unknown} after $T s: not drained"; return; }
    sleep 1
  done
}
case \${1:-} in
  on-stop) s=$(systemctl is-system-running)
    if [ "$s" = stopping ]; then drain; else log "system $s, not stopping: not drained"; fi ;;
  drain) drain ;;
  forget) [ -f "$MARK" ] && [ "$(cat "$MARK")" = "$(aid)" ] && rm -f "$W" && log "forgot drained agent $(cat "$MARK")"
    rm -f "$MARK" ;;
  *) echo "usage: $0 on-stop|drain|forget" >&2; exit 2 ;;
esac
exit 0
`;
}

/** The drain principal's curl config, the script and the unit: files of the agent's mesos step. */
export function drainFiles(ctx: Ctx, workDir: string): FileSpec[] {
  const unit = `[Unit]
Description=Drain this Mesos agent before shutdown (elastic-mesos)
Wants=network-online.target
After=network-online.target mesos-agent.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
ExecStop=${DRAIN_SCRIPT} on-stop
TimeoutStopSec=${DRAIN_TIMEOUT_S + 30}

[Install]
WantedBy=multi-user.target
`;
  const root = { mode: "0600", owner: "root", group: "root" };
  return [
    { path: DRAIN_CURLRC, content: `user = "${principal(DRAIN_USER, ctx.input.generation ?? 0)}:${ctx.input.credentials.drainPassword}"\n`, ...root,
      secret: true },
    { path: DRAIN_SCRIPT, content: drainScript(ctx, workDir), mode: "0700", owner: "root", group: "root" },
    { path: DRAIN_UNIT, content: unit, mode: "0644", owner: "root", group: "root" },
  ];
}

/** After the agent's own em_service: the unit is enabled and active (its ExecStop is what runs at shutdown). */
export function drainCommands(): string[] {
  return [`em_service mesos-agent-drain ${DRAIN_SCRIPT} ${DRAIN_CURLRC}`];
}
