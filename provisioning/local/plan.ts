// Pure decisions of the local provider: what an image holds, which input changes replace a machine or a
// network and which are rewritten in place, the public key root accepts. No I/O here (unit-tested).
import { utils } from "ssh2";
import type { ImageInputs, MachineInputs, NetworkInputs } from "./types";

/**
 * Baked into the image (data). systemd + networkd + sshd boot the machine; curl, gnupg and ca-certificates are
 * what the bootstrap needs before its own repositories; openjdk-17-jre-headless is ZooKeeper's JRE, baked in
 * because installing it costs 30-60 s of CPU per machine.
 */
export const LOCAL_IMAGE_PACKAGES: readonly string[] = [
  "systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "iputils-ping", "netcat-openbsd", "procps",
  "sudo", "ca-certificates", "curl", "gnupg", "openjdk-17-jre-headless",
];
export const LOCAL_SUITE = "bookworm";
export const LOCAL_DEBIAN_MIRROR = "http://deb.debian.org/debian";


export interface Diff {
  changes: boolean;
  replaces: string[];
  deleteBeforeReplace: boolean;
}

const changed = <T extends object>(olds: Partial<T> | undefined, news: T, keys: readonly (keyof T)[]) =>
  keys.filter((k) => JSON.stringify(olds?.[k] ?? null) !== JSON.stringify(news[k] ?? null)) as string[];

/** Another address space, bridge, place or name is another machine. */
export const MACHINE_REPLACE_KEYS = ["cluster", "name", "stateDir", "bridge", "cidr"] as const;
/** Rewritten in the running machine (routes, resolv.conf, apt proxy). */
export const MACHINE_UPDATE_KEYS = ["egress", "aptProxy", "gateway", "bindReadOnly"] as const;
// image and authorizedKey: only machines created later take new ones (a machine's upper layer belongs to
// the image it was made on; its root login is the bootstrap's business from then on).

/** A machine's diff: replace keys, in-place keys, and `running` (false: it stopped, an update starts it). */
export function machineDiff(olds: Partial<MachineInputs> | undefined, news: MachineInputs, running: boolean): Diff {
  const replaces = changed(olds, news, MACHINE_REPLACE_KEYS);
  const updates = changed(olds, news, MACHINE_UPDATE_KEYS);
  return { changes: replaces.length > 0 || updates.length > 0 || !running, replaces, deleteBeforeReplace: true };
}

export const NETWORK_REPLACE_KEYS = ["bridge", "cidr", "stateDir", "cluster"] as const;

/** A network's diff: `present` false (bridge or NAT table gone, e.g. after a reboot) is an update that restores it. */
export function networkDiff(olds: Partial<NetworkInputs> | undefined, news: NetworkInputs, present: boolean): Diff {
  const replaces = changed(olds, news, NETWORK_REPLACE_KEYS);
  const egress = changed(olds, news, ["egress"] as const);
  return { changes: replaces.length > 0 || egress.length > 0 || !present, replaces, deleteBeforeReplace: true };
}

export const IMAGE_REPLACE_KEYS = ["cacheDir", "suite", "debianMirror", "packages"] as const;

/** An image's diff: other content is another image (made before the old one is forgotten); the proxy is bookkeeping. */
export function imageDiff(olds: Partial<ImageInputs> | undefined, news: ImageInputs, present: boolean): Diff {
  const replaces = changed(olds, news, IMAGE_REPLACE_KEYS);
  const proxy = changed(olds, news, ["aptProxy"] as const);
  return { changes: replaces.length > 0 || proxy.length > 0 || !present, replaces, deleteBeforeReplace: false };
}

export { hasUnknowns } from "../dynamic/plain";

/** The OpenSSH public key line of a private key (PEM or OpenSSH format); throws without naming the key's text. */
export function publicKeyOf(privateKey: string): string {
  const k = utils.parseKey(privateKey);
  const key = Array.isArray(k) ? k[0] : k;
  if (!key || key instanceof Error) {
    throw new Error("elastic-mesos:sshPrivateKey is not a private key ssh2 can read (OpenSSH or PEM, unencrypted): " +
      "set it with `pulumi config set --secret elastic-mesos:sshPrivateKey < key`");
  }
  if (!key.isPrivateKey()) throw new Error("elastic-mesos:sshPrivateKey holds a public key; it must be the private key");
  return `${key.type} ${key.getPublicSSH().toString("base64")}`;
}

/** Problems with a machine's inputs (check): empty when fine. */
export function machineProblems(i: MachineInputs): string[] {
  const p: string[] = [];
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(i.name ?? "")) p.push(`machine name '${i.name}' is not a DNS label`);
  if (i.egress !== "nat" && i.egress !== "proxy") p.push(`local.egress must be "nat" or "proxy" (is '${i.egress}')`);
  if (i.egress === "proxy" && !i.aptProxy) p.push("local.egress proxy needs local.aptProxy (http://host:port)");
  for (const b of i.bindReadOnly ?? []) {
    if (!/^\/[A-Za-z0-9._/-]*$/.test(b) || b.split("/").includes("..")) p.push(`read-only bind '${b}' must be an absolute path without ".."`);
  }
  if (typeof i.authorizedKey === "string" && i.authorizedKey.includes("PRIVATE KEY")) {
    p.push("a private key must not be an input: authorizedKey takes the public key line");
  } else if (typeof i.authorizedKey === "string" && !/^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+$/.test(i.authorizedKey)) {
    p.push("authorizedKey must be one OpenSSH public key line (type and base64, no options)");
  }
  return p;
}
