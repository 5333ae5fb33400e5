// Our dynamic resources without the serialized closure. Pulumi's `dynamic.Resource` stores the whole
// provider, serialized with everything it reaches (about 63 KB), in every resource's inputs and outputs,
// and `delete` runs the copy captured at the resource's last update, so a later fix never reaches an
// unchanged host. Instead, `__provider` is a fixed shim of a few hundred bytes: the dynamic-provider
// plugin (pulumi-resource-pulumi-nodejs) evaluates it with require-from-string, and it loads the provider
// from the project the plugin runs in (its working directory, where Pulumi.yaml is) through load.js.
//
// Why a CustomResource with the dynamic type token rather than `dynamic.Resource` with a tiny provider:
// what `dynamic.Resource` stores is whatever Pulumi's closure serializer makes of the object, which can
// change with the SDK; a literal string is ours, byte for byte, so it never changes between releases
// (it never causes a diff or a rewrite of state) and provably holds no secret. The URN type is the same
// (`pulumi-nodejs:dynamic/<module>:<type>`), so the engine runs the same plugin and existing state keeps
// its URNs.
import * as pulumi from "@pulumi/pulumi";
import { shimText, type DynamicKind } from "./shim-text";

export { shimText, type DynamicKind };

/** A dynamic resource whose stored provider is the shim of `kind`. */
export abstract class ShimResource extends pulumi.CustomResource {
  protected constructor(kind: DynamicKind, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    if ("__provider" in props) throw new Error("a dynamic resource must not define the __provider key");
    super(`pulumi-nodejs:dynamic/${kind}`, name, { ...props, __provider: shimText(kind) }, opts);
  }
}
