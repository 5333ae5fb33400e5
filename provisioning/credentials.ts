// Every cluster credential derived deterministically (HMAC-SHA256) from the one cluster secret.
import type { Credentials } from "./steps/types";

export function deriveCredentials(clusterSecret: string, clusterName: string): Credentials {
  void clusterSecret; void clusterName;
  throw new Error("deriveCredentials: not implemented yet");
}
