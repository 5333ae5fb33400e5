// The Pulumi resource for one bare-metal node: `pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host`.
import * as pulumi from "@pulumi/pulumi";
import type { StepScript } from "../render/ssh-plan";
import { MesosHostProvider } from "./provider";
import type { CleanupPlan, DrainSpec, HostConnection, HostNode, RecordedHostKey } from "./types";

export interface MesosHostArgs {
  cluster: pulumi.Input<string>;
  node: pulumi.Input<HostNode>;
  /** Address, port, user, bastion, pinned host key. The private key comes from stack config. */
  connection: pulumi.Input<HostConnection>;
  /** renderStepScripts(steps): secret when a step carries a credential. */
  steps: pulumi.Input<StepScript[]>;
  /** What delete removes (cleanupPlan(steps)). */
  cleanup: pulumi.Input<CleanupPlan>;
  /** Agents: how to drain before removal. */
  drain?: pulumi.Input<DrainSpec>;
  adminUser?: pulumi.Input<string>;
  /** Secret: HTTP password of the admin principal, for the operator API. */
  adminPassword?: pulumi.Input<string>;
  stepTimeoutSeconds?: pulumi.Input<number>;
}

/** One provider object for every host: it is serialized once and cached (pulumi-notes §4). */
const provider = new MesosHostProvider();

export class MesosHost extends pulumi.dynamic.Resource {
  // `declare`: a plain field would be reset to undefined after super() (ES2022 class fields).
  /** step name → hash of the content that last ran. */
  declare public readonly stepHashes: pulumi.Output<Record<string, string>>;
  /** The host key in use (pinned, or recorded on first use). */
  declare public readonly hostKey: pulumi.Output<RecordedHostKey>;
  /** Steps executed by the last create/update. */
  declare public readonly stepsRun: pulumi.Output<number>;
  declare public readonly commandsSent: pulumi.Output<number>;

  constructor(name: string, args: MesosHostArgs, opts?: pulumi.CustomResourceOptions) {
    const outs = { stepHashes: undefined, hostKey: undefined, preexisting: undefined, stepsRun: undefined, commandsSent: undefined };
    super(provider, name, { ...outs, ...args }, { ...opts, additionalSecretOutputs: ["adminPassword"] }, "elastic-mesos/baremetal", "Host");
  }
}
