// Mesos agent `--resources` and `--attributes` as config values. Checked here because a bad one only
// shows up as an agent that refuses to start, minutes into the bootstrap, on every host of the pool.
import { z } from "zod";

const RESOURCE_NAME = /^[a-z][a-z0-9_]*$/;
/** `[31000-32000]` or `[31000-31500,32000-32100]`. */
const RANGES = /^\[\s*\d+\s*-\s*\d+\s*(,\s*\d+\s*-\s*\d+\s*)*\]$/;
/** `{a,b}`: a set resource. */
const SET = /^\{\s*[A-Za-z0-9_.\/-]+\s*(,\s*[A-Za-z0-9_.\/-]+\s*)*\}$/;
/** Resources that are always scalars (cpus may be fractional; mem and disk are MB; gpus are whole). */
const SCALARS = new Set(["cpus", "mem", "disk", "gpus"]);

/**
 * Ports the cluster's own services hold on the hosts: a task given one of them by Mesos would fail to bind,
 * or worse, bind first and take the service's place after a restart.
 */
export const CLUSTER_PORTS: Record<number, string> = {
  22: "SSH's port",
  2181: "ZooKeeper's client port",
  2281: "ZooKeeper's TLS client port",
  2888: "ZooKeeper's peer port",
  3888: "ZooKeeper's leader-election port",
  5050: "the Mesos master's port",
  5051: "the Mesos agent's port",
  8080: "Marathon's HTTP port",
  8443: "Marathon's HTTPS port",
  15050: "Marathon's libprocess port",
};

/** The first cluster port inside a range list such as "[22-22,31000-32000]", with its owner. */
function clusterPortProblem(value: string): string | undefined {
  for (const part of value.replace(/[[\]\s]/g, "").split(",")) {
    const [start, end] = part.split("-").map(Number);
    const port = Object.keys(CLUSTER_PORTS).map(Number).find((p) => p >= start && p <= end);
    if (port !== undefined)
      return `range ${start}-${end} includes ${port}, and ${port} is ${CLUSTER_PORTS[port]}; give tasks ports no cluster service uses, such as "[31000-32000]" (the Mesos default)`;
  }
  return undefined;
}

function rangesProblem(value: string, max?: number): string | undefined {
  for (const part of value.replace(/[[\]\s]/g, "").split(",")) {
    const [start, end] = part.split("-").map(Number);
    if (start > end) return `range ${start}-${end} starts after it ends`;
    if (max !== undefined && end > max) return `range ${start}-${end} goes beyond ${max}`;
  }
  return undefined;
}

const resourceValue = z.union([z.number().positive({ error: "use a positive number (cpus: 4, mem: 8192 MB)" }), z.string().regex(RANGES), z.string().regex(SET)], {
  error: "use a positive number (cpus: 4, mem: 8192 MB), a range list like \"[31000-32000]\" or a set like \"{a,b}\"",
});

/**
 * Mesos `--resources` as a map: `{ cpus: 4, mem: 8192, disk: 100000, gpus: 1, ports: "[31000-32000]" }`.
 * Leave out a resource to let the agent detect it.
 */
export const resources = z
  .record(
    z.string().regex(RESOURCE_NAME, { error: "resource names are lower-case letters, digits and '_', starting with a letter (cpus, mem, disk, gpus, ports)" }),
    resourceValue,
  )
  .superRefine((res, ctx) => {
    for (const [name, value] of Object.entries(res)) {
      if (SCALARS.has(name) && typeof value !== "number")
        ctx.addIssue({ code: "custom", path: [name], message: `${name} is a scalar; use a positive number${name === "mem" || name === "disk" ? " of MB" : ""}` });
      else if (name === "gpus" && !Number.isInteger(value))
        ctx.addIssue({ code: "custom", path: [name], message: "use a whole number of GPUs" });
      else if (name === "ports" && (typeof value !== "string" || !RANGES.test(value)))
        ctx.addIssue({ code: "custom", path: [name], message: "ports is a range list; use \"[31000-32000]\" or \"[31000-31500,32000-32100]\"" });
      else if (typeof value === "string" && RANGES.test(value)) {
        const problem = rangesProblem(value, name === "ports" ? 65535 : undefined);
        if (problem) ctx.addIssue({ code: "custom", path: [name], message: `${problem}; use start-end with start <= end${name === "ports" ? " <= 65535" : ""}` });
        else if (name === "ports") {
          const taken = clusterPortProblem(value);
          if (taken) ctx.addIssue({ code: "custom", path: [name], message: taken });
        }
      }
    }
  });

/** As the bootstrap's own guard (provisioning/steps/context.ts checkAgent) wants: a letter first. */
const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const ATTRIBUTE_TEXT = /^[A-Za-z0-9_/.-]+$/;
const ATTRIBUTE_SYNTAX =
  "Mesos attributes are name:value pairs joined by ';', so a value is a number or text of letters, digits and _ / . - (no spaces, ';', ':' or ',')";

/** Mesos `--attributes` as a map: `{ rack: "r1", zone: "eu-west-1a", tier: 2 }`. */
export const attributes = z.record(
  z.string().regex(ATTRIBUTE_NAME, { error: `attribute names start with a letter, then letters, digits and _ . - (e.g. rack9, not 9rack); ${ATTRIBUTE_SYNTAX}` }),
  z.union([z.number(), z.string().regex(ATTRIBUTE_TEXT, { error: ATTRIBUTE_SYNTAX })], { error: `use a number or plain text; ${ATTRIBUTE_SYNTAX}` }),
);

/**
 * Mesos `--containerizers`, tried in order. The Mesos containerizer is always needed (it runs the default
 * executor and task groups); Docker is optional and listed first so Marathon's Docker apps use it.
 */
export const containerizers = z
  .array(z.enum(["mesos", "docker"], { error: "use \"mesos\" or \"docker\"" }), { error: "use [\"mesos\"] or [\"docker\", \"mesos\"]" })
  .min(1, { error: "use [\"mesos\"] or [\"docker\", \"mesos\"]" })
  .refine((c) => c.includes("mesos") && new Set(c).size === c.length, {
    error: "include \"mesos\" exactly once (it runs the default executor); use [\"mesos\"] or [\"docker\", \"mesos\"]",
  });
