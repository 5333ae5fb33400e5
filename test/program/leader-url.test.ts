// mesosUrl works whichever master leads: on every cloud each master has a public address known before its
// user-data is rendered (AWS Elastic IP, GCP static external address, OpenStack floating IP, all reserved
// before the instance and associated to it; DigitalOcean: the droplet's own address, the SSH bootstrap runs
// after the droplet exists). The master advertises it (Mesos --hostname), so a follower's UI and /redirect
// send the browser to the leader's public address. Checked in what each master receives, under mocks.
import { X509Certificate } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { describe, expect, it, beforeAll } from "vitest";
import { STACKS } from "./fixtures";
import { diffRuns, runProgram, type RunResult } from "./harness";
import { fakeIp, reveal } from "./mocks";
import { bootUnpacked, gcpBootText } from "../fixtures/boot-text";

const of = (r: RunResult, type: string) => r.resources.filter((x) => x.type === type);
const one = (r: RunResult, type: string, name: string) => {
  const found = r.resources.find((x) => x.type === type && x.name === name);
  if (!found) throw new Error(`no ${type} named ${name}`);
  return found;
};
const MASTERS = ["prod-m1", "prod-m2", "prod-m3"];

/** Every --hostname= value in a node's user-data, and the IP SANs of the node certificate it carries. */
function advertised(text: string): { hostnames: string[]; sans: string } {
  const hostnames = [...text.matchAll(/--hostname=([0-9.]+)/g)].map((m) => m[1]);
  const pems = [...text.matchAll(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)];
  // A plain-file piece's PEM is indented in the YAML text itself (AWS's form): the lines' own indentation goes.
  const certs = pems.map((m) => new X509Certificate(m[0].replace(/^[ \t]+/gm, "")));
  const leaf = certs.find((c) => !c.ca);
  return { hostnames: [...new Set(hostnames)], sans: leaf?.subjectAltName ?? "" };
}

const withGeneral = (stack: Record<string, unknown>, general: number) => ({
  ...stack,
  agentPools: [
    { name: "general", count: general, size: "m6i.xlarge" },
    { name: "gpu", count: 1, size: "g5.xlarge", resources: { gpus: 1 } },
  ],
});

interface Cloud {
  provider: "aws" | "gcp" | "openstack";
  /** The reserved address resources and their associations (none: the address is set on the instance). */
  address: string;
  association?: string;
  instance: string;
  userData(inputs: any): string;
  /** Where agent pools are groups: the type of a pool's template and its boot text. */
  groups?: { template: string; userData(inputs: any): string };
  /** The address each master's reservation resolves to under the mocks (mocks.ts: from its resource name). */
  reserved(master: string): string;
  /** Asserts the reservation is bound to the master's instance (or port). */
  bound(r: RunResult, master: string): void;
}

const CLOUDS: Cloud[] = [
  {
    provider: "aws",
    address: "aws:ec2/eip:Eip",
    association: "aws:ec2/eipAssociation:EipAssociation",
    instance: "aws:ec2/instance:Instance",
    userData: (i) => gunzipSync(Buffer.from(reveal(i.userDataBase64), "base64")).toString(),
    reserved: (m) => fakeIp("198.18.0", `${m}-eip`),
    bound: (r, m) => {
      const eip = one(r, "aws:ec2/eip:Eip", `${m}-eip`);
      expect(eip.inputs.domain).toBe("vpc");
      expect(one(r, "aws:ec2/eipAssociation:EipAssociation", `${m}-eip-assoc`).inputs).toMatchObject({
        allocationId: `eipalloc-${m}-eip`, instanceId: `${m}-id`,
      });
    },
  },
  {
    provider: "gcp",
    address: "gcp:compute/address:Address",
    instance: "gcp:compute/instance:Instance",
    userData: (i) => gcpBootText(reveal(i.metadata)),
    groups: { template: "gcp:compute/instanceTemplate:InstanceTemplate",
      userData: (t) => gcpBootText(reveal(t.metadata)) },
    reserved: (m) => fakeIp("198.18.0", `${m}-ip`),
    bound: (r, m) => {
      expect(one(r, "gcp:compute/address:Address", `${m}-ip`).inputs)
        .toMatchObject({ addressType: "EXTERNAL", region: "europe-west1", name: `${m}-ip` });
      const nic = one(r, "gcp:compute/instance:Instance", m).inputs.networkInterfaces[0];
      expect(nic.accessConfigs).toEqual([{ natIp: fakeIp("198.18.0", `${m}-ip`) }]);
    },
  },
  {
    provider: "openstack",
    address: "openstack:networking/floatingIp:FloatingIp",
    association: "openstack:networking/floatingIpAssociate:FloatingIpAssociate",
    instance: "openstack:compute/instance:Instance",
    userData: (i) => reveal(i.userData),
    reserved: (m) => fakeIp("192.0.2", `${m}-fip`),
    bound: (r, m) => {
      const fip = one(r, "openstack:networking/floatingIp:FloatingIp", `${m}-fip`);
      // Allocated apart from the port (before the instance), associated after.
      expect(fip.inputs).toMatchObject({ pool: "public" });
      expect(fip.inputs.portId).toBeUndefined();
      const assoc = one(r, "openstack:networking/floatingIpAssociate:FloatingIpAssociate", `${m}-fip`);
      expect(assoc.inputs).toMatchObject({ portId: `${m}-port-id`, floatingIp: fakeIp("192.0.2", `${m}-fip`) });
      expect(assoc.dependencies.some((u) => u.endsWith(`openstack:compute/instance:Instance::${m}`))).toBe(true);
    },
  },
];

describe.each(CLOUDS)("$provider: each master's public address is reserved before it and advertised by it", (cloud) => {
  let base: RunResult;
  beforeAll(async () => {
    base = await runProgram(withGeneral(STACKS[cloud.provider], 3));
  });

  it("one reserved address per master, bound to that master, none for agents; all distinct", () => {
    // (GCP also reserves each master's private address: an INTERNAL address, cloud-machines.test.ts.)
    // (AWS's NAT gateways have Elastic IPs of their own, <cluster>-nat-eip-<zone>: providers/aws/network.ts.)
    const masterAddresses = of(base, cloud.address).filter((x) => x.inputs.addressType !== "INTERNAL"
      && !x.name.includes("-nat-eip-"));
    expect(masterAddresses.length).toBe(3);
    if (cloud.association) expect(of(base, cloud.association).length).toBe(3);
    for (const m of MASTERS) cloud.bound(base, m);
    const ips = MASTERS.map((m) => cloud.reserved(m));
    expect(new Set(ips).size).toBe(3);
    // Not the instance's launch address (the mocks answer those from 203.0.113.0/24).
    for (const ip of ips) expect(ip).not.toMatch(/^203\.0\.113\./);
  });

  it("each master's user-data advertises its own reserved address (--hostname) and its certificate names it", () => {
    MASTERS.forEach((m, k) => {
      const text = bootUnpacked(cloud.userData(one(base, cloud.instance, m).inputs));
      const ip = cloud.reserved(m);
      const privateIp = base.outputs.masters[k].privateIp;
      expect(privateIp).toMatch(/^10\.20\.\d+\.1\d$/); // its planned address
      const { hostnames, sans } = advertised(text);
      expect(hostnames, m).toEqual([ip]);
      // Peers and agents: the private network.
      expect(text.includes(`--advertise_ip=${privateIp}`), `${m}: --advertise_ip=${privateIp}`).toBe(true);
      expect(sans, m).toBe(`DNS:${m}, IP Address:${privateIp}, IP Address:${ip}`);
      // No other master's public address reaches this master's scripts.
      for (const other of MASTERS.filter((x) => x !== m)) {
        expect(text.includes(cloud.reserved(other)), `${m} names ${other}`).toBe(false);
      }
    });
  });

  it("agents' user-data names no master's public address", () => {
    const groups = cloud.groups;
    const agents = [...of(base, cloud.instance).filter((x) => !MASTERS.includes(x.name))
      .map((a) => ({ name: a.name, boot: cloud.userData(a.inputs) })),
    ...(groups ? of(base, groups.template).map((t) => ({ name: t.name, boot: groups.userData(t.inputs) })) : [])];
    if (groups) expect(agents.length).toBeGreaterThan(0);
    for (const a of agents) {
      const text = bootUnpacked(a.boot);
      for (const m of MASTERS) expect(text.includes(cloud.reserved(m)), `${a.name} names ${m}`).toBe(false);
    }
  });

  it("mesosUrl is the first master's reserved address, mesosUrls every master's, and the readiness uses them", () => {
    const ips = MASTERS.map((m) => cloud.reserved(m));
    expect(base.outputs.mesosUrl).toMatch(new RegExp(`^https://${ips[0].replace(/\./g, "\\.")}:5050$`));
    const scheme = base.outputs.mesosUrl.split("://")[0];
    expect(base.outputs.mesosUrls).toEqual(ips.map((ip) => `${scheme}://${ip}:5050`));
    expect(base.outputs.masters.map((m: any) => m.publicIp)).toEqual(ips);
    const ready = of(base, "pulumi-nodejs:dynamic/elastic-mesos/health:Readiness")[0].inputs;
    expect(ready.masters.map((m: any) => m.connection.host)).toEqual(ips);
  });

  it("scaling agents up or down touches no master, no reserved address and no association", async () => {
    for (const general of [5, 1]) {
      const d = diffRuns(base, await runProgram(withGeneral(STACKS[cloud.provider], general)));
      const touched = [...d.added, ...d.removed, ...d.changed.map((c) => c.key)];
      const types = [cloud.address, ...(cloud.association ? [cloud.association] : [])];
      const reservation = (k: string) => types.some((t) => k.startsWith(`${t}::`));
      const masterly = touched.filter((k) => reservation(k) || MASTERS.some((m) => k === `${cloud.instance}::${m}`));
      expect(masterly, `general=${general}`).toEqual([]);
      expect(touched.length).toBeGreaterThan(0); // the change did register
    }
  });
});

describe("digitalocean (SSH delivery): the droplet's own public address", () => {
  const HOST = "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host";
  it("every host's masters list carries each master's public address; mesosUrl and mesosUrls use them", async () => {
    const r = await runProgram(STACKS.digitalocean);
    const droplets = MASTERS.map((m) => r.outputs.masters.find((x: any) => x.hostname === m));
    expect(droplets.every((d: any) => /^198\.51\.100\.\d+$/.test(d.publicIp))).toBe(true);
    for (const h of of(r, HOST)) {
      const spec = h.inputs.spec;
      expect(spec.masters.map((m: any) => m.publicAddress), h.name).toEqual(droplets.map((d: any) => d.publicIp));
      expect(spec.masters.map((m: any) => m.ip), h.name).toEqual(droplets.map((d: any) => d.privateIp));
    }
    const scheme = r.outputs.mesosUrl.split("://")[0];
    expect(r.outputs.mesosUrl).toBe(`${scheme}://${droplets[0].publicIp}:5050`);
    expect(r.outputs.mesosUrls).toEqual(droplets.map((d: any) => `${scheme}://${d.publicIp}:5050`));
  });

  it("bare metal: a host's address is what admins reach, so no public address is added", async () => {
    const r = await runProgram(STACKS.baremetal);
    for (const h of of(r, HOST)) for (const m of h.inputs.spec.masters) expect(m.publicAddress, h.name).toBeUndefined();
    expect(r.outputs.mesosUrls).toEqual(["10.77.0.11", "10.77.0.12", "10.77.0.13"].map((ip) => `https://${ip}:5050`));
  });
});
