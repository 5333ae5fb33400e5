// The account SSH key the droplets (and the pools' droplets) are made with. DigitalOcean refuses a second key
// with the same fingerprint (422 "SSH Key is already in use on your account"), and accounts usually hold the
// admin's key already: look it up by fingerprint first (getSshKeys, filter key "fingerprint") and create it
// only when it is absent.
// - absent: this stack creates `<cluster>-key` and `pulumi destroy` deletes it;
// - present under this stack's name `<cluster>-key`: the stack's own (created by an earlier `up`), kept under
//   management with the `import` option, which the engine treats as a no-op when the stack already holds that id
//   (and which adopts a key a lost stack left behind instead of failing with 422);
// - present under another name: someone else's; referenced by fingerprint, never managed, so never deleted.
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { resourceName } from "../../naming";
import { doSdk } from "./sdk";

/**
 * Pure: DigitalOcean's fingerprint of an OpenSSH public key line: MD5 of the key blob, lower-case hex pairs
 * joined by colons ("3b:16:bf:...", the form its API and getSshKeys filter on).
 */
export function doFingerprint(publicKey: string): string {
  const [type, blob = ""] = publicKey.trim().split(/\s+/);
  const raw = Buffer.from(blob, "base64");
  // The blob starts with its own type, length-prefixed: a line whose second field is not a key blob is refused.
  const named = raw.length > 4 ? raw.subarray(4, 4 + raw.readUInt32BE(0)).toString("latin1") : "";
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob) || named !== type) {
    throw new Error("ssh.publicKey: not an OpenSSH public key line");
  }
  return createHash("md5").update(raw).digest("hex").match(/../g)!.join(":");
}

/** One key of the account as getSshKeys returns it. */
export interface AccountKey {
  id: number;
  name: string;
  fingerprint: string;
  publicKey: string;
}

/** Pure: what to do with the account's key of this fingerprint (see the file comment). */
export function keyPlan(found: AccountKey | undefined, ownName: string): "create" | "manage" | "reuse" {
  if (!found) return "create";
  return found.name === ownName ? "manage" : "reuse";
}

/** The key's fingerprint, for droplets and pool templates (an Output that carries the key resource, if any). */
export function accountSshKey(cluster: string, publicKey: string,
  opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
  const fingerprint = doFingerprint(publicKey);
  const name = resourceName(cluster, "key");
  const { getSshKeysOutput } = doSdk.getSshKeys();
  const found = getSshKeysOutput({ filters: [{ key: "fingerprint", values: [fingerprint] }] },
    { parent: opts.parent, provider: opts.provider });
  return found.apply(({ sshKeys }) => {
    const key = sshKeys.find((k) => k.fingerprint === fingerprint);
    const plan = keyPlan(key, name);
    if (plan === "reuse") {
      void pulumi.log.info(`ssh.publicKey is already in this DigitalOcean account as "${key!.name}" ` +
        `(${fingerprint}): the droplets use that key; this stack neither changes nor deletes it`, opts.parent);
      return pulumi.output(fingerprint);
    }
    // The account's text of the key when it is there (same fingerprint; a comment may differ): no diff, no import
    // error (the provider's state holds what the account returns).
    const created = new (doSdk.SshKey())(name, { name, publicKey: key?.publicKey ?? publicKey },
      { ...opts, ...(plan === "manage" ? { import: String(key!.id) } : {}) });
    return created.fingerprint;
  });
}
