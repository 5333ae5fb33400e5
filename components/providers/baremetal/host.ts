// A machine the user already has (bare metal or a local lab host), recorded as a small component so it
// has a URN, appears in `pulumi stack`, and is the parent the SSH bootstrap attaches its resources to.
import * as pulumi from "@pulumi/pulumi";
import type { Machine, NodeSpec } from "../../contracts";

export interface ExistingHostArgs {
  /** The node this host plays. */
  node: NodeSpec;
  /** Address the cluster uses to reach the host (its private address). */
  address: string;
  /** SSH port and login user, for hints and for the SSH bootstrap. */
  port: number;
  user: string;
}

export class ExistingHost extends pulumi.ComponentResource {
  public readonly address: pulumi.Output<string>;

  constructor(name: string, args: ExistingHostArgs, opts?: pulumi.ComponentResourceOptions) {
    // Only plain identity goes to the engine as component inputs (never credentials).
    super("elastic-mesos:baremetal:Host", name, { node: args.node.id, address: args.address, port: args.port, user: args.user }, opts);
    this.address = pulumi.output(args.address);
    this.registerOutputs({ address: this.address });
  }
}

/** `formerName`: the name an earlier release gave this host's record (an alias: renamed, not replaced). */
export function existingMachine(node: NodeSpec, address: string, port: number, user: string, parent: pulumi.Resource,
  formerName?: string): Machine {
  const aliases = formerName && formerName !== node.hostname ? [{ name: formerName }] : undefined;
  const host = new ExistingHost(node.hostname, { node, address, port, user }, { parent, ...(aliases ? { aliases } : {}) });
  return { node, privateIp: host.address, publicIp: host.address, resource: host };
}
