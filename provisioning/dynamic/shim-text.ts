// The fixed module text stored as `__provider` by our dynamic resources (shim.ts says why). Kept apart
// from shim.ts so the providers can compare stored state against it without loading @pulumi/pulumi.

/** The provider implementations load.js can return, by the module and type of their resource. */
export type DynamicKind =
  | "elastic-mesos/baremetal:Host"
  | "elastic-mesos/health:Readiness"
  | "elastic-mesos/cloud:MasterPin"
  | "elastic-mesos/cluster:Masters"
  | "elastic-mesos/local:Image"
  | "elastic-mesos/local:Network"
  | "elastic-mesos/local:Machine";

/**
 * The module text stored as `__provider`. Never edit it: every stack's state holds it, and a change would
 * make every resource's stored provider differ from the program's. Anything that may change belongs in
 * load.js, which it requires from the project at run time.
 */
export function shimText(kind: DynamicKind): string {
  return `exports.handler = () => {
  const fs = require("fs"), path = require("path"), dir = process.cwd(), y = path.join(dir, "Pulumi.yaml");
  if (!fs.existsSync(y) || !/^name:\\s*elastic-mesos\\s*$/m.test(fs.readFileSync(y, "utf8"))) {
    throw new Error("elastic-mesos: the dynamic provider runs in " + dir + ", which is not the elastic-mesos project " +
      "(no Pulumi.yaml with name: elastic-mesos); run pulumi in the project directory");
  }
  return require(path.join(dir, "provisioning", "dynamic", "load.js")).load(${JSON.stringify(kind)});
};
`;
}
