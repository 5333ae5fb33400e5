// The masters pin (provisioning/membership/pin.ts): a change of the set of masters on a running cluster is refused,
// naming the key and the count to put back, on every provider; and every other resource of the cluster depends on
// the pin, so a refused pin leaves them all unregistered (the engine checks registrations concurrently). Real CLI:
// test/e2e/backup.test.ts (growing 3 → 5 on lab hosts, nothing installed on the new ones).
import { describe, expect, it } from "vitest";
import { membershipFailures, MastersPinProvider } from "../../provisioning/membership/pin";
import { runProgram } from "../program/harness";
import { STACKS } from "../program/fixtures";

const pin = (masters: string[], key = "masters.count") => ({ cluster: "prod", masters, key });

describe("a change of the masters of a running cluster", () => {
  it("growing or shrinking is refused, naming the key, the count to put back and the offline way", () => {
    const [grow] = membershipFailures(pin(["m1", "m2", "m3"]), pin(["m1", "m2", "m3", "m4", "m5"]));
    expect(grow.property).toBe("masters");
    expect(grow.reason).toMatch(/^masters\.count: changing the masters of running cluster prod from 3 \(m1-m3\) to 5 \(m1-m5\) is refused before anything changed/);
    expect(grow.reason).toContain("Put masters.count back to 3 masters");
    expect(grow.reason).toContain("`npm run backup`, `pulumi destroy`, change the count, `pulumi up`, `npm run restore`");
    const [shrink] = membershipFailures(pin(["m1", "m2", "m3"], "baremetal.hosts (its master entries)"), pin(["m1"], "baremetal.hosts (its master entries)"));
    expect(shrink.reason).toMatch(/^baremetal\.hosts \(its master entries\): .* from 3 \(m1-m3\) to 1 \(m1\) .*back to 3 masters/);
    expect(membershipFailures(pin(["m1"]), pin(["m1", "m2", "m3"]))[0].reason).toContain("back to 1 master.");
  });

  it("the same masters, a first `up`, or state from before the pin pass", async () => {
    expect(membershipFailures(pin(["m1", "m2", "m3"]), pin(["m1", "m2", "m3"]))).toEqual([]);
    expect(membershipFailures(undefined, pin(["m1"]))).toEqual([]);
    expect(membershipFailures({} as never, pin(["m1"]))).toEqual([]);
    const r = await new MastersPinProvider().check(pin(["m1"]), pin(["m1", "m2", "m3"]));
    expect(r.failures).toHaveLength(1);
  });

  it.each(Object.keys(STACKS))("%s: every other resource of the cluster depends on the pin", async (provider) => {
    const r = await runProgram(STACKS[provider as keyof typeof STACKS]);
    const custom = r.resources.filter((x) => x.custom);
    const pins = custom.filter((x) => x.type === "pulumi-nodejs:dynamic/elastic-mesos/cluster:Masters");
    expect(pins).toHaveLength(1);
    expect(pins[0].inputs.masters).toEqual(r.outputs.masters.map((m: { id: string }) => m.id));
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
