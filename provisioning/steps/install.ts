// Step 1/3, install: pinned, verified artifacts. Mesos from Clusterd's apt/yum repository (key fingerprint
// checked when pinned), ZooKeeper from Apache's tarball (SHA-512), OpenJDK from the distro, Marathon as a
// container image (or the apt package that provides /usr/share/marathon/bin/marathon), a pinned Docker
// engine where needed; then users, directories and the node's address file. The gate checks each pin.
import { DEFAULT_TASK_USER } from "./acls";
import type { Ctx } from "./context";
import { renderUnit, sq } from "./shell";
import type { FileSpec, Step } from "./types";

/** Where systemd units read the node's address (and Marathon's uid) from: written once, here. */
export const NODE_ENV = "/etc/elastic-mesos/node.env";
const STAGE = "/etc/elastic-mesos/repos";
const KEYRING_DIR = "/etc/apt/keyrings";
/**
 * Masters: /proc with hidepid=2, so no user sees another user's processes, their argv or environment
 * (Marathon 1.11 takes its ZooKeeper digest and HTTP credentials only as command-line flags). A unit, so it
 * holds after a reboot and comes off again when the host is cleaned (its ExecStop).
 */
export const HIDEPID_UNIT = "elastic-mesos-hidepid";

function hidepidUnit(): string {
  return renderUnit({
    description: "Hide other users' processes: /proc hidepid=2 (elastic-mesos; Marathon's flags carry credentials)",
    after: ["local-fs.target"],
    service: [
      ["Type", "oneshot"],
      ["RemainAfterExit", "yes"],
    ],
    execStart: ["/bin/mount", ["-o", "remount,hidepid=2"], "/proc"],
    after_exec: [["ExecStop", "/bin/mount -o remount,hidepid=0 /proc"]],
  }).replace("[Unit]\n", "[Unit]\nDefaultDependencies=no\nBefore=sysinit.target zookeeper.service mesos-master.service marathon.service\n");
}

const OS_MATCH: Record<string, string> = {
  "debian-12": "debian:12|debian:12.*",
  "ubuntu-22.04": "ubuntu:22.04",
  "ubuntu-24.04": "ubuntu:24.04",
  "rocky-9": "rocky:9|rocky:9.*|rhel:9|rhel:9.*|almalinux:9|almalinux:9.*",
};

export function installStep(ctx: Ctx): Step {
  const { input, isMaster, pkg } = ctx;
  const a = input.artifacts;
  const files: FileSpec[] = [];
  const cmds: string[] = [];

  cmds.push(
    `case "$(em_os)" in ${OS_MATCH[input.os]}) ;; *) em_fail "this host runs $(em_os), but config key os is ${input.os}; reinstall the host or change os" ;; esac`,
    // Packaged units must never start with package defaults (a master with quorum=1 could fork the log).
    "em_mask mesos-master",
    "em_mask mesos-agent",
  );
  if (isMaster && a.marathon.kind === "apt") cmds.push("em_mask marathon");
  cmds.push(...toolCommands(pkg));

  // Repositories: definitions are staged as files, activated only once their signing key is verified
  // (an unsigned or unreachable repo in sources.list.d would break every apt-get update on the host).
  const repos: { name: string; keyUrl: string; fpr?: string; def: string }[] = [];
  const m = a.mesos;
  if (m.kind === "apt") repos.push({ name: "mesos", keyUrl: m.keyUrl, fpr: m.keyFingerprint, def: aptLine("mesos", m.repoLine) });
  else repos.push({ name: "mesos", keyUrl: m.keyUrl, fpr: m.keyFingerprint, def: yumRepo("mesos", "Mesos (Clusterd)", m.baseUrl) });
  if (ctx.needsDocker) {
    if (!a.docker) throw new Error(`node ${input.node.id}: needs Docker (Marathon image or docker containerizer) but artifacts.docker is not resolved`);
    const d = a.docker;
    repos.push({ name: "docker", keyUrl: d.keyUrl, fpr: d.keyFingerprint, def: pkg === "apt" ? aptLine("docker", d.repoLine) : yumRepo("docker", "Docker CE", d.repoLine) });
  }
  for (const r of repos) {
    const staged = `${STAGE}/${r.name}.${pkg === "apt" ? "list" : "repo"}`;
    files.push({ path: staged, content: r.def, mode: "0644", owner: "root", group: "root" });
    const [key, fmt, active] =
      pkg === "apt"
        ? [`${KEYRING_DIR}/elastic-mesos-${r.name}.gpg`, "binary", `/etc/apt/sources.list.d/elastic-mesos-${r.name}.list`]
        : [`/etc/pki/rpm-gpg/RPM-GPG-KEY-elastic-mesos-${r.name}`, "armor", `/etc/yum.repos.d/elastic-mesos-${r.name}.repo`];
    cmds.push(`em_key ${sq(r.keyUrl)} ${r.fpr ?? "-"} ${key} ${fmt}`, `em_put ${active} 0644 root root <${staged}`);
  }

  // Packages: install only what is missing or at another version, then hold the pins.
  const want: [string, string, string][] = []; // [name, version prefix, install spec]
  const apt = pkg === "apt";
  want.push([m.package, m.version, apt ? `${m.package}=${m.version}*` : `${m.package}-${m.version}*`]);
  want.push(apt ? ["libsasl2-modules", "", "libsasl2-modules"] : ["cyrus-sasl-md5", "", "cyrus-sasl-md5"]); // CRAM-MD5
  if (isMaster) {
    const jdk = apt ? "openjdk-17-jre-headless" : "java-17-openjdk-headless";
    want.push([jdk, "", jdk]);
    if (a.marathon.kind === "apt") want.push([a.marathon.package, a.marathon.version, `${a.marathon.package}=${a.marathon.version}*`]);
  }
  if (ctx.needsDocker) {
    const v = a.docker!.version;
    if (apt) want.push(["docker-ce", `5:${v}`, `docker-ce=5:${v}*`], ["docker-ce-cli", `5:${v}`, `docker-ce-cli=5:${v}*`], ["containerd.io", "", "containerd.io"]);
    else want.push(["docker-ce", v, `docker-ce-${v}*`], ["docker-ce-cli", v, `docker-ce-cli-${v}*`], ["containerd.io", "", "containerd.io"]);
  }
  cmds.push("pkgs=()", ...want.map(([n, v, spec]) => `em_pkg_has ${n} ${sq(v)} || pkgs+=(${sq(spec)})`), `if [ \${#pkgs[@]} -gt 0 ]; then em_install "\${pkgs[@]}"; fi`);
  const held = want.filter(([, v]) => v !== "").map(([n]) => n);
  cmds.push(`em_hold ${held.join(" ")}`);

  // Users and directories (the services' own; credentials dirs are created by step 3's files). Agents: the
  // pool's task user, a system user without a login shell or home, which can read no credential file.
  if (isMaster) cmds.push("em_user zookeeper /var/lib/zookeeper", "em_user marathon /nonexistent");
  const taskUser = input.node.taskUser || DEFAULT_TASK_USER;
  if (!isMaster && taskUser !== "root") cmds.push(`em_user ${sq(taskUser)} /nonexistent`);
  const dirs: [string, string, string, string][] = isMaster
    ? [["/var/lib/zookeeper", "0750", "zookeeper", "zookeeper"], ["/var/log/zookeeper", "0750", "zookeeper", "zookeeper"], ["/etc/zookeeper", "0755", "root", "root"], ["/var/lib/mesos", "0755", "root", "root"], ["/var/lib/mesos/master", "0750", "root", "root"], ["/etc/marathon", "0750", "root", "marathon"]]
    : [["/var/lib/mesos", "0755", "root", "root"], ["/var/lib/mesos/agent", "0750", "root", "root"]];
  // Credential directories closed to every other user (a task user cannot even list them); the files in
  // them are root-only as well.
  dirs.push(["/var/log/mesos", "0750", "root", "root"], ["/etc/mesos", "0700", "root", "root"], ["/etc/elastic-mesos", "0700", "root", "root"]);
  cmds.push(...dirs.map(([p, mode, o, g]) => `em_dir ${p} ${mode} ${o} ${g}`));
  if (isMaster) {
    files.push({ path: `/etc/systemd/system/${HIDEPID_UNIT}.service`, content: hidepidUnit(), mode: "0644", owner: "root", group: "root" });
    cmds.push(`em_service ${HIDEPID_UNIT} /etc/systemd/system/${HIDEPID_UNIT}.service`);
  }

  if (isMaster) {
    const z = a.zookeeper;
    cmds.push(
      `em_zookeeper ${z.version} ${sq(z.url)} ${sq(z.fallbackUrl ?? "-")} ${z.sha512 ?? "-"} ${sq(z.sha512Url ?? "-")}`,
      `em_link /opt/zookeeper-${z.version} /opt/zookeeper`,
    );
  }
  if (ctx.needsDocker) cmds.push("em_service docker");
  if (isMaster && a.marathon.kind === "image") cmds.push(`em_image ${sq(a.marathon.image)} ${sq(a.marathon.archiveUrl ?? "-")}`);
  cmds.push(...nodeEnvCommands(ctx));
  if (input.sshHostKey) {
    files.push({ path: HOST_KEY_COPY, content: input.sshHostKey.privatePem, mode: "0600", owner: "root", group: "root", secret: true });
    cmds.push(hostKeySwap());
  }

  return {
    name: "install",
    index: 1,
    title: `install pinned artifacts (${isMaster ? "ZooKeeper, Mesos master, Marathon" : "Mesos agent"}${ctx.needsDocker ? ", Docker" : ""})`,
    files,
    commands: cmds,
    gate: {
      description: "every pinned artifact is installed",
      script: installGate(ctx, want),
      timeoutSeconds: 30,
      hint: "a package or tarball is missing or at another version; read the install output above",
    },
  };
}

/**
 * Our copy of a cloud machine's derived SSH host key (BootstrapInput.sshHostKey). The key sshd serves stays its
 * own file: a cleanup removes this copy, never the machine's host key.
 */
export const HOST_KEY_COPY = "/etc/elastic-mesos/ssh_host_ecdsa_key";

/**
 * Shell: the derived key in place of the machine's ECDSA host key, where they differ, and sshd told to read it.
 * Connections open now keep going (a reload re-reads the keys for new connections only), and the step runner
 * accepts either key meanwhile (ssh/target.ts previousHostKeyFingerprint).
 */
function hostKeySwap(): string {
  const live = "/etc/ssh/ssh_host_ecdsa_key";
  return `if ! cmp -s ${HOST_KEY_COPY} ${live}; then install -m 0600 -o root -g root ${HOST_KEY_COPY} ${live}; ` +
    `ssh-keygen -y -f ${live} > ${live}.pub; ` +
    // Debian and Ubuntu name the unit ssh (sshd an alias), Rocky sshd.
    `for u in ssh sshd; do if systemctl cat $u.service >/dev/null 2>&1; then systemctl try-reload-or-restart $u.service; break; fi; done; ` +
    `em_mark "SSH host key: the one derived from the current clusterSecret"; fi`;
}

function toolCommands(pkg: "apt" | "yum"): string[] {
  const tools = pkg === "apt" ? "curl ca-certificates gpg" : "curl gnupg2";
  return [`if ! command -v curl >/dev/null || ! command -v gpg >/dev/null; then em_install ${tools}; fi`];
}

function aptLine(name: string, repoLine: string): string {
  return `# elastic-mesos: ${name} packages (activated after the key is verified)\ndeb [signed-by=${KEYRING_DIR}/elastic-mesos-${name}.gpg] ${repoLine}\n`;
}

function yumRepo(name: string, title: string, baseUrl: string): string {
  return [
    `[elastic-mesos-${name}]`,
    `name=${title} (elastic-mesos)`,
    `baseurl=${baseUrl}`,
    "enabled=1",
    "gpgcheck=1",
    `gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-elastic-mesos-${name}`,
    "",
  ].join("\n");
}

/** SELF_IP (known, or discovered on the route to the first master) and Marathon's uid for `docker run --user`. */
function nodeEnvCommands(ctx: Ctx): string[] {
  const first = ctx.masterIps[0];
  const cmds = ctx.selfIp
    ? [`self_ip=${ctx.selfIp}`]
    : [
        `self_ip=$(em_route_src ${first})`,
        `[ -n "$self_ip" ] || em_fail "cannot find this host's address on the route to the first master ${first}; check the private network"`,
      ];
  const lines = [`printf 'SELF_IP=%s\\n' "$self_ip"`];
  if (ctx.isMaster && ctx.input.artifacts.marathon.kind === "image") {
    lines.push(`printf 'MARATHON_UID=%s\\nMARATHON_GID=%s\\n' "$(id -u marathon)" "$(id -g marathon)"`);
  }
  cmds.push(`em_put ${NODE_ENV} 0644 root root < <(${lines.join("; ")})`);
  return cmds;
}

function installGate(ctx: Ctx, want: [string, string, string][]): string {
  const lines = want.map(
    ([n, v]) => `em_pkg_has ${n} ${sq(v)} || { echo ${sq(`package ${n} ${v ? `${v}* ` : ""}is not installed`)}; exit 1; }`,
  );
  if (ctx.isMaster) {
    const v = ctx.input.artifacts.zookeeper.version;
    lines.push(
      `[ -f /opt/zookeeper/lib/zookeeper-${v}.jar ] || { echo "ZooKeeper ${v} is not in /opt/zookeeper"; exit 1; }`,
      `java -version >/dev/null 2>&1 || { echo "java does not run"; exit 1; }`,
    );
    const mar = ctx.input.artifacts.marathon;
    if (mar.kind === "apt") lines.push(`[ -x /usr/share/marathon/bin/marathon ] || { echo "/usr/share/marathon/bin/marathon is missing"; exit 1; }`);
    else lines.push(`docker image inspect ${sq(mar.image)} >/dev/null || { echo ${sq(`image ${mar.image} is missing`)}; exit 1; }`);
  }
  if (ctx.needsDocker) lines.push(`docker info >/dev/null 2>&1 || { echo "the Docker engine is not running"; exit 1; }`);
  lines.push(`grep -q '^SELF_IP=[0-9]' ${NODE_ENV} || { echo "${NODE_ENV} has no SELF_IP"; exit 1; }`);
  if (ctx.isMaster) {
    lines.push(`grep -Eq '^proc /proc proc .*hidepid=(2|invisible)' /proc/mounts || { echo "/proc is not mounted with hidepid=2 (${HIDEPID_UNIT}.service)"; exit 1; }`);
  } else if ((ctx.input.node.taskUser || DEFAULT_TASK_USER) !== "root") {
    const u = ctx.input.node.taskUser || DEFAULT_TASK_USER;
    lines.push(`id -u ${sq(u)} >/dev/null 2>&1 || { echo ${sq(`task user ${u} does not exist`)}; exit 1; }`);
  }
  return lines.join("\n");
}
