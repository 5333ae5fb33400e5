// Bare metal over SSH: the per-node dynamic resource and the bootstrap MesosCluster calls.
export { createSshBootstrap, connectionFor, type SshBootstrapOptions } from "./bootstrap";
export { MesosHost, type MesosHostArgs } from "./resource";
export { MesosHostProvider, masterMove, type ProviderDeps } from "./provider";
export { cleanupPlan, renderCleanupScript } from "./cleanup";
export { diffHost, changedSteps } from "./plan";
export type * from "./types";
