// Step[] → #cloud-config user-data.
import type { Step } from "../steps/types";

export function renderCloudConfig(steps: Step[]): string {
  void steps;
  throw new Error("renderCloudConfig: not implemented yet");
}
