// The lab mirror's ZooKeeper releases stay in step: the version the lab tests use (test/fixtures/lab.ts ZK_VERSION)
// is the one the product pins, the mirror builds exactly ZK_VERSION and ZK_UPGRADE_VERSION (lab/lib/mirror.sh), the
// upgrade target is newer and a version the product accepts, and the builder refuses anything but 3.8.x/3.9.x
// before it downloads a byte. (The built tarballs themselves are checked on the lab: test/lab/lab.test.ts,
// test/lab/zk-tls.test.ts.)
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_VERSIONS } from "../../components/config/defaults";
import { resolveArtifacts } from "../../provisioning/artifacts";
import { REPO_ROOT, ZK_UPGRADE_VERSION, ZK_VERSION, zkTarballUrl } from "../fixtures/lab";

const num = (v: string) => v.split(".").map(Number);
const newer = (a: string, b: string) => {
  const [x, y] = [num(a), num(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] > y[i];
  return false;
};

describe("lab mirror ZooKeeper versions", () => {
  it("the lab's ZooKeeper is the product's pinned version", () => {
    expect(ZK_VERSION).toBe(DEFAULT_VERSIONS.zookeeper);
  });

  it("lab/lib/mirror.sh builds exactly ZK_VERSION and ZK_UPGRADE_VERSION", () => {
    const sh = readFileSync(join(REPO_ROOT, "lab", "lib", "mirror.sh"), "utf8");
    const m = /^ZK_VERSIONS=\$\{LAB_ZK_VERSIONS:-([0-9. ]+)\}$/m.exec(sh);
    expect(m, "ZK_VERSIONS=${LAB_ZK_VERSIONS:-...} in lab/lib/mirror.sh").not.toBeNull();
    expect(m![1].split(" ")).toEqual([ZK_VERSION, ZK_UPGRADE_VERSION]);
  });

  it("the upgrade target is a newer release the product accepts, from the mirror's path", () => {
    expect(newer(ZK_UPGRADE_VERSION, ZK_VERSION)).toBe(true);
    const mirror = "http://10.77.0.1:8000";
    const versions = { ...DEFAULT_VERSIONS, zookeeper: ZK_UPGRADE_VERSION };
    const a = resolveArtifacts(versions, { mirror, zookeeper: { sha512: "ab".repeat(64) } }, "debian-12");
    expect(a.zookeeper.url).toBe(zkTarballUrl(ZK_UPGRADE_VERSION, mirror));
  });

  it("build-zookeeper.sh refuses a version it cannot build, before any download", async () => {
    const script = join(REPO_ROOT, "lab", "mirror", "build-zookeeper.sh");
    for (const v of ["3.7.2", "3.10.0", "3.8.6; rm -rf /", ""]) {
      const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile("bash", [script, "/nonexistent-out", v], { env: { ...process.env, HOME: "/nonexistent" } },
          (err, _o, stderr) => resolve({ code: err ? Number(err.code) : 0, stderr: String(stderr) })));
      expect(r.code, v).not.toBe(0);
      expect(r.stderr, v).toMatch(v ? /only ZooKeeper 3\.8\.x and 3\.9\.x/ : /usage: build-zookeeper\.sh/);
    }
  });
});
