// Step[] → #cloud-config user-data for cloud machines. No step is written twice: the user-data carries the
// exact scripts of ssh-plan.ts and a first-boot unit (FIRSTBOOT_UNIT) that runs them in order until they all
// pass: a failed step (a mirror not reachable yet, apt busy past its wait) stops the rest and the unit tries
// again RETRY_SECONDS later, across reboots too, instead of a run-once `runcmd` that leaves a half-installed
// host for good. cloud-init starts it and waits for its first attempt, so /var/log/cloud-init-output.log
// holds that attempt's report (later ones: `journalctl -u elastic-mesos-firstboot`). The scripts stay on the
// host (root-only) so an operator can re-run one: `sudo bash /var/lib/elastic-mesos/steps/2-zookeeper.sh`
// (SSH-managed hosts keep them at the same path: ssh-plan.ts sshDelivery).
//
// Size: the scripts travel as pieces, their shared helper library once and each script's own head and body,
// put back together on the machine (assembleScripts): as ONE gzip'ed tar (one write_files entry, `gz+b64`) on
// clouds that take 64 KB or more of text, or as plain files on AWS, whose limit is 16 KB and whose whole
// user-data travels gzip'ed (cloud-init unpacks it) (test/unit/render.test.ts measures both).
import { gzipSync } from "node:zlib";
import { stringify } from "yaml";
import type { Step } from "../steps/types";
import { STEPS_DIR, stepFileName, stepScriptParts } from "./ssh-plan";
import { shellLib } from "./shell-lib";

export { STEPS_DIR, stepFileName };
export const BUNDLE = "/var/lib/elastic-mesos/steps.tar";
export const FIRSTBOOT_UNIT = "elastic-mesos-firstboot.service";
/** Written once every step passed: the unit never runs again (later changes come over SSH or a new machine). */
export const FIRSTBOOT_DONE = "/var/lib/elastic-mesos/firstboot.done";
/** Pause between attempts: each attempt re-runs only what is not done yet (the steps are idempotent). */
export const RETRY_SECONDS = 30;

/** The first-boot unit: the steps in order, retried until all pass, then never again. */
export function firstbootUnit(names: string[]): string {
  const run = `set -e; for s in ${names.join(" ")}; do bash ${STEPS_DIR}/$s; done; touch ${FIRSTBOOT_DONE}`;
  return [
    "[Unit]",
    "Description=elastic-mesos first-boot bootstrap (its steps in order, retried until they pass)",
    "Wants=network-online.target",
    "After=network-online.target",
    `ConditionPathExists=!${FIRSTBOOT_DONE}`,
    "StartLimitIntervalSec=0",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=/bin/bash -c '${run}'`,
    "Restart=on-failure",
    `RestartSec=${RETRY_SECONDS}`,
    // Each step stops itself at its own deadline (EM_STEP_SECONDS): the unit needs none.
    "TimeoutStartSec=infinity",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The pieces of the step scripts, as the first boot receives them (see assembleScripts). */
export interface BootPart {
  name: string;
  content: string;
}

/**
 * What a cloud machine's first boot installs and runs, whatever delivers it: this file's #cloud-config, or a GCE
 * startup script (render/startup-script.ts) on images without cloud-init. Both render from this one value.
 */
export interface FirstBoot {
  /** The step scripts' pieces: the helper library once, then each script's head and body. */
  parts: BootPart[];
  /** The same pieces as one ustar archive (installed at BUNDLE, root-only). */
  bundle: Buffer;
  /** The first-boot unit's text (installed at /etc/systemd/system/FIRSTBOOT_UNIT). */
  unit: string;
  /**
   * What runs once the files are in place (bash -c): put the scripts together (from BUNDLE, or from PARTS_DIR
   * with `firstBoot(steps, "plain")`), enable and start the unit, print its first attempt.
   */
  run: string;
  /** "1/3 install, 2/3 zookeeper, ...". */
  summary: string;
}

/** The helper library's piece: shipped once, put back into every script (see assembleScripts). */
export const LIB_PART = "em-lib.part";
/** Where the pieces go when they travel as plain files (the "plain" PieceForm). */
export const PARTS_DIR = "/var/lib/elastic-mesos/boot";

/** How the pieces travel: one gzip'ed tar at BUNDLE, or each a plain file in PARTS_DIR (see renderCloudConfig). */
export type PieceForm = "bundle" | "plain";

/** Pure: the first boot of a machine whose steps are `steps`, its pieces in BUNDLE or as files in PARTS_DIR. */
export function firstBoot(steps: Step[], form: PieceForm = "bundle"): FirstBoot {
  const names = steps.map((step) => stepFileName(step.index, step.name));
  // Every script starts with the same helper library (~21 KB): shipped once, not once per step.
  const parts: BootPart[] = [{ name: LIB_PART, content: shellLib() }];
  steps.forEach((step, i) => {
    const { head, body } = stepScriptParts(step, step.of ?? steps.length);
    parts.push({ name: `${names[i]}.head`, content: head }, { name: `${names[i]}.body`, content: body });
  });
  const bundle = ustar(parts.map((p) => ({ name: p.name, mode: 0o600, content: Buffer.from(p.content, "utf8") })));
  const unit = FIRSTBOOT_UNIT;
  const run = [
    "set -e",
    `d=${STEPS_DIR}`,
    `install -d -m 0700 "$d"`,
    ...(form === "bundle"
      ? [`t=$(mktemp -d "$d/.bundle-XXXXXX")`, `tar -xmf ${BUNDLE} --no-same-owner -C "$t"`,
        assembleScripts(names, "$t"), `rm -rf "$t"`]
      : [assembleScripts(names, PARTS_DIR)]),
    "systemctl daemon-reload",
    `systemctl enable -q ${unit}`,
    // Waits for the first attempt; its report goes to cloud-init's log. A failed attempt fails this command
    // (cloud-init reports an error) while the unit tries again on its own.
    `r=0; systemctl start ${unit} || r=$?`,
    `journalctl -q -u ${unit} -o cat --no-pager || true`,
    'exit "$r"',
  ].join("; ");
  const summary = steps.map((s) => `${s.index}/${s.of ?? steps.length} ${s.name}`).join(", ");
  return { parts, bundle, unit: firstbootUnit(names), run, summary };
}

/**
 * Shell (needs `d`, the steps' directory): puts each step script back together from the pieces in `src` as
 * head + library + body, byte for byte what ssh-plan.ts renders (the SSH runner's hashes of them then match
 * what ran: baremetal/adopt.ts), root-only, each written whole.
 */
export function assembleScripts(names: string[], src: string): string {
  const dir = src.startsWith("$") ? `"${src}"` : src;
  return `for s in ${names.join(" ")}; do cat ${dir}/$s.head ${dir}/${LIB_PART} ${dir}/$s.body >"$d/.$s.new"; ` +
    `chmod 0700 "$d/.$s.new"; mv -f "$d/.$s.new" "$d/$s"; done`;
}

/**
 * `hostKey`: the machine's SSH host key (tls sshHostKey, derived from clusterSecret), written by cloud-init's
 * `ssh_keys` before sshd starts, so every later connection pins it. Only the private half travels (sshd derives
 * the public one; AWS's 16 KB are tight); the image's own keys of other types stay, the client asks for this one.
 *
 * `form`: how the scripts' pieces travel. "bundle" (default): one gzip'ed tar (`gz+b64`), for clouds that take
 * the user-data as text (OpenStack's 64 KB are of base64). "plain": each piece a plain file in PARTS_DIR, for
 * AWS, whose whole user-data travels gzip'ed (awsUserData): compressed once, not base64 compressed again, it
 * keeps ~450 bytes of the 16 KB limit (test/unit/render.test.ts).
 */
export function renderCloudConfig(
  steps: Step[], hostKey?: { privatePem: string }, form: PieceForm = "bundle",
): string {
  const boot = firstBoot(steps, form);
  const root = { owner: "root:root", permissions: "0600" };
  const pieces = form === "plain"
    ? boot.parts.map((p) => ({ path: `${PARTS_DIR}/${p.name}`, ...root, content: p.content }))
    : [{ path: BUNDLE, ...root, encoding: "gz+b64", content: gzip(boot.bundle).toString("base64") }];
  const doc = {
    write_files: [
      ...pieces,
      { path: `/etc/systemd/system/${FIRSTBOOT_UNIT}`, owner: "root:root", permissions: "0644", content: boot.unit },
    ],
    runcmd: [["bash", "-c", boot.run]],
    ...(hostKey ? { ssh_keys: { ecdsa_private: hostKey.privatePem } } : {}),
  };
  const where = form === "plain" ? PARTS_DIR : BUNDLE;
  const head = `#cloud-config\n# elastic-mesos bootstrap (${boot.summary}); the step scripts' pieces are in ${where}.\n`;
  return `${head}${stringify(doc, { lineWidth: 0 })}`;
}

/** AWS's user-data: the plain form, gzip'ed whole by awsUserData. */
export function renderAwsCloudConfig(steps: Step[], hostKey?: { privatePem: string }): string {
  return renderCloudConfig(steps, hostKey, "plain");
}

/** Deterministic gzip (mtime 0, OS byte fixed), so the same steps always give the same user-data bytes. */
export function gzip(data: Buffer): Buffer {
  const gz = gzipSync(data, { level: 9 });
  gz[9] = 3; // "Unix", whatever platform rendered it
  return gz;
}

/** EC2's limit on user-data, before base64 (RunInstances and RequestLaunchTemplateData UserData). */
export const AWS_USER_DATA_LIMIT = 16 * 1024;

/**
 * What AWS receives as userDataBase64: the user-data gzip'ed (cloud-init recognises and unpacks it). Over EC2's
 * limit it throws, naming `what` (the node or pool), during the preview instead of an API error at create.
 */
export function awsUserData(userData: string, what = "a node"): string {
  const gz = gzip(Buffer.from(userData, "utf8"));
  if (gz.length > AWS_USER_DATA_LIMIT) {
    throw new Error(`the user-data of ${what} is ${gz.length} bytes gzip'ed, over EC2's ${AWS_USER_DATA_LIMIT}; ` +
      "fewer or shorter agentPools[i].attributes and resources shrink it (a 5-master cluster's largest node " +
      "stays ~450 bytes under, ~170 while clusterSecret rotates: test/unit/render.test.ts)");
  }
  return gz.toString("base64");
}

/** A minimal POSIX ustar archive of regular files owned by root, mtime 0 (deterministic bytes). */
export function ustar(files: { name: string; mode: number; content: Buffer }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    if (Buffer.byteLength(f.name) > 99) throw new Error(`tar: name too long: ${f.name}`);
    const h = Buffer.alloc(512);
    const put = (s: string, off: number, len: number) => h.write(s.slice(0, len), off, "ascii");
    const oct = (n: number, len: number) => `${n.toString(8).padStart(len - 1, "0")}\0`;
    put(f.name, 0, 100);
    put(oct(f.mode, 8), 100, 8);
    put(oct(0, 8), 108, 8); // uid
    put(oct(0, 8), 116, 8); // gid
    put(oct(f.content.length, 12), 124, 12);
    put(oct(0, 12), 136, 12); // mtime
    put("        ", 148, 8); // checksum placeholder (spaces) while summing
    put("0", 156, 1); // regular file
    put("ustar\u000000", 257, 8);
    put("root", 265, 32);
    put("root", 297, 32);
    let sum = 0;
    for (const b of h) sum += b;
    put(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
    blocks.push(h, f.content, Buffer.alloc((512 - (f.content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
