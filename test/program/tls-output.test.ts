// The cluster CA certificate is a plain stack output (public by nature, though derived from the secret
// clusterSecret), on cloud-init and SSH stacks alike, and it is the CA the nodes' certificates chain to.
import { describe, expect, it } from "vitest";
import { runProgram } from "./harness";
import { STACKS } from "./fixtures";
import { caCertificate } from "../../provisioning/tls";
import { isSecretInput } from "./mocks";
import { plainView } from "./secrets";

const SECRET = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t";

describe("caCertificate output", () => {
  for (const provider of ["aws", "baremetal"] as const) {
    it(`${provider}: is the cluster CA, in plain text`, async () => {
      const r = await runProgram(STACKS[provider]);
      expect(r.outputs.caCertificate).toBe(caCertificate(SECRET, "prod"));
      expect(r.outputs.caCertificate).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
      expect(r.secretOutputs).not.toContain("caCertificate");
    });
  }

  it("no node key is in plain text in any resource input; masters' user-data (which carries theirs) is secret", async () => {
    for (const provider of ["aws", "baremetal"] as const) {
      const r = await runProgram(STACKS[provider]);
      for (const x of r.resources) expect(JSON.stringify(plainView(x.inputs)), x.key).not.toContain("PRIVATE KEY");
      if (provider === "aws") {
        const masters = r.resources.filter((x) => x.type === "aws:ec2/instance:Instance" && /prod-m\d$/.test(x.key));
        expect(masters).toHaveLength(3);
        for (const m of masters) expect(isSecretInput(m.inputs.userDataBase64), m.key).toBe(true);
      }
    }
  });
});
