// Resolves where every artifact comes from (upstream, the user's mirror, or an offline bundle) for one host OS.
import type { ArtifactOverrides, OsFamily, VersionsModel } from "../components/model";
import type { ResolvedArtifacts } from "./steps/types";

export function resolveArtifacts(versions: VersionsModel, overrides: ArtifactOverrides, os: OsFamily): ResolvedArtifacts {
  void versions; void overrides; void os;
  throw new Error("resolveArtifacts: not implemented yet");
}
