// The readiness resource (`pulumi-nodejs:dynamic/elastic-mesos/health:Readiness`): create/update wait
// until ZooKeeper has a quorum, a Mesos leader is elected, every agent of every pool is registered and
// Marathon has a leader. It re-checks only when the cluster changed (its inputs carry every node's
// step hashes), so a no-change `pulumi up` sends nothing. Same serialization rules as the host provider.
import * as pulumi from "@pulumi/pulumi";
import type { Runner } from "../baremetal/runner";
import type { HostConnection } from "../baremetal/types";
import { stableJson } from "../baremetal/plan";
import { SshPool } from "../ssh/pool";
import type { ExpectedAgent, Ports } from "./probes";
import { waitForReadiness } from "./wait";

export interface ReadinessInputs {
  cluster: string;
  masters: { id: string; ip: string; connection: HostConnection; hostKeyFingerprint?: string }[];
  agents: ExpectedAgent[];
  quorum: number;
  ports: Ports;
  adminUser?: string;
  adminPassword?: string;
  timeoutSeconds: number;
  /** Changes whenever any node's steps changed: forces a re-check. */
  generation: string;
}

export interface ReadinessOutputs extends ReadinessInputs {
  seconds: number;
  checks: { name: string; ok: boolean; detail: string }[];
}

export class ReadinessProvider implements pulumi.dynamic.ResourceProvider<ReadinessInputs, ReadinessOutputs> {
  private privateKey: string | undefined;
  private readonly deps: { runner?: () => Runner; log?: (l: string) => void } | undefined;

  constructor(deps?: { runner?: () => Runner; log?: (l: string) => void }) {
    this.deps = deps;
    this.privateKey = undefined;
  }

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.privateKey = req.config.get("sshPrivateKey");
  }

  async diff(_id: string, olds: ReadinessOutputs, news: ReadinessInputs): Promise<pulumi.dynamic.DiffResult> {
    const { seconds: _s, checks: _c, ...oldInputs } = olds;
    return { changes: stableJson(oldInputs) !== stableJson(news) };
  }

  async create(inputs: ReadinessInputs): Promise<pulumi.dynamic.CreateResult<ReadinessOutputs>> {
    return { id: `${inputs.cluster}:readiness`, outs: await this.wait(inputs) };
  }

  async update(_id: string, _olds: ReadinessOutputs, news: ReadinessInputs): Promise<pulumi.dynamic.UpdateResult<ReadinessOutputs>> {
    return { outs: await this.wait(news) };
  }

  async delete(): Promise<void> {
    // Nothing on the hosts belongs to this resource.
  }

  private async wait(inputs: ReadinessInputs): Promise<ReadinessOutputs> {
    const key = this.privateKey;
    if (!key) throw new Error("readiness: no SSH private key: `cat ~/.ssh/id_ed25519 | pulumi config set --secret elastic-mesos:sshPrivateKey`");
    const runner = this.deps?.runner ? this.deps.runner() : new SshPool({ retries: 2, backoffMs: 1_000, parallelism: 8 });
    const log = this.deps?.log ?? (process.env.ELASTIC_MESOS_LOG ? (l: string) => process.stderr.write(`${l}\n`) : () => {});
    try {
      const masters = inputs.masters.map((m) => ({
        id: m.id, ip: m.ip,
        target: {
          name: m.id, host: m.connection.host, port: m.connection.port, user: m.connection.user, privateKey: key,
          hostKeyFingerprint: m.connection.hostKeyFingerprint ?? m.hostKeyFingerprint,
          hostKeySource: (m.connection.hostKeyFingerprint ? "config" : "state") as "config" | "state",
          bastion: m.connection.bastion, configPath: m.connection.configPath,
        },
      }));
      const r = await waitForReadiness(runner, {
        masters, agents: inputs.agents, quorum: inputs.quorum, ports: inputs.ports,
        auth: { user: inputs.adminUser, password: inputs.adminPassword }, timeoutSeconds: inputs.timeoutSeconds,
      }, (msg) => log(`readiness ${inputs.cluster}: ${msg}`));
      return { ...inputs, seconds: r.seconds, checks: r.checks };
    } finally {
      await runner.close();
    }
  }
}

const provider = new ReadinessProvider();

export type ReadinessArgs = { [K in keyof ReadinessInputs]: pulumi.Input<ReadinessInputs[K]> };

export class ClusterReadiness extends pulumi.dynamic.Resource {
  declare public readonly seconds: pulumi.Output<number>;
  declare public readonly checks: pulumi.Output<{ name: string; ok: boolean; detail: string }[]>;

  constructor(name: string, args: ReadinessArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { seconds: undefined, checks: undefined, ...args }, { ...opts, additionalSecretOutputs: ["adminPassword"] },
      "elastic-mesos/health", "Readiness");
  }
}
