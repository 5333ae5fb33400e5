// Lazy access to the GCP SDK (deep module `@pulumi/gcp/compute`), loaded only by GCP stacks.
import type * as compute from "@pulumi/gcp/compute";
import type * as provider from "@pulumi/gcp/provider";

export const gcpSdk = {
  compute: (): typeof compute => require("@pulumi/gcp/compute"),
  Provider: (): typeof provider.Provider => require("@pulumi/gcp/provider").Provider,
};
