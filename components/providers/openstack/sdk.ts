// Lazy access to the OpenStack SDK (deep modules), loaded only by OpenStack stacks.
import type * as networking from "@pulumi/openstack/networking";
import type * as compute from "@pulumi/openstack/compute";
import type * as images from "@pulumi/openstack/images";
import type * as provider from "@pulumi/openstack/provider";

export const osSdk = {
  networking: (): typeof networking => require("@pulumi/openstack/networking"),
  compute: (): typeof compute => require("@pulumi/openstack/compute"),
  images: (): typeof images => require("@pulumi/openstack/images"),
  Provider: (): typeof provider.Provider => require("@pulumi/openstack/provider").Provider,
};
