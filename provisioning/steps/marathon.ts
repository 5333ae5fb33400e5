// Step 3 on masters, the Marathon part: the pinned image run by systemd through docker (host network, as
// the unprivileged `marathon` user), or the apt package's launcher. Credentials reach it only through files:
// the ZooKeeper URLs and HTTP credentials in a root-only env file, the framework secret in a file of its own.
//
// Marathon's launcher (bin/marathon, sbt-native-packager) turns every MARATHON_* variable into a command-line
// flag, and Marathon 1.11 takes its ZooKeeper digest (--zk) and HTTP credentials (--http_credentials) only as
// flags: they are in its argv. So masters mount /proc with hidepid=2 (install step: no other user sees
// another user's processes), run no tasks, and --master carries no credential at all (/mesos is
// world-readable; only mesos-master holds the Mesos ZooKeeper write credential).
import { assertFlags, marathonEnvFlag } from "../flags";
import { defaultTaskUser, masterTaskUsers } from "./acls";
import type { Ctx } from "./context";
import { NODE_ENV } from "./install";
import { LOCAL_ZK, zkReadUrl, zkUrl } from "./mesos-master";
import { renderUnit } from "./shell";
import { CLUSTER_CA, MARATHON_CERT, MARATHON_KEY, MARATHON_KEYSTORE, MARATHON_TRUSTSTORE, marathonTlsArgs, marathonTlsEnv,
  marathonTlsFiles, marathonTlsInputs, tlsOf } from "./tls";
import type { FileSpec } from "./types";

const SECRET = "/etc/marathon/secret";
const ENV = "/etc/marathon/marathon.env";
const UNIT = "/etc/systemd/system/marathon.service";
/** The scheduler driver's port: fixed, so the masters' connection back to it can be allowed by firewalls. */
export const MARATHON_LIBPROCESS_PORT = 15050;

/** Marathon's options as [flag, value?] pairs (Marathon takes `--flag value`). */
export function marathonArgs(ctx: Ctx): string[][] {
  const args: [string, string?][] = [
    ["--hostname", ctx.selfIp!],
    // With the cluster CA: HTTPS on 8443 only (--disable_http), from the key store made on the host.
    ...(tlsOf(ctx) ? marathonTlsArgs(ctx) : [["--http_port", "8080"] as [string, string?]]),
    ["--framework_name", "marathon"],
    ["--mesos_authentication"],
    ["--mesos_authentication_principal", "marathon"],
    ["--mesos_authentication_secret_file", SECRET],
    // Apps that set no "user" run as the pools' task user (never root unless every pool asks for it); the
    // Mesos ACLs refuse any user that is not a pool's task user.
    ["--mesos_user", defaultTaskUser(masterTaskUsers(ctx.input.taskUsers))],
  ];
  assertFlags("marathon", args.map(([f]) => f.slice(2)));
  return args.map((a) => a.filter((x): x is string => x !== undefined));
}

export function marathonEnv(ctx: Ctx): Record<string, string> {
  const c = ctx.input.credentials;
  const env: Record<string, string> = {
    MARATHON_MASTER: zkReadUrl(ctx, LOCAL_ZK),
    MARATHON_ZK: zkUrl("marathon", c.zkMarathonPassword, "marathon"),
    MARATHON_HTTP_CREDENTIALS: `admin:${c.adminPassword}`,
    LIBPROCESS_IP: ctx.selfIp!,
    LIBPROCESS_PORT: String(MARATHON_LIBPROCESS_PORT),
    ...marathonTlsEnv(ctx),
  };
  assertFlags("marathon", Object.keys(env).map(marathonEnvFlag).filter((f): f is string => f !== undefined));
  return env;
}

export function marathonFiles(ctx: Ctx): FileSpec[] {
  const c = ctx.input.credentials;
  const mar = ctx.input.artifacts.marathon;
  const env = Object.entries(marathonEnv(ctx)).map(([k, v]) => `${k}=${v}\n`).join("");
  const unit =
    mar.kind === "image"
      ? renderUnit({
          description: `Marathon (${mar.image}, elastic-mesos)`,
          wants: ["network-online.target"],
          requires: ["docker.service"],
          after: ["network-online.target", "docker.service", "mesos-master.service"],
          service: [
            ["EnvironmentFile", NODE_ENV],
            ["ExecStartPre", "-/usr/bin/docker rm -f marathon"],
          ],
          execStart: [
            "/usr/bin/docker",
            ["run", "--rm", "--name=marathon", "--net=host"],
            ["--user=${MARATHON_UID}:${MARATHON_GID}", "--env=HOME=/tmp", `--env-file=${ENV}`],
            `--volume=${SECRET}:${SECRET}:ro`,
            ...(tlsOf(ctx) ? [MARATHON_CERT, MARATHON_KEY, CLUSTER_CA, MARATHON_KEYSTORE, MARATHON_TRUSTSTORE].map((f) => `--volume=${f}:${f}:ro`) : []),
            mar.image,
            ...marathonArgs(ctx),
          ],
          after_exec: [
            ["ExecStop", "/usr/bin/docker stop -t 30 marathon"],
            ["Restart", "always"],
            ["RestartSec", "10"],
            ["TimeoutStartSec", "300"],
          ],
        })
      : renderUnit({
          // A version bump restarts it, of Marathon's package or of Mesos' (the package Marathon loads libmesos from).
          description: `Marathon (${mar.package} package ${mar.version}, libmesos ${ctx.input.artifacts.mesos.version}, elastic-mesos)`,
          wants: ["network-online.target"],
          after: ["network-online.target", "mesos-master.service"],
          service: [
            ["User", "marathon"],
            ["Group", "marathon"],
            ["EnvironmentFile", ENV],
          ],
          execStart: ["/usr/share/marathon/bin/marathon", ...marathonArgs(ctx)],
          after_exec: [
            ["Restart", "always"],
            ["RestartSec", "10"],
            ["LimitNOFILE", "65536"],
          ],
        });
  return [
    // Read byte for byte by Marathon: no trailing newline. Owned by the service user, readable by no one else.
    { path: SECRET, content: c.marathonSecret, mode: "0400", owner: "marathon", group: "marathon", secret: true },
    { path: ENV, content: env, mode: "0600", owner: "root", group: "root", secret: true },
    ...marathonTlsFiles(ctx),
    { path: UNIT, content: unit, mode: "0644", owner: "root", group: "root" },
  ];
}

export const MARATHON_INPUTS = [SECRET, ENV, NODE_ENV];

/** Files whose change restarts Marathon: MARATHON_INPUTS and its TLS material (key and trust stores included). */
export function marathonInputs(ctx: Ctx): string[] {
  return [...MARATHON_INPUTS, ...marathonTlsInputs(ctx)];
}
