// Good stack configs: the documented defaults are filled in, provider-specific rules resolve, and the
// secrets stay secret Outputs in the model.
import { describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { parseModel } from "../../components/config";
import { DEFAULT_SIZES, DEFAULT_VERSIONS } from "../../components/config/defaults";
import { TEST_CLUSTER_SECRET, TEST_KEYS, validRaw } from "../stackConfig";

const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply((v) => resolve(v)));

describe("defaults", () => {
  it("a minimal AWS stack gets the documented defaults", () => {
    const raw = validRaw("aws");
    delete raw.agentPools;
    const m = parseModel(raw, {});
    expect(m.cluster.name).toBe("mesos");
    expect(m.os).toBe("debian-12");
    expect(m.versions).toEqual({ mesos: "1.11.0-0.9.0", zookeeper: "3.8.6", marathon: "1.11.24", docker: "27.5.1" });
    expect(m.versions).toEqual(DEFAULT_VERSIONS);
    expect(m.network).toEqual({ cidr: "10.42.0.0/16", defaulted: true });
    expect(m.masters).toEqual({ count: 3, size: "m6i.large", diskGb: 50 });
    expect(m.agentPools).toEqual([
      { name: "general", count: 3, size: "m6i.xlarge", diskGb: 100, resources: {}, attributes: {}, containerizers: ["docker", "mesos"],
        taskUser: "mesos-task" },
    ]);
    expect(m.allowPublicAdmin).toBe(false);
    expect(m.artifacts).toEqual({});
    expect(m.ssh).toEqual({ user: "admin", publicKey: TEST_KEYS.public, privateKey: expect.anything() });
    expect(m.aws).toEqual({ region: "eu-west-1", zones: ["eu-west-1a", "eu-west-1b"] });
    expect(m.gcp).toBeUndefined();
  });

  it.each(["aws", "gcp", "digitalocean", "openstack"] as const)("%s: machine sizes and SSH user default per provider", (p) => {
    const m = parseModel(validRaw(p), {});
    expect(m.masters.size).toBe(DEFAULT_SIZES[p].master);
    expect(m.agentPools[0].size).toBe(DEFAULT_SIZES[p].agent);
    expect(m.ssh.user).toBe({ aws: "admin", gcp: "debian", digitalocean: "root", openstack: "debian" }[p]);
  });

  it("the SSH user follows the OS image (ubuntu, rocky)", () => {
    expect(parseModel({ ...validRaw("aws"), os: "ubuntu-24.04" }, {}).ssh.user).toBe("ubuntu");
    expect(parseModel({ ...validRaw("openstack"), os: "rocky-9" }, {}).ssh.user).toBe("rocky");
  });

  it("explicit values win over defaults", () => {
    const raw = validRaw("aws");
    raw.masters = { count: 5, size: "m6i.2xlarge", image: "ami-0123456789abcdef0", diskGb: 80 };
    raw.agentPools = [{ name: "gpu", count: 2, size: "g5.xlarge", resources: { gpus: 1, ports: "[31000-31500,32000-32100]" }, attributes: { rack: "r1", tier: 2 }, containerizers: ["mesos"] }];
    raw.network = { cidr: "172.20.0.0/16" };
    const m = parseModel(raw, {});
    expect(m.masters).toEqual({ count: 5, size: "m6i.2xlarge", image: "ami-0123456789abcdef0", diskGb: 80 });
    expect(m.agentPools[0]).toMatchObject({ count: 2, resources: { gpus: 1, ports: "[31000-31500,32000-32100]" }, attributes: { rack: "r1", tier: 2 }, containerizers: ["mesos"] });
    expect(m.network.cidr).toBe("172.20.0.0/16");
  });

  it("a pool's tasks run as mesos-task unless it names another user; root only when written", () => {
    const raw = validRaw("aws");
    raw.agentPools = [{ name: "general", count: 1 }, { name: "ops", count: 1, taskUser: "root" }, { name: "ci", count: 1, taskUser: "builder" }];
    const m = parseModel(raw, {});
    expect(m.agentPools.map((p) => p.taskUser)).toEqual(["mesos-task", "root", "builder"]);
  });

  it("0.0.0.0/0 and ::/0 are accepted with allowPublicAdmin: true", () => {
    const m = parseModel({ ...validRaw("aws"), adminCidrs: ["0.0.0.0/0", "::/0"], allowPublicAdmin: true }, {});
    expect(m.adminCidrs).toEqual(["0.0.0.0/0", "::/0"]);
  });

  it("adminCidrs may be one comma-separated string (pulumi config set elastic-mesos:adminCidrs a,b)", () => {
    const m = parseModel({ ...validRaw("aws"), adminCidrs: "203.0.113.0/24, 2001:db8::/48" }, {});
    expect(m.adminCidrs).toEqual(["203.0.113.0/24", "2001:db8::/48"]);
  });

  it("blocks of other providers are ignored, even broken ones", () => {
    const m = parseModel({ ...validRaw("aws"), gcp: { project: "NOT VALID" }, digitalocean: 42 }, {});
    expect(m.provider).toBe("aws");
    expect(m.gcp).toBeUndefined();
  });

  it("a mirror with a pinned ZooKeeper checksum is accepted", () => {
    const sha = "a".repeat(128);
    const m = parseModel({ ...validRaw("aws"), artifacts: { mirror: "https://mirror.example.com/em", zookeeper: { sha512: sha } } }, {});
    expect(m.artifacts).toEqual({ mirror: "https://mirror.example.com/em", zookeeper: { sha512: sha } });
  });

  it("per-artifact overrides in the forms the bootstrap resolves are accepted, and resolve", async () => {
    const artifacts = {
      offlineBundle: "/srv/elastic-mesos/bundle/",
      zookeeper: { sha512: "a".repeat(128) },
      mesos: { aptRepo: "deb [arch=amd64] https://apt.example.com/mesos bookworm main", yumRepo: "https://rpm.example.com/$releasever/$basearch/", keyUrl: "https://apt.example.com/key.asc" },
      docker: { aptRepo: "https://download.example.com/linux/debian bookworm stable" },
      marathon: { aptPackage: "marathon=1.11.24-1" },
    };
    const m = parseModel({ ...validRaw("aws"), artifacts }, {});
    expect(m.artifacts).toEqual(artifacts);
    const { resolveArtifacts } = await import("../../provisioning/artifacts");
    for (const os of ["debian-12", "rocky-9"] as const) expect(() => resolveArtifacts(m.versions, m.artifacts, os)).not.toThrow();
  });
});

describe("bare metal: the hosts decide", () => {
  it("counts come from the hosts; names, ports and users get defaults", () => {
    const m = parseModel(validRaw("baremetal"), {});
    expect(m.masters.count).toBe(3);
    expect(m.agentPools.map((p) => [p.name, p.count])).toEqual([["general", 2], ["big", 1]]);
    expect(m.ssh.user).toBe("root");
    expect(m.baremetal!.hosts.map((h) => [h.name, h.address, h.port, h.user, h.role, h.pool])).toEqual([
      ["h-10-0-0-11", "10.0.0.11", 22, "root", "master", undefined],
      ["h-10-0-0-12", "10.0.0.12", 22, "root", "master", undefined],
      ["h-10-0-0-13", "10.0.0.13", 22, "root", "master", undefined],
      ["h-10-0-0-21", "10.0.0.21", 22, "root", "agent", "general"],
      ["node22", "10.0.0.22", 2222, "admin", "agent", "general"],
      ["big1", "10.0.0.31", 22, "root", "agent", "big"],
    ]);
    expect(m.baremetal!.bastions).toEqual([]);
  });

  it("counts that agree with the hosts are accepted; bastions get the ssh user", () => {
    const raw = validRaw("baremetal");
    raw.masters = { count: 3 };
    raw.agentPools[0].count = 2;
    raw.baremetal.bastions = [{ name: "jump", address: "bastion.example.com", hostKeyFingerprint: `SHA256:${"A".repeat(43)}` }];
    raw.baremetal.hosts[3].bastion = "jump";
    const m = parseModel(raw, {});
    expect(m.baremetal!.bastions).toEqual([{ name: "jump", address: "bastion.example.com", port: 22, user: "root", hostKeyFingerprint: `SHA256:${"A".repeat(43)}` }]);
    expect(m.baremetal!.hosts[3].bastion).toBe("jump");
  });
});

describe("local", () => {
  it("defaults: its own bridge em-<cluster>, 10.78.0.0/24 (the lab keeps 10.77), nat egress, root SSH", () => {
    const raw = validRaw("local");
    delete raw.local;
    raw.cluster = { name: "dev" };
    const m = parseModel(raw, {});
    expect(m.network.cidr).toBe("10.78.0.0/24");
    expect(m.local).toEqual({ maxHosts: 12, bridge: "em-dev", egress: "nat", stateDir: "/var/lib/elastic-mesos/local",
      imageCache: "/var/cache/elastic-mesos/images" });
    expect(m.ssh.user).toBe("root");
  });

  it("pool counts are obeyed, never capped; adminCidrs defaults to this machine's bridge address", () => {
    const raw = validRaw("local");
    delete raw.adminCidrs;
    raw.local = { maxHosts: 12 };
    raw.network = { cidr: "10.99.5.0/24" };
    raw.agentPools = [{ name: "general", count: 5 }, { name: "small", count: 1 }];
    const m = parseModel(raw, {});
    expect(m.agentPools.map((p) => p.count)).toEqual([5, 1]);
    expect(m.adminCidrs).toEqual(["10.99.5.1/32"]);
  });

  it("a bridge name from a long cluster name is cut to 15 characters without a trailing dash", () => {
    const raw = validRaw("local");
    raw.cluster = { name: "abcdefghijkl-mn" };
    expect(parseModel(raw, {}).local!.bridge).toBe("em-abcdefghijkl");
  });
});

describe("secrets stay secret", () => {
  it("clusterSecret and sshPrivateKey given as plain values become secret Outputs", async () => {
    const m = parseModel(validRaw("baremetal"), {});
    expect(await pulumi.isSecret(m.clusterSecret)).toBe(true);
    expect(await value(m.clusterSecret)).toBe(TEST_CLUSTER_SECRET);
    expect(await pulumi.isSecret(m.ssh.privateKey!)).toBe(true);
    expect(await value(m.ssh.privateKey!)).toBe(TEST_KEYS.private);
    // Nothing of the secrets leaks into the plain part of the model.
    const plain = JSON.stringify({ ...m, clusterSecret: undefined, ssh: { ...m.ssh, privateKey: undefined } });
    expect(plain).not.toContain(TEST_CLUSTER_SECRET);
    expect(plain).not.toContain("PRIVATE KEY");
  });

  it("secret Outputs passed in are used as they are", async () => {
    const s = pulumi.secret(TEST_CLUSTER_SECRET);
    const k = pulumi.secret(TEST_KEYS.private);
    const raw = validRaw("aws");
    delete raw.clusterSecret;
    delete raw.sshPrivateKey;
    const m = parseModel(raw, { clusterSecret: s, sshPrivateKey: k });
    expect(m.clusterSecret).toBe(s);
    expect(m.ssh.privateKey).toBe(k);
  });
});

describe("destroy flag", () => {
  // The key no longer does anything (masters are guarded in the readiness and host checks), but stacks from
  // releases that documented `pulumi config set elastic-mesos:destroy true` must stay valid.
  it("is accepted as a boolean and rejected as anything else, naming the key", () => {
    expect(() => parseModel({ ...validRaw("baremetal"), destroy: true }, {})).not.toThrow();
    expect(() => parseModel({ ...validRaw("baremetal"), destroy: "yes" }, {})).toThrow(/^  - destroy: "yes" is not allowed; use true or false$/m);
  });
});
