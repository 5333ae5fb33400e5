// The provider registry: one module per cloud, and how each delivers the bootstrap.
// Importing this file loads no cloud SDK: every module requires its SDK only inside createMachines.
import type { ProviderName } from "../model";
import type { ProviderModule } from "../contracts";
import { aws } from "./aws";
import { gcp } from "./gcp";
import { digitalocean } from "./digitalocean";
import { openstack } from "./openstack";
import { baremetal } from "./baremetal";
import { local } from "./local";
import { renderAwsCloudConfig } from "../../provisioning/render/cloud-config";
import { renderStartupScript } from "../../provisioning/render/startup-script";
import type { Step } from "../../provisioning/steps/types";

/**
 * How a provider's machines receive their bootstrap:
 * - "cloud-init": user-data rendered before the machine exists (needs planned master addresses);
 * - "ssh": run over SSH after the machines exist (existing hosts, and clouds that cannot pin private
 *   addresses, where masters' peers are only known from the machines' outputs).
 */
export type BootstrapDelivery = "cloud-init" | "ssh";

export interface ProviderEntry {
  module: ProviderModule;
  delivery: BootstrapDelivery;
  /**
   * "cloud-init" delivery: how a node's steps become the text its machine boots from, when not a #cloud-config
   * (render/cloud-config.ts renderCloudConfig). AWS: a #cloud-config whose pieces travel as plain files (its
   * user-data is gzip'ed whole). GCP: a startup script, which the guest agent of every GCE image runs (the default
   * Debian 12 and Rocky 9 images have no cloud-init).
   */
  render?: (steps: Step[], hostKey?: { privatePem: string }) => string;
}

export const PROVIDER_MODULES: Record<ProviderName, ProviderEntry> = {
  aws: { module: aws, delivery: "cloud-init", render: renderAwsCloudConfig },
  gcp: { module: gcp, delivery: "cloud-init", render: renderStartupScript },
  openstack: { module: openstack, delivery: "cloud-init" },
  digitalocean: { module: digitalocean, delivery: "ssh" },
  baremetal: { module: baremetal, delivery: "ssh" },
  local: { module: local, delivery: "ssh" },
};
