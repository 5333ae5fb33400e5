// The flag names each daemon accepts, loaded from the lists next to this file (see PROVENANCE.md).
// Mesos exits on an unknown command-line flag and silently ignores an unknown MESOS_* variable; Marathon
// refuses unknown options. So every flag the bootstrap renders is checked here first, at render time,
// and a typo fails `pulumi preview` instead of a master at 3 a.m.
import * as fs from "node:fs";
import * as path from "node:path";

export type Daemon = "mesos-master" | "mesos-agent" | "marathon";

const LISTS: Record<Daemon, string[]> = {
  "mesos-master": ["mesos-master-flags.txt", "clusterd-0.9.0-master-extra-flags.txt"],
  "mesos-agent": ["mesos-agent-flags.txt", "clusterd-0.9.0-agent-extra-flags.txt"],
  marathon: ["marathon-flags.txt"],
};

const cache = new Map<Daemon, ReadonlySet<string>>();

/** Every flag name `daemon` accepts (canonical names, no leading dashes). */
export function knownFlags(daemon: Daemon): ReadonlySet<string> {
  let set = cache.get(daemon);
  if (!set) {
    const names = LISTS[daemon].flatMap((file) =>
      fs
        .readFileSync(path.join(__dirname, file), "utf8")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#")),
    );
    set = new Set(names);
    cache.set(daemon, set);
  }
  return set;
}

/** Throws, naming the flag and the daemon, if any name is not a flag of `daemon`. */
export function assertFlags(daemon: Daemon, names: Iterable<string>): void {
  const known = knownFlags(daemon);
  for (const name of names) {
    if (!known.has(name)) {
      throw new Error(
        `${daemon}: unknown flag --${name} (not in provisioning/flags/ lists for Mesos 1.11.0/Clusterd 0.9.0 and ` +
          `Marathon 1.11.24); the daemon would refuse to start. Fix the flag name in provisioning/steps/.`,
      );
    }
  }
}

/** The flag name of a command-line argument: "--zk=file:///x" → "zk", "--no-foo" stays "no-foo". */
export function flagName(arg: string): string {
  if (!arg.startsWith("--")) throw new Error(`not a flag: ${arg}`);
  const eq = arg.indexOf("=");
  return arg.slice(2, eq === -1 ? undefined : eq);
}

/** Marathon reads `MARATHON_<FLAG>` variables: the flag name of such a variable, or undefined for others. */
export function marathonEnvFlag(variable: string): string | undefined {
  return variable.startsWith("MARATHON_") ? variable.slice("MARATHON_".length).toLowerCase() : undefined;
}
