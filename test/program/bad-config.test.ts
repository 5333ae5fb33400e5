// A bad stack config fails before anything is registered, with a ConfigError naming the key.
import { it, expect } from "vitest";
import { runProgramExpectingError } from "./harness";
import { STACKS } from "./fixtures";

it.each([
  ["masters.count", { ...STACKS.aws, masters: { count: 2, size: "m6i.large" } }],
  ["adminCidrs[0]", { ...STACKS.aws, adminCidrs: ["0.0.0.0/0"] }],
  ["aws", { ...STACKS.aws, aws: undefined }],
])("%s: throws ConfigError and registers zero resources", async (key, config) => {
  const { error, resources } = await runProgramExpectingError(config);
  expect(error?.name).toBe("ConfigError");
  expect(error.problems.map((p: { key: string }) => p.key)).toContain(key);
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
