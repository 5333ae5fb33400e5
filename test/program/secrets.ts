// What must never appear in plain text in any resource input: the cluster secret, every credential
// derived from it, and the SSH private key. Secret inputs reach the mocks wrapped in the sentinel; the
// plain view replaces them, so a string found in it would be stored unencrypted in the state.
import { deriveCredentials } from "../../provisioning/credentials";
import { isSecretInput } from "./mocks";
import { SSH_PRIVATE, STACKS } from "./fixtures";
import type { Registered } from "./mocks";

/** `v` with every secret-wrapped value replaced by "<secret>". */
export function plainView(v: any): any {
  if (isSecretInput(v)) return "<secret>";
  if (Array.isArray(v)) return v.map(plainView);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainView(x)]));
  return v;
}

/** The strings that must stay secret for the fixtures' cluster "prod". */
export function secretStrings(): string[] {
  const clusterSecret = STACKS.aws.clusterSecret as string;
  // The first base64 line is the header every unencrypted OpenSSH key shares: not secret, skip it.
  const keyBody = SSH_PRIVATE.split("\n").filter((l) => l && !l.startsWith("-----")).slice(1);
  return [clusterSecret, ...Object.values(deriveCredentials(clusterSecret, "prod")), ...keyBody];
}

/** "type::name: secret #i" for every secret string found in plain text in a resource's inputs. */
export function plainLeaks(resources: Registered[]): string[] {
  const secrets = secretStrings();
  const leaks: string[] = [];
  for (const r of resources) {
    const text = JSON.stringify(plainView(r.inputs));
    secrets.forEach((s, i) => {
      if (text.includes(s)) leaks.push(`${r.key}: secret #${i}`);
    });
  }
  return leaks;
}
