// The rollout monitor's figures (test/fixtures/rollout-monitor.ts) decide whether an e2e rollout kept ZooKeeper's
// quorum: a wrong count fails a good rollout or passes a bad one.
import { describe, expect, it } from "vitest";
import { downAtOnce, type ZkSample } from "../fixtures/rollout-monitor";

const samples = (...rows: string[]): ZkSample[] => rows.map((r, i) => ({ t: i * 200, modes: r.split(" ") }));

describe("ZooKeeper servers down at once", () => {
  it("two servers restarting together count as two, however short the overlap beyond one sample", () => {
    expect(downAtOnce(samples("leader follower follower", "down follower follower", "down down follower",
      "down down follower", "follower leader follower"))).toBe(2);
  });

  it("one restart beside a single unanswered sample of another server counts as one", () => {
    expect(downAtOnce(samples("leader follower follower", "down follower follower", "down down follower",
      "down follower follower", "follower leader follower"))).toBe(1);
  });

  it("none down, or one at a time", () => {
    expect(downAtOnce(samples("leader follower follower"))).toBe(0);
    expect(downAtOnce(samples("down follower leader", "down follower leader", "follower down leader", "follower down leader"))).toBe(1);
    expect(downAtOnce([])).toBe(0);
  });
});
