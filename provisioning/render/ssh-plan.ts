// Step[] → one self-contained idempotent script per step, for an SSH runner.
import type { Step, StepName } from "../steps/types";

export interface StepScript {
  step: StepName;
  index: number;
  title: string;
  script: string;
  hash: string;
  secret: boolean;
}

export function renderStepScripts(steps: Step[]): StepScript[] {
  void steps;
  throw new Error("renderStepScripts: not implemented yet");
}
