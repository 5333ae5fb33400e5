// The masters pin (provisioning/membership/pin.ts): growing a running cluster (1 → 3, recorded as seeded; 3 → 5) passes
// where it is built (baremetal, local, digitalocean), shrinking it (the last ids going, recorded as departing) everywhere; every other change of the
// set of masters is refused, naming the key, the reason and the count to put back; and every other resource of the cluster depends on the pin, so a refused pin leaves them all
// unregistered (the engine checks registrations concurrently). Real CLI: test/e2e/membership.test.ts.
import { describe, expect, it } from "vitest";
import { membershipFailures, MastersPinProvider, NO_SEED, rotationOf } from "../../provisioning/membership/pin";
import { hostOwnerId } from "../../provisioning/credentials";
import { logSeedOf } from "../../provisioning/baremetal/bootstrap";
import { runProgram } from "../program/harness";
import { isSecretInput } from "../program/mocks";
import { STACKS } from "../program/fixtures";

const pin = (masters: string[], key = "masters.count", online = false) => ({ cluster: "prod", masters, key, online });
const M3 = ["m1", "m2", "m3"], M5 = ["m1", "m2", "m3", "m4", "m5"];

describe("a change of the masters of a running cluster", () => {
  it("growing 3 → 5 passes where the provider adds masters online (every one of this release); a pin told otherwise refuses", () => {
    expect(membershipFailures(pin(M3, "masters.count", true), pin(M5, "masters.count", true))).toEqual([]);
    const [grow] = membershipFailures(pin(M3), pin(M5));
    expect(grow.property).toBe("masters");
    expect(grow.reason).toMatch(/^masters\.count: changing the masters of running cluster prod from 3 \(m1-m3\) to 5 \(m1-m5\) is refused before anything changed: this provider does not add masters to a running cluster\./);
    expect(grow.reason).toContain("Put masters.count back to 3 masters");
    expect(grow.reason).toContain("`npm run backup`, `pulumi destroy`, change the count, `pulumi up`, `npm run restore`");
  });

  it("shrinking passes on every provider, the last ids going (clouds included: the masters leave over SSH); other ids are refused", () => {
    const bm = "baremetal.hosts (its master entries)";
    for (const to of [M3, ["m1"]]) expect(membershipFailures(pin(M5, bm, true), pin(to, bm, true))).toEqual([]);
    for (const to of [M3, ["m1"]]) expect(membershipFailures(pin(M5), pin(to))).toEqual([]);
    const [ids] = membershipFailures(pin(M5, bm, true), pin(["m1", "m2", "m4"], bm, true));
    expect(ids.reason).toContain("the masters kept keep their ids (m1, m2, ... are their ZooKeeper ids): the last ones go");
    const [cloud] = membershipFailures(pin(M5), pin(["m1", "m3", "m4"]));
    expect(cloud.reason).toMatch(/^masters\.count: .* from 5 \(m1-m5\) to 3 \(m1-m4\) .*: the masters kept keep their ids .*back to 5 masters/);
  });

  it("growing from one master passes online; other ids are refused, naming why", () => {
    const bm = "baremetal.hosts (its master entries)";
    expect(membershipFailures(pin(["m1"], bm, true), pin(M3, bm, true))).toEqual([]);
    const [off] = membershipFailures(pin(["m1"]), pin(M3));
    expect(off.reason).toMatch(/from 1 \(m1\) to 3 \(m1-m3\) .*: this provider does not add masters .*back to 1 master\./);
    const [ids] = membershipFailures(pin(M3, bm, true), pin(["m1", "m2", "m4", "m5", "m6"], bm, true));
    expect(ids.reason).toContain("the running masters keep their ids");
  });

  it("check() records the masters a change adds to the running cluster, kept while the masters stay these", async () => {
    const p = new MastersPinProvider();
    const cloud = (m: string[], joining?: string[]) => ({ ...pin(m, "masters.count", true), ...(joining ? { joining } : {}) });
    expect((await p.check(cloud(M3), cloud(M5))).inputs?.joining).toEqual(["m4", "m5"]);
    // A later `up` (the first failed before m5's machine was made): m5 still boots as a joining master.
    expect((await p.check(cloud(M5, ["m4", "m5"]), cloud(M5))).inputs?.joining).toEqual(["m4", "m5"]);
    expect((await p.check(cloud(M5, ["m4", "m5"]), cloud(M3))).inputs?.joining).toEqual([]);
    expect((await p.check(cloud(["m1"]), cloud(M3))).inputs?.joining).toEqual(["m2", "m3"]);
    // A new cluster's masters are all made at once: none joins. Refused: nothing recorded.
    expect((await p.check(undefined as never, cloud(M3))).inputs?.joining).toEqual([]);
    expect((await p.check(pin(["m1"]), pin(M3))).inputs?.joining).toEqual([]);
    // Always recorded ([]: none), and a change of the pin when it differs; state from before it: recorded once.
    expect((await p.check(cloud(M3), cloud(M3))).inputs?.joining).toEqual([]);
    expect((await p.diff("id", cloud(M5, ["m4", "m5"]), cloud(M5, ["m4", "m5"]))).changes).toBe(false);
    expect((await p.diff("id", cloud(M3), cloud(M3, []))).changes).toBe(true);
  });

  it("the running master sends its log to the new ones, reached at their configured connections; they start from it", () => {
    const seeded = { from: "m1", to: ["m2", "m3"] };
    const conn = (id: string) => ({ host: `10.0.0.1${id.slice(1)}`, port: 22, user: "root" });
    expect(logSeedOf(seeded, "m1", conn)).toEqual({ to: [{ id: "m2", connection: conn("m2") }, { id: "m3", connection: conn("m3") }] });
    expect(logSeedOf(seeded, "m3", conn)).toEqual({ from: "m1" });
    expect(logSeedOf(seeded, "m4", conn)).toBeUndefined();
    expect(logSeedOf(undefined, "m1", conn)).toBeUndefined();
    expect(logSeedOf(NO_SEED, "m1", conn)).toBeUndefined();
  });

  it("check() records which masters start from a copy of the one master's log, kept while the masters stay these", async () => {
    const p = new MastersPinProvider();
    const bm = (m: string[], seeded?: { from: string; to: string[] }) =>
      ({ ...pin(m, "baremetal.hosts", true), ...(seeded ? { seeded } : {}) });
    const seeded = { from: "m1", to: ["m2", "m3"] };
    expect((await p.check(bm(["m1"]), bm(M3))).inputs?.seeded).toEqual(seeded);
    expect((await p.check(bm(["m1"]), bm(M5))).inputs?.seeded).toEqual({ from: "m1", to: ["m2", "m3", "m4", "m5"] });
    // The next `up` (the first failed after m1 sent its copy, or it went through): still seeded, m3 may be to create.
    expect((await p.check(bm(M3, seeded), bm(M3))).inputs?.seeded).toEqual(seeded);
    expect((await p.diff("id", bm(M3, seeded), bm(M3, seeded))).changes).toBe(false);
    expect((await p.diff("id", bm(["m1"]), bm(M3, seeded))).changes).toBe(true);
    // Another change of the masters: the copy is history (3 → 5: m4 and m5 catch up from three voting replicas).
    expect((await p.check(bm(M3, seeded), bm(M5))).inputs?.seeded).toEqual(NO_SEED);
    expect((await p.check(bm(M3), bm(M5))).inputs?.seeded).toEqual(NO_SEED);
    expect((await p.check(bm(M3, seeded), bm(["m1"]))).inputs?.seeded).toEqual(NO_SEED);
    // Refused (the clouds): nothing recorded.
    expect((await p.check(pin(["m1"]), pin(M3))).inputs?.seeded).toEqual(NO_SEED);
    // Always recorded, none included: the masters' inputs read it, and an output the state lacks is unknown in a
    // preview (every master would show as updating). State from before it: recorded once, a change of the pin.
    expect((await p.check(bm(M3), bm(M3))).inputs?.seeded).toEqual(NO_SEED);
    expect((await p.check(bm(M3, NO_SEED), bm(M3))).inputs?.seeded).toEqual(NO_SEED);
    expect((await p.diff("id", bm(M3), bm(M3, NO_SEED))).changes).toBe(true);
    expect((await p.diff("id", bm(M3, NO_SEED), bm(M3, NO_SEED))).changes).toBe(false);
  });

  it("check() records the departing masters until they are masters again; a refused change records none", async () => {
    const p = new MastersPinProvider();
    const bm = (m: string[], departing?: string[]) => ({ ...pin(m, "baremetal.hosts", true), ...(departing ? { departing } : {}) });
    expect((await p.check(bm(M5), bm(M3))).inputs?.departing).toEqual(["m4", "m5"]);
    // A later `up` (the first one failed, or they left): still departing, so they leave before anyone lowers --quorum.
    expect((await p.check(bm(M3, ["m4", "m5"]), bm(M3))).inputs?.departing).toEqual(["m4", "m5"]);
    expect((await p.check(bm(M3, ["m4", "m5"]), bm(["m1"]))).inputs?.departing).toEqual(["m2", "m3", "m4", "m5"]);
    // m4 is a master again (m10 sorts after m9: ids by number).
    expect((await p.check(bm(["m1", "m2", "m3", "m4"], ["m5", "m10", "m9"]), bm(["m1", "m2", "m3", "m4"]))).inputs?.departing)
      .toEqual(["m5", "m9", "m10"]);
    expect((await p.check(bm(M3, ["m4", "m5"]), bm(["m1", "m2", "m3", "m4"]))).inputs?.departing).toEqual(["m5"]);
    // None is recorded too ([]): the readiness reads it, and an output missing from the state is unknown in a preview.
    expect((await p.check(bm(M3), bm(M3))).inputs?.departing).toEqual([]);
    expect((await p.check(pin(M5), pin(M3))).inputs?.departing).toEqual(["m4", "m5"]); // the clouds too
    expect((await p.check(pin(["m1"]), pin(M3))).inputs?.departing).toEqual([]); // refused there: nothing recorded
    // Recorded: a new departure is a change of the pin; the same record is none; state from before: recorded once.
    expect((await p.diff("id", bm(M5), bm(M3, ["m4", "m5"]))).changes).toBe(true);
    expect((await p.diff("id", bm(M3, ["m4", "m5"]), bm(M3, ["m4", "m5"]))).changes).toBe(false);
    expect((await p.diff("id", bm(M3, []), bm(M3, []))).changes).toBe(false);
    expect((await p.diff("id", bm(M3), bm(M3, []))).changes).toBe(true);
  });

  it("the same masters, a first `up`, or state from before the pin pass", async () => {
    expect(membershipFailures(pin(["m1", "m2", "m3"]), pin(["m1", "m2", "m3"]))).toEqual([]);
    expect(membershipFailures(undefined, pin(["m1"]))).toEqual([]);
    expect(membershipFailures({} as never, pin(["m1"]))).toEqual([]);
    const r = await new MastersPinProvider().check(pin(["m1"]), pin(["m1", "m2", "m3"]));
    expect(r.failures).toHaveLength(1); // the clouds do not grow online
    // `online` is the provider's: a stack recorded before it existed sees no change of the pin.
    const { online: _, ...before } = pin(M3);
    expect((await new MastersPinProvider().diff("id", before as never, pin(M3, "masters.count", true))).changes).toBe(false);
  });

  it("a changed clusterSecret alone is refused, saying how to rotate it or put it back; the same one passes", async () => {
    const p = new MastersPinProvider();
    const was = { ...pin(M3), secretId: hostOwnerId("the-old-cluster-secret-0123", "prod"), rotates: true };
    const now = { ...pin(M3), secretId: hostOwnerId("the-new-cluster-secret-0123", "prod"), rotates: true };
    const [f] = (await p.check(was, now)).failures ?? [];
    expect(f.property).toBe("secretId");
    expect(f.reason).toMatch(/^clusterSecret: changed on running cluster prod, refused before anything changed\. /);
    expect(f.reason).toContain("`pulumi config set --secret elastic-mesos:previousClusterSecret < old-secret-file`");
    expect(f.reason).toContain("`pulumi config set --secret elastic-mesos:clusterSecret < old-secret-file`");
    expect(f.reason).not.toContain(now.secretId); // names no identifier, let alone the secret
    expect(rotationOf(was, was).failures).toEqual([]);
    expect(rotationOf(pin(M3), now).failures).toEqual([]); // recorded before this release: recorded now
    expect((await p.diff("id", pin(M3), now)).changes).toBe(true);
  });

  it("a rotation: starts with previousClusterSecret = the running secret, runs while it stays, ends without it", async () => {
    const p = new MastersPinProvider();
    const OLD = hostOwnerId("the-old-cluster-secret-0123", "prod");
    const NEW = hostOwnerId("the-new-cluster-secret-0123", "prod");
    const running = { ...pin(M3), secretId: OLD, rotates: true, generation: 0, rotatingFrom: "" };
    const first = await p.check(running, { ...pin(M3), secretId: NEW, previousSecretId: OLD, rotates: true });
    expect(first.failures).toEqual([]);
    expect(first.inputs).toMatchObject({ secretId: NEW, generation: 1, rotatingFrom: OLD });
    // The same `up` again (it failed half-way): still rotating, the same generation.
    const again = await p.check(first.inputs!, { ...pin(M3), secretId: NEW, previousSecretId: OLD, rotates: true });
    expect(again.inputs).toMatchObject({ generation: 1, rotatingFrom: OLD });
    // previousClusterSecret removed: the rotation ends; its generation stays.
    const end = await p.check(again.inputs!, { ...pin(M3), secretId: NEW, rotates: true });
    expect(end.failures).toEqual([]);
    expect(end.inputs).toMatchObject({ generation: 1, rotatingFrom: "" });
    expect((await p.diff("id", again.inputs!, end.inputs!)).changes).toBe(true);
    // A second rotation names the next generation.
    const LATER = hostOwnerId("a-later-cluster-secret-0123", "prod");
    expect((await p.check(end.inputs!, { ...pin(M3), secretId: LATER, previousSecretId: NEW, rotates: true })).inputs)
      .toMatchObject({ generation: 2, rotatingFrom: NEW });
  });

  it("a rotation is refused from a secret that is not the running one, with the masters changing, or on a cloud", async () => {
    const p = new MastersPinProvider();
    const OLD = hostOwnerId("the-old-cluster-secret-0123", "prod");
    const NEW = hostOwnerId("the-new-cluster-secret-0123", "prod");
    const OTHER = hostOwnerId("some-other-cluster-secret-01", "prod");
    const running = { ...pin(M3), secretId: OLD, rotates: true, generation: 0, rotatingFrom: "" };
    const wrong = (await p.check(running, { ...pin(M3), secretId: NEW, previousSecretId: OTHER, rotates: true })).failures;
    expect(wrong?.[0].reason).toMatch(/previousClusterSecret is not the secret the cluster runs with/);
    const grow = (await p.check(running, { ...pin(["m1", "m2", "m3", "m4", "m5"]), secretId: NEW, previousSecretId: OLD,
      rotates: true })).failures;
    expect(grow?.map((f) => f.reason).join("\n")).toMatch(/changing the masters while clusterSecret rotates is refused/);
    const cloud = (await p.check({ ...running, rotates: false }, { ...pin(M3), secretId: NEW, previousSecretId: OLD,
      rotates: false })).failures;
    expect(cloud?.[0].reason).toMatch(/this provider does not rotate it\./);
    // Left set once the rotation ended (or set on a cluster not rotating from it): told to remove it.
    const stale = (await p.check({ ...running, secretId: NEW, generation: 1 }, { ...pin(M3), secretId: NEW, previousSecretId: OLD,
      rotates: true })).failures;
    expect(stale?.[0].reason).toContain("`pulumi config rm elastic-mesos:previousClusterSecret`");
    // A new rotation before the last one ended.
    const LATER = hostOwnerId("a-later-cluster-secret-0123", "prod");
    const early = (await p.check({ ...running, secretId: NEW, generation: 1, rotatingFrom: OLD }, { ...pin(M3), secretId: LATER,
      previousSecretId: NEW, rotates: true })).failures;
    expect(early?.[0].reason).toMatch(/the last rotation has not ended/);
  });

  it.each(Object.keys(STACKS))("%s: every other resource of the cluster depends on the pin", async (provider) => {
    const r = await runProgram(STACKS[provider as keyof typeof STACKS]);
    const custom = r.resources.filter((x) => x.custom);
    const pins = custom.filter((x) => x.type === "pulumi-nodejs:dynamic/elastic-mesos/cluster:Masters");
    expect(pins).toHaveLength(1);
    expect(pins[0].inputs.masters).toEqual(r.outputs.masters.map((m: { id: string }) => m.id));
    expect(pins[0].inputs.online).toBe(true);
    expect(isSecretInput(pins[0].inputs.secretId)).toBe(true); // kept encrypted in the state, like the secret it names
    // The engine checks registrations concurrently: the dependency is what keeps them back when the pin is refused.
    const free = r.resources.filter((x) => x !== pins[0] && x.type !== "pulumi:pulumi:Stack" && x.type !== "elastic-mesos:index:Cluster" &&
      !x.dependencies.some((d) => d.endsWith(`$${pins[0].type}::${pins[0].name}`)));
    expect(free.map((x) => `${x.type}::${x.name}`)).toEqual([]);
    // Clouds: what comes after the master pins (network, instances, hosts, readiness) waits for every one of them.
    const masterPins = custom.filter((x) => x.type === "pulumi-nodejs:dynamic/elastic-mesos/cloud:MasterPin");
    expect(masterPins.length).toBe(["aws", "gcp", "openstack"].includes(provider) ? r.outputs.masters.length : 0);
    const last = r.resources.indexOf(masterPins.at(-1)!);
    // (An explicit cloud provider is made before the pins and touches nothing itself: it depends on the masters pin.)
    const after = r.resources.slice(last + 1).filter((x) => x.type !== "pulumi:pulumi:Stack" && !x.type.startsWith("pulumi:providers:"));
    for (const x of masterPins.length ? after : []) {
      for (const p of masterPins) expect(x.dependencies.some((d) => d.endsWith(`::${p.name}`)), `${x.type}::${x.name} → ${p.name}`).toBe(true);
    }
  });
});
