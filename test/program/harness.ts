// Runs the whole program (index.ts) under Pulumi mocks with a given stack config, the way the language
// host would: config from `elastic-mesos:*` keys, the default export executed inside the root stack.
// Returns every registered resource and the stack outputs (plain values + which ones are secret).
import { vi } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { recordingMocks, type MockOptions, type Registered } from "./mocks";
import { PROJECT, type ConfigMap } from "./fixtures";

export interface RunResult {
  resources: Registered[];
  /** Stack outputs, resolved to plain values. */
  outputs: Record<string, any>;
  /** Names of the outputs that are secret Outputs. */
  secretOutputs: string[];
}

export interface RunOptions {
  /** Config keys (without the project prefix) set as secrets, like `pulumi config set --secret`. */
  secretKeys?: string[];
  stack?: string;
  /** Delay the mock engine's answer for some resources (see MockOptions.hold). */
  hold?: MockOptions["hold"];
  /** What the AWS AMI lookup answers (see MockOptions.amiId). */
  amiId?: string;
  /** The DigitalOcean account's SSH keys (see MockOptions.doSshKeys). */
  doSshKeys?: MockOptions["doSshKeys"];
  /** The ids resources get, by name (see MockOptions.ids). */
  ids?: MockOptions["ids"];
  /** Outputs providers add, by type (see MockOptions.outputs). */
  outputs?: MockOptions["outputs"];
  /** Called with the program's raw stack outputs as soon as it returns (before anything resolves). */
  onOutputs?: (raw: Record<string, pulumi.Output<unknown>>) => void;
}

const DEFAULT_SECRETS = ["clusterSecret", "sshPrivateKey"];

async function setUp(config: ConfigMap, opts: RunOptions) {
  vi.resetModules(); // a fresh program module per run (node_modules stay loaded; setMocks resets the runtime)
  const { mocks, registered } = recordingMocks({ hold: opts.hold, amiId: opts.amiId, doSshKeys: opts.doSshKeys,
    ids: opts.ids, outputs: opts.outputs });
  await pulumi.runtime.setMocks(mocks, PROJECT, opts.stack ?? "dev", false);
  recordDependencies(registered);
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) if (v !== undefined) values[`${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  const secret = (opts.secretKeys ?? DEFAULT_SECRETS).map((k) => `${PROJECT}:${k}`).filter((k) => k in values);
  pulumi.runtime.setAllConfig(values, secret);
  const mod: any = await import("../../index");
  const program: () => Promise<Record<string, pulumi.Output<unknown>>> = mod.default ?? mod;
  return { registered, program };
}

/**
 * The mocks are not told a resource's dependencies, aliases nor ignoreChanges; the registration request is. Wrap the
 * mock monitor to copy them onto the recorded entries (same type::name key).
 */
function recordDependencies(registered: Registered[]): void {
  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: any) => {
    const key = `${req.getType()}::${req.getName()}`;
    const deps: string[] = req.getDependenciesList();
    // Aliases as the engine gets them (alias specs: the mock monitor supports them): names, or URNs.
    const aliases: string[] = (req.getAliasesList?.() ?? []).map((a: any) => a.getSpec?.()?.getName?.() || a.getUrn?.())
      .concat(req.getAliasurnsList?.() ?? []).filter(Boolean);
    register(req, (err: any, resp: any) => {
      const r = registered.find((x) => x.key === key);
      if (r) r.dependencies = deps;
      if (r) r.aliases = aliases;
      if (r) r.ignoreChanges = req.getIgnorechangesList();
      const timeouts = req.getCustomtimeouts?.();
      if (r && timeouts)
        r.customTimeouts = { create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() };
      if (r) r.deletedWith = req.getDeletedwith?.() || undefined;
      if (r && req.getImportid()) r.importId = req.getImportid();
      if (r) r.deleteBeforeReplace = req.getDeletebeforereplace();
      callback(err, resp);
    });
  };
}

const settle = () => (pulumi.runtime as any).waitForRPCs() as Promise<void>;

/** Runs the program inside the root stack, waits for every registration, resolves the outputs. */
export async function runProgram(config: ConfigMap, opts: RunOptions = {}): Promise<RunResult> {
  const { registered, program } = await setUp(config, opts);
  let raw: Record<string, pulumi.Output<unknown>> = {};
  await pulumi.runtime.runInPulumiStack(async () => {
    raw = await program();
    opts.onOutputs?.(raw);
    return raw;
  });
  await settle();
  const outputs: Record<string, any> = {};
  const secretOutputs: string[] = [];
  for (const [k, o] of Object.entries(raw)) {
    // Output.promise() (internal) rejects when an apply threw, where an apply-based unwrap would hang.
    outputs[k] = await (o as any).promise();
    if (await pulumi.isSecret(o)) secretOutputs.push(k);
  }
  return { resources: [...registered], outputs, secretOutputs };
}

/** Runs the program expecting it to throw; returns the error and what was registered anyway. */
export async function runProgramExpectingError(config: ConfigMap, opts: RunOptions = {}): Promise<{ error: any; resources: Registered[] }> {
  const { registered, program } = await setUp(config, opts);
  let error: any;
  try {
    await program(); // without the stack wrapper: a throwing program would also raise an unhandled rejection there
  } catch (e) {
    error = e;
  }
  await settle();
  return { error, resources: [...registered] };
}

export interface ResourceChange {
  key: string;
  /** Top-level input keys whose values differ. */
  keys: string[];
}
export interface RunDiff {
  added: string[];
  removed: string[];
  changed: ResourceChange[];
}

/** Stable JSON (sorted object keys) so equal inputs compare equal whatever their key order. */
export function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable((v as any)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "undefined";
}

/** What `pulumi up` would do going from run a to run b: resources added, removed, and changed (inputs differ). */
export function diffRuns(a: RunResult | Registered[], b: RunResult | Registered[]): RunDiff {
  const list = (r: RunResult | Registered[]) => (Array.isArray(r) ? r : r.resources);
  const before = new Map(list(a).map((r) => [r.key, r]));
  const after = new Map(list(b).map((r) => [r.key, r]));
  const changed: ResourceChange[] = [];
  for (const [key, r] of after) {
    const old = before.get(key);
    if (!old) continue;
    const keys = [...new Set([...Object.keys(old.inputs), ...Object.keys(r.inputs)])]
      .filter((k) => stable(old.inputs[k]) !== stable(r.inputs[k]))
      .sort();
    if (keys.length) changed.push({ key, keys });
  }
  return {
    added: [...after.keys()].filter((k) => !before.has(k)).sort(),
    removed: [...before.keys()].filter((k) => !after.has(k)).sort(),
    changed,
  };
}

/** Counts of registered resources by type, for exact resource-set assertions. */
export function countByType(resources: Registered[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of resources) out[r.type] = (out[r.type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([x], [y]) => x.localeCompare(y)));
}
