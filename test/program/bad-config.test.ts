// A bad stack config fails before anything is registered, with a ConfigError naming the key.
import { it, expect } from "vitest";
import { runProgramExpectingError } from "./harness";
import { STACKS } from "./fixtures";

it.each([
  ["masters.count", { ...STACKS.aws, masters: { count: 2, size: "m6i.large" } }],
  ["adminCidrs[0]", { ...STACKS.aws, adminCidrs: ["0.0.0.0/0"] }],
  ["aws", { ...STACKS.aws, aws: undefined }],
  ["adminCidrs[1]", { ...STACKS.aws, adminCidrs: ["0.0.0.0/1", "128.0.0.0/1"] }],
  ["adminCidrs[0]", { ...STACKS.gcp, adminCidrs: ["2001:db8::/32"] }],
  ['agentPools[0].attributes["9rack"]', { ...STACKS.aws, agentPools: [{ name: "general", count: 1, attributes: { "9rack": "a" } }] }],
  ["agentPools[0].resources.ports", { ...STACKS.openstack, agentPools: [{ name: "general", count: 1, resources: { ports: "[5051-5051]" } }] }],
  ["artifacts.mesos.aptRepo", { ...STACKS.aws, artifacts: { mesos: { aptRepo: "https://apt.example.com/mesos" } } }],
  ["artifacts.offlineBundle", { ...STACKS.baremetal, artifacts: { mirror: "https://m.example.com", offlineBundle: "/srv/b", zookeeper: { sha512: "ab".repeat(64) } } }],
  ["baremetal.hosts[0].address", { ...STACKS.baremetal, baremetal: { hosts: [{ address: "m1.example.com", role: "master" }] }, agentPools: [{ name: "general" }] }],
])("%s: throws ConfigError and registers zero resources", async (key, config) => {
  const { error, resources } = await runProgramExpectingError(config);
  expect(error?.name).toBe("ConfigError");
  expect(error.problems.map((p: { key: string }) => p.key)).toContain(key);
  expect(resources).toEqual([]);
});

it("a mirror URL with credentials is refused with them redacted, before anything is registered", async () => {
  const mirror = "https://user:hunter2@mirror.example.com/em?token=tok3n-s3cret";
  const { error, resources } = await runProgramExpectingError({ ...STACKS.aws, artifacts: { mirror, zookeeper: { sha512: "ab".repeat(64) } } });
  expect(error?.name).toBe("ConfigError");
  expect(error.message).toContain('artifacts.mirror: "https://***@mirror.example.com/em?token=***" is not allowed');
  expect(error.message).not.toMatch(/hunter2|tok3n-s3cret/);
  expect(resources).toEqual([]);
});

it("a topology the provider cannot place (too few bare-metal hosts) fails before any machine is registered", async () => {
  const { error, resources } = await runProgramExpectingError({
    ...STACKS.baremetal,
    agentPools: [{ name: "general", count: 3 }],
  });
  expect(String(error?.message)).toMatch(/baremetal\.hosts|agentPools\[0\]\.count/);
  expect(resources.filter((r) => r.custom)).toEqual([]);
});
