import { defineConfig } from "vitest/config";

// Two projects: fast tests that need nothing but Node (pure functions, the Pulumi program under mocks,
// SSH against in-process servers), and lab tests that drive real hosts (test/lab, see lab/README.md), among
// them the end-to-end suite that runs the real Pulumi CLI against lab hosts (test/e2e).
export default defineConfig({
  test: {
    pool: "forks", // one process per file: Pulumi's runtime state is global
    projects: [
      {
        extends: true,
        test: {
          name: "unit", include: ["test/unit/**/*.test.ts", "test/program/**/*.test.ts"], testTimeout: 60_000,
          // Both cores (CI has two): about half the time. The lab project starts only after (groupOrder), so no
          // lab test's timing shares the machine with them.
          maxWorkers: 2, sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "lab",
          include: ["test/lab/**/*.test.ts", "test/e2e/**/*.test.ts"],
          globalSetup: ["test/lab/setup.ts"], // brings the lab up (or reuses it); tears down only what it started
          testTimeout: 600_000,
          hookTimeout: 900_000,
          fileParallelism: false, // one lab, shared hosts: files run one after another
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
