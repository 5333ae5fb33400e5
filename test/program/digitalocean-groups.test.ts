// DigitalOcean under mocks (issue 12). The account's SSH key is looked up by fingerprint (getSshKeys, filter key
// "fingerprint", as @pulumi/digitalocean 4.80.1 getSshKeys.d.ts documents it) and created only when absent:
// DigitalOcean refuses a second key of one fingerprint with 422 "SSH Key is already in use on your account".
import { describe, expect, it, beforeAll } from "vitest";
import { runProgram, diffRuns, type RunResult } from "./harness";
import type { Registered } from "./mocks";
import { STACKS, SSH_PUB } from "./fixtures";
import { doFingerprint, keyPlan } from "../../components/providers/digitalocean/ssh-key";

const DROPLET = "digitalocean:index/droplet:Droplet";
const KEY = "digitalocean:index/sshKey:SshKey";
const of = (r: RunResult, type: string) => r.resources.filter((x) => x.type === type);
const one = (r: RunResult, type: string, name: string) => r.resources.find((x) => x.type === type && x.name === name)!;
const dependsOn = (r: Registered, type: string, name: string) => r.dependencies.some((u) => u.endsWith(`${type}::${name}`));

/** ssh-keygen -l -E md5 of SSH_PUB (and of an RSA key), computed outside this code. */
const SSH_PUB_MD5 = "9d:76:88:6c:99:d0:95:23:35:f9:a2:21:3d:8d:a0:15";
const RSA_PUB = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDoeU4Svtw2O5uqPaqPSRAHVsz/jmwR+fJCZCfE85KMTwYVrnt4VtUA6Pn8xiHzcw/0MNtTRCPtOD" +
  "voZMgol5n0UkCcMVmj7FvgLA8wPdsn9+fQBgja8LCjxwYhhwUdeIqvHqgAMCZmmxW+Mfuw+O1O5uCyQttDfGA4HB5RDlrP5N98jEXrzhfAeY44dyDWgn9UMS/" +
  "4WxoLCrJusfkUNUPMdS8pcYUmhpkXWV+JRJHtiLTr2aQp7A9PRxOOaIDojAEVuwbeogPckw+EFvtGdtgYuKejUkbchCuO1jlt62S3GH7Rke8Wd0j+zh8Tm+4xBziDJt" +
  "34aZVRh5QMMImfoTCz x";
const RSA_PUB_MD5 = "cd:e2:5c:f2:ea:b0:de:85:4c:6c:6e:c9:b8:08:6a:80";

const STACK = STACKS.digitalocean;

describe("digitalocean SSH key: DigitalOcean's MD5 fingerprint", () => {
  it("is ssh-keygen -E md5's, for ed25519 and RSA keys, whatever the comment", () => {
    expect(doFingerprint(SSH_PUB)).toBe(SSH_PUB_MD5);
    expect(doFingerprint(RSA_PUB)).toBe(RSA_PUB_MD5);
    expect(doFingerprint(SSH_PUB.replace("admin@example", "someone-else"))).toBe(SSH_PUB_MD5);
    expect(() => doFingerprint("not a key")).toThrow(/ssh.publicKey/);
    expect(() => doFingerprint(`ssh-rsa ${SSH_PUB.split(" ")[1]}`)).toThrow(/ssh.publicKey/);
  });

  it("plan: absent → create; the stack's own name → manage; another name → reuse", () => {
    const k = { id: 7, fingerprint: SSH_PUB_MD5, publicKey: SSH_PUB };
    expect(keyPlan(undefined, "prod-key")).toBe("create");
    expect(keyPlan({ ...k, name: "prod-key" }, "prod-key")).toBe("manage");
    expect(keyPlan({ ...k, name: "laptop" }, "prod-key")).toBe("reuse");
  });
});

describe("digitalocean: no key of that fingerprint in the account", () => {
  let r: RunResult;
  beforeAll(async () => {
    r = await runProgram(STACK);
  });

  it("created as <cluster>-key, without import; every droplet uses its fingerprint", () => {
    const key = one(r, KEY, "prod-key");
    expect(key.inputs).toEqual({ name: "prod-key", publicKey: SSH_PUB });
    expect(key.importId).toBeUndefined();
    for (const d of of(r, DROPLET)) {
      expect(d.inputs.sshKeys).toEqual(["fp:prod-key"]); // the mock's fingerprint output of the created key
      expect(dependsOn(d, KEY, "prod-key")).toBe(true);
    }
  });

  it("a no-change run changes nothing", async () => {
    expect(diffRuns(r, await runProgram(STACK))).toEqual({ added: [], removed: [], changed: [] });
  });
});

describe("digitalocean: an SSH key already in the account (getSshKeys, filter by fingerprint)", () => {
  const account = (name: string) => [
    { id: 41, name: "someone-elses", fingerprint: RSA_PUB_MD5, publicKey: RSA_PUB },
    { id: 42, name, fingerprint: SSH_PUB_MD5, publicKey: SSH_PUB },
  ];

  it("under another name: reused by fingerprint, no SshKey resource (never created, never deleted)", async () => {
    const r = await runProgram(STACK, { doSshKeys: account("laptop") });
    expect(of(r, KEY)).toEqual([]);
    for (const d of of(r, DROPLET)) expect(d.inputs.sshKeys).toEqual([SSH_PUB_MD5]);
  });

  it("under the stack's own name (an earlier up made it): kept under management with import of its id", async () => {
    const r = await runProgram(STACK, { doSshKeys: account("prod-key") });
    const key = one(r, KEY, "prod-key");
    expect(key.importId).toBe("42");
    expect(key.inputs).toEqual({ name: "prod-key", publicKey: SSH_PUB });
    // The same resource, same inputs as the run that created it: no change for the engine.
    expect(diffRuns(await runProgram(STACK), r)).toEqual({ added: [], removed: [], changed: [] });
  });

  it("another key of the account does not count: only the fingerprint of ssh.publicKey", async () => {
    const r = await runProgram(STACK, { doSshKeys: account("laptop").slice(0, 1) });
    expect(one(r, KEY, "prod-key").importId).toBeUndefined();
  });
});
