// Drift (provisioning/baremetal/drift.ts): what `pulumi refresh` finds on a host. The probe runs for real in
// bash against files of a temp directory; the verdicts are what the provider records as the steps' hashes.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { driftOf, driftProbeScript, watchOf } from "../../provisioning/baremetal/drift";
import { cleanupPlan } from "../../provisioning/baremetal/cleanup";
import { renderSteps } from "../../provisioning/steps";
import type { Step } from "../../provisioning/steps/types";
import { masterInput } from "./bootstrap-input";

const dir = mkdtempSync(join(tmpdir(), "em-drift-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const me = spawnSync("id", ["-un"], { encoding: "utf8" }).stdout.trim();
const grp = spawnSync("id", ["-gn"], { encoding: "utf8" }).stdout.trim();

/** Two steps writing files in the temp directory, as em_put would: same bytes, mode, owner. */
function steps(): Step[] {
  const f = (name: string, content: string, mode: string, secret = false) => ({ path: join(dir, name), content, mode, owner: me, group: grp, secret });
  const gate = { description: "", script: "true", timeoutSeconds: 1, hint: "" };
  return [
    { name: "zookeeper", index: 1, title: "", commands: [], gate, files: [f("zoo.cfg", "tickTime=2000\n", "0644")] },
    { name: "mesos", index: 2, title: "", commands: [], gate, files: [f("flags", "--quorum=2\n", "0644"), f("credentials", "s3cret", "0600", true)] },
  ];
}

function probe(s: Step[]) {
  const files = s.flatMap((x) => x.files.map((f) => f.path));
  for (const x of s) for (const f of x.files) { writeFileSync(f.path, f.content); chmodSync(f.path, parseInt(f.mode, 8)); }
  const watch = watchOf(s, files);
  const run = () => {
    const r = spawnSync("bash", ["-c", driftProbeScript(watch, files)], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    return driftOf(watch, files, r.stdout);
  };
  return { run, files };
}

describe("drift", () => {
  it("a host as rendered shows no drift", () => {
    expect(probe(steps()).run()).toEqual({});
  });

  it("a changed file, mode or a missing file drifts its own step only", () => {
    const p = probe(steps());
    writeFileSync(join(dir, "zoo.cfg"), "tickTime=9999\n");
    expect(p.run()).toEqual({ zookeeper: "drift: a file's content, mode or owner differs from what was rendered" });
    writeFileSync(join(dir, "zoo.cfg"), "tickTime=2000\n");
    chmodSync(join(dir, "flags"), 0o666);
    expect(Object.keys(p.run())).toEqual(["mesos"]);
    chmodSync(join(dir, "flags"), 0o644);
    rmSync(join(dir, "flags"));
    expect(p.run()).toEqual({ mesos: `drift: missing ${join(dir, "flags")}` });
  });

  it("a credential file: its mode counts, its content is never hashed into the state", () => {
    const s = steps();
    const p = probe(s);
    writeFileSync(join(dir, "credentials"), "rotated-elsewhere");
    expect(p.run()).toEqual({});
    chmodSync(join(dir, "credentials"), 0o644);
    expect(Object.keys(p.run())).toEqual(["mesos"]);
    // The digest of a step with a credential is the same whatever the credential is.
    const other = steps().map((x) => ({ ...x, files: x.files.map((f) => (f.secret ? { ...f, content: "another" } : f)) }));
    expect(watchOf(other, p.files)).toEqual(watchOf(s, p.files));
  });

  it("a daemon not active drifts the step that runs it", () => {
    const input = masterInput({ masters: 3 });
    const rendered = renderSteps(input);
    const watch = watchOf(rendered, cleanupPlan(rendered).files);
    expect(watch.zookeeper.units).toEqual(["zookeeper.service"]);
    expect(watch.mesos.units.sort()).toEqual(["marathon.service", "mesos-master.service"]);
    // Facts exactly as rendered (what the probe prints on a healthy host), but ZooKeeper stopped.
    const files = cleanupPlan(rendered).files;
    const lines = rendered.flatMap((s) => s.files.map((f) => `f ${files.indexOf(f.path)} ${parseInt(f.mode, 8).toString(8)} ${f.owner} ${f.group} ` +
      `${createHash("sha256").update(f.content).digest("hex")}`));
    const units = ["u zookeeper.service inactive", "u mesos-master.service active", "u marathon.service active"];
    expect(driftOf(watch, files, [...lines, ...units].join("\n"))).toEqual({ zookeeper: "drift: zookeeper.service inactive" });
    expect(driftOf(watch, files, [...lines, "u zookeeper.service active", ...units.slice(1)].join("\n"))).toEqual({});
  });
});
