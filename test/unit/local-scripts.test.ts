// `npm run up` / `npm run down` (scripts/local/{up,down}.sh) run for real against a recording stand-in `pulumi`
// (test/fixtures/fake-pulumi.sh) in a temp HOME: what they ask Pulumi to do, what they never put on a command
// line, what a second run leaves alone, the test-mirror keys, and what `down --purge` removes. The steps around
// the CLI are real (install.sh, ssh-keygen, openssl, curl on file:// URLs); only the network probe and
// lab/lab-up.sh are replaced, by redefining those two shell functions after sourcing the script.
import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");
const UP = join(ROOT, "scripts", "local", "up.sh");
const DOWN = join(ROOT, "scripts", "local", "down.sh");
const EXAMPLE = join(ROOT, "stacks", "Pulumi.local-example.yaml");
const SECRET_KEYS = ["elastic-mesos:clusterSecret", "elastic-mesos:sshPrivateKey"];

interface Call { argv: string[]; stdin?: string }
interface Run { code: number; stdout: string; stderr: string }

let dir: string; // HOME, fake state, stack file, TMPDIR, fake bin all live here
let fake: string;
let stackFile: string;
let bin: string;

/** Every recorded `pulumi` call, in order. */
function calls(): Call[] {
  const d = join(fake, "calls");
  if (!existsSync(d)) return [];
  return readdirSync(d).filter((f) => f.endsWith(".argv")).sort().map((f) => {
    const stdin = join(d, f.replace(".argv", ".stdin"));
    return { argv: readFileSync(join(d, f), "utf8").trimEnd().split("\n"), stdin: existsSync(stdin) ? readFileSync(stdin, "utf8") : undefined };
  });
}
const has = (c: Call, ...args: string[]) => args.every((a) => c.argv.includes(a));
const config = (key: string) => readFileSync(join(fake, "stacks", "local", "config", `elastic-mesos:${key}`), "utf8");
const configKeys = () => readdirSync(join(fake, "stacks", "local", "config")).filter((f) => !f.endsWith(".secret")).sort();

/** Sources SCRIPT in bash, points it at the temp stack file, runs PRELUDE (function overrides), then `main ARGS`. */
function run(script: string, prelude: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const body = `. "$1"; STACK_FILE=$2; ${prelude}\nmain "\${@:3}"`;
  const e: NodeJS.ProcessEnv = { ...process.env, HOME: join(dir, "home"), TMPDIR: join(dir, "tmp"), FAKE_PULUMI_DIR: fake,
    PATH: `${bin}:${process.env.PATH}`, LAB: join(dir, "lab"), ...env };
  for (const k of ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_BACKEND_URL", "PULUMI_HOME"])
    if (!(k in env)) delete e[k];
  return new Promise((resolve) => {
    const child = execFile("bash", ["-c", body, "_", script, stackFile, ...args], { env: e, cwd: ROOT, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 255) : 0, stdout, stderr }));
    child.stdin?.end();
  });
}
const REACHABLE = "upstream_reachable() { return 0; }";
const OFFLINE = `upstream_reachable() { return 1; }; lab_up() { echo lab_up >>"$FAKE_PULUMI_DIR/lab-up.calls"; }`;

/** A stand-in command on PATH: `fakeCommand("uname", "echo Darwin")`. */
function fakeCommand(name: string, body: string): void {
  writeFileSync(join(bin, name), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
}
function outputs(o: Record<string, string>): void {
  const d = join(fake, "stacks", "local", "outputs");
  mkdirSync(d, { recursive: true });
  for (const [k, v] of Object.entries(o)) writeFileSync(join(d, k), v);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "em-local-scripts-"));
  fake = join(dir, "fake");
  bin = join(dir, "bin");
  stackFile = join(dir, "Pulumi.local.yaml");
  for (const d of [fake, bin, join(dir, "home"), join(dir, "tmp")]) mkdirSync(d);
  copyFileSync(join(ROOT, "test", "fixtures", "fake-pulumi.sh"), join(bin, "pulumi"));
  chmodSync(join(bin, "pulumi"), 0o755);
  fakeCommand("id", 'if [ "${1:-}" = -u ]; then echo 0; else exec /usr/bin/id "$@"; fi'); // root, whoever runs the tests
  // `pulumi up` of the fake has no program: the outputs are the ones the real program would give.
  const out = { mesosUrl: "https://10.78.0.11:5050", marathonUrl: "https://10.78.0.11:8443", adminUser: "admin" };
  writeFileSync(join(dir, "outputs.json"), JSON.stringify(out));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A first `npm run up` with upstream reachable; the stack gets its outputs as `pulumi up` would. */
async function firstUp(env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const prelude = `${REACHABLE}; run_up() { pulumi up --yes --stack local; mkdir -p "$FAKE_PULUMI_DIR/stacks/local/outputs";
    node -e 'const o=require(process.argv[1]); for (const k in o) require("fs").writeFileSync(process.argv[2]+"/"+k,o[k])' \\
      "${join(dir, "outputs.json")}" "$FAKE_PULUMI_DIR/stacks/local/outputs"; }`;
  return run(UP, prelude, [], env);
}

describe("npm run up (scripts/local/up.sh)", () => {
  it("first run: file backend and passphrase under ~/.elastic-mesos, stack from the example, both secrets via stdin, pulumi up, URLs", async () => {
    const r = await firstUp();
    expect(r.code, r.stderr).toBe(0);
    const home = join(dir, "home", ".elastic-mesos");
    const passphrase = join(home, "passphrase");
    expect(statSync(passphrase).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "state")).mode & 0o777).toBe(0o700);
    expect(readFileSync(passphrase, "utf8")).toMatch(/^[A-Za-z0-9+/]{43}=$/); // 32 random bytes, no newline
    expect(readFileSync(join(fake, "backend"), "utf8").trim()).toBe(`file://${join(home, "state")}`);
    expect(readFileSync(stackFile, "utf8")).toBe(readFileSync(EXAMPLE, "utf8"));

    const cs = calls();
    expect(cs.filter((c) => c.argv[0] === "stack" && c.argv[1] === "init").map((c) => c.argv)).toEqual([["stack", "init", "local"]]);
    const secretSets = cs.filter((c) => has(c, "config", "set", "--secret"));
    expect(secretSets.map((c) => c.argv.find((a) => a.startsWith("elastic-mesos:")))).toEqual(SECRET_KEYS);
    const [clusterSecret, privateKey] = secretSets.map((c) => c.stdin ?? "");
    expect(Buffer.from(clusterSecret.trim(), "base64")).toHaveLength(32);
    expect(privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+-----END OPENSSH PRIVATE KEY-----\n$/);
    // ssh.publicKey is the generated key's public half, and the key files are gone.
    expect(config("ssh.publicKey")).toMatch(/^ssh-ed25519 AAAA\S+ elastic-mesos-local$/);
    expect(readdirSync(join(dir, "tmp"))).toEqual([]);

    // No secret (nor a line of the key, nor the passphrase) in any argv or on screen.
    const needles = [clusterSecret.trim(), ...privateKey.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----")),
      readFileSync(passphrase, "utf8")];
    expect(needles.length).toBeGreaterThan(3);
    for (const n of needles) {
      for (const c of cs) expect(c.argv.join(" ")).not.toContain(n);
      expect(r.stdout + r.stderr).not.toContain(n);
    }

    const up = cs.filter((c) => c.argv[0] === "up");
    expect(up.map((c) => c.argv)).toEqual([["up", "--yes", "--stack", "local"]]); // Pulumi's own progress: no --suppress-progress
    expect(r.stdout).toMatch(/^\[up \d+\.\ds\] /m);
    expect(r.stdout).toContain("Mesos      https://10.78.0.11:5050");
    expect(r.stdout).toContain("Marathon   https://10.78.0.11:8443");
    expect(r.stdout).toContain("user       admin");
    expect(r.stdout).toContain("npm run -s pulumi -- stack output --show-secrets adminPassword");
    expect(r.stdout).toContain("stack output caCertificate > ca.pem");
    expect(r.stdout).toContain(`printf 'user = "admin:%s"\\n' "$(npm run -s pulumi -- stack output --show-secrets adminPassword)" | curl -sS --cacert ca.pem -K - https://10.78.0.11:8443/v2/info`);
    expect(r.stdout).not.toContain("TEST STAND-INS");
  });

  it("an existing stack whose stack file is gone is refused (a new file would mean new secrets), nothing set", async () => {
    expect((await firstUp()).code).toBe(0);
    rmSync(stackFile);
    const before = calls().length;
    const r = await firstUp();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/stack local exists in your backend but .*Pulumi\.local\.yaml is missing/);
    expect(r.stderr).toMatch(/npm run down -- --purge/);
    expect(existsSync(stackFile)).toBe(false);
    expect(calls().slice(before).filter((c) => has(c, "config", "set") || c.argv[0] === "up")).toEqual([]);
  });

  it("a second run sets no secret, creates no stack, keeps the passphrase and changes no config", async () => {
    expect((await firstUp()).code).toBe(0);
    const passphrase = readFileSync(join(dir, "home", ".elastic-mesos", "passphrase"), "utf8");
    const before = calls().length;
    const keys = configKeys().map((k) => [k, readFileSync(join(fake, "stacks", "local", "config", k), "utf8")]);
    const r = await firstUp();
    expect(r.code, r.stderr).toBe(0);
    const again = calls().slice(before);
    expect(again.filter((c) => has(c, "config", "set") || has(c, "config", "set-all") || has(c, "init") || has(c, "login"))).toEqual([]);
    expect(again.filter((c) => c.argv[0] === "up")).toHaveLength(1);
    expect(readFileSync(join(dir, "home", ".elastic-mesos", "passphrase"), "utf8")).toBe(passphrase);
    expect(configKeys().map((k) => [k, readFileSync(join(fake, "stacks", "local", "config", k), "utf8")])).toEqual(keys);
    expect(r.stdout).toContain("clusterSecret: set already (kept)");
    expect(r.stdout).toContain("(made by an earlier npm run up)");
  });

  it("uses the user's backend and passphrase when there are some", async () => {
    writeFileSync(join(fake, "backend"), "https://api.pulumi.com\n");
    const own = join(dir, "my-passphrase");
    writeFileSync(own, "mine", { mode: 0o600 });
    const r = await firstUp({ PULUMI_CONFIG_PASSPHRASE_FILE: own });
    expect(r.code, r.stderr).toBe(0);
    expect(calls().filter((c) => c.argv[0] === "login")).toEqual([]);
    expect(existsSync(join(dir, "home", ".elastic-mesos"))).toBe(false);
    expect(r.stdout).toContain("backend: yours, https://api.pulumi.com");
  });

  it("no package source: the test mirror's exact keys (as labArtifacts), a loud banner; a second run sets nothing", async () => {
    // The lab's lab.json and mirror files, served as file:// URLs (curl reads them as it reads http ones).
    const mirror = join(dir, "mirror");
    const sha = "ab".repeat(64);
    const fpr = "8FC50FA1D7B4BA7D5056E7D5DF241FCABA6100C3";
    mkdirSync(join(mirror, "zookeeper", "zookeeper-3.8.6"), { recursive: true });
    mkdirSync(join(mirror, "keys"));
    writeFileSync(join(mirror, "zookeeper", "zookeeper-3.8.6", "apache-zookeeper-3.8.6-bin.tar.gz.sha512"), `${sha}  apache-zookeeper-3.8.6-bin.tar.gz\n`);
    writeFileSync(join(mirror, "keys", "lab-archive.fingerprint"), `${fpr}\n`);
    mkdirSync(join(dir, "lab"));
    const aptProxy = `file://${join(dir, "lab")}`; // answers as long as the directory is there
    writeFileSync(join(dir, "lab", "lab.json"), JSON.stringify({ mirror: `file://${mirror}`, aptProxy }));

    const r = await run(UP, `${OFFLINE}; run_up() { :; }; summary() { :; }`);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(fake, "lab-up.calls"), "utf8")).toBe("lab_up\n");
    const sets = calls().filter((c) => has(c, "config", "set-all"));
    const pairs = Object.fromEntries(sets.flatMap((c) => c.argv.filter((a) => a.startsWith("elastic-mesos:")).map((a) => {
      const [k, ...v] = a.slice("elastic-mesos:".length).split("=");
      return [k, v.join("=")];
    })).filter(([k]) => k !== "ssh.publicKey"));
    expect(pairs).toEqual({
      "local.egress": "proxy",
      "local.aptProxy": aptProxy,
      "artifacts.mirror": `file://${mirror}`,
      "versions.zookeeper": "3.8.6",
      "artifacts.zookeeper.sha512": sha,
      "artifacts.mesos.keyUrl": `file://${mirror}/keys/lab-archive.asc`,
      "artifacts.mesos.keyFingerprint": fpr,
      "artifacts.marathon.aptPackage": "marathon",
      "artifacts.testStandIns": "true",
    });
    expect(sets.every((c) => has(c, "--path"))).toBe(true);
    expect(r.stdout).toMatch(/TEST STAND-INS[\s\S]*NOT Apache Mesos or Marathon/);

    // Again: nothing set; the mirror answers, so no lab-up.sh either (a second `npm run up` stays cheap) ...
    const before = calls().length;
    const again = await run(UP, `${OFFLINE}; run_up() { :; }; summary() { :; }`);
    expect(again.code, again.stderr).toBe(0);
    expect(calls().slice(before).filter((c) => has(c, "config", "set") || has(c, "config", "set-all"))).toEqual([]);
    expect(readFileSync(join(fake, "lab-up.calls"), "utf8")).toBe("lab_up\n");
    expect(again.stdout).toContain("TEST STAND-INS");
    // ... until it stops answering (this machine rebooted): then lab-up.sh 0 brings it back.
    rmSync(join(mirror, "keys", "lab-archive.fingerprint"));
    expect((await run(UP, `${OFFLINE}; run_up() { :; }; summary() { :; }`)).code).toBe(0);
    expect(readFileSync(join(fake, "lab-up.calls"), "utf8")).toBe("lab_up\nlab_up\n");
  });

  it("a mirror of the user's own is left alone (no probe, no test mirror)", async () => {
    const r0 = await firstUp();
    expect(r0.code).toBe(0);
    writeFileSync(join(fake, "stacks", "local", "config", "elastic-mesos:artifacts.mirror"), "https://mirror.example.com");
    const before = calls().length;
    const r = await run(UP, `${OFFLINE}; run_up() { :; }; summary() { :; }`);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(fake, "lab-up.calls"))).toBe(false);
    expect(calls().slice(before).filter((c) => has(c, "set-all"))).toEqual([]);
  });

  it("errors name the next command: not Linux, not root without sudo, no node_modules", async () => {
    fakeCommand("uname", "echo Darwin");
    let r = await run(UP, "");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/need Linux \(this is Darwin\)/);
    rmSync(join(bin, "uname"));

    fakeCommand("id", 'if [ "${1:-}" = -u ]; then echo 1000; else exec /usr/bin/id "$@"; fi');
    fakeCommand("sudo", "exit 1");
    r = await run(UP, "");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("run `sudo npm run up`");

    r = await run(UP, `EM_ROOT=${join(dir, "no-deps")}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("run `npm ci`, then `npm run up` again");
    expect(calls()).toEqual([]);
  });
});

describe("npm run down (scripts/local/down.sh)", () => {
  it("destroys the stack and keeps it; --purge also removes the stack, its file and the image cache", async () => {
    expect((await firstUp()).code).toBe(0);
    const cache = join(dir, "cache", "images");
    mkdirSync(join(cache, "debian-12-abc"), { recursive: true });
    writeFileSync(join(fake, "stacks", "local", "config", "elastic-mesos:local.imageCache"), cache);

    let before = calls().length;
    let r = await run(DOWN, "");
    expect(r.code, r.stderr).toBe(0);
    expect(calls().slice(before).filter((c) => ["destroy", "stack"].includes(c.argv[0])).map((c) => c.argv))
      .toEqual([["stack", "select", "local"], ["destroy", "--yes", "--stack", "local"]]);
    expect(existsSync(stackFile) && existsSync(cache)).toBe(true);
    expect(r.stdout).toContain("kept the stack local and its config: `npm run up` brings the cluster back");

    before = calls().length;
    r = await run(DOWN, "", ["--purge"]);
    expect(r.code, r.stderr).toBe(0);
    expect(calls().slice(before).filter((c) => ["destroy", "stack"].includes(c.argv[0])).map((c) => c.argv)).toEqual([
      ["stack", "select", "local"], ["destroy", "--yes", "--stack", "local"], ["stack", "select", "local"], ["stack", "rm", "--yes", "local"],
    ]);
    expect(existsSync(stackFile)).toBe(false);
    expect(existsSync(cache)).toBe(false);
    expect(existsSync(join(dir, "home", ".elastic-mesos", "passphrase"))).toBe(true); // other stacks may need it
    expect(r.stdout).toContain("removed the stack local");
    expect(r.stdout).toContain(`removed ${stackFile}`);
    expect(r.stdout).toContain(`removed the base-image cache ${cache}`);
  });

  it("--purge refuses an image cache like / or /var before destroying anything", async () => {
    expect((await firstUp()).code).toBe(0);
    for (const bad of ["/", "/var", "relative/dir", "/tmp/../"]) {
      writeFileSync(join(fake, "stacks", "local", "config", "elastic-mesos:local.imageCache"), bad);
      const before = calls().length;
      const r = await run(DOWN, "", ["--purge"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`local.imageCache is ${bad}, not a directory to remove whole`);
      expect(calls().slice(before).filter((c) => ["destroy", "rm"].some((a) => c.argv.includes(a)))).toEqual([]);
    }
    expect(existsSync(stackFile)).toBe(true);
  });
});
