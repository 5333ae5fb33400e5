// A master's public address (BootstrapInput.masters publicAddress): Mesos advertises it (--hostname), so a
// follower's UI and /redirect send the browser to the leader's reachable address; peers and agents keep the
// private one (--ip, --advertise_ip, ZooKeeper); Marathon keeps its private --hostname (standbys proxy to the
// leader through it); the master's certificate names the public address too, so a browser trusting the
// cluster CA accepts it.
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hostTls } from "../../provisioning/baremetal/render";
import type { HostInputs } from "../../provisioning/baremetal/types";
import { renderSteps } from "../../provisioning/steps";
import { buildContext } from "../../provisioning/steps/context";
import { marathonArgs } from "../../provisioning/steps/marathon";
import { masterFlags } from "../../provisioning/steps/mesos-master";
import type { BootstrapInput } from "../../provisioning/steps/types";
import { caCertificate, nodeTls } from "../../provisioning/tls";
import { agentInput, masterInput, masterIp, SECRET } from "./bootstrap-input";

const PUBLIC = ["198.51.100.21", "198.51.100.22", "198.51.100.23"];

/** The 3-master input of master k with every master's public address. */
function withPublic(k: number): BootstrapInput {
  const i = masterInput({ masters: 3 }, k);
  return { ...i, masters: i.masters.map((m, j) => ({ ...m, publicAddress: PUBLIC[j] })) };
}

const flag = (flags: string[], name: string) => flags.filter((f) => f.startsWith(`--${name}=`));

describe("masterFlags and the master's public address", () => {
  it("without one (bare metal, local): --hostname is the private address, as before", () => {
    const flags = masterFlags(buildContext(masterInput({ masters: 3 }, 2)));
    expect(flag(flags, "hostname")).toEqual([`--hostname=${masterIp(2)}`]);
    expect(flag(flags, "ip")).toEqual([`--ip=${masterIp(2)}`]);
    expect(flag(flags, "advertise_ip")).toEqual([`--advertise_ip=${masterIp(2)}`]);
  });

  it("with one: --hostname is its own public address; --ip and --advertise_ip stay private", () => {
    for (const k of [1, 2, 3]) {
      const flags = masterFlags(buildContext(withPublic(k)));
      expect(flag(flags, "hostname")).toEqual([`--hostname=${PUBLIC[k - 1]}`]);
      expect(flag(flags, "ip")).toEqual([`--ip=${masterIp(k)}`]);
      expect(flag(flags, "advertise_ip")).toEqual([`--advertise_ip=${masterIp(k)}`]);
      expect(flags).toContain("--hostname_lookup=false");
    }
  });

  it("the rendered steps carry it once, in mesos-master's unit; Marathon stays on the private address", () => {
    const text = JSON.stringify(renderSteps(withPublic(1)));
    expect(text).toContain(`--hostname=${PUBLIC[0]}`);
    for (const other of PUBLIC.slice(1)) expect(text).not.toContain(other); // another master's address: nowhere
    expect(text.split(PUBLIC[0]).length - 1).toBe(1);
    // Marathon's standbys proxy to the leader's --hostname: the private address, reachable between masters.
    expect(marathonArgs(buildContext(withPublic(1)))).toContainEqual(["--hostname", masterIp(1)]);
    // An agent's steps do not change with the masters' public addresses.
    const agent = agentInput({ masters: 3 });
    const agentWith = { ...agent, masters: agent.masters.map((m, j) => ({ ...m, publicAddress: PUBLIC[j] })) };
    expect(JSON.stringify(renderSteps(agentWith))).toBe(JSON.stringify(renderSteps(agent)));
  });

  it("refuses a public address that is not IPv4, or one used twice, naming the master", () => {
    const bad = withPublic(1);
    bad.masters[1].publicAddress = "m2.example.com";
    expect(() => buildContext(bad)).toThrow(/master m2: public address "m2.example.com" is not an IPv4 address/);
    const twice = withPublic(1);
    twice.masters[2].publicAddress = PUBLIC[1];
    expect(() => buildContext(twice)).toThrow(/master m3: public address 198\.51\.100\.22 is used twice/);
  });
});

describe("a master certificate with its public address", () => {
  const dir = mkdtempSync(join(tmpdir(), "em-leader-url-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const verifyIp = (ca: string, cert: string, ip: string) => {
    const args = ["verify", "-CAfile", file("ca.pem", ca), "-verify_ip", ip, file("leaf.pem", cert)];
    return spawnSync("openssl", args, { encoding: "utf8" }).status;
  };

  it("names the public address as an IP SAN: openssl accepts that address and the private one, not another", () => {
    const tls = nodeTls(SECRET, "prod", { id: "m1", hostname: "prod-m1", ip: "10.0.1.11", extraIps: [PUBLIC[0]] });
    const sans = new X509Certificate(tls.cert).subjectAltName;
    expect(sans).toBe(`DNS:prod-m1, IP Address:10.0.1.11, IP Address:${PUBLIC[0]}`);
    const ca = caCertificate(SECRET, "prod");
    expect(verifyIp(ca, tls.cert, "198.51.100.21")).toBe(0);
    expect(verifyIp(ca, tls.cert, "10.0.1.11")).toBe(0);
    expect(verifyIp(ca, tls.cert, "198.51.100.22")).not.toBe(0);
  });

  it("without extraIps the certificate and key are the bytes they were (no rotation for bare metal and agents)", () => {
    const subject = { id: "m1", hostname: "prod-m1", ip: "10.0.1.11" };
    expect(nodeTls(SECRET, "prod", { ...subject, extraIps: [] })).toEqual(nodeTls(SECRET, "prod", subject));
    const withPublicIp = nodeTls(SECRET, "prod", { ...subject, extraIps: [PUBLIC[0]] });
    expect(withPublicIp.key).not.toBe(nodeTls(SECRET, "prod", subject).key);
  });

  it("refuses an extra address that is not IPv4", () => {
    expect(() => nodeTls(SECRET, "prod", { id: "m1", hostname: "prod-m1", ip: "10.0.1.11", extraIps: ["::1"] }))
      .toThrow(/node m1: public address "::1" is not an IPv4 address/);
  });

  it("hostTls (SSH delivery: DigitalOcean) names a master's own public address; an agent's names none", () => {
    const m = withPublic(2);
    const inputs = { cluster: "prod", node: m.node, selfIp: masterIp(2), masters: m.masters } as unknown as HostInputs;
    const sans = (i: HostInputs) => new X509Certificate(hostTls(SECRET, i).cert).subjectAltName;
    expect(sans(inputs)).toBe(`DNS:prod-m2, IP Address:${masterIp(2)}, IP Address:${PUBLIC[1]}`);
    const a = agentInput({ masters: 3 }, undefined, 1, "10.0.2.5");
    const agentInputs = { cluster: "prod", node: a.node, selfIp: "10.0.2.5", masters: m.masters };
    expect(sans(agentInputs as unknown as HostInputs)).toBe("DNS:prod-general-1, IP Address:10.0.2.5");
  });
});
