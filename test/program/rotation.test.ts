// clusterSecret rotating on the clouds, under mocks (the `up` 1 of provisioning/rotation/README.md: previousClusterSecret
// set, the masters pin counting generation 1). What the program hands the host provider and the clouds:
// - every host resource renders both generations (rotating, generation 1), and reaches its machine with either
//   derived SSH host key pinned: the new one, or the previous one a machine presents until its install step ran;
// - a machine made meanwhile boots its host's plan byte for byte (adopt then runs nothing), but a master boots only
//   its install step (a rotated cluster's ZooKeeper and Mesos steps are over EC2's 16 KB: the host runs them);
// - a group's template (AWS, GCP, DigitalOcean) boots both generations, under EC2's 16 KB;
// - nothing of either secret in plain text.
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { runProgram, type RunResult } from "./harness";
import { reveal } from "./mocks";
import { SECRET_KEYS, STACKS } from "./fixtures";
import { plainView } from "./secrets";
import { bootScripts, gcpBootText } from "../fixtures/boot-text";
import { deriveCredentials } from "../../provisioning/credentials";
import { hostTls, renderHost, rotatedHostKey } from "../../provisioning/baremetal/render";
import type { HostInputs } from "../../provisioning/baremetal/types";
import { caCertificate, sshHostKey } from "../../provisioning/tls";

const HOST = "pulumi-nodejs:dynamic/elastic-mesos/baremetal:Host";
const PIN = "pulumi-nodejs:dynamic/elastic-mesos/cluster:Masters";
const OLD = STACKS.aws.clusterSecret as string;
const NEW = "the-new-cluster-secret-after-rotation-01";

/** Where each cloud keeps a machine's and a group template's boot text. */
const BOOT: Record<string, { machine: string; template?: string; text: (inputs: any) => string }> = {
  aws: {
    machine: "aws:ec2/instance:Instance", template: "aws:ec2/launchTemplate:LaunchTemplate",
    text: (i) => gunzipSync(Buffer.from(reveal(i.userDataBase64 ?? i.userData), "base64")).toString(),
  },
  gcp: {
    machine: "gcp:compute/instance:Instance", template: "gcp:compute/instanceTemplate:InstanceTemplate",
    text: (i) => gcpBootText(reveal(i.metadata)),
  },
  openstack: { machine: "openstack:compute/instance:Instance", text: (i) => reveal(i.userData) },
  digitalocean: {
    machine: "digitalocean:index/droplet:Droplet", template: "digitalocean:index/dropletAutoscale:DropletAutoscale",
    text: (i) => reveal(i.dropletTemplate).userData,
  },
};

/** The first line of a PEM certificate's body: distinct for every CA. */
const bodyLine = (pem: string) => pem.split("\n")[1];

for (const cloud of ["aws", "gcp", "openstack", "digitalocean"] as const) {
  describe(`${cloud}: clusterSecret rotating (previousClusterSecret set, generation 1)`, () => {
    let r: RunResult;
    const hosts = () => r.resources.filter((x) => x.type === HOST);
    const cloudInit = cloud !== "digitalocean";
    beforeAll(async () => {
      r = await runProgram({ ...STACKS[cloud], clusterSecret: NEW, previousClusterSecret: OLD },
        { secretKeys: [...SECRET_KEYS, "previousClusterSecret"], outputs: { [PIN]: { generation: 1 } } });
    });

    it("every host renders both generations, reaching its machine with either derived host key pinned", () => {
      expect(hosts().length).toBeGreaterThan(0);
      for (const h of hosts()) {
        const spec: HostInputs = h.inputs.spec;
        expect(spec).toMatchObject({ rotating: true, generation: 1 });
        if (!cloudInit) continue; // DigitalOcean's droplets keep their own host keys (pinned on first use)
        const c = spec.connection;
        expect(c.hostKeyFingerprint).toBe(sshHostKey(NEW, "prod", spec.node.id).fingerprint);
        expect(c.previousHostKeyFingerprint).toBe(sshHostKey(OLD, "prod", spec.node.id).fingerprint);
        if (c.bastion) expect(c.bastion.previousHostKeyFingerprint).toBe(sshHostKey(OLD, "prod", c.bastion.name!).fingerprint);
      }
    });

    it("a machine made meanwhile boots its host's plan (a master its install step only)", () => {
      const machines = r.resources.filter((x) => x.type === BOOT[cloud].machine);
      expect(machines.length).toBeGreaterThan(0);
      for (const m of cloudInit ? machines : []) {
        const spec: HostInputs = hosts().find((h) => h.name === `${m.name}-bootstrap`)!.inputs.spec;
        const plan = renderHost(spec, deriveCredentials(NEW, "prod"), hostTls(NEW, spec, OLD), deriveCredentials(OLD, "prod"),
          rotatedHostKey(NEW, spec));
        const planned = Object.fromEntries(plan.steps.map((s) => [`${s.index}-${s.step}.sh`, s.script]));
        const booted = bootScripts(BOOT[cloud].text(m.inputs));
        if (spec.node.role === "master") {
          expect(Object.keys(booted)).toEqual(["1-install.sh"]);
          // Its install step's script: the plan's own, the new derived host key put in place by it.
          expect(booted["1-install.sh"]).toBe(planned["1-install.sh"]);
        } else {
          expect(booted).toEqual(planned);
        }
      }
    });

    it.skipIf(!BOOT[cloud].template)("a group's template boots both generations (under EC2's 16 KB on AWS)", () => {
      const templates = r.resources.filter((x) => x.type === BOOT[cloud].template);
      expect(templates.length).toBeGreaterThan(0);
      for (const t of templates) {
        const scripts = Object.values(bootScripts(BOOT[cloud].text(t.inputs))).join("\n");
        expect(scripts).toContain(bodyLine(caCertificate(NEW, "prod")));
        expect(scripts).toContain(bodyLine(caCertificate(OLD, "prod")));
        expect(scripts).toContain('"agent-1"'); // the new generation's agent principal
        if (cloud === "aws") expect(Buffer.from(reveal(t.inputs.userData), "base64").length).toBeLessThan(16 * 1024);
      }
    });

    it("nothing of either secret in plain text", () => {
      const secrets = [NEW, OLD, ...Object.values(deriveCredentials(NEW, "prod")), ...Object.values(deriveCredentials(OLD, "prod"))]
        .filter((s) => s.length >= 16);
      const leaks = r.resources.flatMap((x) => {
        const text = JSON.stringify(plainView(x.inputs));
        return secrets.filter((s) => text.includes(s)).map(() => x.key);
      });
      expect(leaks).toEqual([]);
    });
  });
}
