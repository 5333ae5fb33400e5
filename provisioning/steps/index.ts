// A node's three bootstrap steps (install, zookeeper, mesos) as data.
import type { BootstrapInput, Step } from "./types";

export function renderSteps(input: BootstrapInput): Step[] {
  void input;
  throw new Error("renderSteps: not implemented yet");
}
