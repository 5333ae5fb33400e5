// A node's three bootstrap steps as data (files, idempotent commands, a health gate each), rendered once
// from a BootstrapInput. provisioning/render/ turns the same Step[] into #cloud-config or SSH scripts.
import { buildContext } from "./context";
import { installStep } from "./install";
import { mesosStep } from "./mesos";
import type { BootstrapInput, Step } from "./types";
import { zookeeperStep } from "./zookeeper";

export function renderSteps(input: BootstrapInput): Step[] {
  const ctx = buildContext(input);
  return [installStep(ctx), zookeeperStep(ctx), mesosStep(ctx)];
}
