// vitest globalSetup for the "lab" project: bring the lab up (reusing a running one) before the lab tests and
// tear down only what this run started. LAB_KEEP=1 keeps a lab this run started (fast re-runs while developing);
// LAB_HOSTS=N sets the number of hosts (default 14: h1-h4 for the bootstrap and attack tests, h5-h10 for bare
// metal with h14 as a machine outside the cluster, h11-h13 for ZooKeeper TLS and the e2e suite through the
// real CLI; h9-h13 for cloud masters joining a running cluster). If this machine cannot run the lab (not root, not Linux, no overlayfs) the reason is printed and
// the lab tests skip; anything else that fails is an error, not a skip.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Why lab tests cannot run here ("" = they run). */
    labSkipReason: string;
  }
}

const root = join(__dirname, "..", "..");
const labDir = process.env.LAB ?? "/var/tmp/elastic-mesos-lab";

function cannotRunReason(): string {
  if (process.platform !== "linux") return `lab needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "lab needs root (systemd-nspawn, bridge, mounts): run the lab tests as root";
  if (!readFileSync("/proc/filesystems", "utf8").includes("overlay")) return "kernel has no overlayfs";
  return "";
}

function labIsUp(): boolean {
  if (!existsSync(join(labDir, "lab.json"))) return false;
  try {
    const pid = readFileSync(join(labDir, "hosts", "h1", "nspawn.pid"), "utf8").trim();
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "systemd-nspawn";
  } catch {
    return false;
  }
}

export default function setup(project: TestProject): (() => void) | undefined {
  const reason = cannotRunReason();
  project.provide("labSkipReason", reason);
  if (reason) {
    console.log(`[lab] SKIPPING lab tests: ${reason}`);
    return undefined;
  }
  const wasUp = labIsUp();
  const hosts = process.env.LAB_HOSTS ?? "14"; // every lab test file runs, none skips for want of hosts
  console.log(`[lab] ${wasUp ? "reusing the running lab" : "starting the lab"} (lab-up.sh ${hosts})`);
  const up = spawnSync("bash", [join(root, "lab", "lab-up.sh"), hosts], { stdio: "inherit" });
  if (up.status !== 0) throw new Error(`lab/lab-up.sh ${hosts} failed (exit ${up.status}); see its output above`);
  return () => {
    if (wasUp || process.env.LAB_KEEP === "1") {
      console.log(`[lab] leaving the lab up (${wasUp ? "it was up before this run" : "LAB_KEEP=1"}); npm run lab:down stops it`);
      return;
    }
    execFileSync("bash", [join(root, "lab", "lab-down.sh")], { stdio: "inherit" });
  };
}
