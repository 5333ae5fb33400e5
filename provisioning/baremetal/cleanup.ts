// What `delete` removes from a host, and the scripts that record what was there before us and
// remove what we added. The plan is derived from the rendered steps (every file they write, every
// unit, user, directory and package their commands create) so it follows the bootstrap as it changes.
import { FIREWALL_TABLE } from "../steps/firewall";
import type { HostOwner, Step } from "../steps/types";
import type { CleanupPlan } from "./types";

/** Units the packages we install bring, stopped and disabled on delete even though no step writes them. */
const PACKAGED_UNITS = ["marathon.service", "mesos-master.service", "mesos-agent.service", "mesos-slave.service", "zookeeper.service"];
/** A directory or user is ours only if its name says so: never remove /etc/apt/keyrings or /opt. */
const OURS = /mesos|zookeeper|marathon|zk/;
const NEVER = new Set(["/", "/etc", "/usr", "/var", "/opt", "/srv", "/home", "/root", "/tmp", "/var/lib", "/var/log", "/etc/systemd/system"]);

const uniq = (xs: string[]) => [...new Set(xs)].sort();

/** Packages we remove when we installed them: the product's own and the container runtime, never shared libraries or the JDK. */
const OUR_PACKAGES = /mesos|marathon|zookeeper|^docker-ce(-cli)?$|^containerd\.io$/;
/** State the bootstrap library keeps (em_service stamps, the step scripts kept for re-runs by hand). */
const LIB_STATE = "/var/lib/elastic-mesos";
/** The host's owner mark and the step lock (em-lib.sh em_owner, em_host_lock). */
export const OWNER_FILE = "/etc/elastic-mesos/owner";
const RUN_DIR = "/run/elastic-mesos";
/** How long a cleanup waits for a step that runs on the host (seconds). */
const CLEANUP_LOCK_WAIT = 300;

/** Pure: the cleanup plan for a node's steps. */
export function cleanupPlan(steps: Step[]): CleanupPlan {
  const files = steps.flatMap((s) => s.files.map((f) => f.path));
  const units = files.filter((p) => /^\/(etc|lib|usr\/lib)\/systemd\/system\/[^/]+\.(service|timer|socket|slice)$/.test(p))
    .map((p) => p.slice(p.lastIndexOf("/") + 1));
  const commands = steps.flatMap((s) => s.commands).join("\n");
  const lib = libraryFootprint(commands);
  return {
    units: uniq([...units, ...PACKAGED_UNITS, ...lib.units].filter((u) => OURS.test(u))),
    files: uniq([...files, ...lib.files]),
    dirs: uniq([...dirsCreated(commands), ...lib.dirs, ...files.map(parentDir), LIB_STATE].filter((d) => OURS.test(d) && !NEVER.has(d))),
    users: uniq([...usersCreated(commands), ...lib.users].filter((u) => OURS.test(u))),
    packages: uniq([...packagesInstalled(commands), ...lib.packages].filter((p) => OUR_PACKAGES.test(p))),
    images: uniq(lib.images),
  };
}

/**
 * What the bootstrap's shell library calls create (provisioning/render/em-lib.sh): em_user NAME HOME,
 * em_dir PATH, em_zookeeper VERSION (→ /opt/zookeeper-VERSION), em_link TARGET LINK, em_put PATH,
 * em_key URL FPR DEST, em_pkg_has NAME, em_service UNIT, em_mask UNIT, em_image IMAGE.
 */
export function libraryFootprint(commands: string): Required<CleanupPlan> {
  const out: Required<CleanupPlan> = { units: [], files: [], dirs: [], users: [], packages: [], images: [] };
  const unq = (t: string | undefined) => (t ?? "").replace(/^'(.*)'$/, "$1");
  for (const w of simpleCommands(commands)) {
    const [cmd, a1, a2] = [w[0], unq(w[1]), unq(w[2])];
    if (!a1) continue;
    if (cmd === "em_user") { out.users.push(a1); if (a2.startsWith("/")) out.dirs.push(a2); }
    else if (cmd === "em_dir" && a1.startsWith("/")) out.dirs.push(a1);
    else if (cmd === "em_zookeeper") out.dirs.push(`/opt/zookeeper-${a1}`);
    else if (cmd === "em_link" && a2.startsWith("/")) out.files.push(a2);
    else if (cmd === "em_put" && a1.startsWith("/")) out.files.push(a1);
    else if (cmd === "em_key" && unq(w[3]).startsWith("/")) out.files.push(unq(w[3]));
    else if (cmd === "em_pkg_has") out.packages.push(a1);
    else if (cmd === "em_service" || cmd === "em_mask") out.units.push(`${a1}.service`);
    else if (cmd === "em_image") out.images.push(a1);
  }
  return out;
}

function parentDir(p: string): string {
  return p.slice(0, p.lastIndexOf("/")) || "/";
}

/** Simple commands of a script, as word lists (split on ; & | newlines, leading shell keywords dropped). */
export function simpleCommands(script: string): string[][] {
  return script.split(/[;&|\n]+/).map((seg) => {
    const words = seg.trim().split(/\s+/).filter(Boolean);
    while (words.length && ["then", "do", "else", "{", "(", "!", "sudo", "exec", "command"].includes(words[0])) words.shift();
    return words;
  }).filter((w) => w.length > 0);
}

/** Absolute paths given to `mkdir` / `install -d`. */
export function dirsCreated(commands: string): string[] {
  return simpleCommands(commands)
    .filter((w) => w[0] === "mkdir" || (w[0] === "install" && w.includes("-d")))
    .flatMap((w) => w.slice(1).filter((t) => /^\/[\w./-]+$/.test(t)).map((t) => t.replace(/\/+$/, "")));
}

/** Names created with useradd/adduser (the last word of the command). */
export function usersCreated(commands: string): string[] {
  return simpleCommands(commands)
    .filter((w) => (w[0] === "useradd" || w[0] === "adduser") && w.length > 1)
    .map((w) => w[w.length - 1].replace(/[^a-z0-9_-]/g, ""))
    .filter((u) => /^[a-z_][a-z0-9_-]*$/.test(u));
}

/** Package names given to apt-get/apt/dnf/yum install (version pins stripped). */
export function packagesInstalled(commands: string): string[] {
  return simpleCommands(commands)
    .filter((w) => ["apt-get", "apt", "dnf", "yum"].includes(w[0]) && w.includes("install"))
    .flatMap((w) => w.slice(w.indexOf("install") + 1))
    .filter((t) => !t.startsWith("-") && !t.startsWith("/") && !t.includes("$") && !t.startsWith('"') && !t.startsWith("'"))
    .map((t) => t.replace(/[=].*$/, ""))
    .filter((n) => /^[a-z0-9][a-z0-9+.-]+$/.test(n));
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Where the first footprint probe is kept on the host, so a re-run after an interrupted create does not
 *  mistake our own half-done install for something that was there before us. Removed by the cleanup. */
export const FOOTPRINT_FILE = "preexisting";

/**
 * Prints "user X" / "pkg X" / "dir X" for each user, package and directory of the plan that existed
 * before our first visit: probed once, recorded in FOOTPRINT_FILE, replayed afterwards.
 */
export function footprintProbeScript(plan: CleanupPlan): string {
  // EM_STATE: the bootstrap library's own override of its state directory (em-lib.sh), used by tests.
  const f = `"$d/${FOOTPRINT_FILE}"`;
  return [
    "set -u",
    `d="\${EM_STATE:-${LIB_STATE}}"`,
    `if [ ! -f ${f} ]; then`,
    `  mkdir -p "$d"`,
    "  {",
    ...plan.users.map((u) => `    id -u ${q(u)} >/dev/null 2>&1 && echo ${q(`user ${u}`)}`),
    ...plan.packages.map((p) => `    { dpkg-query -W -f='\${Status}' ${q(p)} 2>/dev/null | grep -q ' installed' || rpm -q ${q(p)} >/dev/null 2>&1; } && echo ${q(`pkg ${p}`)}`),
    ...plan.dirs.filter((d) => d !== LIB_STATE).map((d) => `    [ -e ${q(d)} ] && echo ${q(`dir ${d}`)}`),
    "    true",
    `  } > "$d/${FOOTPRINT_FILE}.new"`,
    `  mv -f "$d/${FOOTPRINT_FILE}.new" ${f}`,
    "fi",
    `cat ${f}`,
  ].join("\n") + "\n";
}

export function parseFootprint(stdout: string): string[] {
  return stdout.split("\n").map((l) => l.trim()).filter((l) => /^(user|pkg|dir) /.test(l));
}

/**
 * Shell (sh): take the host's step lock (a step running there finishes first) and, given the `owner` of the
 * stack being destroyed, refuse a host that another cluster's mark says is its own: a cleanup never wipes a
 * running cluster. Without `owner` (test fixtures that reset lab hosts), any mark is removed with the rest.
 */
export function cleanupGuard(owner: HostOwner | undefined): string {
  return [
    `r="\${EM_RUN:-${RUN_DIR}}"; o="\${EM_OWNER:-${OWNER_FILE}}"`,
    'mkdir -p "$r" && exec 9>>"$r/step.lock"',
    `if ! flock -w ${CLEANUP_LOCK_WAIT} 9; then`,
    `  echo "cleanup refused: another elastic-mesos run still holds this host after ${CLEANUP_LOCK_WAIT} s ($(cat "$r/step.lock" 2>/dev/null)); let it finish, then run the command again (nothing was removed)" >&2`,
    "  exit 1",
    "fi",
    ...(owner ? [
      'if [ -e "$o" ]; then',
      `  c=$(sed -n 's/^cluster=//p' "$o" | head -n 1); i=$(sed -n 's/^owner-id=//p' "$o" | head -n 1)`,
      // While clusterSecret rotates, a host not rolled yet still carries the previous secret's id.
      `  if [ "$c" != ${q(owner.cluster)} ] || { [ "$i" != ${q(owner.id)} ]${owner.previousId ? ` && [ "$i" != ${q(owner.previousId)} ]` : ""}; }; then`,
      `    echo "cleanup refused: this host belongs to cluster '$c' now (owner id $i in $o), not to cluster ${owner.cluster.replace(/[^a-z0-9-]/g, "")} ` +
        `(owner id ${owner.id.replace(/[^A-Za-z0-9_-]/g, "")}) whose host is being removed: nothing was removed, that cluster keeps running. ` +
        "To let go of the host in this stack without touching it: pulumi state delete <urn of the host> (pulumi stack --show-urns)\" >&2",
      "    exit 3",
      "  fi",
      "fi",
    ] : []),
  ].join("\n");
}

/** Idempotent removal of everything in the plan except what existed before we came. */
export function renderCleanupScript(plan: CleanupPlan, preexisting: string[], owner?: HostOwner): string {
  const keep = new Set(preexisting);
  const users = plan.users.filter((u) => !keep.has(`user ${u}`));
  const pkgs = plan.packages.filter((p) => !keep.has(`pkg ${p}`));
  const dirs = plan.dirs.filter((d) => !keep.has(`dir ${d}`));
  return [
    "set -u",
    cleanupGuard(owner),
    "export DEBIAN_FRONTEND=noninteractive",
    ...plan.units.map((u) => `systemctl disable --now ${q(u)} >/dev/null 2>&1 || true; systemctl unmask ${q(u)} >/dev/null 2>&1 || true`),
    // The host firewall's table (provisioning/steps/firewall.ts): ours by name, whichever release loaded it.
    `if command -v nft >/dev/null 2>&1; then nft delete table ${FIREWALL_TABLE} >/dev/null 2>&1 || true; fi`,
    ...(plan.images ?? []).map((i) => `if command -v docker >/dev/null 2>&1; then docker rmi -f ${q(i)} >/dev/null 2>&1 || true; fi`),
    ...users.map((u) => `pkill -KILL -u ${q(u)} >/dev/null 2>&1 || true`),
    // One package at a time, only if installed (apt refuses a whole list for one unknown name), unheld
    // first (the bootstrap holds its pins with em_hold).
    ...(pkgs.length ? [
      `for p in ${pkgs.map(q).join(" ")}; do`,
      `  if command -v dpkg-query >/dev/null 2>&1 && dpkg-query -W -f='\${Status}' "$p" 2>/dev/null | grep -q ' installed'; then`,
      `    apt-mark unhold "$p" >/dev/null 2>&1; apt-get purge -y -q --allow-change-held-packages "$p" >/dev/null 2>&1 || echo "could not purge $p" >&2`,
      `  elif command -v rpm >/dev/null 2>&1 && rpm -q "$p" >/dev/null 2>&1; then dnf remove -y -q "$p" >/dev/null 2>&1 || echo "could not remove $p" >&2; fi`,
      "done",
    ] : []),
    ...plan.files.map((f) => `rm -f -- ${q(f)}`),
    ...dirs.map((d) => `rm -rf -- ${q(d)}`),
    'rm -f -- "$o"', // the owner mark (/etc/elastic-mesos is in dirs when a step wrote there)
    ...users.map((u) => `if id -u ${q(u)} >/dev/null 2>&1; then userdel -r ${q(u)} >/dev/null 2>&1 || userdel ${q(u)}; fi`),
    "systemctl daemon-reload >/dev/null 2>&1 || true",
    "systemctl reset-failed >/dev/null 2>&1 || true",
    "echo cleaned",
  ].join("\n") + "\n";
}
