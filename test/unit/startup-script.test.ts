// The GCE startup script (render/startup-script.ts) carries exactly what the #cloud-config carries for the same
// steps: the step bundle, the first-boot unit, the run command and the derived SSH host key, byte for byte; it
// passes shellcheck and fits GCE's metadata limit. (test/lab/startup-script.test.ts runs it on a real host and
// compares what it leaves with what cloud-init leaves.)
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { BUNDLE, FIRSTBOOT_UNIT, renderCloudConfig } from "../../provisioning/render/cloud-config";
import { HOST_KEY, renderStartupScript, STARTUP_DONE } from "../../provisioning/render/startup-script";
import { renderSteps } from "../../provisioning/steps";
import { sshHostKey } from "../../provisioning/tls";
import { clusterInputs, SECRET } from "./bootstrap-input";
import { startupScriptHostKey } from "../fixtures/boot-text";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "em-startup-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The text of the here-doc that follows `head` (its last newline is the doc's own). */
function heredoc(script: string, head: string, mark: string): string {
  const i = script.indexOf(`${head} <<'${mark}'\n`);
  expect(i, head).toBeGreaterThanOrEqual(0);
  const from = i + head.length + ` <<'${mark}'\n`.length;
  return script.slice(from, script.indexOf(`\n${mark}\n`, from) + 1);
}

/** What the script installs, read back from its text: the bundle, the unit, the run command, the key. */
function pieces(script: string) {
  const open = `^base64 -d <<'EM_BUNDLE_EOF' \\| gzip -dc \\| em_write ${BUNDLE} 0600\n`;
  const b64 = new RegExp(`${open}([A-Za-z0-9+/=\n]*?)^EM_BUNDLE_EOF$`, "m").exec(script)![1];
  const run = /^r=0; bash -c ('(?:[^']|'\\'')*') \|\| r=\$\?$/m.exec(script)![1];
  return {
    bundle: gunzipSync(Buffer.from(b64.replace(/\n/g, ""), "base64")),
    unit: heredoc(script, `em_write /etc/systemd/system/${FIRSTBOOT_UNIT} 0644`, "EM_UNIT_EOF"),
    run: execFileSync("bash", ["-c", `printf %s ${run}`], { encoding: "utf8" }),
    key: startupScriptHostKey(script),
  };
}

describe("GCE startup script", () => {
  const input = clusterInputs({ masters: 3 });
  it("installs what the #cloud-config installs, byte for byte (masters and agents)", () => {
    for (const i of input) {
      const steps = renderSteps(i);
      const key = sshHostKey(SECRET, i.cluster, i.node.id);
      const doc = parse(renderCloudConfig(steps, key));
      const got = pieces(renderStartupScript(steps, key));
      expect(got.bundle.equals(gunzipSync(Buffer.from(doc.write_files[0].content, "base64"))), i.node.id).toBe(true);
      expect(doc.write_files[0].path).toBe(BUNDLE);
      expect(got.unit).toBe(doc.write_files[1].content);
      expect(got.run).toBe(doc.runcmd[0][2]);
      expect(got.key).toBe(doc.ssh_keys.ecdsa_private);
    }
    expect(new Set(input.map((i) => i.node.role))).toEqual(new Set(["master", "agent"]));
  });

  it("without a host key installs none", () => {
    const s = renderStartupScript(renderSteps(input[0]));
    expect(pieces(s).key).toBeUndefined();
    expect(s).not.toContain("ssh-keygen");
  });

  it("does nothing once installed, and marks the host only after the first attempt ran", () => {
    const s = renderStartupScript(renderSteps(input[0]), sshHostKey(SECRET, "c", "m1"));
    const lines = s.split("\n");
    const guard = lines.indexOf(`if [ -e ${STARTUP_DONE} ]; then`);
    // The guard comes before anything is written or run.
    expect(guard).toBeGreaterThan(0);
    expect(lines.slice(0, guard).filter((l) => /em_write|mkdir|systemctl|bash -c/.test(l))).toEqual([]);
    expect(lines[guard + 2]).toBe("  exit 0");
    const mark = lines.indexOf(`touch ${STARTUP_DONE}`);
    expect(mark).toBeGreaterThan(lines.findIndex((l) => l.startsWith("r=0; bash -c ")));
    expect(lines.slice(mark + 1)).toEqual(['exit "$r"', ""]);
  });

  it("passes shellcheck and bash -n, and fits GCE's 256 KB per metadata value", () => {
    const r = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
    if (r.error || r.status !== 0) throw new Error("shellcheck is required; run: sudo bash lab/host-deps.sh");
    const files = input.map((i, n) => {
      const p = path.join(tmp, `startup-${n}.sh`);
      const s = renderStartupScript(renderSteps(i), sshHostKey(SECRET, i.cluster, i.node.id));
      expect(Buffer.byteLength(s)).toBeLessThan(256 * 1024);
      fs.writeFileSync(p, s);
      return p;
    });
    const check = spawnSync("shellcheck", ["-s", "bash", ...files], { encoding: "utf8" });
    expect(check.stdout + check.stderr).toBe("");
    for (const f of files) expect(spawnSync("bash", ["-n", f]).status).toBe(0);
  });

  it("writes the key before the first attempt and puts it back after it (the guest agent may replace it)", () => {
    const s = renderStartupScript(renderSteps(input[0]), sshHostKey(SECRET, "c", "m1"));
    const lines = s.split("\n");
    const run = lines.findIndex((l) => l.startsWith("r=0; bash -c "));
    expect(lines.map((l, i) => (l === "em_host_key" ? i : -1)).filter((i) => i >= 0))
      .toEqual([run - 1, run + 1]);
    // Only em_host_key writes it, and only when it differs.
    expect(lines.filter((l) => l.includes(`em_write ${HOST_KEY} `))).toHaveLength(1);
    expect(s).toContain(`| cmp -s - ${HOST_KEY}; then return 0; fi`);
    // A key without a final newline travels byte for byte too.
    expect(startupScriptHostKey(renderStartupScript([], { privatePem: "-----X-----\nabc" }))).toBe("-----X-----\nabc");
  });

  it("refuses a file whose text would end its here-doc", () => {
    const steps = renderSteps(input[0]);
    expect(() => renderStartupScript(steps, { privatePem: "x\nEM_HOST_KEY_EOF\ny\n" }))
      .toThrow(/EM_HOST_KEY_EOF/);
  });
});
