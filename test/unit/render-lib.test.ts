// Behaviour of the step-script library (provisioning/render/em-lib.sh), run for real with bash on this
// machine inside a temp dir: compare-before-write, restarts only on change, key pinning, and ZooKeeper
// tarball verification (in a private mount namespace with a tmpfs over /opt, so nothing here is touched).
// Needs root (chown, unshare), like the bootstrap itself.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderSteps } from "../../provisioning/steps";
import type { BootstrapInput } from "../../provisioning/steps/types";
import { AGENT_WORK_DIR } from "../../provisioning/steps/mesos-agent";
import { agentInput, masterInput, masterIp, POOLS } from "./bootstrap-input";

const LIB = path.join(__dirname, "../../provisioning/render/em-lib.sh");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "em-lib-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error("these tests run the bootstrap library as it runs on hosts: as root");
});

/** Runs `body` after sourcing the library, the way a step script does; returns status and output. */
function run(body: string, env: Record<string, string> = {}, wrap?: string[]) {
  const script = `set -euo pipefail\nEM_STEP='t/3 test'\nEM_CHANGED=''\n. ${LIB}\n${body}\nem_done\n`;
  const [cmd, ...args] = wrap ?? ["bash"];
  const r = spawnSync(cmd, [...args, ...(wrap ? [] : []), "-c", script], { encoding: "utf8", env: { ...process.env, ...env } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("em_put", () => {
  it("writes once, then leaves an identical file alone, and repairs mode drift", () => {
    const f = path.join(tmp, "put", "a.conf");
    const put = `em_put ${f} 0640 root root <<'EM_EOF'\nline one\nEM_EOF`;
    expect(run(put).out).toContain(`changed: ${f}`);
    expect(fs.readFileSync(f, "utf8")).toBe("line one\n");
    expect(fs.statSync(f).mode & 0o777).toBe(0o640);
    const again = run(put);
    expect(again.out).toContain("done: unchanged");
    expect(again.out).not.toContain("changed:");
    fs.chmodSync(f, 0o644);
    expect(run(put).out).toContain(`changed: ${f}`);
    expect(fs.statSync(f).mode & 0o777).toBe(0o640);
    expect(fs.readdirSync(path.dirname(f))).toEqual(["a.conf"]); // no temp files left behind
  });

  it("writes a secret without a trailing newline when asked (nonl)", () => {
    const f = path.join(tmp, "secret");
    run(`em_put ${f} 0400 root root nonl <<'EM_EOF'\nS3cr3t-value\nEM_EOF`);
    expect(fs.readFileSync(f, "utf8")).toBe("S3cr3t-value");
    expect(fs.statSync(f).mode & 0o777).toBe(0o400);
  });
});

describe("em_service", () => {
  // A systemctl stand-in that records calls and keeps a unit's state in a file.
  const bin = path.join(tmp, "bin");
  const log = path.join(tmp, "systemctl.log");
  const units = path.join(tmp, "units");
  const state = path.join(tmp, "state");
  beforeAll(() => {
    fs.mkdirSync(bin);
    fs.mkdirSync(units);
    fs.writeFileSync(
      path.join(bin, "systemctl"),
      `#!/bin/bash\necho "$*" >> ${log}\ncase "$1" in\n  is-enabled) [ -f ${tmp}/enabled ] ;;\n  enable) touch ${tmp}/enabled ;;\n  is-active) [ -f ${tmp}/active ] ;;\n  start|restart) touch ${tmp}/active ;;\n  show) echo no ;;\nesac\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(units, "zk.service"), "[Service]\nExecStart=/bin/true\n");
    fs.writeFileSync(path.join(tmp, "zoo.cfg"), "tickTime=2000\n");
  });
  const env = () => ({ PATH: `${bin}:${process.env.PATH}`, EM_UNITS: units, EM_STATE: state });
  const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []).filter((l) => !/^(is-|show)/.test(l));

  it("starts a new service, then changes nothing on a healthy host, and restarts only when an input changed", () => {
    const cmd = `em_service zk ${tmp}/zoo.cfg`;
    expect(run(cmd, env()).out).toContain("changed: restarted zk");
    expect(calls()).toEqual(["enable -q zk", "restart zk"]);
    fs.rmSync(log);
    expect(run(cmd, env()).out).toContain("done: unchanged");
    expect(calls()).toEqual([]);
    fs.writeFileSync(path.join(tmp, "zoo.cfg"), "tickTime=3000\n");
    expect(run(cmd, env()).out).toContain("changed: restarted zk");
    expect(calls()).toEqual(["restart zk"]);
    fs.rmSync(log);
    fs.rmSync(path.join(tmp, "active")); // crashed/stopped, inputs unchanged: started, not restarted
    expect(run(cmd, env()).out).toContain("changed: started zk");
    expect(calls()).toEqual(["start zk"]);
  });
});

describe("em_key", () => {
  const gpgHome = path.join(tmp, "gnupg");
  let fpr = "";
  beforeAll(() => {
    fs.mkdirSync(gpgHome, { mode: 0o700 });
    const g = (args: string[]) => spawnSync("gpg", ["--batch", "--homedir", gpgHome, ...args], { encoding: "utf8" });
    expect(g(["--passphrase", "", "--quick-gen-key", "Test Repo <repo@example.invalid>", "ed25519", "sign", "never"]).status).toBe(0);
    fpr = g(["--with-colons", "--list-keys"]).stdout.split("\n").find((l) => l.startsWith("fpr"))!.split(":")[9];
    fs.writeFileSync(path.join(tmp, "key.asc"), g(["--armor", "--export"]).stdout);
    expect(g(["--passphrase", "", "--quick-gen-key", "Intruder <x@example.invalid>", "ed25519", "sign", "never"]).status).toBe(0);
    fs.writeFileSync(path.join(tmp, "two-keys.asc"), g(["--armor", "--export"]).stdout); // the pinned key plus another
    spawnSync("gpgconf", ["--homedir", gpgHome, "--kill", "all"]);
  });

  it("stores a key whose fingerprint matches the pin, and refuses one that does not", () => {
    const dest = path.join(tmp, "keyrings", "repo.gpg");
    const ok = run(`em_key file://${tmp}/key.asc ${fpr} ${dest} binary`);
    expect(ok.status, ok.out).toBe(0);
    expect(fs.readFileSync(dest)[0] & 0x80).toBe(0x80); // a binary OpenPGP packet, as apt's signed-by wants
    const bad = run(`em_key file://${tmp}/key.asc ${"A".repeat(40)} ${path.join(tmp, "keyrings", "other.gpg")} binary`);
    expect(bad.status).toBe(1);
    expect(bad.out).toContain(`has fingerprint(s) ${fpr}, not (only) the pinned ${"A".repeat(40)}`);
    expect(fs.existsSync(path.join(tmp, "keyrings", "other.gpg"))).toBe(false);
    // A file that carries the pinned key AND another one would let the other sign the repository: refused.
    const two = run(`em_key file://${tmp}/two-keys.asc ${fpr} ${path.join(tmp, "keyrings", "two.gpg")} binary`);
    expect(two.status).toBe(1);
    expect(two.out).toMatch(/has fingerprint\(s\) [0-9A-F]{40} [0-9A-F]{40}, not \(only\) the pinned/);
    // Re-run with the source gone: the stored key is checked locally, nothing is fetched or changed.
    fs.renameSync(path.join(tmp, "key.asc"), path.join(tmp, "key.moved"));
    const rerun = run(`em_key file://${tmp}/key.asc ${fpr} ${dest} binary`);
    expect(rerun.out).toContain("done: unchanged");
    fs.renameSync(path.join(tmp, "key.moved"), path.join(tmp, "key.asc"));
  });
});

describe("em_zookeeper", () => {
  const v = "3.8.6";
  let sha = "";
  beforeAll(() => {
    const src = path.join(tmp, "zksrc", `apache-zookeeper-${v}-bin`, "lib");
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, `zookeeper-${v}.jar`), "not really a jar");
    spawnSync("tar", ["-czf", path.join(tmp, "zk.tgz"), "-C", path.join(tmp, "zksrc"), `apache-zookeeper-${v}-bin`]);
    sha = createHash("sha512").update(fs.readFileSync(path.join(tmp, "zk.tgz"))).digest("hex");
    // Apache's older .sha512 style: "file: 8-digit upper-case groups" over several lines.
    const groups = sha.toUpperCase().match(/.{8}/g)!;
    fs.writeFileSync(path.join(tmp, "zk.tgz.sha512"), `apache-zookeeper-${v}-bin.tar.gz: ${groups.slice(0, 8).join(" ")}\n ${groups.slice(8).join(" ")}\n`);
  });
  // A private mount namespace with a fresh /opt: the library installs into /opt/zookeeper-<v>.
  const inNs = (body: string) => run(`mount -t tmpfs tmpfs /opt\n${body}\nls -A /opt >&2`, {}, ["unshare", "--mount", "--propagation", "private", "bash"]);

  it("installs the tarball when its sha512 matches the pin, and is a no-op the second time", () => {
    const r = inNs(`em_zookeeper ${v} file://${tmp}/zk.tgz - ${sha} -\nem_zookeeper ${v} file://${tmp}/nowhere.tgz - ${sha} -\nem_link /opt/zookeeper-${v} /opt/zookeeper\ncat /opt/zookeeper/lib/zookeeper-${v}.jar`);
    expect(r.status, r.out).toBe(0);
    expect(r.out.match(/changed: installed ZooKeeper/g)).toHaveLength(1);
    expect(r.out).toContain("not really a jar");
  });

  it("checks the official .sha512 when nothing is pinned, and falls back to the second URL", () => {
    const r = inNs(`em_zookeeper ${v} file://${tmp}/missing.tgz file://${tmp}/zk.tgz - file://${tmp}/zk.tgz.sha512`);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`installed ZooKeeper ${v} in /opt/zookeeper-${v}`);
  });

  it("refuses a tarball whose sha512 differs, and installs nothing", () => {
    const r = inNs(`(em_zookeeper ${v} file://${tmp}/zk.tgz - ${"0".repeat(128)} -) || echo "exit=$?"`);
    expect(r.out).toContain(`has SHA-512 ${sha}, expected ${"0".repeat(128)}; not installing it`);
    expect(r.out).toContain("exit=1");
    expect(r.out).not.toContain(`zookeeper-${v}`); // \`ls -A /opt\` printed nothing
    expect(r.status).toBe(0);
  });
});

describe("em_agent_identity (step 3 on agents, before the restart)", () => {
  const work = path.join(tmp, "agent-work");
  const stateDir = path.join(tmp, "agent-state");
  const latest = path.join(work, "meta", "slaves", "latest");
  /** The command step 3 renders for a gpu-pool agent with these attributes/resources, pointed at the temp work dir. */
  const step3 = (attributes: Record<string, string | number>, resources: Record<string, string | number>) => {
    const b = agentInput({ masters: 3 }, { ...POOLS[1], attributes, resources });
    const mesos = renderSteps(b).find((s) => s.name === "mesos")!;
    const i = mesos.commands.findIndex((c) => c.startsWith("em_agent_identity "));
    expect(i).toBeGreaterThanOrEqual(0);
    expect(mesos.commands[i + 1]).toMatch(/^em_service mesos-agent /); // before the (re)start
    return mesos.commands[i].replace(` ${AGENT_WORK_DIR}`, ` ${work}`);
  };
  const ranBefore = () => { fs.mkdirSync(path.join(work, "meta", "slaves", "S1"), { recursive: true }); fs.rmSync(latest, { force: true }); fs.symlinkSync("S1", latest); };
  const hasLatest = () => { try { fs.lstatSync(latest); return true; } catch { return false; } };
  const go = (cmd: string) => run(cmd, { EM_STATE: stateDir });
  const GPU = { cpus: 8, mem: 30000, gpus: 1, ports: "[31000-32000]" };

  it("records on the first run, even where an agent already ran; an unchanged identity changes nothing", () => {
    ranBefore();
    const first = go(step3({ rack: "r1" }, GPU));
    expect(first.status).toBe(0);
    expect(first.out).toContain(`changed: ${stateDir}/agent-identity`);
    expect(fs.readFileSync(`${stateDir}/agent-identity`, "utf8")).toBe(
      "attribute pool gpu\nattribute rack r1\nresource cpus 8\nresource mem 30000\nresource gpus 1\nresource ports [31000-32000]\n");
    expect(hasLatest()).toBe(true);
    expect(go(step3({ rack: "r1" }, GPU)).out).toMatch(/done: unchanged\n$/);
  });

  it("keeps the agent on an additive change (an attribute added, a resource grown)", () => {
    const r = go(step3({ rack: "r1", zone: "z1" }, { ...GPU, cpus: 16 }));
    expect(r.out).toContain(`changed: ${stateDir}/agent-identity`);
    expect(r.out).not.toContain("removed");
    expect(hasLatest()).toBe(true);
  });

  it("forgets the checkpointed agent when an attribute value changes or a resource goes, with what it means", () => {
    const r = go(step3({ rack: "r2", zone: "z1" }, { ...GPU, cpus: 16 }));
    expect(r.status).toBe(0);
    expect(r.out).toContain(`changed: removed ${latest}`);
    expect(r.out).toContain("the tasks that ran on it are lost and Marathon reschedules them");
    expect(hasLatest()).toBe(false);
    expect(fs.existsSync(path.join(work, "meta", "slaves", "S1"))).toBe(true); // only the link goes
    ranBefore();
    const { gpus: _g, ...noGpu } = GPU;
    expect(go(step3({ rack: "r2", zone: "z1" }, { ...noGpu, cpus: 16 })).out).toContain(`changed: removed ${latest}`);
    expect(hasLatest()).toBe(false);
    ranBefore();
    expect(go(step3({ rack: "r2", zone: "z1" }, { ...noGpu, cpus: 4 })).out).toContain(`changed: removed ${latest}`); // shrunk
  });

  it("removes nothing where the agent never ran (no meta/slaves/latest)", () => {
    fs.rmSync(latest, { force: true });
    const r = go(step3({ rack: "r3" }, GPU));
    expect(r.status).toBe(0);
    expect(r.out).not.toContain("removed");
    expect(fs.readFileSync(`${stateDir}/agent-identity`, "utf8")).toContain("attribute rack r3\n");
  });
});


describe("ZooKeeper's members at a server's first start (step 2 on masters)", () => {
  /** The step's live-config lines for master k of n, with the probes of the other servers replaced by `serving`. */
  const live = path.join(tmp, "live-zoo.cfg");
  /** A bare-metal master: the host firewall is what marks the providers whose masters change online. */
  const online = (b: BootstrapInput): BootstrapInput =>
    ({ ...b, firewall: { adminCidrs: ["198.51.100.0/24"], members: b.masters.map((m) => m.ip).sort() } });
  const firstStart = (n: 3 | 5, k: number, serving: Record<string, string[]>, dyn = "", cloud = false) => {
    const input = masterInput({ masters: n }, k);
    const zk = renderSteps(cloud ? input : online(input)).find((s) => s.name === "zookeeper")!;
    const from = zk.commands.findIndex((c) => c.endsWith("d=$(em_zk_dyn)"));
    const to = zk.commands.findIndex((c) => c.includes("em_put /var/lib/zookeeper/conf/zoo.cfg "));
    expect(from).toBeGreaterThanOrEqual(0);
    expect(zk.commands[to + 1]).toMatch(/^em_service zookeeper /); // before the (re)start
    const stubs = [
      `em_zk_dyn() { echo ${dyn}; }`,
      "install() { :; }",
      `em_zk_mode() { case "$1" in ${Object.keys(serving).map((ip) => `${ip}) echo follower ;;`).join(" ")} *) ;; esac; }`,
      `zk_members() { echo "ASKED $2" >&2; case "$2" in ${Object.entries(serving)
        .map(([ip, lines]) => `${ip}) printf '%s\\n' ${lines.map((l) => `'${l}'`).join(" ")} ;;`).join(" ")} *) return 1 ;; esac; }`,
      'em_put() { echo "PUT $1"; cat; }',
      'zk_remove() { echo "REMOVE $2 $3"; }',
      // The settings file the step wrote just before (files come first).
      'cat() { if [ "${1:-}" = /etc/zookeeper/zoo.cfg ]; then printf "# settings\\ntickTime=2000\\ninitLimit=10\\n"; else command cat "$@"; fi; }',
    ];
    // The live config ZooKeeper runs from is read from `live` (written by the test).
    const lines = zk.commands.slice(from, to + 1).map((c) => c.replace("</var/lib/zookeeper/conf/zoo.cfg", `<${live}`));
    return run([...stubs, ...lines, 'echo "JOIN=${zk_join:-}"'].join("\n"));
  };
  const line = (k: number) => `server.${k}=${masterIp(k)}:2888:3888;2181`;

  it("a new cluster (no server serving) starts with the rendered masters", () => {
    const r = firstStart(3, 2, {});
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`PUT /var/lib/zookeeper/conf/zoo.cfg.dynamic\n${[1, 2, 3].map(line).join("\n")}\n`);
    expect(r.out).toContain("JOIN=\n");
    expect(r.out).not.toContain("ASKED");
  });

  it("a master added to a running ensemble starts with its members plus itself, and will add itself", () => {
    const r = firstStart(5, 4, { [masterIp(2)]: [1, 2, 3].map(line) });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`PUT /var/lib/zookeeper/conf/zoo.cfg.dynamic\n${[1, 2, 3, 4].map(line).join("\n")}\n`);
    expect(r.out).toContain(`JOIN=${masterIp(2)}\n`);
    expect(r.out).toContain("PUT /var/lib/zookeeper/conf/zoo.cfg\n# settings\ntickTime=2000\ninitLimit=10\n" +
      "dynamicConfigFile=/var/lib/zookeeper/conf/zoo.cfg.dynamic\n");
  });

  it("a cloud master (its masters never change on a running cluster) starts with the rendered masters, asking nobody", () => {
    const r = firstStart(3, 3, { [masterIp(1)]: [1, 2].map(line) }, "", true);
    expect(r.out).toContain(`PUT /var/lib/zookeeper/conf/zoo.cfg.dynamic\n${[1, 2, 3].map(line).join("\n")}\n`);
    expect(r.out).not.toContain("ASKED");
  });

  it("a member that lost its data rejoins with the served members, not the rendered ones, and adds nothing", () => {
    const served = [1, 2, 3].map(line);
    const r = firstStart(5, 3, { [masterIp(1)]: served });
    expect(r.out).toContain(`PUT /var/lib/zookeeper/conf/zoo.cfg.dynamic\n${served.join("\n")}\n`);
    expect(r.out).toContain("JOIN=\n");
  });

  it("a master replacing a lost machine (its id served at another address) removes that server, then joins", () => {
    const lost = "server.3=10.9.9.9:2888:3888:participant;0.0.0.0:2181";
    const r = firstStart(3, 3, { [masterIp(1)]: [line(1), line(2), lost] });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`REMOVE ${masterIp(1)} 3\n`);
    expect(r.out).toContain(`PUT /var/lib/zookeeper/conf/zoo.cfg.dynamic\n${[1, 2, 3].map(line).join("\n")}\n`);
    expect(r.out).toContain(`JOIN=${masterIp(1)}\n`);
    // At its own address (ZooKeeper's form of the line), it is a member that lost its data: nothing removed.
    const own = firstStart(3, 3, { [masterIp(1)]: [line(1), line(2), `server.3=${masterIp(3)}:2888:3888:participant;0.0.0.0:2181`] });
    expect(own.out).not.toContain("REMOVE");
    expect(own.out).toContain("JOIN=\n");
  });

  it("a master kept removes, through a serving master, the members it does not render that do not serve", () => {
    const zk = renderSteps(online(masterInput({ masters: 3 }, 1))).find((s) => s.name === "zookeeper")!;
    const from = zk.commands.indexOf("zk_prune() {");
    const fn = zk.commands.slice(from, zk.commands.indexOf("}", from) + 1);
    const call = zk.commands.find((c) => c.startsWith("zk_prune "))!;
    // m1 does not serve yet (just restarted), m2 does; server 4 serves (a master still leaving), 5 is lost.
    const serves = [masterIp(2), masterIp(4)];
    const stubs = [
      `em_zk_mode() { case "$1" in ${serves.map((ip) => `${ip}) echo follower ;;`).join(" ")} *) ;; esac; }`,
      `zk_members() { echo "ASKED $2" >&2; printf '%s\\n' ${[1, 2, 3, 4, 5].map((k) => `'server.${k}=${masterIp(k)}:2888:3888:participant;0.0.0.0:2181'`).join(" ")}; }`,
      'zk_remove() { echo "REMOVE $2 $3"; }',
    ];
    const r = run([...stubs, ...fn, call].join("\n"));
    expect(r.status, r.out).toBe(0);
    expect(r.out.match(/REMOVE .*/g)).toEqual([`REMOVE ${masterIp(2)} 5`]);
    // Everyone rendered, or nobody serving: nothing removed (nobody serving: nobody asked).
    expect(run([...stubs, ...fn, call.replace("'1 2 3'", "'1 2 3 4 5'")].join("\n")).out).not.toContain("REMOVE");
    const none = run([...stubs.slice(1), "em_zk_mode() { :; }", ...fn, call].join("\n"));
    expect([none.status, none.out]).toEqual([0, expect.not.stringMatching(/REMOVE|ASKED/)]);
  });

  it("later runs keep ZooKeeper's own members file and ask nobody", () => {
    const dyn = path.join(tmp, "zoo.cfg.dynamic.100000004");
    fs.writeFileSync(dyn, `${line(1)}\n`);
    fs.rmSync(live, { force: true });
    const r = firstStart(5, 4, { [masterIp(1)]: [line(1)] }, dyn);
    expect(r.status, r.out).toBe(0);
    expect(r.out).not.toContain("ASKED");
    expect(r.out).not.toContain("PUT /var/lib/zookeeper/conf/zoo.cfg.dynamic\n");
    expect(r.out).toContain(`dynamicConfigFile=${dyn}`);
    // ZooKeeper's own rewrite of the same settings (its order, no comments) is left alone; a changed setting is not.
    fs.writeFileSync(live, `dynamicConfigFile=${dyn}\ninitLimit=10\ntickTime=2000\n`);
    expect(firstStart(5, 4, {}, dyn).out).not.toContain("PUT");
    fs.writeFileSync(live, `dynamicConfigFile=${dyn}\ninitLimit=5\ntickTime=2000\n`);
    expect(firstStart(5, 4, {}, dyn).out).toContain("PUT /var/lib/zookeeper/conf/zoo.cfg\n");
  });
});

