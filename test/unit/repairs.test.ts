// A drift repair makes the readiness check the cluster again: the repaired step's hash is the one recorded before
// the drift, so the host counts its repairs and the generations (SSH and cloud) include the count once non-zero.
import { describe, expect, it } from "vitest";
import { MesosHostProvider } from "../../provisioning/baremetal/provider";
import { sshGeneration } from "../../provisioning/health/readiness";
import { cloudGeneration } from "../../components/readiness";
import { fakeConfig, fakeRunner, hostInputs, testRender, TEST_CLUSTER_SECRET } from "../fixtures/ssh-server";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n";

describe("drift repairs", () => {
  it("an update that re-runs a drifted step counts a repair; other updates keep the count", async () => {
    const fr = fakeRunner((s) => (s.label === "footprint check" ? { stdout: "" } : undefined));
    const p = new MesosHostProvider({ runner: fr.make, render: testRender(), log: () => {} });
    await p.configure(fakeConfig({ sshPrivateKey: KEY, clusterSecret: TEST_CLUSTER_SECRET }));
    const spec = hostInputs();
    const created = (await p.create({ spec })).outs!;
    // Recorded at 0: a missing output would be unknown in every preview, and the readiness would show an update.
    expect(created.repairs).toBe(0);
    // What `pulumi refresh` records for a stopped daemon (drift.ts), then the next `up`.
    const drifted = { ...created, stepHashes: { ...created.stepHashes, zookeeper: "drift: zookeeper.service inactive" } };
    const repaired = (await p.update("id", drifted, { spec })).outs!;
    expect(repaired).toMatchObject({ stepsRun: 1, repairs: 1, stepHashes: created.stepHashes });
    const again = (await p.update("id", { ...repaired, stepHashes: { ...repaired.stepHashes, mesos: "drift: x" } }, { spec })).outs!;
    expect(again.repairs).toBe(2);
    // A change of the node's own (no drift) runs its step and keeps the count; so does a no-op.
    const changed = hostInputs({ node: { ...spec.node, attributes: { rack: "b" } } });
    expect((await p.update("id", again, { spec: changed })).outs!.repairs).toBe(2);
    expect((await p.update("id", again, { spec })).outs!.repairs).toBe(2);
  });

  it("the generations change with a repair, and stay as earlier releases computed them while there is none", () => {
    const hashes: Record<string, string>[] = [{ install: "a", zookeeper: "b" }, { install: "a", mesos: "c" }];
    expect(sshGeneration(hashes, [undefined, 0])).toBe(sshGeneration(hashes));
    expect(sshGeneration(hashes, [1, 0])).not.toBe(sshGeneration(hashes));
    expect(sshGeneration(hashes, [2, 0])).not.toBe(sshGeneration(hashes, [1, 0]));
    const ud = [{ id: "m1", hash: "x" }];
    expect(cloudGeneration(ud, [0])).toBe(cloudGeneration(ud));
    expect(cloudGeneration(ud, [1])).not.toBe(cloudGeneration(ud));
  });
});
