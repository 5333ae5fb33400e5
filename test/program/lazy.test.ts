// Provider SDKs are loaded lazily: a DigitalOcean stack never loads @pulumi/aws, @pulumi/gcp or
// @pulumi/openstack (each costs 0.1-0.2 s and 5-20 MB at every `pulumi up`). Own file = own process.
import { it, expect } from "vitest";
import { createRequire } from "module";
import { runProgram } from "./harness";
import { STACKS } from "./fixtures";

const loaded = (pkg: string) => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes(`/node_modules/${pkg}/`));

it("a DigitalOcean stack loads only the DigitalOcean SDK", async () => {
  expect(loaded("@pulumi/digitalocean")).toBe(false);
  const r = await runProgram(STACKS.digitalocean);
  expect(r.resources.some((x) => x.type === "digitalocean:index/droplet:Droplet")).toBe(true);
  expect(loaded("@pulumi/digitalocean")).toBe(true);
  expect(loaded("@pulumi/aws")).toBe(false);
  expect(loaded("@pulumi/gcp")).toBe(false);
  expect(loaded("@pulumi/openstack")).toBe(false);
});

it("a bare-metal stack loads no cloud SDK at all", async () => {
  await runProgram(STACKS.baremetal);
  expect(loaded("@pulumi/aws")).toBe(false);
  expect(loaded("@pulumi/gcp")).toBe(false);
  expect(loaded("@pulumi/openstack")).toBe(false);
});
