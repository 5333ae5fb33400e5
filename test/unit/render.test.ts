// The two renderings of the same Step[]: per-step SSH scripts and #cloud-config user-data. Real tools
// judge them: every script must pass shellcheck, every user-data `cloud-init schema`, and a 5-master
// cluster's user-data must fit AWS's 16 KB. Both tools are Debian packages installed by lab/host-deps.sh;
// if one is missing the test fails (it never skips).
import { leaveScript } from "../../provisioning/membership/leave";
import { snapshotScript, unpackScript } from "../../provisioning/membership/seed";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import type { OsFamily } from "../../components/model";
import {
  BUNDLE, FIRSTBOOT_DONE, FIRSTBOOT_UNIT, LIB_PART, PARTS_DIR, assembleScripts, awsUserData, firstbootUnit,
  renderAwsCloudConfig, renderCloudConfig,
} from "../../provisioning/render/cloud-config";
import { renderStepScripts } from "../../provisioning/render/ssh-plan";
import { renderSteps } from "../../provisioning/steps";
import type { BootstrapInput } from "../../provisioning/steps/types";
import { clusterInputs, SECRET, type Shape } from "./bootstrap-input";
import { nodeMaterial, rotatingMaterial, sshHostKey } from "../../provisioning/tls";
import { deriveCredentials } from "../../provisioning/credentials";
import { BEFORE_ZOOKEEPER, firstBootSteps } from "../../components/cluster";
import { bootParts, bootScripts } from "../fixtures/boot-text";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "em-render-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function requireTool(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    throw new Error(`${cmd} is required by this test but does not run (${r.error?.message ?? r.stderr}); run: sudo bash lab/host-deps.sh`);
  }
}

const SHA = "0123456789abcdef".repeat(8);
const SHAPES: Shape[] = [
  { masters: 1 },
  { masters: 3 },
  { masters: 5 },
  ...(["ubuntu-22.04", "ubuntu-24.04", "rocky-9"] as OsFamily[]).map((o) => ({ masters: 3 as const, os: o })),
  { masters: 3, overrides: { mirror: "http://10.77.0.1:8080/mirror", zookeeper: { sha512: SHA }, mesos: { keyFingerprint: "A".repeat(40) } } },
  { masters: 3, overrides: { offlineBundle: "/srv/bundle", zookeeper: { sha512: SHA }, marathon: { aptPackage: "marathon" } } },
];
/** Bare metal and local hosts carry a host firewall, which also renders what their masters change online with. */
const onBareMetal = (b: BootstrapInput): BootstrapInput =>
  ({ ...b, firewall: { adminCidrs: ["198.51.100.0/24"], members: b.masters.map((m) => m.ip).sort() } });
const inputs: BootstrapInput[] = [...SHAPES.flatMap(clusterInputs), ...clusterInputs({ masters: 3 }).map(onBareMetal)];

function bundleOf(userData: string): Buffer {
  const doc = parse(userData);
  // The steps' bundle (root-only) and the first-boot unit that runs them: nothing else.
  expect(doc.write_files.map((f: { path: string }) => f.path)).toEqual([BUNDLE, `/etc/systemd/system/${FIRSTBOOT_UNIT}`]);
  expect(doc.write_files[0]).toMatchObject({ path: BUNDLE, owner: "root:root", permissions: "0600", encoding: "gz+b64" });
  return gunzipSync(Buffer.from(doc.write_files[0].content, "base64"));
}

describe("SSH step scripts", () => {
  it("pass shellcheck (every OS, role, master count and artifact source; a master's departure)", async () => {
    requireTool("shellcheck", ["--version"]);
    const unique = new Map<string, string>();
    for (const input of inputs) for (const s of renderStepScripts(renderSteps(input))) unique.set(s.hash, s.script);
    // A master's departure (membership/leave.ts) and the copy of the log of a cluster growing from one master
    // (membership/seed.ts) run over SSH too, as does the one master's steps while it grows.
    unique.set("leave", leaveScript(4, "10.0.0.14"));
    unique.set("leave with lost masters", leaveScript(2, "10.0.0.12", ["10.0.0.13", "10.0.0.15"]));
    unique.set("snapshot", snapshotScript());
    unique.set("unpack", unpackScript("m1"));
    const seeding = { ...onBareMetal(clusterInputs({ masters: 3 })[0]), seedsNewMasters: true as const };
    for (const s of renderStepScripts(renderSteps(seeding))) unique.set(s.hash, s.script);
    const paths = [...unique.values()].map((script, i) => {
      const p = path.join(tmp, `script-${i}.sh`);
      fs.writeFileSync(p, script);
      return p;
    });
    expect(paths.length).toBeGreaterThan(20);
    // Two shellchecks at once (about a minute for one on two cores): halves, both checked.
    const half = Math.ceil(paths.length / 2);
    const runs = await Promise.all([paths.slice(0, half), paths.slice(half)].map((part) => new Promise<{ out: string; code: number | null }>(
      (resolve) => execFile("shellcheck", ["--shell=bash", "--severity=style", "--format=gcc", ...part], { maxBuffer: 16 << 20 },
        (err, stdout, stderr) => resolve({ out: `${stdout}${stderr}`, code: err ? (typeof err.code === "number" ? err.code : 1) : 0 })))));
    expect(runs.map((r) => r.out).join(""), "shellcheck findings").toBe("");
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
  }, 180_000);

  it("are self-contained bash scripts with a hash, a secret flag, and no tracing", () => {
    for (const input of inputs) {
      for (const s of renderStepScripts(renderSteps(input))) {
        expect(s.script.startsWith("#!/bin/bash\n")).toBe(true);
        expect(s.script).toContain("set -euo pipefail");
        expect(s.script).not.toMatch(/^\s*set -[a-z]*x/m);
        expect(s.script).not.toMatch(/^\s*(source|\.) .*em-lib/m);
        expect(s.hash).toBe(createHash("sha256").update(s.script).digest("hex"));
        // Step 3 writes credentials; a master's step 2 too (ZooKeeper's super user password and digest).
        expect(s.secret).toBe(s.step === "mesos" || (s.step === "zookeeper" && input.node.role === "master"));
        expect(s.script.trimEnd().endsWith("em_done")).toBe(true);
      }
    }
  });

  it("only call library functions that exist", () => {
    const lib = fs.readFileSync(path.join(__dirname, "../../provisioning/render/em-lib.sh"), "utf8");
    const defined = new Set([...lib.matchAll(/^(em_[a-z_]+)\(\)/gm)].map((m) => m[1]));
    for (const input of inputs) {
      for (const step of renderSteps(input)) {
        for (const used of `${step.commands.join("\n")}\n${step.gate.script}`.match(/\bem_[a-z_]+\b/g) ?? []) {
          expect(defined, `${input.node.id} step ${step.name} uses ${used}`).toContain(used);
        }
      }
    }
  });

  it("fail loudly on an unhealthy gate, naming the step, the last output and the hint", () => {
    const [install] = renderStepScripts(renderSteps(clusterInputs({ masters: 1 })[0]));
    // Keep the library and the gate, replace what would touch this machine by a gate that always fails.
    const lib = install.script.slice(0, install.script.indexOf("# Health gate"));
    const script = `${lib}em_gate_check() { echo "port 2181: connection refused"; exit 1; }\nem_gate 2 'the thing works' 'open port 2181'\n`;
    const r = spawnSync("bash", ["-c", script.replace('[ "$(id -u)" = 0 ] || em_fail "must run as root (use sudo)"', ":")], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("elastic-mesos 1/3 install: FAILED: not healthy after 2 s: the thing works");
    expect(r.stderr).toContain("port 2181: connection refused");
    expect(r.stderr).toContain("hint: open port 2181");
  });
});

describe("#cloud-config user-data", () => {
  it.each(["bundle", "plain"] as const)("carries exactly the SSH scripts (one source of truth) and runs them in order (%s)", (form) => {
    for (const input of clusterInputs({ masters: 3 })) {
      const steps = renderSteps(input);
      const ud = renderCloudConfig(steps, undefined, form);
      expect(ud.startsWith("#cloud-config\n")).toBe(true);
      // The library once, each script's head and body: the machine puts them back together (bootScripts).
      const written = parse(ud).write_files as { path: string; permissions: string; encoding?: string }[];
      const parts = Object.keys(bootParts(ud));
      expect(parts.filter((n) => !/\.(head|body)$/.test(n))).toEqual([LIB_PART]);
      expect(parts).toHaveLength(1 + 2 * steps.length);
      // Root-only either way: the pieces carry credentials.
      for (const f of written.filter((w) => w.path.startsWith(`${PARTS_DIR}/`) || w.path === BUNDLE)) {
        expect(f.permissions, f.path).toBe("0600");
      }
      expect(written.some((f) => f.encoding !== undefined)).toBe(form === "bundle");
      const files = bootScripts(ud);
      const scripts = renderStepScripts(steps);
      expect(Object.keys(files)).toEqual(scripts.map((s) => `${s.index}-${s.step}.sh`));
      expect(scripts.map((s) => s.step)).toEqual([...(input.node.role === "agent" ? ["firewall"] : []), "install", "zookeeper", "mesos"]);
      scripts.forEach((s, i) => expect(files[Object.keys(files)[i]]).toBe(s.script));
      // runcmd starts the first-boot unit, which runs the steps in order until all pass (then never again).
      const run = parse(ud).runcmd;
      expect(run).toHaveLength(1);
      expect(run[0].join(" ")).toContain(`systemctl start ${FIRSTBOOT_UNIT}`);
      const unit = parse(ud).write_files.find((f: { path: string }) => f.path === `/etc/systemd/system/${FIRSTBOOT_UNIT}`).content;
      expect(unit).toBe(firstbootUnit(Object.keys(files)));
      expect(unit).toContain(`for s in ${Object.keys(files).join(" ")}; do bash /var/lib/elastic-mesos/steps/$s; done; touch ${FIRSTBOOT_DONE}`);
      expect(unit).toMatch(/^Restart=on-failure$/m);
      expect(unit).toMatch(/^RestartSec=30$/m);
      expect(unit).toContain(`ConditionPathExists=!${FIRSTBOOT_DONE}`);
    }
  });

  it("holds a tar that GNU tar lists as root-only files, from which the first boot assembles each SSH script", () => {
    const ud = renderCloudConfig(renderSteps(clusterInputs({ masters: 3 })[0]));
    const p = path.join(tmp, "steps.tar");
    fs.writeFileSync(p, bundleOf(ud));
    const list = execFileSync("tar", ["-tvf", p], { encoding: "utf8" });
    expect(list).toMatch(/^-rw------- root\/root\s+\d+ 1970-01-01 00:00 em-lib\.part$/m);
    expect(list).toMatch(/^-rw------- root\/root\s+\d+ 1970-01-01 00:00 3-mesos\.sh\.body$/m);
    // The run command itself (assembleScripts inside it), with the bundle where cloud-init writes it.
    const run = parse(ud).runcmd[0][2] as string;
    expect(run).toContain(assembleScripts(["1-install.sh", "2-zookeeper.sh", "3-mesos.sh"], "$t"));
    expect(bootScripts(ud)["3-mesos.sh"]).toBe(renderStepScripts(renderSteps(clusterInputs({ masters: 3 })[0]))[2].script);
  });

  it("passes `cloud-init schema`", () => {
    requireTool("cloud-init", ["--version"]);
    const picks = [...clusterInputs({ masters: 5 }).slice(0, 1), ...clusterInputs({ masters: 5 }).slice(-1), ...clusterInputs(SHAPES[5]).slice(0, 1), ...clusterInputs(SHAPES[6]).slice(0, 1)];
    for (const [i, input] of picks.entries()) {
      const p = path.join(tmp, `user-data-${i}.yaml`);
      // With a derived SSH host key (ssh_keys), as the program renders every cloud node's.
      for (const form of ["bundle", "plain"] as const) {
        fs.writeFileSync(p, renderCloudConfig(renderSteps(input), sshHostKey(SECRET, input.cluster, input.node.id), form));
        const r = spawnSync("cloud-init", ["schema", "--config-file", p], { encoding: "utf8" });
        expect(`${r.stdout}${r.stderr}`, `${input.node.id} ${form}`).toContain("Valid cloud-config");
        expect(r.status).toBe(0);
      }
    }
  });

  // While clusterSecret rotates, a machine made then boots both generations (components/cluster.ts cloudInitUserData):
  // the previous credentials, both CAs and the cross-signed one, its host key in the install step. A master's whole
  // plan is then over 16 KB (the ACL passes of a rotated cluster): it boots its install step alone.
  it.each([["", false], [", while clusterSecret rotates", true]])("stays under AWS's 16 KB (gzip'ed, as sent) and the other clouds' 64 KB for every node of a 5-master cluster%s", (_, rotating) => {
    const shapes = [{ masters: 5 as const }, { ...SHAPES[6], masters: 5 as const }, { ...SHAPES[7], masters: 5 as const }];
    const NEXT = "the-next-cluster-secret-0123456789";
    const sizes = shapes.flatMap((shape) =>
      clusterInputs(shape).map((input) => {
        // With the TLS material the program adds (certificates barely compress).
        const subject = { id: input.node.id, hostname: input.node.hostname, ...(input.node.role === "master"
          ? { ip: input.masters.find((m) => m.id === input.node.id)!.ip, extraIps: ["203.0.113.10"] } : {}) };
        const secret = rotating ? NEXT : SECRET;
        const made = nodeMaterial(secret, input.cluster, subject, input.node.role);
        const tls = { ...(rotating ? rotatingMaterial(made, NEXT, SECRET, input.cluster) : made), unverifiedPeers: true };
        const key = sshHostKey(secret, input.cluster, input.node.id);
        const rotation = rotating ? { credentials: deriveCredentials(NEXT, input.cluster), previous: input.credentials,
          generation: 1, sshHostKey: { privatePem: key.privatePem } } : {};
        // With its derived SSH host key, as the program renders it (components/cluster.ts). Once clusterSecret rotated,
        // a master boots its install step alone (its host runs the rest over SSH).
        const all = renderSteps({ ...input, tls, ...rotation });
        const steps = rotating && input.node.role === "master" ? firstBootSteps(all, BEFORE_ZOOKEEPER) : all;
        const text = renderCloudConfig(steps, key);
        // AWS's own form (its registry render): the pieces as plain files, the whole gzip'ed once.
        const awsText = renderAwsCloudConfig(steps, key);
        const aws = Buffer.from(awsUserData(awsText), "base64");
        expect(gunzipSync(aws).toString("utf8"), input.node.id).toBe(awsText);
        return { node: input.node.id, text: Buffer.byteLength(text), aws: aws.length };
      }),
    );
    const max = (k: "text" | "aws") => Math.max(...sizes.map((s) => s[k]));
    console.log(`user-data bytes, 5 masters${rotating ? " (rotating)" : ""}: max text ${max("text")}, max AWS (gzip) ${max("aws")}; ` +
      sizes.map((s) => `${s.node}=${s.text}/${s.aws}`).join(" "));
    expect(max("aws")).toBeLessThan(16 * 1024);
    expect(max("text")).toBeLessThan(64 * 1024);
  });

  it("over AWS's 16 KB: refused while rendering, naming the node and what shrinks it", () => {
    // Random bytes do not compress: 20,000 of them in base64 stay over the limit gzip'ed.
    const big = `#cloud-config\n# ${randomBytes(20000).toString("base64")}\n`;
    expect(() => awsUserData(big, "prod-general-1")).toThrow(
      /^the user-data of prod-general-1 is \d+ bytes gzip'ed, over EC2's 16384; fewer or shorter agentPools\[i\]\.attributes/);
    expect(Buffer.from(awsUserData("#cloud-config\n"), "base64").length).toBeLessThan(100);
  });
});
