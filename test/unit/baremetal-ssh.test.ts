// The bare-metal provider over real SSH (in-process ssh2 server running the steps for real): configure()
// with stack config, then create / diff / update / delete, with small marker steps in place of the
// bootstrap's (ProviderDeps.render). How the engine loads it (the shim): baremetal-langhost.test.ts.
// Also: registration under mocks.
import { describe, it, expect, afterAll } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { existsSync, mkdirSync, readFileSync } from "fs";
import { join } from "path";
import { MesosHost } from "../../provisioning/baremetal/resource";
import { MesosHostProvider } from "../../provisioning/baremetal/provider";
import type { CleanupPlan, HostInputs } from "../../provisioning/baremetal/types";
import { deriveCredentials } from "../../provisioning/credentials";
import { shimText } from "../../provisioning/dynamic/shim-text";
import type { StepScript } from "../../provisioning/render/ssh-plan";
import { fakeConfig, hostInputs, markerSteps, startSshServer, testRender, TEST_CLUSTER_SECRET, type TestSshServer } from "../fixtures/ssh-server";

const servers: TestSshServer[] = [];
afterAll(async () => { for (const s of servers) await s.close(); });

/**
 * A provider whose steps are markerSteps in `dir` (step 3 follows the node's rack attribute, as the real
 * mesos step follows the attributes) and whose cleanup plan is `cleanup` (default: what they create).
 */
async function configured(dir: string, config: Record<string, string>, cleanup?: CleanupPlan, steps?: (i: HostInputs) => StepScript[]) {
  const marker = (i: HostInputs) => [...markerSteps(dir, "1").slice(0, 2), markerSteps(dir, String(i.node.attributes.rack)).at(-1)!];
  const render = testRender({ steps: steps ?? marker,
    cleanup: cleanup ?? { units: [], files: [join(dir, "opt/mesos/attributes")], dirs: [join(dir, "opt/mesos")], users: [], packages: [] } });
  const p = new MesosHostProvider({ render });
  await p.configure(fakeConfig({ clusterSecret: TEST_CLUSTER_SECRET, ...config }));
  return { p };
}

function inputsFor(s: TestSshServer, rack = "1", over: Partial<HostInputs> = {}): HostInputs {
  const i = hostInputs();
  return hostInputs({
    node: { ...i.node, attributes: { rack } },
    connection: { host: "127.0.0.1", port: s.port, user: "root", configPath: "baremetal.hosts[0]" },
    drain: undefined,
    ...over,
  });
}

describe("provider over real SSH", () => {
  it("create → no-change diff → attribute change runs one step → TOFU enforced → delete cleans", async () => {
    const s = await startSshServer();
    servers.push(s);
    const { p } = await configured(s.dir, { sshPrivateKey: s.clientKey });

    const created = await p.create({ spec: inputsFor(s) });
    expect(readFileSync(join(s.dir, "runs"), "utf8")).toBe("install-1\nzookeeper\nmesos\n");
    expect(created.outs!.hostKey).toEqual({ fingerprint: s.fingerprint, type: "ssh-ed25519", source: "tofu" });
    expect(created.outs!).toMatchObject({ stepsRun: 3, commandsSent: 4 });

    const before = s.commands.length;
    expect(await p.diff(created.id, created.outs!, { spec: inputsFor(s) })).toMatchObject({ changes: false });
    expect(s.commands.length).toBe(before);

    // Only step 3's content depends on the attribute: only it re-runs.
    const v2 = inputsFor(s, "2");
    expect(await p.diff(created.id, created.outs!, { spec: v2 })).toMatchObject({ changes: true, replaces: [] });
    const updated = await p.update(created.id, created.outs!, { spec: v2 });
    expect(updated.outs!.stepsRun).toBe(1);
    expect(readFileSync(join(s.dir, "runs"), "utf8")).toBe("install-1\nzookeeper\nmesos\nmesos\n");
    expect(readFileSync(join(s.dir, "opt/mesos/attributes"), "utf8")).toBe("attributes=rack:2\n");

    // The "host" comes back with another key on the same address: nothing runs, the error says what to do.
    const port = s.port;
    await s.close();
    const impostor = await startSshServer({ port, clientKey: s.clientKey });
    servers.push(impostor);
    const v3 = inputsFor(s, "3");
    const err = await p.update(created.id, updated.outs!, { spec: v3 }).then(() => new Error("no error"), (e: Error) => e);
    expect(err.message).toContain(`host key mismatch: expected ${s.fingerprint}, the host presented ${impostor.fingerprint}`);
    expect(err.message).toContain("baremetal.hosts[0].hostKeyFingerprint");
    expect(impostor.commands).toEqual([]);
    // Pinning the new key in config (after checking it out of band) lets the update through.
    const pinned = { ...v3, connection: { ...v3.connection, hostKeyFingerprint: impostor.fingerprint } };
    const repinned = await p.update(created.id, updated.outs!, { spec: pinned });
    expect(repinned.outs!.hostKey).toEqual({ fingerprint: impostor.fingerprint, type: "ssh-ed25519", source: "config" });

    await p.delete(created.id, repinned.outs!);
    expect(existsSync(join(s.dir, "opt/mesos"))).toBe(false);
  }, 60_000);

  it("a host whose sshd is down fails with HostUnreachable naming the host; a re-run after it is back converges", async () => {
    const s = await startSshServer();
    servers.push(s);
    const { p } = await configured(s.dir, { sshPrivateKey: s.clientKey });
    const port = s.port;
    const key = s.clientKey;
    await s.close();
    const down = inputsFor(s);
    const err = await p.create({ spec: down }).then(() => new Error("no error"), (e: Error) => e);
    expect(err.message).toMatch(new RegExp(`general-1 \\(127\\.0\\.0\\.1:${port}\\): cannot connect \\(ECONNREFUSED\\) after 5 attempts`));
    const back = await startSshServer({ port, clientKey: key });
    servers.push(back);
    const again = await (await configured(back.dir, { sshPrivateKey: key })).p.create({ spec: inputsFor(back) });
    expect(again.outs!.stepsRun).toBe(3);
  }, 60_000);
});

describe("footprint record", () => {
  it("a re-run after an interrupted create does not take our own half-done install for the user's", async () => {
    const s = await startSshServer();
    servers.push(s);
    const ours = join(s.dir, "var-lib-mesos");
    const theirs = join(s.dir, "var-lib-mesos-user");
    mkdirSync(theirs);
    // Step 1 installs, then fails while the rack is "fails"; with any other rack it succeeds.
    const steps = (i: HostInputs) => {
      const m = markerSteps(s.dir);
      const install = `mkdir -p ${ours} ${s.dir}/opt/mesos\n${i.node.attributes.rack === "fails" ? "exit 1\n" : ""}`;
      return [{ ...m[0], script: install, hash: `h-${i.node.attributes.rack}` }, m[1], m[2]];
    };
    const { p } = await configured(s.dir, { sshPrivateKey: s.clientKey }, { units: [], files: [], dirs: [ours, theirs], users: [], packages: [] }, steps);
    expect((await p.create({ spec: inputsFor(s, "fails") }).then(() => new Error("no error"), (e: Error) => e)).message).toMatch(/step 1\/3 install .* exited with code 1/);
    expect(readFileSync(join(s.dir, "em-state/preexisting"), "utf8")).toBe(`dir ${theirs}\n`);
    const created = await p.create({ spec: inputsFor(s, "ok") }); // the re-run: ours exists now, but the record says it was not there
    expect(created.outs!.preexisting).toEqual([`dir ${theirs}`]);
    await p.delete(created.id, created.outs!);
    expect(existsSync(ours)).toBe(false);
    expect(existsSync(theirs)).toBe(true);
  }, 30_000);
});

describe("MesosHost under mocks", () => {
  it("registers the dynamic type with the shim as its provider and compact, credential-free inputs", async () => {
    const seen: pulumi.runtime.MockResourceArgs[] = [];
    await pulumi.runtime.setMocks({
      newResource: (a) => { seen.push(a); return { id: `${a.name}-id`, state: a.inputs }; },
      call: (a) => a.inputs,
    }, "elastic-mesos", "dev");
    const i = hostInputs();
    new MesosHost("prod-general-1-bootstrap", { spec: i });
    await (pulumi.runtime as any).waitForRPCs();
    const r = seen.find((x) => x.name === "prod-general-1-bootstrap")!;
    expect(r.type).toBe("pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host");
    const { __provider, ...rest } = r.inputs;
    expect(__provider).toBe(shimText("elastic-mesos/baremetal:Host"));
    expect(__provider.length).toBeLessThan(700);
    expect(rest).toEqual({ spec: JSON.parse(JSON.stringify(i)) }); // exactly the compact inputs, nothing secret among them
    const text = JSON.stringify(r.inputs);
    for (const c of Object.values(deriveCredentials(TEST_CLUSTER_SECRET, "prod"))) expect(text).not.toContain(c);
    expect(text).not.toContain(TEST_CLUSTER_SECRET);
  }, 60_000);
});
