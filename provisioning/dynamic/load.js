// Loaded by the shim stored as `__provider` (shim.ts) inside the dynamic-provider plugin: returns a fresh
// provider for one resource kind, from this checkout. Plain JavaScript because nothing compiles
// TypeScript in the plugin yet: it registers Pulumi's own ts-node first (scripts/lib/ts.js).
"use strict";
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..");

/** kind (the resource's module:type) → [module of the implementation, exported class]. */
const IMPLEMENTATIONS = {
  "elastic-mesos/baremetal:Host": ["../baremetal/provider", "MesosHostProvider"],
  "elastic-mesos/health:Readiness": ["../health/readiness", "ReadinessProvider"],
  "elastic-mesos/cloud:MasterPin": ["../cloud/master-pin", "MasterPinProvider"],
  "elastic-mesos/cluster:Masters": ["../membership/pin", "MastersPinProvider"],
  "elastic-mesos/local:Image": ["../local/provider", "LocalImageProvider"],
  "elastic-mesos/local:Network": ["../local/provider", "LocalNetworkProvider"],
  "elastic-mesos/local:Machine": ["../local/provider", "LocalMachineProvider"],
};

exports.load = (kind) => {
  const impl = IMPLEMENTATIONS[kind];
  if (!impl) throw new Error(`elastic-mesos: no dynamic provider for "${kind}" in ${ROOT} (is this checkout older than the stack?)`);
  require(path.join(ROOT, "scripts", "lib", "ts.js")).registerTs();
  const Provider = require(impl[0])[impl[1]];
  return new Provider();
};
