// Mesos principals that exist once per credential generation. Mesos 1.11 keeps one secret per principal (its
// CRAM-MD5 and basic authenticators read the credentials file into a map), so while clusterSecret rotates the
// old and new secrets of a principal that many hosts hold (every agent's "agent" and "drain") are accepted under
// two names: generation 0 keeps the plain name, generation g > 0 is "<name>-<g>". A cluster that never rotated
// renders exactly what it did before. "health" and "admin" keep one name: their clients try both passwords
// during a rotation (steps/mesos.ts), and "marathon" cannot change (Mesos refuses a framework's new principal).
import type { BootstrapInput, Credentials } from "../steps/types";

export const AGENT_USER = "agent";

/** The name of principal `base` in generation `g`. */
export function principal(base: string, g: number): string {
  if (!Number.isInteger(g) || g < 0) throw new Error(`credential generation ${g} is not a whole number >= 0`);
  return g === 0 ? base : `${base}-${g}`;
}

/** A generation's credentials with the number that names its principals. */
export interface Generation {
  g: number;
  credentials: Credentials;
}

/** The generations a verifier accepts: the current one, then the previous one while a rotation runs. */
export function generations(input: Pick<BootstrapInput, "credentials" | "previous" | "generation">): Generation[] {
  const g = input.generation ?? 0;
  if (input.previous && g === 0) throw new Error("a rotation's input has no previous generation number (generation 0)");
  return [{ g, credentials: input.credentials }, ...(input.previous ? [{ g: g - 1, credentials: input.previous }] : [])];
}

/** Every name a versioned principal has in the generations accepted. */
export const names = (input: Pick<BootstrapInput, "credentials" | "previous" | "generation">, base: string) =>
  generations(input).map((x) => principal(base, x.g));
