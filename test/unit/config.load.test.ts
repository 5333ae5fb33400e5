// loadModel as the engine drives it: config arrives through pulumi.runtime.setAllConfig as strings
// (structured values as JSON text, secrets flagged by key), exactly what the CLI passes from a stack file.
// Also: every committed stack file under stacks/ must stay valid.
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { inspect } from "util";
import { beforeEach, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadModel, parseModel } from "../../components/config";
import { TEST_CLUSTER_SECRET, TEST_KEYS, committedStacks, loadStackConfig, rawFromConfig, stackFile } from "../stackConfig";

const PROJECT = "elastic-mesos"; // new pulumi.Config() namespaces by the project given to setMocks
const mocks: pulumi.runtime.Mocks = {
  newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }),
  call: (a) => a.inputs,
};
const SECRETS = { [`${PROJECT}:clusterSecret`]: TEST_CLUSTER_SECRET, [`${PROJECT}:sshPrivateKey`]: TEST_KEYS.private };
const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply((v) => resolve(v)));

function engineConfig(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${PROJECT}:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

const BASE = {
  provider: "digitalocean",
  adminCidrs: ["203.0.113.0/24"],
  ssh: { publicKey: TEST_KEYS.public },
  digitalocean: { region: "fra1" },
  agentPools: [{ name: "general", count: 2 }, { name: "gpu", count: 1 }],
};

function problemKeys(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => p.key);
    throw e;
  }
  return [];
}

describe("loadModel reads the config the way the engine passes it", () => {
  beforeEach(async () => {
    await pulumi.runtime.setMocks(mocks, PROJECT, "dev");
  });

  it("structured values arrive as JSON text; secrets become secret Outputs", async () => {
    pulumi.runtime.setAllConfig({ ...engineConfig(BASE), ...SECRETS, "digitalocean:token": "ignored-other-namespace" }, Object.keys(SECRETS));
    const m = loadModel();
    expect(m.provider).toBe("digitalocean");
    expect(m.agentPools.map((p) => [p.name, p.count])).toEqual([["general", 2], ["gpu", 1]]);
    expect(m.cluster.name).toBe("dev"); // the stack name
    expect(await pulumi.isSecret(m.clusterSecret)).toBe(true);
    expect(await value(m.clusterSecret)).toBe(TEST_CLUSTER_SECRET);
    expect(await pulumi.isSecret(m.ssh.privateKey!)).toBe(true);
  });

  it("reports every problem, including typos in top-level keys", () => {
    pulumi.runtime.setAllConfig(
      { ...engineConfig({ ...BASE, agentPool: [{ name: "x" }], masters: { count: 2 }, allowPublicAdmin: "maybe" }), ...SECRETS },
      Object.keys(SECRETS),
    );
    expect(problemKeys(() => loadModel()).sort()).toEqual(["agentPool", "allowPublicAdmin", "masters.count"]);
  });

  it("a secret stored in plain text (set without --secret) is a problem", () => {
    pulumi.runtime.setAllConfig({ ...engineConfig(BASE), ...SECRETS }, [`${PROJECT}:sshPrivateKey`]);
    let err: ConfigError | undefined;
    try {
      loadModel();
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.problems.map((p) => p.key)).toEqual(["clusterSecret"]);
    expect(err?.message).toContain("pulumi config set --secret elastic-mesos:clusterSecret");
    expect(err?.message).not.toContain(TEST_CLUSTER_SECRET);
    // A RunError: the language host prints the problem list alone, with no stack trace (test/e2e shows it),
    // and what the SDK's runner inspects of it is that list too.
    expect(pulumi.RunError.isInstance(err)).toBe(true);
    expect(inspect(err, { colors: true })).toBe(`ConfigError: ${err!.message}`);
  });

  it("a missing clusterSecret tells the user the command to run", () => {
    pulumi.runtime.setAllConfig(engineConfig(BASE), []);
    expect(() => loadModel()).toThrow(/clusterSecret: missing; .*`openssl rand -base64 32 \| pulumi config set --secret elastic-mesos:clusterSecret`/);
  });

  it("a top-level value that is not JSON is reported against its key", () => {
    pulumi.runtime.setAllConfig({ ...engineConfig(BASE), [`${PROJECT}:masters`]: "{count: 3", ...SECRETS }, Object.keys(SECRETS));
    expect(problemKeys(() => loadModel())).toEqual(["masters"]);
  });

  it("the default cluster name is the stack name, made a DNS label", async () => {
    await pulumi.runtime.setMocks(mocks, PROJECT, "Prod_EU.2");
    pulumi.runtime.setAllConfig({ ...engineConfig(BASE), ...SECRETS }, Object.keys(SECRETS));
    expect(loadModel().cluster.name).toBe("prod-eu-2");
    pulumi.runtime.setAllConfig({ ...engineConfig({ ...BASE, cluster: { name: "blue" } }), ...SECRETS }, Object.keys(SECRETS));
    expect(loadModel().cluster.name).toBe("blue");
  });
});

describe("both shapes `pulumi config set` writes to a stack file", () => {
  function project(stackYaml: string): string {
    const dir = mkdtempSync(join(tmpdir(), "em-config-"));
    writeFileSync(join(dir, "Pulumi.yaml"), readFileSync(join(__dirname, "../../Pulumi.yaml")));
    mkdirSync(join(dir, "stacks"));
    writeFileSync(join(dir, "stacks", "Pulumi.t.yaml"), stackYaml);
    return dir;
  }
  const common = `
  elastic-mesos:provider: digitalocean
  elastic-mesos:adminCidrs: ["203.0.113.0/24"]
  elastic-mesos:digitalocean: { region: fra1 }
  elastic-mesos:ssh: { publicKey: "${TEST_KEYS.public}" }
`;

  it("--path writes nested YAML with numbers; a top-level set writes a JSON string; both load", async () => {
    // `pulumi config set --path 'elastic-mesos:agentPools[1].count' 5` and
    // `pulumi config set elastic-mesos:masters '{"count":1,"size":"s-2vcpu-4gb"}'`
    const dir = project(`config:${common}  elastic-mesos:agentPools:
    - name: general
      count: 2
    - name: gpu
      count: 5
  elastic-mesos:masters: '{"count":1,"size":"s-2vcpu-4gb"}'
`);
    const { project: name, config } = loadStackConfig("t", dir);
    expect(name).toBe(PROJECT);
    expect(JSON.parse(config["elastic-mesos:agentPools"])[1].count).toBe(5);
    expect(config["elastic-mesos:masters"]).toBe('{"count":1,"size":"s-2vcpu-4gb"}');

    await pulumi.runtime.setMocks(mocks, PROJECT, "t");
    pulumi.runtime.setAllConfig({ ...config, ...SECRETS }, Object.keys(SECRETS));
    const m = loadModel();
    expect(m.agentPools[1]).toMatchObject({ name: "gpu", count: 5 });
    expect(m.masters).toMatchObject({ count: 1, size: "s-2vcpu-4gb" });
    // And the same through the pure core.
    const p = parseModel(rawFromConfig(config), { clusterSecret: pulumi.secret(TEST_CLUSTER_SECRET), sshPrivateKey: pulumi.secret(TEST_KEYS.private) });
    expect(p.agentPools[1].count).toBe(5);
    expect(p.masters.count).toBe(1);
  });

  it("a --path edit that breaks a value is reported with that path", async () => {
    const dir = project(`config:${common}  elastic-mesos:agentPools:
    - name: general
      count: 2
    - name: gpu
      count: -2
`);
    const { config } = loadStackConfig("t", dir);
    await pulumi.runtime.setMocks(mocks, PROJECT, "t");
    pulumi.runtime.setAllConfig({ ...config, ...SECRETS }, Object.keys(SECRETS));
    expect(() => loadModel()).toThrow("agentPools[1].count: -2 is not allowed; use a whole number from 0 to 1000");
  });

  it("encrypted values in a stack file are not readable without the CLI", () => {
    const dir = project(`config:${common}  elastic-mesos:clusterSecret:\n    secure: v1:abc\n`);
    expect(() => loadStackConfig("t", dir)).toThrow(/clusterSecret is encrypted/);
  });
});

describe("committed stack files stay valid", () => {
  const stacks = committedStacks();

  it("there is one example per provider", () => {
    const providers = stacks.map((s) => rawFromConfig(loadStackConfig(s).config).provider).sort();
    expect(providers).toEqual(["aws", "baremetal", "digitalocean", "gcp", "local", "openstack"]);
  });

  it.each(stacks)("stacks/Pulumi.%s.yaml parses into a valid model (parseModel and loadModel)", async (stack) => {
    // Secrets are never in the examples (they are set with `pulumi config set --secret`).
    const { config } = loadStackConfig(stack);
    expect(Object.keys(config).filter((k) => /clusterSecret|sshPrivateKey/.test(k))).toEqual([]);
    expect(readFileSync(stackFile(stack), "utf8")).toMatch(/pulumi config set --secret elastic-mesos:clusterSecret/);
    const model = parseModel(rawFromConfig(config), {
      clusterSecret: pulumi.secret(TEST_CLUSTER_SECRET),
      sshPrivateKey: pulumi.secret(TEST_KEYS.private),
    });
    expect(model.cluster.name).toMatch(/^[a-z][a-z0-9-]*$/);

    // loadModel sees the private key in plain and checks it pairs with ssh.publicKey: the example's
    // public key has no private half here, so the test's own pair stands in for it.
    const ssh = config[`${PROJECT}:ssh`] ? { ...JSON.parse(config[`${PROJECT}:ssh`]), publicKey: TEST_KEYS.public } : undefined;
    await pulumi.runtime.setMocks(mocks, PROJECT, stack);
    pulumi.runtime.setAllConfig({ ...config, ...(ssh ? { [`${PROJECT}:ssh`]: JSON.stringify(ssh) } : {}), ...SECRETS }, Object.keys(SECRETS));
    const loaded = loadModel();
    expect({ ...loaded, clusterSecret: null, ssh: { ...loaded.ssh, privateKey: null } }).toEqual({
      ...model,
      clusterSecret: null,
      ssh: { ...model.ssh, ...(ssh ? { publicKey: TEST_KEYS.public } : {}), privateKey: null },
    });
  });
});
