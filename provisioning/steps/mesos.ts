// Step 3/3, mesos: assembles the master (Mesos + Marathon) or agent files, starts the services, and gates
// on what a user relies on: an elected leading master, Marathon answering with a leader, or this agent
// registered with the leading master.
import type { Ctx } from "./context";
import { marathonFiles, marathonInputs } from "./marathon";
import { HEALTH_CURLRC, agentCommands, agentFiles, agentIdentity } from "./mesos-agent";
import { masterFiles, masterInputs } from "./mesos-master";
import { CLUSTER_CA, MARATHON_HTTPS_PORT, keystoreCommands, tlsOf, truststoreCommands } from "./tls";
import { ADMIN_CURLRC, PREVIOUS_ADMIN_CURLRC, aclPasses, dropPrevious, previousAdminFiles } from "./rotation";
import { PREVIOUS_SUPER_PASSWORD, SUPER_PASSWORD } from "./zookeeper";
import type { FileSpec, Step } from "./types";
import { metricIsOne } from "../render/probe-snippets";

export { ADMIN_CURLRC };

export function mesosStep(ctx: Ctx): Step {
  const curlrc: FileSpec = {
    path: ADMIN_CURLRC,
    content: `user = "admin:${ctx.input.credentials.adminPassword}"\n`,
    mode: "0600",
    owner: "root",
    group: "root",
    secret: true,
  };
  // With the cluster CA every endpoint is HTTPS only, verified against the CA (by the IP SAN on masters).
  const tls = !!tlsOf(ctx);
  const scheme = tls ? "https" : "http";
  const ca = tls ? ` --cacert ${CLUSTER_CA}` : "";
  if (ctx.isMaster) {
    const ip = ctx.selfIp!;
    const acl = aclPasses(ctx, { current: SUPER_PASSWORD, previous: PREVIOUS_SUPER_PASSWORD });
    // While clusterSecret rotates, a master not rolled yet knows only the previous admin password.
    const orPrevious = ctx.input.previous ? ` || { b=$(curl -s --max-time 5${ca} -K ${PREVIOUS_ADMIN_CURLRC} "${scheme}://$m:5050/metrics/snapshot" || true); }` : "";
    const marathon = `${scheme}://${ip}:${tls ? MARATHON_HTTPS_PORT : 8080}`;
    return {
      name: "mesos",
      index: 3,
      title: "Mesos master and Marathon",
      files: [...masterFiles(ctx), ...marathonFiles(ctx), curlrc, ...previousAdminFiles(ctx)],
      commands: [
        ...acl.before,
        `em_service mesos-master ${masterInputs(ctx).join(" ")}`,
        ...keystoreCommands(ctx),
        ...truststoreCommands(ctx),
        `em_service marathon ${marathonInputs(ctx).join(" ")}`,
        ...acl.after,
        ...dropPrevious(ctx, [PREVIOUS_ADMIN_CURLRC]),
      ],
      gate: {
        description: "the Mesos master is healthy with an elected leader, and Marathon answers /ping and /v2/leader",
        script: [
          `code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5${ca} "$@" || true; }`,
          `c=$(code ${scheme}://${ip}:5050/health); [ "$c" = 200 ] || { echo "mesos-master /health answered $c"; exit 1; }`,
          ...(ctx.input.seedsNewMasters ? seedingGate(ctx, scheme, marathon) : []),
          // Exactly one master says it is elected and has recovered its registrar. Not /redirect: after the leader
          // restarts, the others keep naming it until its ZooKeeper session expires (about 10 s), and a rollout that
          // went on then would restart agents with no leader to re-register with.
          "elected=0 recovered=0",
          `ms=(${ctx.masterIps.join(" ")})`,
          `for m in "\${ms[@]}"; do`,
          `  b=$(curl -s --max-time 5${ca} -K ${ADMIN_CURLRC} "${scheme}://$m:5050/metrics/snapshot" || true)`,
          ...(orPrevious ? [`  grep -q 'master/elected' <<<"$b"${orPrevious}`] : []),
          `  if ${metricIsOne("master/elected", '"$b"')}; then`,
          "    elected=$((elected + 1))",
          `    ${metricIsOne("registrar/log/recovered", '"$b"')} && recovered=1`,
          "  fi",
          "done",
          `[ "$elected" = 1 ] || { echo "$elected masters report master/elected = 1 (want exactly one: a leader election is under way)"; exit 1; }`,
          `[ "$recovered" = 1 ] || { echo "the leading master has not recovered its registrar (registrar/log/recovered) yet"; exit 1; }`,
          // A standby proxies /ping to Marathon's leader, which checks the password again: while clusterSecret
          // rotates, that leader has the old one until its turn (a restarted instance queues last for leadership),
          // so a rolled master's gate asks only what its own instance answers (/v2/leader is never proxied).
          ...(ctx.input.previous ? [] : [`c=$(code -K ${ADMIN_CURLRC} ${marathon}/ping); [ "$c" = 200 ] || { echo "Marathon /ping answered $c"; exit 1; }`]),
          `c=$(code -K ${ADMIN_CURLRC} ${marathon}/v2/leader); [ "$c" = 200 ] || { echo "Marathon /v2/leader answered $c (404: no leader yet)"; exit 1; }`,
        ].join("\n"),
        timeoutSeconds: 600,
        hint: `check "journalctl -u mesos-master -u marathon", that a majority of masters is up, and that ports 5050, ${tls ? "8443" : "8080"} and 15050 are open between masters`,
      },
    };
  }
  // By the node's hostname pinned to its address: its certificate always names the hostname, and its address
  // only when that was known at render time (bare metal; not on clouds, where the agent learns it at boot).
  const host = ctx.input.node.hostname;
  const agentTarget = tls
    ? `${ca} --resolve "${host}:5051:$SELF_IP" "https://${host}:5051/metrics/snapshot"`
    : ` "http://$SELF_IP:5051/metrics/snapshot"`;
  return {
    name: "mesos",
    index: 3,
    title: `Mesos agent (pool ${ctx.input.node.pool})`,
    files: agentFiles(ctx),
    commands: agentCommands(ctx),
    agentIdentity: agentIdentity(ctx),
    gate: {
      description: "this agent is registered with the leading master (slave/registered = 1)",
      script: [
        "# shellcheck source=/dev/null",
        `. /etc/elastic-mesos/node.env`,
        `body=$(curl -fsS --max-time 5 -K ${HEALTH_CURLRC}${agentTarget} 2>&1) || { echo "agent metrics unavailable: $body"; exit 1; }`,
        `grep -Eq '"slave\\\\?/registered" *: *1(\\.0+)?[,}]' <<<"$body" || { echo "the agent is not registered with a master yet"; exit 1; }`,
      ].join("\n"),
      timeoutSeconds: 900,
      hint: "check \"journalctl -u mesos-agent\", that masters reach this agent on port 5051 and the agent reaches them on 5050",
    },
  };
}

/**
 * The one master of a cluster growing from one (membership/seed.ts) restarts with the new --quorum before the new
 * masters start, and no leader can recover the log until a quorum of them runs. While fewer masters than the quorum
 * answer, its own health and Marathon's /ping are all there is to check; the new masters' gates check the rest.
 */
function seedingGate(ctx: Ctx, scheme: string, marathon: string): string[] {
  const q = ctx.input.quorum;
  return [
    "up=0",
    `for m in ${ctx.masterIps.join(" ")}; do`,
    `  if [ "$(code ${scheme}://$m:5050/health)" = 200 ]; then up=$((up + 1)); fi`,
    "done",
    `if [ "$up" -lt ${q} ]; then`,
    `  c=$(code -K ${ADMIN_CURLRC} ${marathon}/ping); [ "$c" = 200 ] || { echo "Marathon /ping answered $c"; exit 1; }`,
    `  echo "$up of ${ctx.masterIps.length} masters run Mesos, fewer than --quorum=${q}: the new masters start from ` +
      `this one's replicated log next"`,
    "  exit 0",
    "fi",
  ];
}
