// The lab mirror's stand-in package versions stay in step and tell themselves apart: build-standins.sh builds exactly
// test/fixtures/lab.ts's STANDIN_*_VERSIONS (the product's pins first, then a newer one the config accepts and the
// install step pins), every package says TEST FIXTURE, and each build reports its own version from the code it ships
// (what test/e2e/version-bump.test.ts reads from the running daemons). The packages are built for real (dpkg-deb).
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_VERSIONS } from "../../components/config/defaults";
import { parseModel } from "../../components/config";
import { resolveArtifacts } from "../../provisioning/artifacts";
import { REPO_ROOT, STANDIN_MARATHON_VERSIONS, STANDIN_MESOS_VERSIONS } from "../fixtures/lab";
import { STACKS } from "../program/fixtures";

const SCRIPT = join(REPO_ROOT, "lab", "mirror", "build-standins.sh");
const haveDpkg = (() => {
  try { execFileSync("dpkg-deb", ["--version"], { stdio: "ignore" }); return true; } catch { return false; }
})();

describe("lab mirror stand-in versions", () => {
  it("the first of each is the product's pin; the second is newer", () => {
    expect(STANDIN_MESOS_VERSIONS[0]).toBe(DEFAULT_VERSIONS.mesos);
    expect(STANDIN_MARATHON_VERSIONS[0]).toBe(DEFAULT_VERSIONS.marathon);
    const cmp = (a: string, b: string) => execFileSync("dpkg", ["--compare-versions", a, "gt", b], { stdio: "ignore" });
    if (haveDpkg) {
      expect(() => cmp(STANDIN_MESOS_VERSIONS[1], STANDIN_MESOS_VERSIONS[0])).not.toThrow();
      expect(() => cmp(STANDIN_MARATHON_VERSIONS[1], STANDIN_MARATHON_VERSIONS[0])).not.toThrow();
    }
  });

  it("build-standins.sh's defaults are exactly these versions", () => {
    const sh = readFileSync(SCRIPT, "utf8");
    const m = /^MESOS_VERSIONS=\$\{STANDIN_MESOS_VERSIONS:-([0-9.\- ]+)\}$/m.exec(sh);
    const k = /^MARATHON_VERSIONS=\$\{STANDIN_MARATHON_VERSIONS:-([0-9. ]+)\}$/m.exec(sh);
    expect(m?.[1].split(" ")).toEqual([...STANDIN_MESOS_VERSIONS]);
    expect(k?.[1].split(" ")).toEqual([...STANDIN_MARATHON_VERSIONS]);
  });

  it("the config accepts the bump, and the lab's artifacts pin it (apt spec of the install step)", () => {
    const [mesos, marathon] = [STANDIN_MESOS_VERSIONS[1], STANDIN_MARATHON_VERSIONS[1]];
    const model = parseModel({ ...STACKS.baremetal, versions: { mesos, marathon } }, {});
    expect(model.versions).toMatchObject({ mesos, marathon });
    const a = resolveArtifacts({ ...DEFAULT_VERSIONS, mesos, marathon },
      { mirror: "http://10.77.0.1:8000", zookeeper: { sha512: "ab".repeat(64) }, marathon: { aptPackage: "marathon" } },
      "debian-12");
    expect(a.mesos).toMatchObject({ kind: "apt", package: "aventer-mesos", version: mesos });
    expect(a.marathon).toEqual({ kind: "apt", package: "marathon", version: marathon });
  });

  it("build-standins.sh refuses a malformed version before building anything", async () => {
    const out = mkdtempSync(join(tmpdir(), "em-standins-bad-"));
    try {
      for (const env of [{ STANDIN_MESOS_VERSIONS: "1.11.0; touch x" }, { STANDIN_MARATHON_VERSIONS: "v1.11.25" }]) {
        const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
          execFile("bash", [SCRIPT, out], { env: { ...process.env, ...env } },
            (err, _o, stderr) => resolve({ code: err ? Number(err.code) : 0, stderr: String(stderr) })));
        expect(r.code, JSON.stringify(env)).not.toBe(0);
        expect(r.stderr).toMatch(/build-standins: bad (Mesos|Marathon) version/);
      }
      expect(execFileSync("ls", ["-A", out], { encoding: "utf8" })).toBe("");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  describe.skipIf(!haveDpkg)("the built packages (dpkg-deb)", () => {
    let out: string;
    beforeAll(() => {
      out = mkdtempSync(join(tmpdir(), "em-standins-"));
      execFileSync("bash", [SCRIPT, out], { stdio: "ignore", timeout: 120_000 });
    }, 150_000);
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    const field = (deb: string, f: string) => execFileSync("dpkg-deb", ["-f", deb, f], { encoding: "utf8" }).trim();
    /** Imports the package's own copy of the stand-in (as its launcher does) and prints what it reports. */
    const reported = (deb: string, libdir: string, expr: string) => {
      const root = mkdtempSync(join(tmpdir(), "em-standin-x-"));
      try {
        execFileSync("dpkg-deb", ["-x", deb, root]);
        return execFileSync("python3", ["-c", `import standin, standin.common as c; print(${expr})`],
          { cwd: join(root, libdir), encoding: "utf8", env: { ...process.env, PYTHONPATH: "" } }).trim();
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    };

    it("one package per version, each labelled TEST FIXTURE", () => {
      const debs = execFileSync("ls", [out], { encoding: "utf8" }).trim().split("\n");
      expect(debs).toEqual([
        ...STANDIN_MESOS_VERSIONS.map((v) => `aventer-mesos_${v}_all.deb`),
        ...STANDIN_MARATHON_VERSIONS.map((v) => `marathon_${v}_all.deb`),
      ]);
      for (const d of debs) {
        expect(field(join(out, d), "Version")).toBe(d.split("_")[1]);
        expect(field(join(out, d), "Description")).toContain("TEST FIXTURE stand-in");
      }
    });

    it("each Mesos build reports its own package version (/version git_tag), Mesos 1.11.0 as the real build", () => {
      for (const v of STANDIN_MESOS_VERSIONS) {
        const got = reported(join(out, `aventer-mesos_${v}_all.deb`), "usr/lib/aventer-mesos-standin",
          `c.version_json()["version"], c.version_json()["git_tag"]`);
        expect(got).toBe(`1.11.0 ${v}`);
      }
    });

    it("an upgrade over the old build's bytecode cache runs the new build (postinst drops __pycache__)", () => {
      const root = mkdtempSync(join(tmpdir(), "em-standin-up-"));
      const lib = "usr/lib/aventer-mesos-standin";
      // As the daemon runs it (root, writing its bytecode cache next to the sources).
      const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: "" };
      delete env.PYTHONDONTWRITEBYTECODE;
      const py = "import standin.common as c; print(c.version_json()['git_tag'])";
      const tag = () => execFileSync("python3", ["-c", py], { cwd: join(root, lib), encoding: "utf8", env }).trim();
      try {
        const [from, to] = STANDIN_MESOS_VERSIONS.map((v) => join(out, `aventer-mesos_${v}_all.deb`));
        execFileSync("dpkg-deb", ["-x", from, root]);
        expect(tag()).toBe(STANDIN_MESOS_VERSIONS[0]); // and leaves its .pyc files, as the running daemon does
        // dpkg's unpack: the new files with their build time stamps; two builds of one second (the mirror builds
        // both at once) leave _package.py the same size and time stamp, so the old .pyc still passes as current.
        const stamp = join(root, lib, "standin", "_package.py");
        const { mtime } = statSync(stamp);
        execFileSync("dpkg-deb", ["-x", to, root]);
        utimesSync(stamp, mtime, mtime);
        expect(tag()).toBe(STANDIN_MESOS_VERSIONS[0]); // the hazard the maintainer scripts remove
        const postinst = execFileSync("dpkg-deb", ["-I", to, "postinst"], { encoding: "utf8" });
        expect(postinst).toContain(`rm -rf /${lib}/standin/__pycache__`);
        execFileSync("sh", ["-c", postinst.replaceAll(`/${lib}/`, `${root}/${lib}/`)]);
        expect(tag()).toBe(STANDIN_MESOS_VERSIONS[1]);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    it("each Marathon build reports its own version (/v2/info)", () => {
      for (const v of STANDIN_MARATHON_VERSIONS) {
        const deb = join(out, `marathon_${v}_all.deb`);
        expect(reported(deb, "usr/share/marathon/lib", "standin.MARATHON_VERSION")).toBe(v);
      }
    });
  });
});
