// On clouds an agent's user-data is readable by anything on the machine that reaches the metadata service
// (and by anyone with read-only cloud API access): it must carry no credential a task could use against
// the cluster. The program runs under mocks for every cloud-init provider; each node's user-data is
// unpacked (the step scripts travel as a gzip'ed tar) and searched for the credentials only masters hold.
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { deriveCredentials } from "../../provisioning/credentials";
import { STACKS } from "./fixtures";
import { runProgram } from "./harness";
import { reveal } from "./mocks";
import { bootUnpacked, gcpBootText } from "../fixtures/boot-text";

/** Where each provider puts the user-data of an instance (and of a pool's group template, where agents are groups). */
const CLOUDS = [
  { provider: "aws", type: "aws:ec2/instance:Instance", userData: (i: any) => gunzipSync(Buffer.from(reveal(i.userDataBase64), "base64")).toString(),
    // A pool's agents: its group's launch template, gzip'ed too (providers/aws/groups.ts).
    agentType: "aws:ec2/launchTemplate:LaunchTemplate",
    agentUserData: (lt: any) => gunzipSync(Buffer.from(reveal(lt.userData), "base64")).toString() },
  // GCP: the guest agent's startup script (or a #cloud-config where one is rendered); pools: their instance templates.
  { provider: "gcp", type: "gcp:compute/instance:Instance", userData: (i: any) => gcpBootText(reveal(i.metadata)),
    agentType: "gcp:compute/instanceTemplate:InstanceTemplate",
    agentUserData: (t: any) => gcpBootText(reveal(t.metadata)) },
  { provider: "openstack", type: "openstack:compute/instance:Instance", userData: (i: any) => reveal(i.userData) },
] as const;

/** The #cloud-config with its step bundle unpacked: everything the machine receives, as text. */
function unpacked(userData: string): string {
  if (userData.startsWith("#!")) return bootUnpacked(userData); // a GCE startup script
  const doc = parse(userData);
  const files = (doc.write_files ?? []).map((f: { encoding?: string; content: string }) =>
    f.encoding === "gz+b64" ? gunzipSync(Buffer.from(f.content, "base64")).toString("latin1") : f.content);
  return [userData, ...files].join("\n");
}

describe.each(CLOUDS)("$provider: agents' user-data", (cloud) => {
  const { provider, type, userData } = cloud;
  const agentType = "agentType" in cloud ? cloud.agentType : undefined;
  const agentUserData = "agentUserData" in cloud ? cloud.agentUserData : userData;
  it("holds no admin password, Marathon secret, ZooKeeper password or JWT root; masters' does (the search works)", async () => {
    const r = await runProgram(STACKS[provider]);
    const c = deriveCredentials(STACKS[provider].clusterSecret as string, "prod");
    const nodes = r.resources.filter((x) => x.type === type);
    const agents = agentType ? r.resources.filter((x) => x.type === agentType)
      : nodes.filter((n) => !/-m\d$/.test(n.name));
    expect(agents.length).toBeGreaterThan(0);
    for (const a of agents) {
      const text = unpacked(agentUserData(a.inputs));
      for (const k of ["adminPassword", "marathonSecret", "zkMesosPassword", "zkMarathonPassword", "agentJwtRoot"] as const) {
        expect(text.includes(c[k]), `${a.name}: ${k}`).toBe(false);
      }
      expect(text).toContain(c.agentSecret); // its own credential, so the unpacking is known to reach the files
      // Its executors' own TLS identity and environment; peers unverified (no agent certificate names its address).
      expect(text).toContain("--executor_environment_variables=file:///etc/mesos/executor-env.json");
      expect(text).toContain("LIBPROCESS_SSL_VERIFY_SERVER_CERT=false");
    }
    const m1 = unpacked(userData(nodes.find((n) => n.name === "prod-m1")!.inputs));
    expect(m1).toContain(c.adminPassword);
    expect(m1).toContain(c.zkMesosPassword);
  });
});
