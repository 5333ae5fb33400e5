// A node's four bootstrap steps as data (files, idempotent commands, a health gate each), rendered once
// from a BootstrapInput. provisioning/render/ turns the same Step[] into #cloud-config or SSH scripts.
// The firewall comes first: a change of cluster membership then re-runs only it on the other hosts.
import { buildContext } from "./context";
import { firewallApplies, firewallStep } from "./firewall";
import { installStep } from "./install";
import { mesosStep } from "./mesos";
import type { BootstrapInput, Step } from "./types";
import { zookeeperStep } from "./zookeeper";

export function renderSteps(input: BootstrapInput): Step[] {
  const ctx = buildContext(input);
  // Numbered by position (the step modules keep their own numbers for reading only). Cloud masters have
  // no firewall step: their cloud firewall guards them and no task runs there (user-data stays small).
  const steps = [...(firewallApplies(ctx) ? [firewallStep(ctx)] : []), installStep(ctx), zookeeperStep(ctx), mesosStep(ctx)];
  const owner = { cluster: input.cluster, id: input.credentials.ownerId,
    ...(input.previous ? { previousId: input.previous.ownerId } : {}) };
  return steps.map((s, i) => ({ ...s, index: i + 1, owner }));
}
