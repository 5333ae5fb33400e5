// Lab self-test: the hosts the lab gives other tests are real, reachable only as intended, and pinned.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import {
  http, labInfo, run, ssh, sshOk, STANDIN_MARATHON_VERSIONS, STANDIN_MESOS_VERSIONS,
  ZK_UPGRADE_VERSION, ZK_VERSION, zkTarballUrl,
} from "../fixtures/lab";

const skip = inject("labSkipReason");
const HOSTS = ["h1", "h2", "h3"];
/** Shell: $D = a fresh private apt dir, $APT = options that make apt use only it (sources, lists, cache). */
const privateApt = `D=$(mktemp -d); mkdir -p "$D/src" "$D/lists/partial" "$D/cache/archives/partial"
APT="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$D/src -o Dir::State::Lists=$D/lists -o Dir::Cache=$D/cache"`;

describe.skipIf(!!skip)("lab hosts", () => {
  it("has 3 hosts up with systemd as PID 1, SSH with the lab key and the NoCloud user-data run", async () => {
    const lab = labInfo();
    expect(lab.hosts.map((h) => h.name)).toEqual(expect.arrayContaining(HOSTS));
    for (const h of HOSTS) {
      const out = await sshOk(h, "hostname; cat /proc/1/comm; systemctl is-system-running --wait; systemctl --failed --no-legend; cat /root/cloud-init-ran");
      // "degraded" only if a unit failed: name it (other tests' leftovers on these shared hosts show up here)
      expect(out.split("\n").slice(0, 3), out).toEqual([h, "systemd", "running"]);
      expect(out).toContain(`cloud-init user-data ran on ${h}`);
    }
  });

  it("serves each host's fixed, cached host key; strict known_hosts passes, a wrong pinned key fails", async () => {
    const lab = labInfo();
    const dir = mkdtempSync(join(tmpdir(), "lab-kh-"));
    const [h1, h2] = [lab.hosts.find((h) => h.name === "h1")!, lab.hosts.find((h) => h.name === "h2")!];
    const cached = readFileSync(join(lab.lab, "hostkeys", "h1", "ssh_host_ed25519_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    expect(h1.hostKey).toBe(cached);
    expect(h1.hostKey).not.toBe(h2.hostKey);
    const strict = (kh: string) => ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${kh}`,
      "-o", "HostKeyAlgorithms=ssh-ed25519", "-i", lab.sshKey, "-o", "IdentitiesOnly=yes", `root@${h1.ip}`, "true"];
    writeFileSync(join(dir, "good"), `${h1.ip} ${h1.hostKey}\n`);
    expect((await run("ssh", strict(join(dir, "good")))).code).toBe(0);
    writeFileSync(join(dir, "wrong"), `${h1.ip} ${h2.hostKey}\n`); // h2's key pinned for h1's address
    const bad = await run("ssh", strict(join(dir, "wrong")));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it("reaches nothing but the lab /24: no default route, ENETUNREACH outside, the bridge and peers inside", async () => {
    const lab = labInfo();
    const out = await sshOk("h1", [
      "ip -4 route show",
      "python3 - <<'PY'",
      "import errno, socket",
      "s = socket.socket(); s.settimeout(3)",
      "try:",
      "    s.connect(('192.0.2.1', 80)); print('connected')", // TEST-NET-1: never sends a packet here
      "except OSError as e:",
      "    print('outside:', errno.errorcode.get(e.errno))",
      "PY",
      `nc -z -w2 ${lab.gateway} 3142 && echo proxy-ok`,
      "nc -z -w2 h2 22 && echo peer-ok",
    ].join("\n"));
    expect(out).not.toMatch(/^default/m);
    expect(out).toContain("outside: ENETUNREACH");
    expect(out).toContain("proxy-ok");
    expect(out).toContain("peer-ok");
  });

  it("installs Debian packages through the apt proxy on the bridge", async () => {
    // A private apt state dir with only Debian's sources: the test never touches the host's apt config, which
    // other tests (the bootstrap) may be changing on this shared host.
    const out = await sshOk("h2", `set -e; apt-config dump | grep -i 'Acquire::http::Proxy '; ${privateApt}
grep "^deb " /etc/apt/sources.list > "$D/src/debian.list"
cd "$D"; apt-get -q $APT update >/dev/null; apt-get -q $APT download hello >/dev/null; dpkg-deb -f hello_*.deb Package`);
    expect(out).toContain(`"${labInfo().aptProxy}"`);
    expect(out.trim().split("\n").pop()).toBe("hello");
  });

  it("publishes a signed apt repository and checksummed tarballs on the artifact mirror", async () => {
    const lab = labInfo();
    const fpr = (await http(`${lab.mirror}/keys/lab-archive.fingerprint`)).body.trim();
    expect(fpr).toMatch(/^[0-9A-F]{40}$/);
    const inRelease = await http(`${lab.mirror}/Debian/dists/bookworm/InRelease`);
    expect(inRelease.body).toContain("BEGIN PGP SIGNED MESSAGE");
    for (const v of [ZK_VERSION, ZK_UPGRADE_VERSION]) {   // both real ZooKeeper releases the mirror serves
      const tgz = zkTarballUrl(v, lab.mirror);
      const body = Buffer.from(await (await fetch(tgz)).arrayBuffer());
      const sha = (await http(`${tgz}.sha512`)).body;
      expect(sha).toBe(`${createHash("sha512").update(body).digest("hex")}  apache-zookeeper-${v}-bin.tar.gz\n`);
    }
    // apt on a host verifies the repository's signature with the published key
    const out = await ssh("h3", [
      `set -e; ${privateApt}`,
      `curl -fsS ${lab.mirror}/keys/lab-archive.asc -o "$D/lab-archive.asc"`,
      `echo "deb [signed-by=$D/lab-archive.asc] ${lab.mirror}/Debian bookworm main" > "$D/src/lab-mirror.list"`,
      "apt-get -q $APT update 2>&1 | grep -E 'Err|W:' || true",
      "apt-cache $APT policy aventer-mesos marathon | grep Candidate",
      "apt-cache $APT madison aventer-mesos marathon",
      "apt-cache $APT show aventer-mesos | grep -c 'TEST FIXTURE'",
    ].join("\n"));
    expect(out.code).toBe(0);
    // Two stand-in versions of each (the newest is apt's candidate); the product installs the one it pins.
    expect(out.stdout).toContain(`Candidate: ${STANDIN_MESOS_VERSIONS.at(-1)}`);
    expect(out.stdout).toContain(`Candidate: ${STANDIN_MARATHON_VERSIONS.at(-1)}`);
    for (const v of [...STANDIN_MESOS_VERSIONS, ...STANDIN_MARATHON_VERSIONS]) expect(out.stdout).toContain(` ${v} |`);
    expect(out.stdout).not.toMatch(/NO_PUBKEY|not signed|Err:/);
  });
});
