// The local provider's pure decisions (provisioning/local/plan.ts, shell.ts): which changes replace a machine or
// network, which are rewritten in place, the public key root accepts, how the shell is called and read.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { utils } from "ssh2";
import {
  LOCAL_IMAGE_PACKAGES, imageDiff, machineDiff, machineProblems, networkDiff, publicKeyOf,
} from "../../provisioning/local/plan";
import { failureMessage, localCommand, parseResult } from "../../provisioning/local/shell";
import type { MachineInputs, NetworkInputs } from "../../provisioning/local/types";

const machine: MachineInputs = {
  cluster: "demo", name: "demo-m1", stateDir: "/var/lib/elastic-mesos/local", bridge: "em-demo", cidr: "10.78.0.0/24",
  gateway: "10.78.0.1", image: "/var/cache/elastic-mesos/images/debian-bookworm-aaaa", egress: "nat",
  authorizedKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ6u0nsdaHPPz0zi/qkYI7dWcbR2jAGs7Rjy5Vd0dGl4",
};
const network: NetworkInputs = { bridge: "em-demo", cidr: "10.78.0.0/24", egress: "nat", stateDir: "/s", cluster: "demo" };

describe("local machine diff", () => {
  it("is no change for the same inputs on a running machine", () => {
    expect(machineDiff(machine, { ...machine }, true)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: true });
  });
  it("replaces on another bridge, cidr, state dir, cluster or name", () => {
    for (const [k, v] of [["bridge", "em-x"], ["cidr", "10.9.0.0/24"], ["stateDir", "/x"], ["cluster", "c"], ["name", "n"]]) {
      const d = machineDiff(machine, { ...machine, [k]: v }, true);
      expect(d.replaces, k).toEqual([k]);
      expect(d.changes).toBe(true);
    }
  });
  it("updates in place for egress, apt proxy or gateway", () => {
    const d = machineDiff(machine, { ...machine, egress: "proxy", aptProxy: "http://10.77.0.1:3142" }, true);
    expect(d).toMatchObject({ changes: true, replaces: [] });
  });
  it("updates in place, never replaces, when the read-only paths (an offline bundle) change; refuses relative ones", () => {
    expect(machineDiff(machine, { ...machine, bindReadOnly: ["/srv/bundle"] }, true)).toMatchObject({ changes: true, replaces: [] });
    expect(machineDiff({ ...machine, bindReadOnly: ["/srv/bundle"] }, { ...machine, bindReadOnly: ["/srv/bundle"] }, true).changes).toBe(false);
    expect(machineProblems({ ...machine, bindReadOnly: ["srv/bundle"] })).toEqual(["read-only bind 'srv/bundle' must be an absolute path without \"..\""]);
    expect(machineProblems({ ...machine, bindReadOnly: ["/srv/../etc"] })).toHaveLength(1);
  });
  it("ignores a new image or authorized key (only new machines take them)", () => {
    expect(machineDiff(machine, { ...machine, image: "/other", authorizedKey: "ssh-ed25519 BBBB" }, true).changes).toBe(false);
  });
  it("shows a machine that stopped as an update (which starts it)", () => {
    expect(machineDiff(machine, machine, false)).toMatchObject({ changes: true, replaces: [] });
  });
});

describe("local network and image diff", () => {
  it("network: bridge/cidr replace, egress updates, a missing bridge or table updates", () => {
    expect(networkDiff(network, { ...network, cidr: "10.1.0.0/24" }, true).replaces).toEqual(["cidr"]);
    expect(networkDiff(network, { ...network, egress: "proxy" }, true)).toMatchObject({ changes: true, replaces: [] });
    expect(networkDiff(network, network, false)).toMatchObject({ changes: true, replaces: [] });
    expect(networkDiff(network, network, true).changes).toBe(false);
  });
  it("image: other packages are another image (created before the old is dropped); the proxy is bookkeeping", () => {
    const img = { cacheDir: "/c", suite: "bookworm", debianMirror: "http://deb.debian.org/debian", packages: ["a"] };
    expect(imageDiff(img, { ...img, packages: ["a", "b"] }, true)).toEqual({ changes: true, replaces: ["packages"], deleteBeforeReplace: false });
    expect(imageDiff(img, { ...img, aptProxy: "http://p:3142" }, true)).toMatchObject({ changes: true, replaces: [] });
    expect(imageDiff(img, img, false)).toMatchObject({ changes: true, replaces: [] });
  });
  it("bakes ZooKeeper's JRE and what boots a machine into the image", () => {
    expect(LOCAL_IMAGE_PACKAGES).toEqual(expect.arrayContaining(["openjdk-17-jre-headless", "systemd", "openssh-server"]));
  });
});

describe("authorized key", () => {
  it("is the public half of the private key, as ssh2 reads it back", () => {
    const dir = mkdtempSync(join(tmpdir(), "em-key-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "k")]);
    const privateKey = readFileSync(join(dir, "k"), "utf8");
    const line = publicKeyOf(privateKey);
    expect(line).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+$/);
    const parsed = utils.parseKey(line) as any;
    const priv = utils.parseKey(privateKey) as any;
    expect(Buffer.compare(parsed.getPublicSSH(), priv.getPublicSSH())).toBe(0);
    expect(line).not.toContain("PRIVATE");
    expect(line).toBe(readFileSync(join(dir, "k.pub"), "utf8").split(" ").slice(0, 2).join(" "));
    expect(machineProblems({ ...machine, authorizedKey: line })).toEqual([]);
  });
  it("refuses a public key as the private one, garbage, and never echoes the input", () => {
    expect(() => publicKeyOf(machine.authorizedKey)).toThrow(/holds a public key/);
    let msg = "";
    try { publicKeyOf("-----BEGIN OPENSSH PRIVATE KEY-----\nsecretstuff\n-----END OPENSSH PRIVATE KEY-----"); } catch (e) { msg = (e as Error).message; }
    expect(msg).toMatch(/sshPrivateKey/);
    expect(msg).not.toContain("secretstuff");
  });
  it("check refuses a private key as authorizedKey, proxy egress without a proxy, a bad name", () => {
    expect(machineProblems({ ...machine, authorizedKey: "-----BEGIN OPENSSH PRIVATE KEY-----x" })[0]).toMatch(/private key must not be an input/);
    expect(machineProblems({ ...machine, egress: "proxy" })[0]).toMatch(/aptProxy/);
    expect(machineProblems({ ...machine, name: "Bad_Name" })[0]).toMatch(/DNS label/);
  });
});

describe("local.sh invocation", () => {
  it("runs as root directly, else through sudo -n, with an optional prefix (ip netns exec)", () => {
    expect(localCommand("machine-status", 0, [], "/r/local.sh")).toEqual(["bash", "/r/local.sh", "machine-status"]);
    expect(localCommand("machine-status", 1000, [], "/r/local.sh")).toEqual(["sudo", "-n", "bash", "/r/local.sh", "machine-status"]);
    expect(localCommand("network-create", 0, ["ip", "netns", "exec", "t"], "/r/l.sh")).toEqual(["ip", "netns", "exec", "t", "bash", "/r/l.sh", "network-create"]);
  });
  it("reads the last JSON line of stdout", () => {
    expect(parseResult('noise\n{"ip":"10.0.0.11"}\n')).toEqual({ ip: "10.0.0.11" });
    expect(parseResult("")).toBeUndefined();
    expect(parseResult("[1]")).toBeUndefined();
    expect(parseResult("{broken")).toBeUndefined();
  });
  it("names the resource and verb, and ends with the tail of stderr; says how to get root", () => {
    const m = failureMessage("machine demo-m1", "machine-create", "exit 1", "a\nlocal machine-create: ERROR: no free address\n");
    expect(m).toBe("local machine demo-m1: machine-create failed (exit 1)\na\nlocal machine-create: ERROR: no free address");
    expect(failureMessage("x", "image-ensure", "exit 1", "sudo: a password is required\n")).toMatch(/password-less sudo/);
  });
});
