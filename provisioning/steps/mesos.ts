// Step 3/3, mesos: assembles the master (Mesos + Marathon) or agent files, starts the services, and gates
// on what a user relies on: an elected leading master, Marathon answering with a leader, or this agent
// registered with the leading master.
import type { Ctx } from "./context";
import { MARATHON_INPUTS, marathonFiles } from "./marathon";
import { HEALTH_CURLRC, agentCommands, agentFiles } from "./mesos-agent";
import { MASTER_INPUTS, masterFiles } from "./mesos-master";
import type { FileSpec, Step } from "./types";

/**
 * curl config with the admin's basic-auth credentials: keeps the password off command lines. Masters only
 * (Marathon 1.11 has a single HTTP user, so its gate needs admin); agents' gates use the health principal.
 */
export const ADMIN_CURLRC = "/etc/elastic-mesos/admin.curlrc";

export function mesosStep(ctx: Ctx): Step {
  const curlrc: FileSpec = {
    path: ADMIN_CURLRC,
    content: `user = "admin:${ctx.input.credentials.adminPassword}"\n`,
    mode: "0600",
    owner: "root",
    group: "root",
    secret: true,
  };
  if (ctx.isMaster) {
    const ip = ctx.selfIp!;
    return {
      name: "mesos",
      index: 3,
      title: "Mesos master and Marathon",
      files: [...masterFiles(ctx), ...marathonFiles(ctx), curlrc],
      commands: [`em_service mesos-master ${MASTER_INPUTS.join(" ")}`, `em_service marathon ${MARATHON_INPUTS.join(" ")}`],
      gate: {
        description: "the Mesos master is healthy with an elected leader, and Marathon answers /ping and /v2/leader",
        script: [
          `code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true; }`,
          `c=$(code http://${ip}:5050/health); [ "$c" = 200 ] || { echo "mesos-master /health answered $c"; exit 1; }`,
          `c=$(code http://${ip}:5050/redirect); case "$c" in 000|503) echo "no leading Mesos master elected yet (/redirect answered $c)"; exit 1 ;; esac`,
          `c=$(code -K ${ADMIN_CURLRC} http://${ip}:8080/ping); [ "$c" = 200 ] || { echo "Marathon /ping answered $c"; exit 1; }`,
          `c=$(code -K ${ADMIN_CURLRC} http://${ip}:8080/v2/leader); [ "$c" = 200 ] || { echo "Marathon /v2/leader answered $c (404: no leader yet)"; exit 1; }`,
        ].join("\n"),
        timeoutSeconds: 600,
        hint: "check \"journalctl -u mesos-master -u marathon\", that a majority of masters is up, and that ports 5050, 8080 and 15050 are open between masters",
      },
    };
  }
  return {
    name: "mesos",
    index: 3,
    title: `Mesos agent (pool ${ctx.input.node.pool})`,
    files: agentFiles(ctx),
    commands: agentCommands(ctx),
    gate: {
      description: "this agent is registered with the leading master (slave/registered = 1)",
      script: [
        "# shellcheck source=/dev/null",
        `. /etc/elastic-mesos/node.env`,
        `body=$(curl -fsS --max-time 5 -K ${HEALTH_CURLRC} "http://$SELF_IP:5051/metrics/snapshot" 2>&1) || { echo "agent metrics unavailable: $body"; exit 1; }`,
        `grep -Eq '"slave\\\\?/registered" *: *1(\\.0+)?[,}]' <<<"$body" || { echo "the agent is not registered with a master yet"; exit 1; }`,
      ].join("\n"),
      timeoutSeconds: 900,
      hint: "check \"journalctl -u mesos-agent\", that masters reach this agent on port 5051 and the agent reaches them on 5050",
    },
  };
}
