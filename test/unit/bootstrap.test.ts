// The pure bootstrap renderers: artifacts, credentials, the three steps. What a user relies on: pinned and
// verified sources, a correct ZooKeeper ensemble, credentials only in locked-down files, and the same
// bytes every time the same cluster is rendered.
import { describe, expect, it } from "vitest";
import { resolveArtifacts } from "../../provisioning/artifacts";
import { agentJwtKey, deriveCredentials } from "../../provisioning/credentials";
import { renderSteps } from "../../provisioning/steps";
import { superDigest } from "../../provisioning/steps/zookeeper";
import type { BootstrapInput, FileSpec, Step } from "../../provisioning/steps/types";
import { renderCloudConfig } from "../../provisioning/render/cloud-config";
import { renderStepScripts } from "../../provisioning/render/ssh-plan";
import { agentInput, clusterInputs, masterInput, masterIp, POOLS, SECRET, VERSIONS } from "./bootstrap-input";

const files = (steps: Step[]): FileSpec[] => steps.flatMap((s) => s.files);
const fileOf = (steps: Step[], path: string): FileSpec => {
  const f = files(steps).find((x) => x.path === path);
  if (!f) throw new Error(`${path} not rendered`);
  return f;
};
/** Every credential a node's files may hold: the cluster's, and an agent's own JWT key. */
const secretsOf = (input: BootstrapInput): string[] => [
  // ownerId is an identifier (the host's owner mark), not a credential: it may appear in any script.
  ...Object.entries(input.credentials).filter(([k]) => k !== "ownerId").map(([, v]) => v),
  ...(input.node.role === "agent" ? [agentJwtKey(input.credentials, input.node.id)] : []),
  // ZooKeeper's super digest is no password but may not be logged either.
  ...(input.node.role === "master" ? [superDigest(input.credentials.zkSuperPassword)] : []),
];
const stepNamed = (steps: Step[], name: string): Step => steps.find((s) => s.name === name)!;

describe("credentials", () => {
  it("are derived deterministically, distinct per purpose and per cluster", () => {
    const a = deriveCredentials(SECRET, "prod");
    expect(deriveCredentials(SECRET, "prod")).toEqual(a);
    const { ownerId, ...secret } = a;
    expect(new Set(Object.values(secret)).size).toBe(9);
    for (const v of Object.values(secret)) expect(v).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // The host owner mark's id: its own label, so it is none of the credentials nor a prefix of one.
    expect(ownerId).toMatch(/^[A-Za-z0-9_-]{16}$/);
    for (const v of Object.values(secret)) expect(v.startsWith(ownerId)).toBe(false);
    const b = deriveCredentials(SECRET, "staging");
    for (const k of Object.keys(a) as (keyof typeof a)[]) expect(b[k]).not.toBe(a[k]);
    expect(deriveCredentials(`${SECRET}x`, "prod").adminPassword).not.toBe(a.adminPassword);
    // One JWT key per agent, none equal to the root it comes from.
    const keys = ["general-1", "general-2", "gpu-1"].map((id) => agentJwtKey(a, id));
    expect(new Set([...keys, a.agentJwtRoot]).size).toBe(4);
    expect(agentJwtKey(deriveCredentials(SECRET, "prod"), "general-1")).toBe(keys[0]);
  });

  it("refuse a short cluster secret with the command to make one", () => {
    expect(() => deriveCredentials("short", "prod")).toThrow(/clusterSecret: .*openssl rand -base64 32/);
  });
});

describe("artifacts", () => {
  it("default to upstream: Clusterd packages, ZooKeeper from the CDN checked against archive.apache.org's .sha512", () => {
    const a = resolveArtifacts(VERSIONS, {}, "debian-12");
    expect(a.zookeeper).toEqual({
      version: "3.8.6",
      url: "https://dlcdn.apache.org/zookeeper/zookeeper-3.8.6/apache-zookeeper-3.8.6-bin.tar.gz",
      fallbackUrl: "https://archive.apache.org/dist/zookeeper/zookeeper-3.8.6/apache-zookeeper-3.8.6-bin.tar.gz",
      sha512Url: "https://archive.apache.org/dist/zookeeper/zookeeper-3.8.6/apache-zookeeper-3.8.6-bin.tar.gz.sha512",
    });
    expect(a.mesos).toMatchObject({ kind: "apt", repoLine: "https://rpm.aventer.biz/Debian/ bookworm main", package: "aventer-mesos", version: "1.11.0-0.9.0" });
    expect(a.marathon).toEqual({ kind: "image", image: "mesosphere/marathon:v1.11.24" });
    expect(a.docker).toMatchObject({ repoLine: "https://download.docker.com/linux/debian bookworm stable", keyFingerprint: "9DC858229FC7DD38854AE2D88D81803C0EBFCD88" });
    expect(resolveArtifacts(VERSIONS, {}, "ubuntu-24.04").mesos).toMatchObject({ repoLine: "https://rpm.aventer.biz/Ubuntu/noble noble main" });
    const el = resolveArtifacts(VERSIONS, {}, "rocky-9");
    expect(el.mesos).toMatchObject({ kind: "yum", baseUrl: "https://rpm.aventer.biz/CentOS/$releasever/$basearch/", package: "mesos" });
    expect(el.docker?.repoLine).toBe("https://download.docker.com/linux/rhel/9/$basearch/stable");
  });

  it("use the mirror layout for every artifact, and require a pinned sha512 with a mirror", () => {
    const sha = "ab".repeat(64);
    expect(() => resolveArtifacts(VERSIONS, { mirror: "http://10.77.0.1:8080/m" }, "debian-12")).toThrow(/artifacts\.zookeeper\.sha512: required with artifacts\.mirror/);
    const a = resolveArtifacts(VERSIONS, { mirror: "http://10.77.0.1:8080/m/", zookeeper: { sha512: sha.toUpperCase() } }, "ubuntu-22.04");
    expect(a.zookeeper).toEqual({ version: "3.8.6", url: "http://10.77.0.1:8080/m/zookeeper/zookeeper-3.8.6/apache-zookeeper-3.8.6-bin.tar.gz", sha512: sha });
    expect(a.mesos).toMatchObject({ repoLine: "http://10.77.0.1:8080/m/Ubuntu/jammy jammy main", keyUrl: "http://10.77.0.1:8080/m/assets/support_aventer.asc" });
    expect(a.docker).toMatchObject({ repoLine: "http://10.77.0.1:8080/m/linux/ubuntu jammy stable", keyUrl: "http://10.77.0.1:8080/m/linux/ubuntu/gpg" });
    expect(resolveArtifacts(VERSIONS, { mirror: "https://m.example", zookeeper: { sha512: sha } }, "rocky-9").mesos).toMatchObject({ baseUrl: "https://m.example/CentOS/$releasever/$basearch/" });
    expect(a.marathon).toEqual({ kind: "image", image: "mesosphere/marathon:v1.11.24", archiveUrl: "http://10.77.0.1:8080/m/marathon/marathon-v1.11.24.tar" });
    expect(() => resolveArtifacts(VERSIONS, { zookeeper: { url: "https://example.org/zk.tgz" } }, "debian-12")).toThrow(/sha512: required with artifacts\.zookeeper\.url/);
  });

  it("use file:// paths and a local apt repo for an offline bundle", () => {
    const a = resolveArtifacts(VERSIONS, { offlineBundle: "/srv/bundle", zookeeper: { sha512: "0".repeat(128) } }, "debian-12");
    expect(a.offlineBundle).toBe("/srv/bundle");
    expect(a.zookeeper.url).toBe("file:///srv/bundle/zookeeper/zookeeper-3.8.6/apache-zookeeper-3.8.6-bin.tar.gz");
    expect(a.mesos).toMatchObject({ repoLine: "file:/srv/bundle/Debian/ bookworm main", keyUrl: "file:///srv/bundle/assets/support_aventer.asc" });
    const list = fileOf(renderSteps({ ...masterInput({ masters: 1 }), artifacts: a }), "/etc/elastic-mesos/repos/mesos.list");
    expect(list.content).toContain("deb [signed-by=/etc/apt/keyrings/elastic-mesos-mesos.gpg] file:/srv/bundle/Debian/ bookworm main");
    expect(() => resolveArtifacts(VERSIONS, { offlineBundle: "/a", mirror: "http://m" }, "debian-12")).toThrow(/either mirror or offlineBundle/);
  });

  it("take per-artifact overrides and refuse malformed ones, naming the key", () => {
    const a = resolveArtifacts(VERSIONS, { mesos: { aptRepo: "deb [arch=amd64] https://apt.example.com/mesos bookworm main", keyFingerprint: "aaaa bbbb cccc dddd eeee ffff 0000 1111 2222 3333" }, marathon: { aptPackage: "marathon=1.11.24-1" } }, "debian-12");
    expect(a.mesos).toMatchObject({ repoLine: "https://apt.example.com/mesos bookworm main", keyFingerprint: "AAAABBBBCCCCDDDDEEEEFFFF0000111122223333" });
    expect(a.marathon).toEqual({ kind: "apt", package: "marathon", version: "1.11.24-1" });
    expect(() => resolveArtifacts(VERSIONS, { mesos: { keyFingerprint: "1234" } }, "debian-12")).toThrow(/artifacts\.mesos\.keyFingerprint/);
    expect(() => resolveArtifacts(VERSIONS, { zookeeper: { sha512: "xyz" } }, "debian-12")).toThrow(/artifacts\.zookeeper\.sha512: must be the 128 hex digits/);
    expect(() => resolveArtifacts({ ...VERSIONS, zookeeper: "3.4.14" }, {}, "debian-12")).toThrow(/versions\.zookeeper: "3\.4\.14" is not supported/);
    expect(() => resolveArtifacts({ ...VERSIONS, mesos: "1.11; rm -rf /" }, {}, "debian-12")).toThrow(/versions\.mesos/);
    expect(() => resolveArtifacts(VERSIONS, { mirror: "ftp://m" }, "debian-12")).toThrow(/artifacts\.mirror/);
  });

  it("refuse an unsupported OS with the supported list", () => {
    for (const os of ["centos-7", "rocky-8", "debian-11", "ubuntu-20.04"]) {
      expect(() => resolveArtifacts(VERSIONS, {}, os as never)).toThrow(/os: ".*" is not supported; use one of debian-12, ubuntu-22\.04, ubuntu-24\.04, rocky-9/);
    }
  });
});

describe("steps", () => {
  it("are firewall, install, zookeeper, mesos in that order, on masters and agents", () => {
    for (const input of clusterInputs({ masters: 3 })) {
      // The firewall step: on agents (no metadata service for tasks); on masters only with a host firewall (firewall.test.ts).
      const names = input.node.role === "agent" ? ["firewall", "install", "zookeeper", "mesos"] : ["install", "zookeeper", "mesos"];
      expect(renderSteps(input).map((s) => [s.index, s.name])).toEqual(names.map((n, i) => [i + 1, n]));
    }
  });

  it("write the same zoo.cfg on every master and each master's own myid; the members are ZooKeeper's, seeded once", () => {
    for (const n of [1, 3, 5] as const) {
      const cfgs = new Set<string>();
      for (let k = 1; k <= n; k++) {
        const steps = renderSteps(masterInput({ masters: n }, k));
        const cfg = fileOf(steps, "/etc/zookeeper/zoo.cfg").content;
        cfgs.add(cfg);
        // The settings name no server: membership changes by reconfig, never by a new static list.
        expect(cfg.split("\n").filter((l) => l.startsWith("server."))).toEqual([]);
        expect(cfg).toMatch(/^reconfigEnabled=true$/m);
        expect(cfg).toMatch(/^standaloneEnabled=false$/m);
        expect(cfg).toMatch(/^DigestAuthenticationProvider\.superDigest=super:[A-Za-z0-9+/]{27}=$/m);
        // A new cluster's members (what a first start seeds when no server serves: render-lib.test.ts).
        const seed = stepNamed(steps, "zookeeper").commands.join("\n");
        expect(seed).toContain(Array.from({ length: n }, (_, i) => `server.${i + 1}=${masterIp(i + 1)}:2888:3888;2181`).join("\n"));
        expect(cfg).toMatch(/^dataDir=\/var\/lib\/zookeeper$/m);
        expect(cfg).toMatch(/^admin\.enableServer=false$/m);
        expect(cfg).toMatch(/^4lw\.commands\.whitelist=srvr,mntr,ruok$/m);
        expect(cfg).not.toMatch(/\/tmp/);
        expect(fileOf(steps, "/var/lib/zookeeper/myid")).toMatchObject({ content: `${k}\n`, owner: "zookeeper" });
      }
      expect(cfgs.size).toBe(1);
    }
  });

  it("runs ZooKeeper natively under systemd as its own user with a bounded heap", () => {
    const unit = fileOf(renderSteps(masterInput({ masters: 3 })), "/etc/systemd/system/zookeeper.service").content;
    expect(unit).toMatch(/^User=zookeeper$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toContain("ExecStart=/opt/zookeeper-3.8.6/bin/zkServer.sh \\\n  start-foreground /var/lib/zookeeper/conf/zoo.cfg");
    const step2 = renderSteps(masterInput({ masters: 3 })).find((s) => s.name === "zookeeper")!;
    expect(step2.commands.join("\n")).toMatch(/ZK_SERVER_HEAP=.*-Xmx%sm/);
  });

  it("gates ZooKeeper on this node's mode and a majority with one leader", () => {
    const gate = renderSteps(masterInput({ masters: 5 }, 2)).find((s) => s.name === "zookeeper")!.gate;
    expect(gate.script).toContain("em_zk_mode 10.0.1.12");
    expect(gate.script).toContain(`ips=(${[1, 2, 3, 4, 5].map(masterIp).join(" ")})`);
    expect(gate.script).toContain('if [ "$serving" -lt 3 ] || [ "$leaders" -ne 1 ]; then');
    // The one master of a cluster growing from one is its whole ensemble until the new masters add themselves.
    const seeding = renderSteps({ ...masterInput({ masters: 3 }, 1), seedsNewMasters: true }).find((s) => s.name === "zookeeper")!;
    expect(seeding.gate.script).toContain('if [ "$serving" -lt 1 ] || [ "$leaders" -ne 1 ]; then');
    expect(gate.hint).toMatch(/2888 and 3888/);
    // Agents only wait for the quorum (no ZooKeeper of their own).
    const agent = renderSteps(agentInput({ masters: 3 })).find((s) => s.name === "zookeeper")!;
    expect(agent.files).toEqual([]);
    expect(agent.gate.script).not.toContain("em_zk_mode 10.0.1.1 ");
  });

  it("points Mesos and Marathon at their own ZooKeeper server; only mesos-master holds the /mesos write credential", () => {
    const input = masterInput({ masters: 3 });
    const c = input.credentials;
    const steps = renderSteps(input);
    const zk = fileOf(steps, "/etc/mesos/zk");
    // 127.0.0.1: the digest never crosses the network in clear text.
    expect(zk).toMatchObject({ mode: "0600", owner: "root", secret: true, content: `zk://mesos:${c.zkMesosPassword}@127.0.0.1:2181/mesos` });
    const env = fileOf(steps, "/etc/marathon/marathon.env");
    expect(env).toMatchObject({ mode: "0600", owner: "root", secret: true });
    expect(env.content).toContain(`MARATHON_ZK=zk://marathon:${c.zkMarathonPassword}@127.0.0.1:2181/marathon\n`);
    // Marathon only reads /mesos (world-readable): no credential in its --master.
    expect(env.content).toContain("MARATHON_MASTER=zk://127.0.0.1:2181/mesos\n");
    expect(env.content).not.toContain(c.zkMesosPassword);
    expect(env.content).toContain(`MARATHON_HTTP_CREDENTIALS=admin:${c.adminPassword}\n`);
    expect(env.content).toContain("LIBPROCESS_PORT=15050\n");
    const secret = fileOf(steps, "/etc/marathon/secret");
    expect(secret).toMatchObject({ content: c.marathonSecret, mode: "0400", owner: "marathon", group: "marathon", secret: true });
    expect(secret.content.endsWith("\n")).toBe(false);
    const creds = JSON.parse(fileOf(steps, "/etc/mesos/credentials").content);
    expect(creds.credentials.map((x: { principal: string }) => x.principal))
      .toEqual(["agent", "marathon", "admin", "health", "drain"]);
    expect(creds.credentials.find((x: { principal: string }) => x.principal === "drain").secret).toBe(c.drainPassword);
    expect(creds.credentials.find((x: { principal: string }) => x.principal === "health").secret).toBe(c.healthPassword);
  });

  it("runs tasks as the pools' task users: Mesos ACLs on masters and agents, Marathon's default user, the agent's user", () => {
    const m = masterInput({ masters: 3 });
    const master = JSON.parse(fileOf(renderSteps({ ...m, taskUsers: ["mesos-task", "etl", "mesos-task"] }), "/etc/mesos/acls.json").content);
    expect(master.permissive).toBe(false);
    expect(master.register_frameworks).toEqual([{ principals: { values: ["marathon"] }, roles: { type: "ANY" } },
      { principals: { values: ["admin"] }, roles: { type: "ANY" } }]);
    expect(master.run_tasks[0]).toEqual({ principals: { values: ["marathon"] }, users: { values: ["etl", "mesos-task"] } });
    expect(master.register_agents[0]).toEqual({ principals: { values: ["agent"] }, agents: { type: "ANY" } });
    expect(master.get_endpoints[0]).toEqual({ principals: { values: ["health"] }, paths: { values: ["/metrics/snapshot"] } });
    expect(master.drain_agents[0]).toEqual({ principals: { values: ["drain"] }, agents: { type: "ANY" } });
    // health, drain and agent do nothing else; admin does everything.
    for (const [action, rules] of Object.entries(master).filter(([k]) => k !== "permissive") as [string, { principals: { values: string[] } }[]][]) {
      const who = rules.map((r) => r.principals.values[0]);
      expect(who.at(-1), action).toBe("admin");
      if (who.includes("agent")) expect(action).toBe("register_agents");
      if (who.includes("marathon")) expect(["register_frameworks", "run_tasks"]).toContain(action);
      if (who.includes("health")) expect(action).toMatch(/^(get_endpoints|view_(frameworks|tasks|executors|roles))$/);
      if (who.includes("drain")) expect(action).toBe("drain_agents");
    }
    // The fields of Mesos' `ACLs` message (include/mesos/authorizer/acls.proto, 1.11): a misspelt one would
    // leave admin without that permission (permissive false) or stop the master at start.
    const proto = `register_frameworks run_tasks reserve_resources unreserve_resources create_volumes destroy_volumes
      teardown_frameworks update_weights get_endpoints get_quotas update_quotas view_frameworks view_tasks
      view_executors access_sandboxes access_mesos_logs view_roles view_flags launch_nested_containers_as_user
      launch_nested_containers_under_parent_with_user kill_nested_containers wait_nested_containers
      launch_nested_container_sessions_as_user launch_nested_container_sessions_under_parent_with_user
      attach_containers_input attach_containers_output view_containers set_log_level remove_nested_containers
      register_agents update_maintenance_schedules get_maintenance_schedules start_maintenances stop_maintenances
      get_maintenance_statuses drain_agents deactivate_agents reactivate_agents mark_agents_gone
      launch_standalone_containers kill_standalone_containers wait_standalone_containers remove_standalone_containers
      view_standalone_containers modify_resource_provider_configs mark_resource_providers_gone view_resource_providers
      prune_images resize_volumes create_block_disks destroy_block_disks create_mount_disks destroy_mount_disks
      destroy_raw_disks`.split(/\s+/);
    expect(Object.keys(master).filter((k) => k !== "permissive").sort()).toEqual([...proto].sort());
    expect(fileOf(renderSteps(m), "/etc/mesos/acls.json")).toMatchObject({ mode: "0600", owner: "root" });
    expect(JSON.parse(fileOf(renderSteps(m), "/etc/mesos/acls.json").content).run_tasks[0].users).toEqual({ values: ["mesos-task"] });
    const marathon = fileOf(renderSteps({ ...m, taskUsers: ["root", "etl"] }), "/etc/systemd/system/marathon.service").content;
    expect(marathon).toMatch(/--mesos_user etl/);
    const a = agentInput({ masters: 3 });
    const agent = renderSteps({ ...a, node: { ...a.node, taskUser: "etl" } });
    expect(JSON.parse(fileOf(agent, "/etc/mesos/acls.json").content).run_tasks[0].users).toEqual({ values: ["etl"] });
    expect(stepNamed(agent, "install").commands).toContain("em_user etl /nonexistent");
    expect(stepNamed(agent, "install").gate.script).toContain("id -u etl");
    expect(stepNamed(renderSteps(m), "install").commands.join("\n")).not.toContain("mesos-task");
    // Credential directories: no other user may even list them (Marathon's group reaches its secret file).
    for (const input of [m, a]) {
      const cmds = stepNamed(renderSteps(input), "install").commands;
      expect(cmds).toContain("em_dir /etc/mesos 0700 root root");
      expect(cmds).toContain("em_dir /etc/elastic-mesos 0700 root root");
    }
    expect(stepNamed(renderSteps(m), "install").commands).toContain("em_dir /etc/marathon 0750 root marathon");
  });

  it("hides every process from other users on masters (/proc hidepid=2, a unit that survives a reboot)", () => {
    const steps = renderSteps(masterInput({ masters: 3 }));
    const unit = fileOf(steps, "/etc/systemd/system/elastic-mesos-hidepid.service").content;
    expect(unit).toContain("ExecStart=/bin/mount \\\n  -o remount,hidepid=2 \\\n  /proc");
    expect(unit).toContain("ExecStop=/bin/mount -o remount,hidepid=0 /proc");
    expect(unit).toMatch(/^Before=.*mesos-master\.service marathon\.service$/m);
    expect(stepNamed(steps, "install").commands).toContain("em_service elastic-mesos-hidepid /etc/systemd/system/elastic-mesos-hidepid.service");
    expect(stepNamed(steps, "install").gate.script).toContain("hidepid=(2|invisible)");
    expect(files(renderSteps(agentInput({ masters: 3 }))).map((f) => f.path)).not.toContain("/etc/systemd/system/elastic-mesos-hidepid.service");
  });

  it("gives agents only their own credential, the health one and their JWT key, and discovers their address when unknown", () => {
    const cloud = renderSteps(agentInput({ masters: 3 }));
    const c = agentInput({ masters: 3 }).credentials;
    expect(JSON.parse(fileOf(cloud, "/etc/mesos/credential").content)).toEqual({ principal: "agent", secret: c.agentSecret });
    const http = fileOf(cloud, "/etc/mesos/http_credentials");
    expect(http).toMatchObject({ mode: "0600", secret: true });
    expect(JSON.parse(http.content)).toEqual({ credentials: [{ principal: "health", secret: c.healthPassword }] });
    expect(fileOf(cloud, "/etc/mesos/jwt_secret_key")).toMatchObject({ content: agentJwtKey(c, "general-1"), mode: "0600", owner: "root", secret: true });
    expect(fileOf(cloud, "/etc/mesos/zk")).toMatchObject({ content: "zk://10.0.1.11:2181,10.0.1.12:2181,10.0.1.13:2181/mesos", mode: "0600" });
    expect(fileOf(cloud, "/etc/elastic-mesos/health.curlrc").content).toBe(`user = "health:${c.healthPassword}"\n`);
    expect(stepNamed(cloud, "mesos").gate.script).toContain("-K /etc/elastic-mesos/health.curlrc");
    // Nothing a task could use against the cluster: no admin, marathon or ZooKeeper credential, no JWT root.
    for (const pool of POOLS) {
      const steps = renderSteps(agentInput({ masters: 3 }, pool));
      const all = [...files(steps).map((f) => f.content), ...renderStepScripts(steps).map((s) => s.script), renderCloudConfig(steps)].join("\n");
      for (const k of ["adminPassword", "marathonSecret", "zkMesosPassword", "zkMarathonPassword", "agentJwtRoot"] as const) {
        expect(all.includes(c[k]), `${pool.name}: ${k}`).toBe(false);
      }
    }
    expect(stepNamed(cloud, "install").commands.join("\n")).toContain("self_ip=$(em_route_src 10.0.1.11)");
    const bare = renderSteps(agentInput({ masters: 3 }, POOLS[0], 1, "192.168.5.20"));
    expect(stepNamed(bare, "install").commands).toContain("self_ip=192.168.5.20");
  });

  it("marks every file holding a credential secret and never world-readable; credentials appear nowhere else", () => {
    for (const shape of [{ masters: 1 as const }, { masters: 5 as const, overrides: { marathon: { aptPackage: "marathon" } } }]) {
      for (const input of clusterInputs(shape)) {
        const steps = renderSteps(input);
        const secrets = secretsOf(input);
        for (const f of files(steps)) {
          const holds = secrets.some((s) => f.content.includes(s));
          expect(f.secret === true, `${input.node.id} ${f.path} secret flag`).toBe(holds);
          if (holds) {
            expect(f.mode, f.path).toMatch(/^0[0-7][0-4]0$/);
            expect(["root", "marathon"]).toContain(f.owner);
          }
        }
        for (const s of steps) {
          const elsewhere = [s.title, ...s.commands, s.gate.script, s.gate.description, s.gate.hint].join("\n");
          for (const secret of secrets) expect(elsewhere, `${input.node.id} step ${s.name}`).not.toContain(secret);
        }
        for (const script of renderStepScripts(steps)) {
          if (!script.secret) for (const secret of secrets) expect(script.script).not.toContain(secret);
        }
      }
    }
  });

  it("refuses bad inputs before rendering, naming the key", () => {
    const m = masterInput({ masters: 3 });
    expect(() => renderSteps({ ...m, quorum: 1 })).toThrow(/quorum: 1 does not match floor\(3\/2\)\+1 = 2/);
    expect(() => renderSteps({ ...m, masters: m.masters.slice(0, 2), quorum: 2 })).toThrow(/masters\.count: 2 masters; use 1, 3 or 5/);
    expect(() => renderSteps({ ...m, masters: m.masters.map((x) => ({ ...x, zkId: 1 })) })).toThrow(/zkId 1 is used twice/);
    expect(() => renderSteps({ ...m, os: "centos-7" as never })).toThrow(/os: "centos-7" is not supported/);
    expect(() => renderSteps({ ...m, node: { ...m.node, id: "m9" } })).toThrow(/node m9: role is master but it is not in the masters list/);
    const a = agentInput({ masters: 3 }, POOLS[1]);
    expect(() => renderSteps({ ...a, node: { ...a.node, attributes: { rack: "a;b" } } })).toThrow(/agentPools\[gpu\]\.attributes\.rack: "a;b" is not valid/);
    expect(() => renderSteps({ ...a, node: { ...a.node, containerizers: [] } })).toThrow(/agentPools\[gpu\]\.containerizers/);
    expect(() => renderSteps({ ...a, selfIp: "10.0.0.300" })).toThrow(/selfIp "10\.0\.0\.300" is not an IPv4 address/);
  });

  it("installs Docker only where it is used, and Marathon from the apt package when configured", () => {
    const install = (input: BootstrapInput) => renderSteps(input).find((s) => s.name === "install")!.commands.join("\n");
    expect(install(masterInput({ masters: 3 }))).toContain("docker-ce=5:27.5.1*");
    expect(install(masterInput({ masters: 3 }))).toContain("em_image mesosphere/marathon:v1.11.24 -");
    const aptMarathon = install(masterInput({ masters: 3, overrides: { marathon: { aptPackage: "marathon" } } }));
    expect(aptMarathon).not.toContain("docker");
    expect(aptMarathon).toContain("'marathon=1.11.24*'");
    expect(aptMarathon).toContain("em_mask marathon");
    expect(install(agentInput({ masters: 3 }, POOLS[1]))).not.toContain("docker"); // mesos containerizer only
    expect(install(agentInput({ masters: 3 }, POOLS[2]))).toContain("docker-ce=5:27.5.1*");
    const el = install(masterInput({ masters: 3, os: "rocky-9" }));
    expect(el).toContain("'mesos-1.11.0-0.9.0*'");
    expect(el).toContain("java-17-openjdk-headless");
    expect(el).toContain("rocky:9|rocky:9.*|rhel:9");
  });

  it("render the same bytes twice (steps, scripts and user-data)", () => {
    for (const input of clusterInputs({ masters: 5 })) {
      const a = renderSteps(input);
      const b = renderSteps(structuredClone(input));
      expect(JSON.stringify(b)).toBe(JSON.stringify(a));
      expect(renderStepScripts(b)).toEqual(renderStepScripts(a));
      expect(renderCloudConfig(b)).toBe(renderCloudConfig(a));
    }
  });
});
