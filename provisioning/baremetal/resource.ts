// The Pulumi resource for one bare-metal node: `pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host`.
// Its stored provider is the fixed shim (provisioning/dynamic/shim.ts), its one input property `spec` the
// node's compact bootstrap input (HostProps): no script and no credential is stored (the provider
// renders and derives them).
import type * as pulumi from "@pulumi/pulumi";
import { ShimResource } from "../dynamic/shim";
import type { DrainMaster, DrainSpec, HostInputs, LeaveProps, RecordedHostKey } from "./types";

/**
 * The inputs as registered: the drain's masters may be an Output inside the spec (createSshBootstrap says
 * why); the engine resolves it like the rest, so the provider receives plain HostInputs.
 */
export type HostSpecInput = Omit<HostInputs, "drain"> & {
  drain?: Omit<DrainSpec, "masterHosts"> & { masterHosts?: pulumi.Input<DrainMaster[]> };
};

/** One property (HostProps says why): the node's compact inputs, usually from hostInputsFor in one apply. */
export interface MesosHostArgs {
  spec?: pulumi.Input<HostSpecInput>;
  /** Instead of `spec`: a master removed from the config, leaving the cluster (types.ts LeaveProps). */
  leave?: pulumi.Input<LeaveProps["leave"]>;
  /** Clouds: the id of the node's machine (HostProps.machine): another id replaces the host, which adopts it. */
  machine?: pulumi.Input<string>;
}

export class MesosHost extends ShimResource {
  // `declare`: a plain field would be reset to undefined after super() (ES2022 class fields).
  /** step name → hash of the content that last ran. */
  declare public readonly stepHashes: pulumi.Output<Record<string, string>>;
  /** The host key in use (pinned, or recorded on first use). */
  declare public readonly hostKey: pulumi.Output<RecordedHostKey>;
  /** Drift repairs made so far (0 or, in state of earlier releases, undefined: none): the readiness re-checks when it changes. */
  declare public readonly repairs: pulumi.Output<number | undefined>;

  constructor(name: string, args: MesosHostArgs, opts?: pulumi.CustomResourceOptions) {
    // Only the outputs the program reads are declared (each declared property costs an Output per host).
    // `machine` only where given: every property costs each host an Output.
    const machine = args.machine === undefined ? {} : { machine: args.machine };
    const what = args.leave === undefined ? { spec: args.spec } : { leave: args.leave };
    super("elastic-mesos/baremetal:Host", name,
      { ...what, ...machine, stepHashes: undefined, hostKey: undefined, repairs: undefined }, opts);
  }
}
