// Pure: a bare-metal host's identity across `pulumi up`s. A host is its name (baremetal.hosts[].name): its
// resources are named by it and an agent's node id is it, so removing or reordering other hosts changes
// nothing here. Two rules follow, both applied by the provider's check() before anything is touched:
// - an address is not an identity's to change: a new address under an existing name is refused (replacing a
//   host is removing its entry and adding another, under another name);
// - a host installed by an earlier release, when agents were named by their place in the pool
//   (`general-3`), keeps that id: its certificate, its JWT key and its readiness gate were made for it, and
//   changing it would restart the agent for nothing. Its resource records it; the new inputs take it back.
import type { HostInputs } from "./types";

type OldInputs = Partial<HostInputs> | undefined;

/**
 * Pure: the address of the lost machine a master moves from, when its entry says it replaces exactly that one
 * (baremetal.hosts[].replaces); "" otherwise. The move is then an install on the new machine, once the lost one is
 * stopped if it answers (provider.ts stopLost), not a refusal (masterMove) nor a replacement of the resource (plan.ts replaceReasons).
 */
export function lostMachine(olds: { node?: { role?: string }; connection?: { host?: string } } | undefined,
  news: { connection?: { host?: string; replaces?: string } } | undefined): string {
  const from = olds?.connection?.host;
  if (olds?.node?.role !== "master" || !from || from === news?.connection?.host) return "";
  return news?.connection?.replaces === from ? from : "";
}

/** True when the old inputs are an agent installed under a positional id this release no longer gives it. */
function formerAgent(olds: OldInputs, news: HostInputs): olds is HostInputs {
  return olds?.node?.role === "agent" && news.node?.role === "agent" && olds.cluster === news.cluster &&
    olds.node.pool === news.node.pool && !!olds.node.id && olds.node.id !== news.node.id;
}

/** Where a host's entry is, for messages: its configPath without the trailing key. */
const entry = (i: Partial<HostInputs>) => i.connection?.configPath ?? `the host of ${i.node?.id ?? "?"}`;

/**
 * The new inputs with the identity the host was installed with (id, hostname, ordinal), when an earlier
 * release gave it a positional id and its address did not change; the inputs unchanged otherwise.
 */
export function keepIdentity(olds: OldInputs, news: HostInputs): HostInputs {
  if (!formerAgent(olds, news) || olds.connection?.host !== news.connection?.host) return news;
  const { id, hostname, ordinal } = olds.node;
  return { ...news, node: { ...news.node, id, hostname, ordinal } };
}

/** How a host is replaced, for every refusal that names one. */
export const REPLACE_HOW =
  "To replace a host, remove its entry from baremetal.hosts and add the new host as a new entry with another " +
  "name (leave name out and it is derived from the new address), then run `pulumi up` once: the new host is " +
  "installed first and the old one drained (agents) and cleaned last, in the same run. Run two `pulumi up`s " +
  "(add, then remove) if the new host should be serving before the old one is drained";

/**
 * Pure: why new inputs may not take over an agent's resource ("" = they may). Same name, another address:
 * another machine under the same identity, which would drain and wipe the old one and install the new one
 * under its name; refused, saying how to replace a host. Masters: see masterMove (provider.ts).
 */
export function agentMove(olds: OldInputs, news: HostInputs): string {
  const from = olds?.connection?.host, to = news.connection?.host;
  if (olds?.node?.role !== "agent" || news.node?.role !== "agent" || !from || !to || from === to) return "";
  // Installed by an earlier release under a positional id: either its address changed, or the alias of that
  // positional name met another host because the list changed in the first `up` of this release.
  const former = formerAgent(olds, news) ? ` (installed by an earlier release as agent ${olds.node.id})` : "";
  const upgrade = former ? " If this is the first `pulumi up` of this release and you removed or reordered " +
    "hosts in it: put baremetal.hosts back as it was, run `pulumi up` once (it renames the hosts' resources and " +
    "changes nothing on them), then change the list." : "";
  return `${entry(news)}.address: the host there is ${from}${former}; changing its address to ${to} is refused (a ` +
    "host's name is its identity: the new address would be another machine, and the old one would be drained " +
    `and wiped). Put the address back (${from}). ${REPLACE_HOW}.${upgrade}`;
}
