// Pulumi mocks for the whole program: record every registration and fabricate the outputs our code reads
// (addresses, ids, key names), deterministically from the resource name, so two runs can be compared.
import { createHash } from "crypto";
import type * as pulumi from "@pulumi/pulumi";

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
  custom: boolean;
  /** `${type}::${name}`: unique within one run. */
  key: string;
  /** URNs this resource depends on (dependsOn, expanded for components, plus its inputs' resources). */
  dependencies: string[];
  /** Its aliases' names (or URNs), from the registration request. */
  aliases?: string[];
  /** Its ignoreChanges property paths, from the registration request (what the engine is told). */
  ignoreChanges?: string[];
  /** Its customTimeouts ("" where not set), from the registration request. */
  customTimeouts?: { create: string; update: string; delete: string };
  /** The URN of its deletedWith resource, from the registration request. */
  deletedWith?: string;
  /** Its deleteBeforeReplace option, from the registration request. */
  deleteBeforeReplace?: boolean;
  /** The id its `import` option names, from the registration request (absent: none). */
  importId?: string;
}

/** Secret inputs reach the mocks wrapped in this sentinel (setMocks turns on supportsSecrets). */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const isSecretInput = (v: unknown): boolean =>
  !!v && typeof v === "object" && (v as any)[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270";
export const reveal = (v: any): any => (isSecretInput(v) ? v.value : v);

/** Stable fake address from a name (FNV-1a), inside `prefix` (e.g. "198.51.100"). */
export function fakeIp(prefix: string, name: string): string {
  let h = 0x811c9dc5;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return `${prefix}.${(h % 250) + 2}`;
}

function fabricate(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
  switch (type) {
    case "aws:ec2/instance:Instance":
      return { privateIp: inputs.privateIp ?? fakeIp("10.20.9", name), publicIp: fakeIp("203.0.113", name) };
    case "aws:ec2/eip:Eip":
      return { publicIp: fakeIp("198.18.0", name), allocationId: `eipalloc-${name}` };
    case "gcp:compute/address:Address":
      // An INTERNAL address asks for its planned value; an EXTERNAL one gets one from GCE.
      return { address: inputs.address ?? fakeIp("198.18.0", name) };
    case "aws:ec2/keyPair:KeyPair":
      return { keyName: inputs.keyName ?? `${name}-key` };
    case "aws:ec2/launchTemplate:LaunchTemplate": {
      // EC2 makes a new version on every change of the template: a number from the inputs' hash stands in.
      const hash = createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
      return { latestVersion: parseInt(hash.slice(0, 6), 16) };
    }
    case "aws:autoscaling/group:Group":
      return { name: inputs.name ?? `${name}-asg`, arn: `arn:aws:autoscaling:mock:${name}` };
    case "gcp:compute/instance:Instance": {
      const nic = inputs.networkInterfaces?.[0] ?? {};
      // A reserved address given as natIp is the instance's; otherwise GCE picks an ephemeral one.
      const natIp = nic.accessConfigs?.[0]?.natIp || fakeIp("203.0.113", name);
      return { networkInterfaces: [{ ...nic, networkIp: nic.networkIp ?? fakeIp("10.20.9", name), accessConfigs: [{ natIp }] }] };
    }
    case "digitalocean:index/droplet:Droplet":
      return { ipv4Address: fakeIp("198.51.100", name), ipv4AddressPrivate: fakeIp("10.20.9", name) };
    case "digitalocean:index/sshKey:SshKey":
      return { fingerprint: `fp:${name}` };
    case "openstack:networking/port:Port":
      return { allFixedIps: [inputs.fixedIps?.[0]?.ipAddress ?? fakeIp("10.20.9", name)] };
    case "openstack:networking/floatingIp:FloatingIp":
      return { address: fakeIp("192.0.2", name) };
    case "openstack:compute/keypair:Keypair":
      return { name: inputs.name };
    case "gcp:compute/instanceTemplate:InstanceTemplate": {
      // GCE templates are immutable: a change is a new template (its name from namePrefix), with a new unique id.
      const id = createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 12);
      const tname = `${inputs.namePrefix ?? ""}${id}`;
      const link = `https://www.googleapis.com/compute/v1/projects/mock/global/instanceTemplates/${tname}`;
      return { name: tname, selfLink: link, selfLinkUnique: `${link}?uniqueId=${parseInt(id, 16)}` };
    }
    case "gcp:compute/router:Router":
      return { name: inputs.name ?? name }; // Pulumi's auto-name stands in as the resource name
    case "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host": {
      // What the provider records after running the steps: a hash per step. The provider renders the steps
      // from the inputs, so a hash of the inputs stands in (same inputs, same hashes; any change, new ones).
      const { __provider, ...rest } = inputs;
      const h = (step: string) => createHash("sha256").update(`${step}\0${JSON.stringify(rest)}`).digest("hex");
      void __provider;
      return { stepHashes: { install: h("install"), zookeeper: h("zookeeper"), mesos: h("mesos") } };
    }
    case "pulumi-nodejs:dynamic/elastic-mesos/local:Image":
      return { path: `${inputs.cacheDir}/base-mock`, key: "mock" };
    case "pulumi-nodejs:dynamic/elastic-mesos/local:Network":
      return { gateway: `${String(inputs.cidr).split(".").slice(0, 3).join(".")}.1` };
    case "pulumi-nodejs:dynamic/elastic-mesos/local:Machine": {
      // The machine script allocates the address and makes the host keys; a name's hash stands in for both.
      const fingerprint = `SHA256:${createHash("sha256").update(name).digest("base64").replace(/=+$/, "")}`;
      return { ip: fakeIp(String(inputs.cidr).split(".").slice(0, 3).join("."), name),
        hostKey: { type: "ssh-ed25519", publicKey: `ssh-ed25519 AAAA${name}`, fingerprint } };
    }
    default:
      return {};
  }
}

export interface MockOptions {
  /** Delays the engine's answer for a resource (as a long create would) until the promise settles. */
  hold?: (type: string, name: string) => Promise<void> | undefined;
  /** The image id the AWS AMI lookup answers (default "ami-0mock"): a newer image published since. */
  amiId?: string;
  /** The SSH keys of the DigitalOcean account (getSshKeys answers those its filters match; default none). */
  doSshKeys?: { id: number; name: string; fingerprint: string; publicKey: string }[];
  /** The ids the cloud gives resources, by name (default "<name>-id"): a server made anew has another. */
  ids?: Record<string, string>;
  /** Outputs a resource's provider would add, by type: the masters pin's check records `departing` (membership/pin.ts). */
  outputs?: Record<string, Record<string, unknown>>;
}

export function recordingMocks(opts: MockOptions = {}): { mocks: pulumi.runtime.Mocks; registered: Registered[] } {
  const registered: Registered[] = [];
  const mocks: pulumi.runtime.Mocks = {
    newResource(args) {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs, custom: !!args.custom, key: `${args.type}::${args.name}`, dependencies: [] });
      const id = opts.ids?.[args.name] ?? `${args.name}-id`;
      const result = { id, state: { ...args.inputs, ...fabricate(args.type, args.name, args.inputs), ...opts.outputs?.[args.type] } };
      const held = opts.hold?.(args.type, args.name);
      return held ? held.then(() => result) : result;
    },
    call(args) {
      switch (args.token) {
        case "aws:ec2/getAmi:getAmi":
          return { id: opts.amiId ?? "ami-0mock", imageId: opts.amiId ?? "ami-0mock",
            name: args.inputs.filters?.[0]?.values?.[0], rootDeviceName: "/dev/xvda" };
        case "digitalocean:index/getSshKeys:getSshKeys": {
          // As the data source filters: a key matches when its field (name, fingerprint, publicKey) is one of the values.
          const filters: { key: string; values: string[] }[] = args.inputs.filters ?? [];
          const sshKeys = (opts.doSshKeys ?? []).filter((k: any) => filters.every((f) => f.values.includes(k[f.key])));
          return { id: "ssh-keys", filters, sshKeys };
        }
        case "openstack:networking/getNetwork:getNetwork":
          return { id: "ext-net-id", name: args.inputs.name };
        case "openstack:images/getImage:getImage": {
          // Glance's newest image of a name, or of the os_distro/os_version properties.
          const p = args.inputs.properties;
          return { id: `img-${args.inputs.name ?? `${p?.os_distro}-${p?.os_version}`}`, name: args.inputs.name };
        }
        default:
          throw new Error(`unmocked invoke ${args.token}: add it to test/program/mocks.ts`);
      }
    },
  };
  return { mocks, registered };
}
