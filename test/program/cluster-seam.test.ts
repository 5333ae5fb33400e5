// MesosCluster used as a library: the SSH bootstrap is a seam. index.ts always passes createSshBootstrap;
// a programmatic user may pass their own (its resources gate the outputs) or none (bare machines, a
// warning, outputs that wait for nothing).
import { describe, it, expect } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { parseModel } from "../../components/config";
import { MesosCluster, type SshBootstrapInput } from "../../components/cluster";
import { recordingMocks } from "./mocks";
import { validRaw } from "../stackConfig";

/** Stands in for whatever a library user installs with (a resource whose create takes a while). */
class Installer extends pulumi.CustomResource {
  constructor(name: string, opts: pulumi.CustomResourceOptions) {
    super("test:index:Installer", name, {}, opts);
  }
}

const settle = () => (pulumi.runtime as any).waitForRPCs() as Promise<void>;

describe("the sshBootstrap seam", () => {
  it("without a bootstrap: machines only, no bootstrap or readiness resource, outputs resolve", async () => {
    const { mocks, registered } = recordingMocks();
    await pulumi.runtime.setMocks(mocks, "elastic-mesos", "dev", false);
    const c = new MesosCluster("lib", { model: parseModel(validRaw("baremetal"), {}) });
    await settle();
    // The masters pin alone (a plain record, nothing remote): no bootstrap, no readiness.
    expect(registered.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).map((r) => r.type))
      .toEqual(["pulumi-nodejs:dynamic/elastic-mesos/cluster:Masters"]);
    expect(c.ready).toEqual([]);
    expect(await (c.mesosUrl as any).promise()).toBe("https://10.0.0.11:5050");
  });

  it("a custom bootstrap gets the machines and credentials; the outputs wait for what it returns", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { mocks, registered } = recordingMocks({ hold: (type) => (type === "test:index:Installer" ? gate : undefined) });
    await pulumi.runtime.setMocks(mocks, "elastic-mesos", "dev", false);
    let seen: SshBootstrapInput | undefined;
    const c = new MesosCluster("lib", {
      model: parseModel(validRaw("baremetal"), {}),
      sshBootstrap: (input) => {
        seen = input;
        return [new Installer("installer", { parent: input.parent })];
      },
    });
    // Bare metal: masters m1..m3 by the order of their entries, agents by their hosts' names (sorted within a pool).
    expect(seen!.machines.map((m) => m.node.id)).toEqual(["m1", "m2", "m3", "h-10-0-0-21", "node22", "big1"]);
    expect(await pulumi.isSecret(seen!.credentials)).toBe(true);
    let url: string | undefined;
    c.mesosUrl.apply((u) => (url = u));
    await new Promise((r) => setTimeout(r, 300));
    expect(registered.some((r) => r.type === "test:index:Installer")).toBe(true);
    expect(url).toBeUndefined();
    release();
    await settle();
    expect(url).toBe("https://10.0.0.11:5050");
  });
});
