// The Mesos/Marathon stand-ins (test fixtures) behave like the real programs where a provisioner depends on it:
// leader election through a real 3-node ZooKeeper (the lab mirror's Apache-layout tarball), failover within
// the ZooKeeper session timeout, strict flags, agent authentication, Marathon basic auth, and the replicated log's
// replica status (a replica added to one master's log never votes; a copy of a voting replica does).
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { http, labInfo, mirrorAptSetup, ssh, sshOk, waitFor, ZK_VERSION } from "../fixtures/lab";
import { waitForAptLocks } from "../fixtures/apt-locks";

const skip = inject("labSkipReason");
const HOSTS = ["h1", "h2", "h3"];
const ADMIN: [string, string] = ["admin", "admin-secret-1"];
const ZK_SESSION_SECS = 6;
const ZK = "zk://mesos:zk-mesos-pw@h1:2181,h2:2181,h3:2181/mesos";
const ZKV = ZK_VERSION; // the lab mirror's real ZooKeeper (test/fixtures/lab.ts)

const ip = (h: string) => labInfo().hosts.find((x) => x.name === h)!.ip;
const masterUrl = (h: string) => `http://${ip(h)}:5050`;

/** Install stand-ins from the mirror's apt repo and ZooKeeper from its tarball; start a 3-node ensemble. */
function prepare(h: string, myid: number): string {
  const lab = labInfo();
  const tgz = `${lab.mirror}/zookeeper/zookeeper-${ZKV}/apache-zookeeper-${ZKV}-bin.tar.gz`;
  return `set -e
systemctl stop standin-master standin-agent standin-marathon lab-zookeeper 2>/dev/null || true
systemctl reset-failed 2>/dev/null || true
rm -rf /var/lib/mesos /var/lib/lab-zookeeper /opt/apache-zookeeper-${ZKV}-bin
${mirrorAptSetup(lab)}
${waitForAptLocks()}
apt-get -q -o DPkg::Lock::Timeout=120 -o Acquire::http::Timeout=30 update >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=120 install -y aventer-mesos marathon >/tmp/standins-install.log 2>&1 || { tail -20 /tmp/standins-install.log; exit 1; }
command -v java >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=120 install -y --no-install-recommends openjdk-17-jre-headless >/dev/null
cd /opt && curl -fsS ${tgz} -o zk.tgz && echo "$(curl -fsS ${tgz}.sha512 | cut -d' ' -f1)  zk.tgz" | sha512sum -c --quiet && tar xzf zk.tgz && rm zk.tgz
Z=/opt/apache-zookeeper-${ZKV}-bin
mkdir -p /var/lib/lab-zookeeper && echo ${myid} > /var/lib/lab-zookeeper/myid
printf 'tickTime=1000\\ninitLimit=10\\nsyncLimit=5\\ndataDir=/var/lib/lab-zookeeper\\nclientPort=2181\\nadmin.enableServer=false\\n4lw.commands.whitelist=srvr,ruok\\nserver.1=h1:2888:3888\\nserver.2=h2:2888:3888\\nserver.3=h3:2888:3888\\n' > $Z/conf/zoo.cfg
printf '[Service]\\nEnvironment=ZK_SERVER_HEAP=128\\nExecStart=%s/bin/zkServer.sh start-foreground\\n' $Z > /etc/systemd/system/lab-zookeeper.service
mkdir -p /etc/mesos
printf '{"credentials":[{"principal":"agent","secret":"agent-secret-1"},{"principal":"marathon","secret":"marathon-secret-1"},{"principal":"admin","secret":"${ADMIN[1]}"}]}' > /etc/mesos/credentials
chmod 600 /etc/mesos/credentials
echo '${ZK}' > /etc/mesos/zk && chmod 640 /etc/mesos/zk
systemctl daemon-reload && systemctl start lab-zookeeper
`;
}

/** Everything prepare() and the tests put on a host. */
const CLEANUP = `systemctl stop standin-master standin-agent standin-marathon standin-grow lab-zookeeper 2>/dev/null
systemctl reset-failed
${waitForAptLocks()}
for p in aventer-mesos marathon; do
  dpkg-query -W -f='\${Status}' $p 2>/dev/null | grep -q ' installed' &&
    apt-get -q -y -o DPkg::Lock::Timeout=120 --allow-change-held-packages purge $p >/dev/null
done
rm -rf /var/lib/mesos /var/lib/lab-zookeeper /opt/apache-zookeeper-${ZKV}-bin /etc/systemd/system/lab-zookeeper.service \\
  /etc/mesos /etc/marathon-secret /etc/apt/sources.list.d/lab-mirror.list /etc/apt/keyrings/lab-archive.asc
systemctl daemon-reload
true`;

/** A transient unit: Restart=no, so a killed stand-in stays dead (the test decides). */
function startUnit(unit: string, cmd: string): string {
  return `systemctl stop ${unit} 2>/dev/null; systemctl reset-failed ${unit} 2>/dev/null; systemd-run --unit=${unit} -p Restart=no ${cmd} >/dev/null 2>&1`;
}

const masterCmd = (h: string) =>
  `/usr/sbin/mesos-master --zk=file:///etc/mesos/zk --quorum=2 --work_dir=/var/lib/mesos/master --ip=${ip(h)} --hostname=${h} ` +
  `--zk_session_timeout=${ZK_SESSION_SECS}secs --authenticate_agents --authenticate_frameworks --authenticate_http_readonly ` +
  `--authenticate_http_readwrite --credentials=/etc/mesos/credentials`;

async function elected(): Promise<string[]> {
  const out: string[] = [];
  for (const h of HOSTS) {
    const r = await http(`${masterUrl(h)}/metrics/snapshot`, { auth: ADMIN, timeoutMs: 2000 });
    if (r.status === 200 && JSON.parse(r.body)["master/elected"] === 1) out.push(h);
  }
  return out;
}

async function leaderState(leader: string): Promise<any> {
  const r = await http(`${masterUrl(leader)}/master/state`, { auth: ADMIN });
  return r.status === 200 ? JSON.parse(r.body) : undefined;
}

describe.skipIf(!!skip)("stand-ins on a real ZooKeeper ensemble", () => {
  let leader = "";

  beforeAll(async () => {
    await Promise.all(HOSTS.map((h, i) => sshOk(h, prepare(h, i + 1), 600_000)));
    await waitFor("a ZooKeeper quorum (1 leader, 2 followers)", async () => {
      const modes = await Promise.all(HOSTS.map((h) => ssh(h, "echo srvr | nc -w2 127.0.0.1 2181 | sed -n 's/^Mode: //p'")));
      const m = modes.map((r) => r.stdout.trim()).sort().join(",");
      return m === "follower,follower,leader";
    }, 90_000, 500);
    await Promise.all(HOSTS.map((h) => sshOk(h, startUnit("standin-master", masterCmd(h)))));
  });

  afterAll(async () => {
    // Leave the shared hosts as we found them, whichever test failed: nothing running, no failed units
    // (systemctl is-system-running), none of our packages, files or apt sources.
    await Promise.all(HOSTS.map((h) => ssh(h, CLEANUP, 600_000)));
  });

  it("3 masters elect exactly one leader; standbys redirect to it", async () => {
    const leaders = await waitFor("exactly one elected master", async () => {
      const e = await elected();
      return e.length === 1 ? e : undefined;
    }, 30_000);
    leader = leaders[0];
    const state = await waitFor("leader state", () => leaderState(leader), 30_000);
    expect(state.leader).toBe(`master@${ip(leader)}:5050`);
    expect(state.leader_info.hostname).toBe(leader);
    for (const h of HOSTS.filter((x) => x !== leader)) {
      // Like Mesos 1.11, a standby answers 503 ("No leader elected") until its own ZooKeeper watch has told it
      // who leads, which may be a moment after the leader knows: wait for that (bounded), never assume it.
      const r = await waitFor(`${h} to learn the leader`, async () => {
        const x = await http(`${masterUrl(h)}/redirect`);
        return x.status === 503 ? undefined : x;
      }, 10_000, 100);
      expect(r.status).toBe(307);
      expect(r.headers.get("location")).toBe(`//${leader}:5050`);
      expect((await http(`${masterUrl(h)}/master/state`, { auth: ADMIN })).status).toBe(307);
    }
    // ZooKeeper holds one EPHEMERAL_SEQUENTIAL json.info_ znode per master, world-readable, digest-owned
    const cli = `/opt/apache-zookeeper-${ZKV}-bin/bin/zkCli.sh -server 127.0.0.1:2181`;
    const zk = await sshOk("h1", `${cli} ls /mesos 2>/dev/null | grep json.info_; ` +
      `${cli} getAcl /mesos 2>/dev/null | grep -A1 -E "^'(world|digest)"`);
    expect(zk.match(/json\.info_\d{10}/g)?.length).toBe(3);
    expect(zk).toContain("'world,'anyone\n: r");
    expect(zk).toMatch(/'digest,'mesos:/);
    expect((await http(`${masterUrl(leader)}/master/state`)).status).toBe(401); // readonly auth is on
    expect((await http(`${masterUrl(leader)}/health`)).status).toBe(200); // /health never needs auth
  });

  it("refuses an unknown flag with Mesos' message and exit code, like the real binaries", async () => {
    const r = await ssh("h1", "mesos-master --work_dir=/tmp/x --quorum_size=2; echo \"rc=$?\"; mesos-agent --no-bogus; echo \"rc=$?\"; " +
      "/usr/share/marathon/bin/marathon --master zk://h1:2181/mesos --no_such_option 1; echo \"rc=$?\"; mesos-master --version");
    expect(r.stderr).toContain("Failed to load unknown flag 'quorum_size'");
    expect(r.stderr).toContain("Failed to load unknown flag 'bogus' via 'no-bogus'");
    expect(r.stderr).toContain("Unknown option 'no_such_option'");
    expect(r.stdout.match(/rc=1/g)?.length).toBe(3);
    expect(r.stdout).toContain("TEST FIXTURE stand-in, not Apache Mesos");
  });

  it("registers an agent with the right secret, refuses one with a wrong secret, drains on request", async () => {
    const agent = (h: string, secret: string) =>
      `printf '{"principal":"agent","secret":"${secret}"}' > /etc/mesos/credential; chmod 600 /etc/mesos/credential; ` +
      startUnit("standin-agent", `/usr/sbin/mesos-agent --master=file:///etc/mesos/zk --work_dir=/var/lib/mesos/agent ` +
        `--ip=${ip(h)} --hostname=${h} --credential=/etc/mesos/credential '--attributes=pool:general;rack:r2'`);
    await sshOk("h2", agent("h2", "agent-secret-1"));
    await sshOk("h3", agent("h3", "wrong-secret"));
    const state = await waitFor("h2 registered", async () => {
      const s = await leaderState(leader);
      return s?.slaves.some((a: any) => a.hostname === "h2") ? s : undefined;
    }, 30_000);
    const h2 = state.slaves.find((a: any) => a.hostname === "h2");
    expect(h2.attributes).toEqual({ pool: "general", rack: "r2" });
    // the master logs the refused authentication like Mesos; the agent stays unregistered
    await waitFor("the leader to refuse h3", async () =>
      (await sshOk(leader, "journalctl -u standin-master --no-pager")).includes(`Failed to authenticate agent slave(1)@${ip("h3")}`), 20_000);
    expect((await leaderState(leader)).slaves.some((a: any) => a.hostname === "h3")).toBe(false);
    expect(JSON.parse((await http(`http://${ip("h2")}:5051/metrics/snapshot`)).body)["slave/registered"]).toBe(1);
    expect(JSON.parse((await http(`http://${ip("h3")}:5051/metrics/snapshot`)).body)["slave/registered"]).toBe(0);

    const api = (json: unknown) => http(`${masterUrl(leader)}/api/v1`, { auth: ADMIN, json });
    expect((await http(`${masterUrl(leader)}/api/v1`, { json: { type: "GET_HEALTH" } })).status).toBe(401);
    expect((await api({ type: "DRAIN_AGENT", drain_agent: { agent_id: { value: h2.id } } })).status).toBe(200);
    await waitFor("h2 DRAINED", async () => {
      const agents = JSON.parse((await api({ type: "GET_AGENTS" })).body).get_agents.agents;
      return agents.find((a: any) => a.agent_info.id.value === h2.id)?.drain_info?.state === "DRAINED";
    }, 20_000);
    expect((await api({ type: "UNDRAIN_AGENT", undrain_agent: { agent_id: { value: h2.id } } })).status).toBe(200);
  });

  it("Marathon answers /ping only with credentials and registers with the leader using its secret file", async () => {
    await sshOk("h1", "printf 'marathon-secret-1' > /etc/marathon-secret && chmod 600 /etc/marathon-secret; " +
      startUnit("standin-marathon", `-E MARATHON_ZK=zk://marathon:zk-marathon-pw@h1:2181,h2:2181,h3:2181/marathon ` +
        `/usr/share/marathon/bin/marathon --master ${ZK} --hostname h1 --http_credentials admin:${ADMIN[1]} ` +
        `--mesos_authentication --mesos_authentication_principal marathon --mesos_authentication_secret_file /etc/marathon-secret`));
    const url = `http://${ip("h1")}:8080`;
    const pong = await waitFor("Marathon /ping", async () => {
      const r = await http(`${url}/ping`, { auth: ADMIN });
      return r.status === 200 ? r : undefined;
    }, 30_000);
    expect(pong.body).toBe("pong");
    const anon = await http(`${url}/ping`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get("www-authenticate")).toBe('Basic realm="Mesosphere"');
    expect((await http(`${url}/ping`, { auth: ["admin", "wrong"] })).status).toBe(401);
    expect(JSON.parse((await http(`${url}/v2/leader`, { auth: ADMIN })).body)).toEqual({ leader: "h1:8080" });
    // Like Marathon's bin/marathon, the launcher turned MARATHON_ZK into a flag: the digest is in the argv.
    const args = await sshOk("h1", "ps -o args= -u root | grep -F 'standin.marathon' | grep -v grep");
    expect(args).toContain("--zk zk://marathon:zk-marathon-pw@h1:2181,h2:2181,h3:2181/marathon");
    await waitFor("framework marathon registered", async () =>
      (await leaderState(leader))?.frameworks.some((f: any) => f.name === "marathon" && f.principal === "marathon"), 30_000);
  });

  it(`fails over: killing the leader elects another within the ZooKeeper session timeout (${ZK_SESSION_SECS} s)`, async () => {
    const t0 = Date.now();
    await sshOk(leader, "systemctl kill -s KILL standin-master");
    const next = await waitFor("a new leader", async () => {
      const e = await elected();
      return e.length === 1 && e[0] !== leader ? e[0] : undefined;
    }, 60_000, 100);
    const secs = (Date.now() - t0) / 1000;
    console.log(`[standins] ${leader} killed; ${next} elected after ${secs.toFixed(1)} s`);
    // ZooKeeper expires the dead session after its timeout (checked every 1 s tick), then the watch fires;
    // allow 3 s for ticks, the ssh round trip and polling
    expect(secs).toBeLessThan(ZK_SESSION_SECS + 3);
    // the agent follows the new leader
    await waitFor("h2 re-registered with the new leader", async () =>
      (await leaderState(next))?.slaves.some((a: any) => a.hostname === "h2"), 30_000);
  });

  it("a replica added to one master's log stays EMPTY at --quorum=2; a copy of the voting replica votes at once", async () => {
    // Another log beside the cluster's (its own znode, port and work_dir; not 5060, a port fetch refuses): one master,
    // then a second one.
    const GROW = "/var/lib/mesos/grow";
    const grow = (h: string, quorum: number) => startUnit("standin-grow", `/usr/sbin/mesos-master ` +
      `--zk=zk://mesos:zk-mesos-pw@h1:2181,h2:2181,h3:2181/grow --quorum=${quorum} --work_dir=${GROW} --ip=${ip(h)} ` +
      `--hostname=${h} --port=5070 --zk_session_timeout=${ZK_SESSION_SECS}secs`);
    const metrics = async (h: string) => {
      const r = await http(`http://${ip(h)}:5070/metrics/snapshot`, { timeoutMs: 2000 }).catch(() => undefined);
      return r?.status === 200 ? JSON.parse(r.body) as Record<string, number> : undefined;
    };
    const status = (h: string) => sshOk(h, `cat ${GROW}/replicated_log/status`).then((x) => x.trim());
    await sshOk("h1", grow("h1", 1));
    await waitFor("h1's log recovered alone (--quorum=1)", async () => (await metrics("h1"))?.["registrar/log/recovered"] === 1, 30_000);
    // Growing: h1 restarts with --quorum=2 and h2 starts with a new replica. h2 never votes: only h1 does.
    await sshOk("h1", grow("h1", 2));
    await sshOk("h2", `rm -rf ${GROW}; ${grow("h2", 2)}`);
    await waitFor("both replicas registered", async () => (await metrics("h1"))?.["registrar/log/ensemble_size"] === 2, 30_000);
    await new Promise((r) => setTimeout(r, 5000));
    expect([await status("h1"), await status("h2")]).toEqual(["VOTING", "EMPTY"]);
    expect((await metrics("h1"))?.["registrar/log/recovered"]).toBe(0);
    expect(await sshOk("h2", "journalctl -u standin-grow --no-pager")).toContain("Replica is in EMPTY status: 1 VOTING of 2 replicas seen, quorum 2");
    // A copy of h1's replica (h1 stopped for it) in place of h2's: both vote, and the log recovers.
    await Promise.all(["h1", "h2"].map((h) => sshOk(h, "systemctl stop standin-grow")));
    const copy = await sshOk("h1", `tar -C ${GROW} -czf - replicated_log | base64 -w0`);
    await sshOk("h2", `rm -rf ${GROW}/replicated_log && echo ${copy.trim()} | base64 -d | tar -C ${GROW} -xzf -`);
    await Promise.all(["h1", "h2"].map((h) => sshOk(h, grow(h, 2))));
    const leader = await waitFor("a recovered leader at --quorum=2", async () => {
      for (const h of ["h1", "h2"]) if ((await metrics(h))?.["registrar/log/recovered"] === 1) return h;
      return undefined;
    }, 30_000);
    expect([leader, await status("h1"), await status("h2")]).toEqual([expect.stringMatching(/^h[12]$/), "VOTING", "VOTING"]);
    await Promise.all(["h1", "h2"].map((h) => sshOk(h, `systemctl stop standin-grow; rm -rf ${GROW}`)));
  });
});
