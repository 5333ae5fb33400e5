// Step[] → a GCE startup script (instance metadata `startup-script`), for images without cloud-init: the default
// Debian 12 and Rocky 9 GCE images run Google's guest agent only, which ignores `user-data` and runs this script
// as root at every boot (google-startup-scripts.service). It does on the first boot what cloud-init does with our
// #cloud-config, from the same value (render/cloud-config.ts firstBoot: the same step bundle, first-boot unit and
// run command, byte for byte), and installs the machine's derived SSH host key as cloud-init's `ssh_keys` leaves
// it; then it marks the host (STARTUP_DONE), so every later boot does nothing: the enabled first-boot unit retries
// the steps by itself until they pass, as on the cloud-init clouds. Adoption (provisioning/baremetal/adopt.ts)
// waits for that unit's FIRSTBOOT_DONE, whichever delivered it.
//
// Where cloud-init writes the host key before sshd starts, this script runs while or after the guest agent makes
// the instance's own keys (at its first boot): it waits for the agent to say that is done, writes ours, has a
// running sshd re-read its keys (SIGHUP), and after the first attempt (minutes) puts ours back if the agent
// replaced it meanwhile (its instance-id file is written before its keys in some versions), so every connection
// after the first boot pins the derived key.
import { sq } from "../steps/shell";
import type { Step } from "../steps/types";
import { BUNDLE, FIRSTBOOT_UNIT, firstBoot, gzip } from "./cloud-config";

/** Written once the bootstrap is installed and its first attempt ran: later boots leave everything as it is. */
export const STARTUP_DONE = "/var/lib/elastic-mesos/startup-script.done";
/** cloud-init's `ssh_keys: {ecdsa_private}` file (its public half is derived next to it, `.pub`). */
export const HOST_KEY = "/etc/ssh/ssh_host_ecdsa_key";
/**
 * The guest agent writes the instance id here once its first-boot actions (the instance's own host keys among
 * them) are done; the key is written after it, so the agent never replaces it.
 */
export const GUEST_AGENT_INSTANCE_ID = "/etc/google_instance_id";
/** Seconds to wait for the guest agent's first-boot actions before writing the key anyway. */
export const GUEST_AGENT_WAIT_SECONDS = 120;

const EOF = { bundle: "EM_BUNDLE_EOF", unit: "EM_UNIT_EOF", key: "EM_HOST_KEY_EOF" } as const;

/** A here-doc of `text` into `command`, byte for byte (a text without a final newline loses the one the doc adds). */
function heredoc(command: string, text: string, mark: string): string {
  if (text.split("\n").includes(mark)) throw new Error(`startup script: a file contains a line "${mark}"`);
  const nl = text.endsWith("\n");
  const body = nl ? text.slice(0, -1) : text;
  return `${nl ? "" : "head -c -1 | "}${command} <<'${mark}'\n${body}\n${mark}`;
}

/**
 * The startup script of a machine whose steps are `steps` (and whose SSH host key is `hostKey`, tls sshHostKey):
 * bash, run as root by the guest agent at every boot; idempotent. Exit status: the first attempt's, as cloud-init
 * reports it (the unit retries on its own either way).
 */
export function renderStartupScript(steps: Step[], hostKey?: { privatePem: string }): string {
  const boot = firstBoot(steps);
  const b64 = gzip(boot.bundle).toString("base64").replace(/.{1,76}/g, "$&\n");
  const unitPath = `/etc/systemd/system/${FIRSTBOOT_UNIT}`;
  const lines = [
    "#!/bin/bash",
    `# elastic-mesos bootstrap (${boot.summary}): a GCE startup script, run by the guest agent at every boot.`,
    `# The first boot installs the step scripts (${BUNDLE}) and ${FIRSTBOOT_UNIT}, which runs them until they pass;`,
    `# later boots find ${STARTUP_DONE} and change nothing.`,
    "set -euo pipefail",
    "umask 022",
    `if [ -e ${STARTUP_DONE} ]; then`,
    `  echo "elastic-mesos: bootstrap already installed (${STARTUP_DONE}); see journalctl -u ${FIRSTBOOT_UNIT}"`,
    "  exit 0",
    "fi",
    `echo "elastic-mesos: first boot: installing the bootstrap (${boot.summary})"`,
    // As cloud-init's write_files: parents made as needed (0755), each file whole, root-owned, in its mode.
    "em_write() {",
    '  local t; t=$(mktemp "$1.XXXXXX")',
    '  cat >"$t"; chown root:root "$t"; chmod "$2" "$t"; mv -f "$t" "$1"',
    "}",
    `mkdir -p ${dirOf(BUNDLE)} ${dirOf(unitPath)}`,
    `base64 -d <<'${EOF.bundle}' | gzip -dc | em_write ${BUNDLE} 0600\n${b64}${EOF.bundle}`,
    heredoc(`em_write ${unitPath} 0644`, boot.unit, EOF.unit),
  ];
  if (hostKey) {
    const pem = hostKey.privatePem;
    if (pem.split("\n").includes(EOF.key)) throw new Error(`startup script: a file contains a line "${EOF.key}"`);
    const body = pem.endsWith("\n") ? pem.slice(0, -1) : pem;
    lines.push(
      // In a variable (printf is a builtin: never in a process's arguments), written again below if replaced.
      `EM_HOST_KEY=$(cat <<'${EOF.key}'\n${body}\n${EOF.key}\n)`,
      // The derived SSH host key, as cloud-init's ssh_keys leaves it: the private half 0600, the public one derived
      // next to it; nothing when it is in place already. A running sshd re-reads its host keys on SIGHUP (sessions
      // stay); one not started yet reads them at its start.
      "em_host_key() {",
      `  if printf '${pem.endsWith("\n") ? "%s\\n" : "%s"}' "$EM_HOST_KEY" | cmp -s - ${HOST_KEY}; then return 0; fi`,
      `  printf '${pem.endsWith("\n") ? "%s\\n" : "%s"}' "$EM_HOST_KEY" | em_write ${HOST_KEY} 0600`,
      `  o=$(ssh-keygen -yf ${HOST_KEY}) && echo "$o" root@localhost | em_write ${HOST_KEY}.pub 0644`,
      "  for u in ssh sshd; do",
      '    if systemctl -q is-active "$u.service" 2>/dev/null; then systemctl reload "$u.service"; break; fi',
      "  done",
      "}",
      // The guest agent makes the instance's own host keys at its first boot, maybe while this script runs: the key
      // goes in once the agent says its first boot is done, and again after the first attempt if it was replaced.
      "if systemctl cat google-guest-agent.service >/dev/null 2>&1 ||",
      "  systemctl cat google-guest-agent-manager.service >/dev/null 2>&1; then",
      `  for _ in $(seq ${GUEST_AGENT_WAIT_SECONDS}); do [ -s ${GUEST_AGENT_INSTANCE_ID} ] && break; sleep 1; done`,
      "fi",
      "em_host_key",
    );
  }
  lines.push(
    // cloud-init's runcmd, the same command: unpack, enable and start the unit, print its first attempt.
    `r=0; bash -c ${sq(boot.run)} || r=$?`,
    ...(hostKey ? ["em_host_key"] : []),
    `touch ${STARTUP_DONE}`,
    'exit "$r"',
    "",
  );
  return lines.join("\n");
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}
