// A host belongs to one cluster, through the real bare-metal provider over real SSH on lab host h14
// (HOST_SAFETY_LAB_HOST to change): cluster A's step marks the host and keeps itself for re-runs by hand;
// cluster B's create is refused before anything changes; B's delete (pulumi destroy) of A's host is refused
// and removes nothing; A's delete removes the mark and the kept steps. The provider renders small steps
// (deps.render) through the real renderer and em-lib.sh, so nothing of a cluster is installed on h14.
// Run: npx vitest run --project lab test/lab/host-safety.test.ts
import { describe, expect, inject, it } from "vitest";
import { MesosHostProvider } from "../../provisioning/baremetal/provider";
import type { HostPlan } from "../../provisioning/baremetal/render";
import type { HostInputs, HostOutputs } from "../../provisioning/baremetal/types";
import { renderStepScripts } from "../../provisioning/render/ssh-plan";
import type { Credentials, Step } from "../../provisioning/steps/types";
import { host, labInfo, sshOk, labHostKeyFingerprint as fingerprint } from "../fixtures/lab";
import { hostInputs } from "../fixtures/ssh-server";

const NAME = process.env.HOST_SAFETY_LAB_HOST ?? "h14";
const labSkip = inject("labSkipReason");
const up = () => { try { return labInfo().hosts.some((h) => h.name === NAME); } catch { return false; } };
const skip = labSkip || (!up() && `needs lab host ${NAME}`);
const DIR = "/etc/em-host-safety-test";
const SECRET_A = "host-safety-lab-secret-a-0123456789";
const SECRET_B = "host-safety-lab-secret-b-0123456789";


/** One real step (a file that says which cluster wrote it), rendered as every step is. */
function render(i: HostInputs, c: Credentials): HostPlan {
  const step: Step = {
    name: "install", index: 1, title: "host-safety lab step", commands: [],
    owner: { cluster: i.cluster, id: c.ownerId },
    files: [{ path: `${DIR}/app.conf`, content: `written by ${i.cluster}\n`, mode: "0644", owner: "root", group: "root" }],
    gate: { description: "always", script: "true", timeoutSeconds: 10, hint: "none" },
  };
  return {
    cluster: i.cluster, connection: i.connection, drain: undefined, steps: renderStepScripts([step]),
    node: { id: i.node.id, role: i.node.role, pool: i.node.pool, hostname: i.node.hostname, ip: i.selfIp },
    cleanup: { units: [], files: [`${DIR}/app.conf`], dirs: [DIR, "/var/lib/elastic-mesos"], users: [], packages: [] },
  };
}

describe.skipIf(skip)(`a host belongs to one cluster (bare-metal provider on ${NAME})`, () => {
  const state = `for p in ${DIR} /etc/elastic-mesos /var/lib/elastic-mesos; do [ -e "$p" ] && find "$p" -printf '%p %m %T@ ' -type f -exec sha256sum {} \\; ; done; true`;

  async function provider(secret: string) {
    const lab = labInfo();
    const p = new MesosHostProvider({ render });
    const config: Record<string, string> = { sshPrivateKey: (await import("node:fs")).readFileSync(lab.sshKey, "utf8"), clusterSecret: secret };
    await p.configure({ config: { get: (k: string) => config[k.replace(/^elastic-mesos:/, "")] } } as any);
    return p;
  }
  const inputs = (cluster: string): HostInputs => {
    const h = host(NAME);
    return hostInputs({ cluster, selfIp: h.ip, drain: undefined,
      connection: { host: h.ip, port: 22, user: "root", hostKeyFingerprint: fingerprint(h.hostKey), configPath: "baremetal.hosts[0]" } });
  };

  it("A marks the host and keeps its step; B's create and B's destroy are refused with nothing changed; A's destroy releases it", async () => {
    await sshOk(NAME, `rm -rf ${DIR} /etc/elastic-mesos/owner /var/lib/elastic-mesos`);
    const a = await provider(SECRET_A);
    const created = await a.create({ spec: inputs("hsa") });
    const outsA = created.outs as HostOutputs;
    const mark = await sshOk(NAME, "cat /etc/elastic-mesos/owner; stat -c '%a %U' /var/lib/elastic-mesos/steps /var/lib/elastic-mesos/steps/1-install.sh");
    expect(mark).toContain("cluster=hsa\nowner-id=");
    expect(mark).toContain("700 root\n700 root");
    // The README's re-run by hand, on an SSH-managed host.
    expect(await sshOk(NAME, "bash /var/lib/elastic-mesos/steps/1-install.sh")).toContain("done: unchanged");

    const before = await sshOk(NAME, state);
    const b = await provider(SECRET_B);
    const err = await b.create({ spec: inputs("hsb") }).then(() => undefined, (e: Error) => e);
    expect(err?.message).toContain("this host belongs to cluster 'hsa'");
    expect(err?.message).toContain("pulumi destroy");
    expect(await sshOk(NAME, state)).toBe(before);
    expect(await sshOk(NAME, `cat ${DIR}/app.conf`)).toBe("written by hsa\n");

    // B's state claims the host too (a stack from before the marks): its destroy must not wipe A's cluster.
    const derr = await b.delete("id", { ...outsA, cluster: "hsb" }).then(() => undefined, (e: Error) => e);
    expect(derr?.message).toContain("cleanup refused: this host belongs to cluster 'hsa' now");
    expect(await sshOk(NAME, state)).toBe(before);

    await a.delete("id", outsA);
    expect(await sshOk(NAME, `ls -d ${DIR} /etc/elastic-mesos/owner /var/lib/elastic-mesos 2>/dev/null; true`)).toBe("");
    // Released: B may take it now.
    await b.create({ spec: inputs("hsb") });
    expect(await sshOk(NAME, "cat /etc/elastic-mesos/owner")).toContain("cluster=hsb");
    await sshOk(NAME, `rm -rf ${DIR} /etc/elastic-mesos/owner /var/lib/elastic-mesos`);
  }, 180_000);
});
