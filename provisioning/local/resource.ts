// The local provider's Pulumi resources (`pulumi-nodejs:dynamic/elastic-mesos/local:Image|Network|Machine`).
// Their stored provider is the fixed shim (provisioning/dynamic/shim.ts); provider.ts does the work through the
// product shell (sh/local.sh). Inputs and outputs: types.ts (nothing secret).
import type * as pulumi from "@pulumi/pulumi";
import { ShimResource } from "../dynamic/shim";
import type { Egress, HostKey } from "./types";

type In<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export interface LocalImageArgs {
  cacheDir: pulumi.Input<string>;
  suite: pulumi.Input<string>;
  debianMirror: pulumi.Input<string>;
  packages: pulumi.Input<string[]>;
  aptProxy?: pulumi.Input<string>;
}
export class LocalImage extends ShimResource {
  declare public readonly path: pulumi.Output<string>;
  declare public readonly key: pulumi.Output<string>;
  constructor(name: string, args: LocalImageArgs, opts?: pulumi.CustomResourceOptions) {
    super("elastic-mesos/local:Image", name, { ...args, path: undefined, key: undefined }, opts);
  }
}

export interface LocalNetworkArgs {
  bridge: pulumi.Input<string>;
  cidr: pulumi.Input<string>;
  egress: pulumi.Input<Egress>;
  stateDir: pulumi.Input<string>;
  cluster: pulumi.Input<string>;
}
export class LocalNetwork extends ShimResource {
  declare public readonly gateway: pulumi.Output<string>;
  constructor(name: string, args: LocalNetworkArgs, opts?: pulumi.CustomResourceOptions) {
    super("elastic-mesos/local:Network", name, { ...args, gateway: undefined }, opts);
  }
}

export type LocalMachineArgs = In<{
  cluster: string; name: string; stateDir: string; bridge: string; cidr: string; gateway: string; image: string;
  egress: Egress; authorizedKey: string;
}> & { aptProxy?: pulumi.Input<string> };
export class LocalMachine extends ShimResource {
  declare public readonly ip: pulumi.Output<string>;
  declare public readonly hostKey: pulumi.Output<HostKey>;
  constructor(name: string, args: LocalMachineArgs, opts?: pulumi.CustomResourceOptions) {
    super("elastic-mesos/local:Machine", name, { ...args, ip: undefined, hostKey: undefined }, opts);
  }
}
