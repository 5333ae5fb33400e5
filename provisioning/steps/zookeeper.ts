// Step 2/3, zookeeper: the ensemble on the masters (stable myid, data under /var/lib/zookeeper, AdminServer off
// because Marathon owns 8080, only srvr/mntr/ruok four-letter words). Gate: this server is a voting member of
// the ensemble, leader or follower, and a majority of the ensemble serves with exactly one leader. On agents the
// step only waits for that quorum.
//
// Membership is ZooKeeper's own (dynamic reconfiguration, 3.5+): we render the settings (zoo.cfg, the same on
// every master, no server list), and ZooKeeper runs from its live copy under /var/lib/zookeeper/conf: those settings
// plus its dynamicConfigFile, the members, which it rewrites at every `reconfig`. A server's first start seeds the
// members from the running ensemble when one serves (a master added to a running cluster joins with the current
// members plus itself, then adds itself with `reconfig -add`), else from the rendered masters (a new cluster). So a
// master count change never restarts the running servers with a new static list, which could elect two leaders.
//
// Masters change online on bare metal and local only (membership/pin.ts). A master that joins asks a serving master
// for the members (online membership only: a cloud master starts from the rendered masters, which the pin keeps
// those of the running cluster); one that replaces a lost machine first removes that machine's server.
import { createHash } from "node:crypto";
import { onlineMembership, type Ctx } from "./context";
import { renderUnit, sq } from "./shell";
import { agentsRotated, dropPrevious } from "./rotation";
import { bundle, pkcs12TrustStore, storePassword } from "./tls";
import type { FileSpec, Step } from "./types";

/** The settings we render; ZooKeeper runs from its live copy (LIVE_CFG), which also names its members. */
export const ZOO_CFG = "/etc/zookeeper/zoo.cfg";
/** ZooKeeper-owned: the live config (ZOO_CFG plus dynamicConfigFile=) and the dynamic files reconfig writes. */
export const LIVE_DIR = "/var/lib/zookeeper/conf";
export const LIVE_CFG = `${LIVE_DIR}/zoo.cfg`;
/** The super user's password: reconfig needs it. Root only; piped to zkCli, never an argument. */
export const SUPER_PASSWORD = "/etc/zookeeper/super.password";
/** While clusterSecret rotates: the previous super password (steps/rotation.ts: the ACL migration tries both). */
export const PREVIOUS_SUPER_PASSWORD = "/etc/zookeeper/super.previous";
export const MYID = "/var/lib/zookeeper/myid";
const JVM_ENV = "/etc/zookeeper/jvm.env";
const UNIT = "/etc/systemd/system/zookeeper.service";
/** The node's key and certificate in one PEM file: ZooKeeper's PEM key store reads both from it. */
export const ZK_KEYSTORE = "/etc/zookeeper/tls/keystore.pem";
export const ZK_TRUSTSTORE = "/etc/zookeeper/tls/ca.pem";
/** While clusterSecret rotates: both CAs as a PKCS#12 trust store (steps/tls.ts pkcs12TrustStore says why). */
export const ZK_ROTATION_TRUSTSTORE = "/etc/zookeeper/tls/ca.p12";
const ZK_ROTATION_STAMP = "/var/lib/elastic-mesos/stamps/zookeeper-truststore";
export const ZK_SECURE_CLIENT_PORT = 2281;

/**
 * A master's server line (a participant, ZooKeeper's default role). `;2181` puts the client port on every address,
 * 127.0.0.1 included: each master's Mesos and Marathon send their digest credentials only to their own server
 * (firewalls keep 2181 private).
 */
export const serverLine = (m: { zkId: number; ip: string }) => `server.${m.zkId}=${m.ip}:2888:3888;2181`;

/** The members a new cluster starts with, in id order. */
export const members = (ctx: Ctx) => ctx.input.masters.slice().sort((x, y) => x.zkId - y.zkId).map(serverLine);

/** The super user's digest (ZooKeeper's DigestAuthenticationProvider: base64 of SHA-1 of "super:<password>"). */
export const superDigest = (password: string) =>
  `super:${createHash("sha1").update(`super:${password}`).digest("base64")}`;

/** zoo.cfg: the same bytes on every master, so a config drift between servers cannot happen. No server list: that is
 * ZooKeeper's (LIVE_DIR). */
export function zooCfg(ctx: Ctx): string {
  return [
    `# ZooKeeper settings of cluster ${ctx.input.cluster} (elastic-mesos), the same on every master; members: ${LIVE_CFG}.`,
    "tickTime=2000",
    "initLimit=10",
    "syncLimit=5",
    "dataDir=/var/lib/zookeeper",
    "reconfigEnabled=true",
    "standaloneEnabled=false",
    // reconfig needs the super user; ZooKeeper reads this key as the system property of the same name.
    `DigestAuthenticationProvider.superDigest=${superDigest(ctx.input.credentials.zkSuperPassword)}`,
    "4lw.commands.whitelist=srvr,mntr,ruok",
    "# The AdminServer would listen on 8080, Marathon's port.",
    "admin.enableServer=false",
    "autopurge.snapRetainCount=5",
    "autopurge.purgeInterval=24",
    ...(ctx.input.tls ? tlsCfg(bundle(ctx.input.tls.caCert) ? trustStorePassword(ctx.input.tls.caCert) : undefined) : []),
    "",
  ].join("\n");
}

/**
 * The TLS part of zoo.cfg: the same on every master (the paths are, the files differ). Keys ZooKeeper does
 * not know as config (ssl.*, serverCnxnFactory) become zookeeper.* system properties, which is how it reads them.
 */
function tlsCfg(pkcs12Password: string | undefined): string[] {
  const store = (prefix: string) => [
    `${prefix}.keyStore.location=${ZK_KEYSTORE}`,
    `${prefix}.keyStore.type=PEM`,
    ...(pkcs12Password ? [
      `${prefix}.trustStore.location=${ZK_ROTATION_TRUSTSTORE}`,
      `${prefix}.trustStore.type=PKCS12`,
      `${prefix}.trustStore.password=${pkcs12Password}`,
    ] : [
      `${prefix}.trustStore.location=${ZK_TRUSTSTORE}`,
      `${prefix}.trustStore.type=PEM`,
    ]),
    // The peer's address must be an IP SAN of its certificate (server lines use addresses, certificates carry them).
    `${prefix}.hostnameVerification=true`,
  ];
  return [
    "# Quorum and election links: TLS only, each side verified against the cluster CA (no plaintext fallback).",
    "sslQuorum=true",
    "portUnification=false",
    ...store("ssl.quorum"),
    "# Clients: TLS on the secure port (a client certificate from the cluster CA is required), plaintext on 2181",
    "# for Mesos and Marathon, whose ZooKeeper clients cannot do TLS. Netty serves both.",
    "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
    `secureClientPort=${ZK_SECURE_CLIENT_PORT}`,
    ...store("ssl"),
    "ssl.clientAuth=need",
  ];
}

/** The rotation trust store's password: it guards public certificates, so it is no secret (derived from them). */
const trustStorePassword = (caCert: string) => storePassword("zookeeper-truststore", caCert);

/** The node's key and certificate (one file, a credential) and the CA, readable by ZooKeeper only. */
function tlsFiles(ctx: Ctx): FileSpec[] {
  const tls = ctx.input.tls;
  if (!tls) return [];
  return [
    { path: ZK_KEYSTORE, content: `${tls.key}${tls.cert}`, mode: "0400", owner: "zookeeper", group: "zookeeper", secret: true },
    { path: ZK_TRUSTSTORE, content: tls.caCert, mode: "0444", owner: "zookeeper", group: "zookeeper" },
  ];
}

export function zookeeperStep(ctx: Ctx): Step {
  return ctx.isMaster ? masterStep(ctx) : agentStep(ctx);
}

function masterStep(ctx: Ctx): Step {
  const me = ctx.input.masters.find((m) => m.id === ctx.input.node.id)!;
  const v = ctx.input.artifacts.zookeeper.version;
  const unit = renderUnit({
    description: `Apache ZooKeeper ${v} (elastic-mesos)`,
    wants: ["network-online.target"],
    after: ["network-online.target"],
    service: [
      ["Type", "simple"],
      ["User", "zookeeper"],
      ["Group", "zookeeper"],
      ["Environment", "ZOO_LOG_DIR=/var/log/zookeeper"],
      ["EnvironmentFile", JVM_ENV],
    ],
    // The versioned path, not /opt/zookeeper: an upgrade changes this unit, which restarts the server.
    execStart: [`/opt/zookeeper-${v}/bin/zkServer.sh`, ["start-foreground", LIVE_CFG]],
    after_exec: [
      ["Restart", "on-failure"],
      ["RestartSec", "5"],
      ["SuccessExitStatus", "143"],
      ["TimeoutStopSec", "30"],
      ["LimitNOFILE", "65536"],
    ],
  });
  const files: FileSpec[] = [
    // Root's, readable by ZooKeeper's group: it carries the super user's digest.
    { path: ZOO_CFG, content: zooCfg(ctx), mode: "0640", owner: "root", group: "zookeeper", secret: true },
    { path: SUPER_PASSWORD, content: ctx.input.credentials.zkSuperPassword, mode: "0400", owner: "root", group: "root", secret: true },
    { path: MYID, content: `${me.zkId}\n`, mode: "0644", owner: "zookeeper", group: "zookeeper" },
    { path: UNIT, content: unit, mode: "0644", owner: "root", group: "root" },
    ...tlsFiles(ctx),
    ...(ctx.input.previous ? [{ path: PREVIOUS_SUPER_PASSWORD, content: ctx.input.previous.zkSuperPassword, mode: "0400",
      owner: "root", group: "root", secret: true }] : []),
  ];
  // A changed certificate or CA (clusterSecret rotated, master moved) restarts ZooKeeper like changed settings.
  // The members are not watched: a master count change is a reconfig of the running servers, never a restart.
  const watched = [ZOO_CFG, MYID, JVM_ENV, ...(ctx.input.tls ? [ZK_KEYSTORE, ZK_TRUSTSTORE] : [])].join(" ");
  const others = ctx.input.masters.filter((m) => m.id !== me.id).map((m) => m.ip);
  return {
    name: "zookeeper",
    index: 2,
    title: `ZooKeeper server ${me.zkId} of ${ctx.input.masters.length}`,
    files,
    commands: [
      ...agentsRotated(ctx, ZK_TRUSTSTORE),
      // Heap: 1/8 of RAM, 256 MiB to 1 GiB (the masters also run Mesos and Marathon; ZooKeeper for Mesos is small).
      `heap=$(awk '/^MemTotal:/{m=int($2/1024/8); if (m<256) m=256; if (m>1024) m=1024; print m}' /proc/meminfo)`,
      `em_put ${JVM_ENV} 0644 root root < <(printf 'ZK_SERVER_HEAP=%s\\nSERVER_JVMFLAGS=-Xmx%sm\\n' "$heap" "$heap")`,
      ...liveConfig(ctx, v, me, others),
      ...(ctx.input.tls && bundle(ctx.input.tls.caCert) ? pkcs12TrustStore({ pem: ZK_TRUSTSTORE, p12: ZK_ROTATION_TRUSTSTORE,
        password: trustStorePassword(ctx.input.tls.caCert), owner: "zookeeper", stamp: ZK_ROTATION_STAMP, alias: "cluster-ca" }) : []),
      `em_service zookeeper ${watched}`,
      ...dropPrevious(ctx, [PREVIOUS_SUPER_PASSWORD, ZK_ROTATION_TRUSTSTORE, ZK_ROTATION_STAMP]),
      ...(onlineMembership(ctx) ? [
        `if [ -n "$zk_join" ]; then zk_add ${v} "$zk_join" ${sq(serverLine(me))}; fi`,
        // Members this cluster no longer renders that do not serve: the servers of removed masters whose machines
        // are lost (baremetal.lostMasters) and that no leaving master removed with its own (provider.ts leftLost).
        `zk_prune ${v} ${sq(ctx.input.masters.map((m) => m.zkId).join(" "))} ${[me.ip, ...others].join(" ")}`,
      ] : []),
      // Once the server runs this release, earlier ones go: the cleanup plan names only the current release's
      // directory, so one left here would outlive `pulumi destroy`.
      `for d in /opt/zookeeper-*; do`,
      `  if [ -d "$d" ] && [ ! -L "$d" ] && [ "$d" != ${sq(`/opt/zookeeper-${ctx.input.artifacts.zookeeper.version}`)} ]; then`,
      `    rm -rf -- "$d"; em_mark "removed $d"`,
      "  fi",
      "done",
    ],
    gate: {
      description: `ZooKeeper on ${me.ip} is leader or follower (a voting member), and a majority of the ${ctx.input.masters.length} servers serve with one leader`,
      script: [
        `mode=$(em_zk_mode ${me.ip})`,
        `case "$mode" in leader|follower|standalone) ;; *) echo "ZooKeeper on this master (${me.ip}:2181) is not serving yet (srvr: \${mode:-no answer})"; exit 1 ;; esac`,
        `em_zk_voting ${me.zkId} || { echo "ZooKeeper server ${me.zkId} is not a voting member yet (${LIVE_CFG})"; exit 1; }`,
        ...(ctx.input.tls ? [secureListening()] : []),
        ...quorumCheck(ctx),
      ].join("\n"),
      timeoutSeconds: 300,
      hint: "check that ports 2888 and 3888 are open between masters (and 2181 from the cluster), and \"journalctl -u zookeeper\" on each master",
    },
  };
}

/**
 * Shell functions of a master whose ZooKeeper server may join a running ensemble (online membership only):
 * zk_members V IP prints the server lines of the ensemble IP serves (-o: zkCli prints its prompt first); zk_add V
 * MEMBER_IP LINE runs `reconfig -add LINE` through MEMBER_IP as the super user until this server's own members file
 * lists it as a voter (another master's reconfig in progress fails this one: tried again); zk_remove V MEMBER_IP IDS
 * removes lost machines' servers (ids, comma-separated) the same way; zk_prune V "RENDERED IDS" IP... removes, through
 * the first of the IPs that serves, the members not rendered that do not serve.
 */
const JOIN_FUNCTIONS = [
  "zk_members() { printf 'config\\nquit\\n' | em_zk_cli \"$1\" \"$2\" | grep -oE 'server\\.[0-9]+=\\S+'; }",
  // zk_reconfig V IP ARGS: `reconfig ARGS` through IP as the super user (its password piped, never an argument).
  `zk_reconfig() { printf 'addauth digest super:%s\\nreconfig %s\\nquit\\n' "$(cat ${SUPER_PASSWORD})" "$3" | em_zk_cli "$1" "$2"; }`,
  "zk_add() {",
  "  local o='' n=0 id=${3%%=*}",
  '  until em_zk_voting "${id#server.}"; do',
  '    [ $((n++)) -lt 30 ] || em_fail "ZooKeeper: reconfig -add $id through $2 failed: $(tail -n 5 <<<"$o")"',
  '    o=$(zk_reconfig "$1" "$2" "-add $3") || sleep 2',
  "  done",
  '  em_mark "ZooKeeper: $id added"',
  "}",
  "zk_remove() {",
  "  local o='' n=0 c",
  "  while :; do",
  "    c=$(zk_members \"$1\" \"$2\") || c=''",
  '    [ -n "$c" ] && ! grep -qE "^server\\.(${3//,/|})=" <<<"$c" && break',
  '    [ $((n++)) -lt 30 ] || em_fail "ZooKeeper: reconfig -remove $3 through $2 failed: $(tail -n 5 <<<"$o")"',
  '    o=$(zk_reconfig "$1" "$2" "-remove $3") || sleep 2',
  "  done",
  '  em_mark "ZooKeeper: server(s) $3 of lost machines removed"',
  "}",
  "zk_prune() {",
  '  local v=$1 ids=" $2 " via=\'\' ip line id gone=\'\'',
  "  shift 2",
  '  for ip in "$@"; do [ -z "$(em_zk_mode "$ip")" ] || { via=$ip; break; }; done',
  '  [ -n "$via" ] || return 0',
  '  for line in $(zk_members "$v" "$via"); do',
  "    id=${line%%=*}; id=${id#server.}; ip=${line#*=}; ip=${ip%%:*}",
  '    [[ "$ids" == *" $id "* ]] || [ -n "$(em_zk_mode "$ip")" ] || gone+=",$id"',
  "  done",
  '  [ -z "$gone" ] || zk_remove "$v" "$via" "${gone#,}"',
  "}",
];

/**
 * Shell lines: ZooKeeper's live config, our settings plus its members file. Before the first start (no members file
 * yet) a master whose cluster may grow online asks the other masters' servers: when one serves, this server starts
 * with its members, plus itself when it is not one of them ($zk_join then names the member it is added through);
 * nobody serving means a new cluster: the rendered masters, which is also all a cloud master starts with (its
 * masters never change on a running cluster). Later runs keep ZooKeeper's members: what reconfig decided stays.
 */
function liveConfig(ctx: Ctx, v: string, me: { zkId: number; ip: string }, others: string[]): string[] {
  const online = onlineMembership(ctx);
  return [
    ...(online ? JOIN_FUNCTIONS : []),
    `${online ? "zk_join=''; " : ""}d=$(em_zk_dyn)`,
    // ZooKeeper writes its next members file and rewrites LIVE_CFG here.
    `install -d -o zookeeper -g zookeeper -m 0750 ${LIVE_DIR}`,
    `if [ ! -s "$d" ]; then`,
    `  d=${LIVE_DIR}/zoo.cfg.dynamic; m=${sq(members(ctx).join("\n"))}`,
    ...(online ? [
      `  for ip in ${others.join(" ")}; do`,
      // Only a serving member is asked (srvr answers at once); zkCli would wait for one that is not.
      `    [ -n "$(em_zk_mode "$ip")" ] || continue; o=$(zk_members ${v} "$ip") || continue`,
      // Listed at another address: the lost machine this master replaces (provider.ts masterMove lets only that move
      // through). Its server goes first, then this one joins as a new one would, so no two servers share an id. The
      // quorum is unchanged meanwhile: {1, 2} needs both, as {1, 2, 3 lost} did.
      `    if grep -q '^server\\.${me.zkId}=' <<<"$o" && ! grep -q '^server\\.${me.zkId}=${me.ip.replace(/\./g, "\\.")}:' <<<"$o"; then`,
      `      zk_remove ${v} "$ip" ${me.zkId}; o=$(grep -v '^server\\.${me.zkId}=' <<<"$o")`,
      "    fi",
      `    m=$o; grep -q '^server\\.${me.zkId}=' <<<"$m" || { m+=$'\\n'${sq(serverLine(me))}; zk_join=$ip; }; break`,
      "  done",
    ] : []),
    `  em_put "$d" 0640 zookeeper zookeeper <<<"$m"`,
    "fi",
    // ZooKeeper rewrites it in its own order, without comments: the same settings are left alone.
    `w=$(cat ${ZOO_CFG}; echo "dynamicConfigFile=$d"); s() { grep -v '^#' | grep . | sort; }`,
    `[ "$(s <<<"$w")" = "$(s <${LIVE_CFG} 2>/dev/null)" ] || em_put ${LIVE_CFG} 0600 zookeeper zookeeper <<<"$w"`,
  ];
}

function agentStep(ctx: Ctx): Step {
  return {
    name: "zookeeper",
    index: 2,
    title: "wait for the ZooKeeper ensemble on the masters",
    files: [],
    commands: [],
    gate: {
      description: `a majority of the ${ctx.input.masters.length} ZooKeeper servers answer from this agent`,
      script: quorumCheck(ctx).join("\n"),
      timeoutSeconds: 900,
      hint: "the masters may still be bootstrapping; otherwise check that agents reach port 2181 on the masters",
    },
  };
}

/** Shell line: the TLS client port accepts connections (its handshake is the lab test's to prove). */
function secureListening(): string {
  const p = ZK_SECURE_CLIENT_PORT;
  return `timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${p}' 2>/dev/null || { echo "ZooKeeper's TLS client port ${p} is not listening"; exit 1; }`;
}

/**
 * Shell lines: exit 0 iff a majority of the ensemble answers leader/follower with exactly one leader. The one master
 * of a cluster growing from one (membership/seed.ts) is the whole ensemble until the new masters add themselves,
 * after its turn: one serving server is its majority.
 */
function quorumCheck(ctx: Ctx): string[] {
  const n = ctx.input.masters.length;
  const need = ctx.input.seedsNewMasters ? 1 : ctx.input.quorum;
  return [
    "serving=0",
    "leaders=0",
    `ips=(${ctx.masterIps.join(" ")})`,
    `for ip in "\${ips[@]}"; do`,
    `  m=$(em_zk_mode "$ip")`,
    `  echo "$ip: \${m:-no answer}"`,
    `  case "$m" in leader|standalone) serving=$((serving + 1)); leaders=$((leaders + 1)) ;; follower) serving=$((serving + 1)) ;; esac`,
    "done",
    `if [ "$serving" -lt ${need} ] || [ "$leaders" -ne 1 ]; then`,
    `  echo "no quorum yet: $serving of ${n} servers serving (need ${need}), $leaders leader(s)"`,
    "  exit 1",
    "fi",
  ];
}
