// The dynamic providers behind LocalImage, LocalNetwork and LocalMachine. Each operation runs one verb of the
// product shell (sh/local.sh, as root) with its parameters on stdin. Loaded by provisioning/dynamic/load.js, so
// every operation, delete included, runs this checkout's code. Nothing secret passes through here.
import { existsSync } from "node:fs";
import type * as pulumi from "@pulumi/pulumi";
import { plain } from "../dynamic/plain";
import { hasUnknowns, imageDiff, machineDiff, machineProblems, networkDiff } from "./plan";
import { runLocal, type LocalVerb, type RunOptions } from "./shell";
import type {
  ImageInputs, ImageOutputs, MachineInputs, MachineOutputs, MachineStatus, NetworkInputs, NetworkOutputs, NetworkStatus,
} from "./types";

export interface LocalDeps {
  /** Progress lines. Default: stderr when ELASTIC_MESOS_LOG is set. */
  log?: (line: string) => void;
  /** Command prefix for every verb (tests: ["ip", "netns", "exec", "<ns>"]). */
  wrap?: string[];
}

abstract class LocalBase {
  protected readonly deps: LocalDeps;
  constructor(deps: LocalDeps = {}) {
    this.deps = deps;
  }
  protected run<T>(what: string, verb: LocalVerb, params: object): Promise<T> {
    const log = this.deps.log ?? (process.env.ELASTIC_MESOS_LOG ? (l: string) => process.stderr.write(`${l}\n`) : undefined);
    const opts: RunOptions = { log, wrap: this.deps.wrap };
    return runLocal<T>(what, verb, plain(params), opts);
  }
}

const imageParams = (i: ImageInputs) => ({
  cacheDir: i.cacheDir, suite: i.suite, debianMirror: i.debianMirror, packages: i.packages, aptProxy: i.aptProxy,
});

export class LocalImageProvider extends LocalBase implements pulumi.dynamic.ResourceProvider<ImageInputs, ImageOutputs> {
  async diff(_id: string, olds: ImageOutputs, news: ImageInputs): Promise<pulumi.dynamic.DiffResult> {
    return imageDiff(olds, news, !!olds.path && existsSync(`${olds.path}/.em-image-complete`));
  }
  async create(i: ImageInputs): Promise<pulumi.dynamic.CreateResult<ImageOutputs>> {
    const r = await this.run<{ path: string; key: string }>(`image (${i.suite})`, "image-ensure", imageParams(i));
    return { id: r.path, outs: plain({ ...imageParams(i), ...r }) };
  }
  /** Same content (the proxy changed, or the cache lost the image): ensure it again. */
  async update(_id: string, _olds: ImageOutputs, news: ImageInputs): Promise<pulumi.dynamic.UpdateResult<ImageOutputs>> {
    return { outs: (await this.create(news)).outs };
  }
  /** Keeps the cache: images are shared by stacks and the lab (`npm run down -- --purge` removes them). */
  async delete(): Promise<void> {}
  async read(id: string, props?: ImageOutputs): Promise<pulumi.dynamic.ReadResult<ImageOutputs>> {
    return props?.path && existsSync(`${props.path}/.em-image-complete`) ? { id, props } : {};
  }
}

const networkParams = (i: NetworkInputs) => ({
  bridge: i.bridge, cidr: i.cidr, egress: i.egress, stateDir: i.stateDir, cluster: i.cluster,
});

export class LocalNetworkProvider extends LocalBase implements pulumi.dynamic.ResourceProvider<NetworkInputs, NetworkOutputs> {
  private status(o: NetworkOutputs): Promise<NetworkStatus> {
    return this.run<NetworkStatus>(`network ${o.bridge}`, "network-status", networkParams(o));
  }
  async diff(_id: string, olds: NetworkOutputs, news: NetworkInputs): Promise<pulumi.dynamic.DiffResult> {
    const s = await this.status(olds);
    return networkDiff(olds, news, s.bridge && (olds.egress !== "nat" || s.nat));
  }
  async create(i: NetworkInputs): Promise<pulumi.dynamic.CreateResult<NetworkOutputs>> {
    const r = await this.run<Omit<NetworkOutputs, keyof NetworkInputs>>(`network ${i.bridge}`, "network-create", networkParams(i));
    return { id: `${i.cluster}:${i.bridge}`, outs: plain({ ...networkParams(i), ...r }) };
  }
  /** Egress changed, or the bridge/table is gone (this machine rebooted): network-create again (idempotent). */
  async update(_id: string, olds: NetworkOutputs, news: NetworkInputs): Promise<pulumi.dynamic.UpdateResult<NetworkOutputs>> {
    const r = await this.run<Omit<NetworkOutputs, keyof NetworkInputs>>(`network ${news.bridge}`, "network-create", networkParams(news));
    // the first forwarding value we saw is the one to restore, whatever a later create read
    const was = olds.forwardingWas ?? r.forwardingWas;
    return { outs: plain({ ...networkParams(news), ...r, forwardingWas: news.egress === "nat" ? was : undefined }) };
  }
  async delete(_id: string, o: NetworkOutputs): Promise<void> {
    await this.run(`network ${o.bridge}`, "network-delete", { ...networkParams(o), forwardingWas: o.forwardingWas });
  }
  async read(id: string, props?: NetworkOutputs): Promise<pulumi.dynamic.ReadResult<NetworkOutputs>> {
    if (!props?.bridge) return {};
    return (await this.status(props)).bridge ? { id, props } : {};
  }
}

const machineParams = (i: MachineInputs) => ({
  cluster: i.cluster, name: i.name, stateDir: i.stateDir, bridge: i.bridge, cidr: i.cidr, gateway: i.gateway,
  image: i.image, egress: i.egress, aptProxy: i.aptProxy, authorizedKey: i.authorizedKey,
  ...(i.bindReadOnly?.length ? { bindReadOnly: i.bindReadOnly } : {}),
});
const where = (i: Pick<MachineInputs, "name" | "cluster">) => `machine ${i.name} (cluster ${i.cluster})`;

export class LocalMachineProvider extends LocalBase implements pulumi.dynamic.ResourceProvider<MachineInputs, MachineOutputs> {
  async check(_olds: MachineInputs, news: MachineInputs): Promise<pulumi.dynamic.CheckResult<MachineInputs>> {
    if (hasUnknowns(news)) return { inputs: news, failures: [] };
    const failures = machineProblems(news).map((reason) => ({ property: "authorizedKey", reason: `${where(news)}: ${reason}` }));
    return { inputs: news, failures };
  }
  status(o: Pick<MachineInputs, "stateDir" | "cluster" | "name">): Promise<MachineStatus> {
    return this.run<MachineStatus>(where(o), "machine-status", { stateDir: o.stateDir, cluster: o.cluster, name: o.name });
  }
  /** Inputs against the record, and whether the machine runs: one that stopped is an update that starts it. */
  async diff(_id: string, olds: MachineOutputs, news: MachineInputs): Promise<pulumi.dynamic.DiffResult> {
    return machineDiff(olds, news, (await this.status(olds)).running);
  }
  async create(i: MachineInputs): Promise<pulumi.dynamic.CreateResult<MachineOutputs>> {
    const r = await this.run<Pick<MachineOutputs, "ip" | "hostKey">>(where(i), "machine-create", machineParams(i));
    return { id: `${i.cluster}:${i.name}`, outs: plain({ ...machineParams(i), ...r }) };
  }
  /**
   * Starts a stopped machine and rewrites its network and apt settings. It keeps the image and authorized key
   * it was made with (its writable layer belongs to that image); new machines take the new ones.
   */
  async update(_id: string, olds: MachineOutputs, news: MachineInputs): Promise<pulumi.dynamic.UpdateResult<MachineOutputs>> {
    const i = { ...news, image: olds.image, authorizedKey: olds.authorizedKey };
    const r = await this.run<Pick<MachineOutputs, "ip" | "hostKey">>(where(i), "machine-start", machineParams(i));
    return { outs: plain({ ...machineParams(i), ...r }) };
  }
  async delete(_id: string, o: MachineOutputs): Promise<void> {
    await this.run(where(o), "machine-delete", { stateDir: o.stateDir, cluster: o.cluster, name: o.name });
  }
  /** Gone when its directory is gone; a stopped machine still exists (diff starts it). */
  async read(id: string, props?: MachineOutputs): Promise<pulumi.dynamic.ReadResult<MachineOutputs>> {
    if (!props?.name) return {};
    const s = await this.status(props);
    return s.ip ? { id, props: { ...props, ip: s.ip } } : {};
  }
}
