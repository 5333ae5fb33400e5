// The cluster CA certificate is a plain stack output (public by nature, though derived from the secret
// clusterSecret), on cloud-init and SSH stacks alike, and it is the CA the nodes' certificates chain to.
import { describe, expect, it } from "vitest";
import { runProgram } from "./harness";
import { STACKS } from "./fixtures";
import { caCertificate } from "../../provisioning/tls";

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
});
