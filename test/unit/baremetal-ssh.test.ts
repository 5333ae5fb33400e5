// The bare-metal provider over real SSH (in-process ssh2 server running the steps for real), driven the
// way the engine drives it: serialized with serializeFunction, reloaded with require-from-string,
// configure() with stack config, then create / diff / update / delete. Also: registration under mocks.
import { describe, it, expect, afterAll } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { existsSync, mkdirSync, readFileSync } from "fs";
import { join } from "path";
import { MesosHost } from "../../provisioning/baremetal/resource";
import { MesosHostProvider } from "../../provisioning/baremetal/provider";
import type { HostInputs } from "../../provisioning/baremetal/types";
import { fakeConfig, hostInputs, markerSteps, startSshServer, type TestSshServer } from "../fixtures/ssh-server";

const servers: TestSshServer[] = [];
afterAll(async () => { for (const s of servers) await s.close(); });

async function reloaded(provider: object, config: Record<string, string>) {
  const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  const p = require("require-from-string")(sf.text).handler();
  await p.configure(fakeConfig(config));
  return { p, text: sf.text };
}

function inputsFor(s: TestSshServer, version = "1", over: Partial<HostInputs> = {}): HostInputs {
  return hostInputs({
    connection: { host: "127.0.0.1", port: s.port, user: "root", configPath: "baremetal.hosts[0]" },
    cleanup: { units: [], files: [join(s.dir, "opt/mesos/attributes")], dirs: [join(s.dir, "opt/mesos")], users: [], packages: [] },
    drain: undefined,
    ...over,
  }, markerSteps(s.dir, version));
}

describe("serialized provider over real SSH", () => {
  it("create → no-change diff → attribute change runs one step → TOFU enforced → delete cleans", async () => {
    const s = await startSshServer();
    servers.push(s);
    const { p, text } = await reloaded(new MesosHostProvider(), { sshPrivateKey: s.clientKey });
    expect(text).toContain('require("ssh2")');
    expect(text).not.toContain(s.clientKey); // the key is never captured into the state

    const created = await p.create(inputsFor(s));
    expect(readFileSync(join(s.dir, "runs"), "utf8")).toBe("install-1\nzookeeper\nmesos\n");
    expect(created.outs.hostKey).toEqual({ fingerprint: s.fingerprint, type: "ssh-ed25519", source: "tofu" });
    expect(created.outs).toMatchObject({ stepsRun: 3, commandsSent: 4 });

    const before = s.commands.length;
    expect(await p.diff(created.id, created.outs, inputsFor(s))).toMatchObject({ changes: false });
    expect(s.commands.length).toBe(before);

    // Only step 3's content depends on the attribute: only it re-runs.
    const v2 = inputsFor(s, "2");
    v2.steps[0] = inputsFor(s).steps[0];
    v2.steps[1] = inputsFor(s).steps[1];
    expect(await p.diff(created.id, created.outs, v2)).toMatchObject({ changes: true, replaces: [] });
    const updated = await p.update(created.id, created.outs, v2);
    expect(updated.outs.stepsRun).toBe(1);
    expect(readFileSync(join(s.dir, "runs"), "utf8")).toBe("install-1\nzookeeper\nmesos\nmesos\n");
    expect(readFileSync(join(s.dir, "opt/mesos/attributes"), "utf8")).toBe("attributes=rack:2\n");

    // The "host" comes back with another key on the same address: nothing runs, the error says what to do.
    const port = s.port;
    await s.close();
    const impostor = await startSshServer({ port, clientKey: s.clientKey });
    servers.push(impostor);
    const v3 = inputsFor(s, "3");
    const err = await p.update(created.id, updated.outs, v3).catch((e: Error) => e);
    expect(err.message).toContain(`host key mismatch: expected ${s.fingerprint}, the host presented ${impostor.fingerprint}`);
    expect(err.message).toContain("baremetal.hosts[0].hostKeyFingerprint");
    expect(impostor.commands).toEqual([]);
    // Pinning the new key in config (after checking it out of band) lets the update through.
    const pinned = { ...v3, connection: { ...v3.connection, hostKeyFingerprint: impostor.fingerprint } };
    const repinned = await p.update(created.id, updated.outs, pinned);
    expect(repinned.outs.hostKey).toEqual({ fingerprint: impostor.fingerprint, type: "ssh-ed25519", source: "config" });

    await p.delete(created.id, repinned.outs);
    expect(existsSync(join(s.dir, "opt/mesos"))).toBe(false);
  }, 60_000);

  it("a host whose sshd is down fails with HostUnreachable naming the host; a re-run after it is back converges", async () => {
    const s = await startSshServer();
    servers.push(s);
    const { p } = await reloaded(new MesosHostProvider(), { sshPrivateKey: s.clientKey });
    const port = s.port;
    const key = s.clientKey;
    await s.close();
    const down = inputsFor(s);
    const err = await p.create(down).catch((e: Error) => e);
    expect(err.message).toMatch(new RegExp(`general-1 \\(127\\.0\\.0\\.1:${port}\\): cannot connect \\(ECONNREFUSED\\) after 5 attempts`));
    const back = await startSshServer({ port, clientKey: key });
    servers.push(back);
    const again = await p.create(inputsFor(back));
    expect(again.outs.stepsRun).toBe(3);
  }, 60_000);
});

describe("footprint record", () => {
  it("a re-run after an interrupted create does not take our own half-done install for the user's", async () => {
    const s = await startSshServer();
    servers.push(s);
    const { p } = await reloaded(new MesosHostProvider(), { sshPrivateKey: s.clientKey });
    const ours = join(s.dir, "var-lib-mesos");
    const theirs = join(s.dir, "var-lib-mesos-user");
    mkdirSync(theirs);
    const inputs = inputsFor(s, "1", { cleanup: { units: [], files: [], dirs: [ours, theirs], users: [], packages: [] } });
    inputs.steps[0] = { ...inputs.steps[0], script: `mkdir -p ${ours} ${s.dir}/opt/mesos\nexit 1\n`, hash: "h-fails" }; // installs, then fails
    expect((await p.create(inputs).catch((e: Error) => e)).message).toMatch(/step 1\/3 install .* exited with code 1/);
    expect(readFileSync(join(s.dir, "em-state/preexisting"), "utf8")).toBe(`dir ${theirs}\n`);
    inputs.steps[0] = { ...inputs.steps[0], script: `mkdir -p ${ours} ${s.dir}/opt/mesos\n`, hash: "h-ok" };
    const created = await p.create(inputs); // the re-run: ours exists now, but the record says it was not there
    expect(created.outs.preexisting).toEqual([`dir ${theirs}`]);
    await p.delete(created.id, created.outs);
    expect(existsSync(ours)).toBe(false);
    expect(existsSync(theirs)).toBe(true);
  }, 30_000);
});

describe("MesosHost under mocks", () => {
  it("registers the dynamic type with secret steps and admin password, and no private key", async () => {
    const seen: pulumi.runtime.MockResourceArgs[] = [];
    await pulumi.runtime.setMocks({
      newResource: (a) => { seen.push(a); return { id: `${a.name}-id`, state: a.inputs }; },
      call: (a) => a.inputs,
    }, "elastic-mesos", "dev");
    const i = hostInputs();
    new MesosHost("prod-general-1-bootstrap", { ...i, steps: pulumi.secret(i.steps), adminPassword: pulumi.secret("pw") });
    await (pulumi.runtime as any).waitForRPCs();
    const r = seen.find((x) => x.name === "prod-general-1-bootstrap")!;
    expect(r.type).toBe("pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host");
    const SIG = "4dabf18193072939515e22adb298388d";
    expect(r.inputs.steps[SIG]).toBeDefined();
    expect(r.inputs.adminPassword[SIG]).toBeDefined();
    const { __provider, ...rest } = r.inputs;
    expect(JSON.stringify(rest)).not.toContain("PRIVATE KEY");
    expect(typeof __provider === "string" || __provider[SIG]).toBeTruthy();
  }, 60_000);
});
