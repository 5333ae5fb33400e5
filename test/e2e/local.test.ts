// The README's main command, run as written: from a fresh clone, `npm ci && npm run up` gives a healthy
// local cluster (machines this stack creates on this machine, the real Pulumi CLI and engine), which grows
// and shrinks by config and goes away with `npm run down`. A second `npm run up` while one runs gets the
// stack lock. This machine reaches no package source, so the run uses the project's test mirror (lab/) and
// says so; the machines keep no route out (egress proxy through the lab's apt proxy).
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { REPO_ROOT, http } from "../fixtures/lab";
import { pulumiBinDir } from "../fixtures/pulumi-cli";

const labSkip = inject("labSkipReason");
const STACK = "local"; // what `npm run up` creates; the cluster is named after it
const BRIDGE = "em-local";
const STATE_DIR = "/var/lib/elastic-mesos/local";

interface Ran { code: number; output: string; seconds: number }

/** Runs `bash -c cmd` in the clone with the user's environment; `onLine` sees each output line as it comes. */
function sh(cwd: string, env: NodeJS.ProcessEnv, cmd: string, onLine?: (line: string) => void): Promise<Ran> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", cmd], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const take = (d: Buffer) => {
      const text = d.toString();
      output += text;
      if (onLine) text.split("\n").forEach(onLine);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("close", (code) => resolve({ code: code ?? 255, output, seconds: (Date.now() - t0) / 1000 }));
  });
}

/** Names of this machine's network links. */
function links(): string[] {
  return execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" }).split("\n")
    .map((l) => l.split(":")[1]?.trim().split("@")[0]).filter((n): n is string => !!n);
}

/**
 * What this stack leaves on this machine: processes, links (the bridge, and any link that was not there
 * before: nspawn shortens long veth names with a hash), mounts, nft tables, files (the image cache aside).
 */
function leftovers(linksBefore: string[] = []): string[] {
  const found: string[] = [];
  for (const name of links()) {
    if (name === BRIDGE || name.startsWith("vb-local-") || (linksBefore.length && !linksBefore.includes(name))) found.push(`link ${name}`);
  }
  for (const m of readFileSync("/proc/mounts", "utf8").split("\n")) if (m.includes(`${STATE_DIR}/`)) found.push(`mount ${m}`);
  const tables = execFileSync("nft", ["list", "tables"], { encoding: "utf8" });
  if (tables.includes("em_nat_em_local")) found.push("nft table em_nat_em_local");
  const dir = join(STATE_DIR, STACK);
  if (existsSync(dir)) found.push(`dir ${dir}: ${readdirSync(dir).join(" ")}`);
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0");
      if (cmd[0].endsWith("systemd-nspawn") && cmd.some((a) => a.includes(`${STATE_DIR}/${STACK}/`))) found.push(`process ${pid} ${cmd.join(" ")}`);
    } catch { /* exited */ }
  }
  return found;
}

describe.skipIf(labSkip)("npm ci && npm run up: a local cluster from a fresh clone, through the real CLI", () => {
  let clone: string;
  let env: NodeJS.ProcessEnv;
  let linksBefore: string[] = [];
  const pulumi = (args: string) => sh(clone, env, `npm run -s pulumi -- ${args}`);
  const outputs = async () => JSON.parse((await pulumi("stack output --json --show-secrets --stack local")).output.replace(/^[^{]*/s, ""));
  const poolCount = (n: number) => pulumi(`config set --path 'elastic-mesos:agentPools[0].count' ${n} --stack local`);

  beforeAll(() => {
    const home = mkdtempSync(join(tmpdir(), "em-local-home-"));
    clone = join(home, "elastic-mesos");
    execFileSync("git", ["clone", "--quiet", REPO_ROOT, clone]);
    // A newcomer's environment: their own HOME (no Pulumi login, no passphrase), with this machine's caches of
    // the CLI build and npm packages so the run does not rebuild them.
    // PULUMI_HOME too: the CLI finds its home from the password database, not $HOME.
    env = { ...process.env, HOME: home, PULUMI_HOME: join(home, ".pulumi"), ELASTIC_MESOS_CACHE: join(pulumiBinDir(), "..", ".."),
      npm_config_cache: join(homedir(), ".npm"), PULUMI_SKIP_UPDATE_CHECK: "true" };
    for (const k of ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_ACCESS_TOKEN"]) delete env[k];
    expect(leftovers(), "a previous run left this stack's machines behind: npm run down in its clone").toEqual([]);
    linksBefore = links();
  }, 120_000);

  afterAll(async () => {
    if (!clone) return;
    const down = await sh(clone, env, "npm run down");
    if (down.code !== 0) console.log(down.output.slice(-3000));
    rmSync(join(clone, ".."), { recursive: true, force: true });
  }, 900_000);

  it("`npm ci && npm run up` ends with a healthy cluster and its URLs, and says it runs the test stand-ins", async () => {
    const up = await sh(clone, env, "npm ci --no-audit --no-fund && npm run up");
    expect(up.code, up.output.slice(-6000)).toBe(0);
    console.log(`[e2e-local] npm ci && npm run up: ${up.seconds.toFixed(0)} s`);
    const out = await outputs();
    expect(up.output).toContain(out.mesosUrl);
    expect(up.output).toContain(out.marathonUrl);
    expect(up.output).toMatch(/TEST STAND-INS/);
    expect(out.testStandIns).toMatch(/^TEST STAND-INS/);
    const auth: [string, string] = [out.adminUser, out.adminPassword];
    const ca: string = out.caCertificate;
    const state = await http(`${out.mesosUrl}/master/state`, { auth, ca });
    expect(state.status, state.body).toBe(200);
    const agents = JSON.parse(state.body).slaves as unknown[];
    expect(agents).toHaveLength(2);
    expect((await http(`${out.marathonUrl}/v2/info`, { auth, ca })).status).toBe(200);
    expect((await http(`${out.marathonUrl}/v2/info`, { ca })).status).toBe(401);
  });

  it("a second `npm run up` changes nothing", async () => {
    const again = await sh(clone, env, "npm run up");
    expect(again.code, again.output.slice(-4000)).toBe(0);
    expect(again.output).not.toMatch(/\b(created|updated|deleted|replaced)\b/);
  });

  it("grows a pool by config (a second `npm run up` meanwhile gets the stack lock), then shrinks it", async () => {
    expect((await poolCount(3)).code).toBe(0);
    let second: Promise<Ran> | undefined;
    const grow = await sh(clone, env, "npm run up", (line) => {
      if (!second && /Updating \(local\)/.test(line)) second = sh(clone, env, "npm run up");
    });
    expect(grow.code, grow.output.slice(-4000)).toBe(0);
    expect(second, "the first run never reached its update").toBeDefined();
    const locked = await second!;
    expect(locked.code).not.toBe(0);
    expect(locked.output).toMatch(/the stack is currently locked/);
    let out = await outputs();
    expect(out.agents.general).toHaveLength(3);
    const state = await http(`${out.mesosUrl}/master/state`, { auth: [out.adminUser, out.adminPassword], ca: out.caCertificate });
    expect(JSON.parse(state.body).slaves).toHaveLength(3);

    expect((await poolCount(2)).code).toBe(0);
    const shrink = await sh(clone, env, "npm run up");
    expect(shrink.code, shrink.output.slice(-4000)).toBe(0);
    out = await outputs();
    expect(out.agents.general).toHaveLength(2);
    expect(existsSync(join(STATE_DIR, STACK, `${STACK}-general-1`)), "the layout this checks").toBe(true);
    expect(existsSync(join(STATE_DIR, STACK, `${STACK}-general-3`))).toBe(false);
  });

  it("grows the masters 1 → 3 by config: the new ones start from a copy of m1's log, Marathon's app is kept", async () => {
    let out = await outputs();
    const auth: [string, string] = [out.adminUser, out.adminPassword];
    const ca: string = out.caCertificate;
    const created = await http(`${out.marathonUrl}/v2/apps`, { auth, ca,
      json: { id: "/kept", cmd: "sleep 3600", cpus: 0.1, mem: 32, instances: 1 } });
    expect(created.status, created.body).toBe(201);
    expect((await pulumi("config set --path 'elastic-mesos:masters.count' 3 --stack local")).code).toBe(0);
    const grow = await sh(clone, env, "npm run up");
    expect(grow.code, grow.output.slice(-6000)).toBe(0);
    console.log(`[e2e-local] masters 1 → 3: npm run up ${grow.seconds.toFixed(0)} s`);
    expect(grow.output).toMatch(/m1: sent a copy of its replicated log \(\d+ bytes\) to m2, m3/);
    expect(grow.output).toContain("m2: seed: replicated log unpacked from m1's copy");
    out = await outputs();
    expect(out.masters.map((m: { id: string }) => m.id)).toEqual(["m1", "m2", "m3"]);
    const state = await http(`${out.mesosUrl}/master/state`, { auth, ca });
    expect(state.status, state.body).toBe(200);
    expect(JSON.parse(state.body).slaves).toHaveLength(2);
    const apps = await http(`${out.marathonUrl}/v2/apps`, { auth, ca });
    expect((JSON.parse(apps.body).apps as { id: string }[]).map((a) => a.id)).toEqual(["/kept"]);
    const again = await sh(clone, env, "npm run up");
    expect(again.code, again.output.slice(-4000)).toBe(0);
    expect(again.output).not.toMatch(/\b(created|updated|deleted|replaced)\b/);
  });

  it("shrinks the masters 3 → 1 by config: m3 and m2 leave, then their machines go; the app and the agents stay", async () => {
    expect(existsSync(join(STATE_DIR, STACK, `${STACK}-m3`)), "the layout this checks").toBe(true);
    expect((await pulumi("config set --path 'elastic-mesos:masters.count' 1 --stack local")).code).toBe(0);
    const shrink = await sh(clone, env, "npm run up");
    expect(shrink.code, shrink.output.slice(-6000)).toBe(0);
    console.log(`[e2e-local] masters 3 → 1: npm run up ${shrink.seconds.toFixed(0)} s`);
    for (const k of [2, 3]) expect(shrink.output).toMatch(new RegExp(`m${k}: left in [0-9.]+ s`));
    const out = await outputs();
    expect(out.masters.map((m: { id: string }) => m.id)).toEqual(["m1"]);
    for (const k of [2, 3]) expect(existsSync(join(STATE_DIR, STACK, `${STACK}-m${k}`)), `m${k}`).toBe(false);
    const auth: [string, string] = [out.adminUser, out.adminPassword];
    const state = await http(`${out.mesosUrl}/master/state`, { auth, ca: out.caCertificate });
    expect(state.status, state.body).toBe(200);
    expect(JSON.parse(state.body).slaves).toHaveLength(2);
    const apps = await http(`${out.marathonUrl}/v2/apps`, { auth, ca: out.caCertificate });
    expect((JSON.parse(apps.body).apps as { id: string }[]).map((a) => a.id)).toEqual(["/kept"]);
    const again = await sh(clone, env, "npm run up");
    expect(again.code, again.output.slice(-4000)).toBe(0);
    expect(again.output).not.toMatch(/\b(created|updated|deleted|replaced)\b/);
  });

  it("`npm run down` leaves nothing: machines, links, mounts, nft rules, files", async () => {
    const down = await sh(clone, env, "npm run down");
    expect(down.code, down.output.slice(-4000)).toBe(0);
    expect(leftovers(linksBefore)).toEqual([]);
  });
});
