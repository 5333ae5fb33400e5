// The GCE startup script (provisioning/render/startup-script.ts), for real, on lab host h4 (Debian 12, systemd,
// sshd; cloud-init installed, which the default GCE images lack): run as the guest agent runs it (bash, as root,
// no stdin), it must leave what cloud-init leaves for the same steps, run the first-boot unit the same way, and
// change nothing on a later boot. The reference for the files is cloud-init itself: its write_files module run on
// h4 with the #cloud-config's own write_files; for the host key, cloud-init's documented ssh_keys result (the
// module also rewrites root's logins, which the lab relies on). The steps are two small real steps (the product's
// renderer and library), the second blocked on its first attempt: the unit must retry it on its own.
import { describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { BUNDLE, FIRSTBOOT_DONE, FIRSTBOOT_UNIT, renderCloudConfig } from "../../provisioning/render/cloud-config";
import { HOST_KEY, renderStartupScript, STARTUP_DONE } from "../../provisioning/render/startup-script";
import { renderStepScripts } from "../../provisioning/render/ssh-plan";
import { firstBootProbeScript, parseFirstBoot } from "../../provisioning/baremetal/adopt";
import { sshHostKey } from "../../provisioning/tls";
import type { Step } from "../../provisioning/steps/types";
import { labInfo, run, ssh, sshOk, waitFor } from "../fixtures/lab";

const skip = inject("labSkipReason");
const H = "h4";
const DIR = "/var/lib/em-startup-test";
const BLOCK = "/run/em-startup-test-block";
/** Once made, the "guest agent" below has done its first boot. */
const AGENT_DONE = "/run/em-startup-test-agent";
const UNIT = `/etc/systemd/system/${FIRSTBOOT_UNIT}`;
const KEY = sshHostKey("lab-startup-script-test-secret-01", "gce", "general-group");

const gate = (description: string, script: string) => ({ description, script, timeoutSeconds: 3, hint: `see ${DIR}` });
const STEPS: Step[] = [
  // Also plays the guest agent making the instance's own host keys while the script runs (some versions do so
  // after the instance-id file the script waits for): once, as the agent does at a first boot only.
  { name: "install", index: 1, title: "startup-script test: a file",
    commands: [`[ -e ${AGENT_DONE} ] || { touch ${AGENT_DONE}; rm -f ${HOST_KEY} ${HOST_KEY}.pub; ` +
      `ssh-keygen -q -t ecdsa -N '' -f ${HOST_KEY}; }`],
    files: [{ path: `${DIR}/one`, mode: "0640", owner: "root", group: "root", content: "one\n" }],
    gate: gate("the file is there", `test -f ${DIR}/one`) },
  { name: "mesos", index: 2, title: "startup-script test: blocked at first", files: [],
    commands: [`touch ${DIR}/two`], gate: gate("the block is gone", `! test -e ${BLOCK}`) },
];

/** Mode, owner, group, size and SHA-256 of each path (the dir too): what a writer leaves. */
const SNAPSHOT = `for f in /var/lib/elastic-mesos ${BUNDLE} ${UNIT}; do
  printf '%s %s' "$f" "$(stat -c '%a %U %G' "$f")"; [ -f "$f" ] && printf ' %s' "$(sha256sum <"$f" | cut -c1-64)"; echo
done`;
/** What must not move on a later boot: inodes and mtimes, the unit's and sshd's start. */
const STATE = `stat -c '%n %i %Y' ${BUNDLE} ${UNIT} ${HOST_KEY} ${HOST_KEY}.pub ${STARTUP_DONE}
systemctl show -p ActiveEnterTimestampMonotonic --value ${FIRSTBOOT_UNIT}
systemctl show -p MainPID --value ssh.service`;
const CLEAN = `systemctl disable --now ${FIRSTBOOT_UNIT} >/dev/null 2>&1 || true
rm -f ${UNIT}; systemctl daemon-reload; systemctl reset-failed ${FIRSTBOOT_UNIT} 2>/dev/null || true
rm -rf /var/lib/elastic-mesos ${DIR} ${BLOCK} ${AGENT_DONE} /root/em-startup.sh /root/em-ci.yaml`;
const BACKUP = `[ -e /root/em-ecdsa.bak ] || cp -a ${HOST_KEY} /root/em-ecdsa.bak
[ -e /root/em-ecdsa.pub.bak ] || cp -a ${HOST_KEY}.pub /root/em-ecdsa.pub.bak`;
const RESTORE = `if [ -e /root/em-ecdsa.bak ]; then
  mv -f /root/em-ecdsa.bak ${HOST_KEY}; mv -f /root/em-ecdsa.pub.bak ${HOST_KEY}.pub; systemctl reload ssh.service
fi`;

describe.skipIf(skip)("GCE startup script on a lab host", () => {
  it("leaves what cloud-init leaves, runs the first-boot unit until it passes, then nothing at a later boot",
    async (ctx) => {
    if (!labInfo().hosts.some((h) => h.name === H)) ctx.skip(); // needs LAB_HOSTS >= 4
    const cloudConfig = parse(renderCloudConfig(STEPS, KEY));
    const script = renderStartupScript(STEPS, KEY);
    await sshOk(H, `${CLEAN}\n${BACKUP}`);
    try {
      // 1. cloud-init's own write_files, with the #cloud-config's entries: the reference.
      const ci = `#cloud-config\n${stringify({ write_files: cloudConfig.write_files }, { lineWidth: 0 })}`;
      await sshOk(H, `cat >/root/em-ci.yaml <<'EM_CI_EOF'\n${ci}EM_CI_EOF
cloud-init --file /root/em-ci.yaml single --name write_files --frequency always >/dev/null 2>&1`);
      const reference = await sshOk(H, SNAPSHOT);
      expect(reference.split("\n").filter(Boolean)).toHaveLength(3);
      await sshOk(H, CLEAN);

      // 2. The startup script, as the guest agent runs it; its first attempt fails (the block), as cloud-init's would.
      await sshOk(H, `touch ${BLOCK}\ncat >/root/em-startup.sh <<'EM_SCRIPT_EOF'\n${script}EM_SCRIPT_EOF`);
      const first = await ssh(H, "bash /root/em-startup.sh </dev/null", 120_000);
      expect(first.code, first.stdout + first.stderr).not.toBe(0);
      expect(first.stdout).toContain("elastic-mesos 1/2 install: healthy");
      expect(first.stdout + first.stderr)
        .toMatch(/elastic-mesos 2\/2 mesos: FAILED: not healthy after \d+ s: the block/);
      expect(await sshOk(H, SNAPSHOT)).toBe(reference);
      // The host key as cloud-init's ssh_keys leaves it: the private half 0600, the public one derived next to it,
      // put back after the first attempt, during which the "guest agent" replaced it.
      expect((await sshOk(H, `test -e ${AGENT_DONE} && echo replaced`)).trim()).toBe("replaced");
      const keys = await sshOk(H, `stat -c '%a %U %G' ${HOST_KEY} ${HOST_KEY}.pub; cat ${HOST_KEY}.pub`);
      expect(keys).toBe(`600 root root\n644 root root\n${KEY.publicLine} root@localhost\n`);
      expect(await sshOk(H, `cat ${HOST_KEY}`)).toBe(KEY.privatePem);
      // sshd serves it now (reloaded): what every later connection pins.
      const scan = await run("ssh-keyscan", ["-t", "ecdsa", labInfo().hosts.find((h) => h.name === H)!.ip]);
      expect(scan.stdout.trim().split(/\s+/).slice(1).join(" ")).toBe(KEY.publicLine);
      expect((await sshOk(H, `systemctl is-enabled ${FIRSTBOOT_UNIT}`)).trim()).toBe("enabled");
      // The adoption (provisioning/baremetal/adopt.ts) sees a first boot under way, not done.
      expect(parseFirstBoot(await sshOk(H, firstBootProbeScript())).state).toBe("running");

      // 3. The cause goes: the unit's own retry (30 s later) runs the steps to the end.
      await sshOk(H, `rm -f ${BLOCK}`);
      await waitFor("the first-boot unit's retry", async () =>
        (await ssh(H, `test -e ${FIRSTBOOT_DONE} && echo done`, 20_000)).stdout.includes("done"), 120_000, 2000);
      const probe = parseFirstBoot(await sshOk(H, firstBootProbeScript()));
      expect(probe.state).toBe("done");
      expect(probe.ran).toEqual(Object.fromEntries(renderStepScripts(STEPS).map((s) => [s.step, s.hash])));
      expect((await sshOk(H, `cat ${DIR}/one; ls ${DIR}`))).toBe("one\none\ntwo\n");

      // 4. A later boot: the guest agent runs the script again; nothing is written, started or reloaded.
      const before = await sshOk(H, STATE);
      const again = await ssh(H, "bash /root/em-startup.sh </dev/null", 60_000);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe(`elastic-mesos: bootstrap already installed (${STARTUP_DONE}); ` +
        `see journalctl -u ${FIRSTBOOT_UNIT}\n`);
      expect(await sshOk(H, STATE)).toBe(before);
    } finally {
      await sshOk(H, `${CLEAN}\n${RESTORE}`);
    }
  }, 300_000);
});
