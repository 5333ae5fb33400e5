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
}

export const PROVIDER_MODULES: Record<ProviderName, ProviderEntry> = {
  aws: { module: aws, delivery: "cloud-init" },
  gcp: { module: gcp, delivery: "cloud-init" },
  openstack: { module: openstack, delivery: "cloud-init" },
  digitalocean: { module: digitalocean, delivery: "ssh" },
  baremetal: { module: baremetal, delivery: "ssh" },
  local: { module: local, delivery: "ssh" },
};
