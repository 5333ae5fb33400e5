// Every Mesos and Marathon flag the bootstrap renders must exist in the flag lists of the versions we
// install (Mesos exits on an unknown flag; an unknown MESOS_/MARATHON_ variable is silently ignored).
// The rendered unit files and env files are parsed back here, independently of the renderer's own check.
import { describe, expect, it } from "vitest";
import { assertFlags, knownFlags } from "../../provisioning/flags";
import { renderSteps } from "../../provisioning/steps";
import type { Step } from "../../provisioning/steps/types";
import { agentInput, clusterInputs, masterInput, POOLS, type Shape } from "./bootstrap-input";

/** `--name` tokens of a unit's ExecStart (continuation lines joined), after `skipUntil` (e.g. the image). */
function execFlags(unit: string, skipUntil?: string): string[] {
  const exec = unit.replace(/\\\n\s*/g, " ").split("\n").find((l) => l.startsWith("ExecStart="));
  if (!exec) throw new Error(`no ExecStart in:\n${unit}`);
  let words = exec.slice("ExecStart=".length).split(/\s+/);
  if (skipUntil) words = words.slice(words.indexOf(skipUntil) + 1);
  return words.filter((w) => w.startsWith("--")).map((w) => w.slice(2).split("=")[0]);
}

function file(steps: Step[], path: string): string {
  const f = steps.flatMap((s) => s.files).find((x) => x.path === path);
  if (!f) throw new Error(`${path} not rendered`);
  return f.content;
}

const SHAPES: Shape[] = [
  { masters: 1 },
  { masters: 3 },
  { masters: 5 },
  { masters: 3, os: "rocky-9" },
  { masters: 3, os: "ubuntu-24.04", overrides: { marathon: { aptPackage: "marathon" } } },
];

describe("flag lists", () => {
  it("load the Mesos 1.11.0 + Clusterd 0.9.0 and Marathon 1.11.24 lists", () => {
    expect(knownFlags("mesos-master").size).toBe(78 + 1);
    expect(knownFlags("mesos-agent").size).toBe(150 + 18);
    expect(knownFlags("marathon").size).toBe(151);
    expect(knownFlags("mesos-agent").has("cleanup_log_files")).toBe(true); // a Clusterd extra
  });

  it("refuse an unknown flag, naming it and the daemon", () => {
    expect(() => assertFlags("mesos-master", ["quorum", "quorom"])).toThrow(/mesos-master: unknown flag --quorom/);
    expect(() => assertFlags("mesos-agent", ["zk"])).toThrow(/mesos-agent: unknown flag --zk/); // a master-only flag
    expect(() => assertFlags("marathon", ["mesos_authentication_secret_fil"])).toThrow(/--mesos_authentication_secret_fil/);
  });
});

describe.each(SHAPES)("every rendered flag is valid: %o", (shape) => {
  for (const input of clusterInputs(shape)) {
    it(`${input.node.id}`, () => {
      const steps = renderSteps(input);
      if (input.node.role === "master") {
        const master = execFlags(file(steps, "/etc/systemd/system/mesos-master.service"));
        expect(master).toContain("quorum");
        for (const f of master) expect(knownFlags("mesos-master"), `mesos-master --${f}`).toContain(f);
        const unit = file(steps, "/etc/systemd/system/marathon.service");
        const image = input.artifacts.marathon.kind === "image" ? input.artifacts.marathon.image : undefined;
        const marathon = execFlags(unit, image);
        expect(marathon).toContain("mesos_authentication_secret_file");
        for (const f of marathon) expect(knownFlags("marathon"), `marathon --${f}`).toContain(f);
        const env = file(steps, "/etc/marathon/marathon.env").trim().split("\n").map((l) => l.split("=")[0]);
        const viaEnv = env.filter((k) => k.startsWith("MARATHON_")).map((k) => k.slice(9).toLowerCase());
        expect(viaEnv).toEqual(["master", "zk", "http_credentials"]);
        for (const f of viaEnv) expect(knownFlags("marathon"), `MARATHON_${f}`).toContain(f);
        // A flag given both ways is refused by Marathon.
        for (const f of viaEnv) expect(marathon).not.toContain(f);
      } else {
        const agent = execFlags(file(steps, "/etc/systemd/system/mesos-agent.service"));
        expect(agent).toContain("master");
        for (const f of agent) expect(knownFlags("mesos-agent"), `mesos-agent --${f}`).toContain(f);
      }
    });
  }
});

it("renders the pool's resources, attributes and containerizers as agent flags", () => {
  const steps = renderSteps(agentInput({ masters: 3 }, POOLS[1]));
  const unit = file(steps, "/etc/systemd/system/mesos-agent.service").replace(/\\\n\s*/g, " ");
  expect(unit).toContain('"--resources=cpus:8;mem:30000;gpus:1;ports:[31000-32000]"');
  expect(unit).toContain('"--attributes=pool:gpu;rack:r1;tier:2"');
  expect(unit).toContain("--containerizers=mesos ");
  expect(unit).toContain("--reconfiguration_policy=additive");
  expect(unit).toContain("KillMode=process");
  // Auto-detected resources when the pool sets none: no --resources at all.
  const general = file(renderSteps(agentInput({ masters: 3 }, POOLS[0])), "/etc/systemd/system/mesos-agent.service");
  expect(general).not.toContain("--resources");
  expect(general).toContain("--containerizers=docker,mesos");
});

it("renders the authentication and authorization flags of issue 9 on masters and agents", () => {
  const master = file(renderSteps(masterInput({ masters: 3 })), "/etc/systemd/system/mesos-master.service").replace(/\\?\n\s*/g, " ");
  for (const f of ["--authenticate_frameworks=true", "--authenticate_agents=true", "--authenticate_http_readonly=true",
    "--authenticate_http_readwrite=true", "--authenticate_http_frameworks=true", "--http_framework_authenticators=basic",
    "--credentials=/etc/mesos/credentials", "--acls=file:///etc/mesos/acls.json", "--zk=file:///etc/mesos/zk"]) {
    expect(master).toContain(`${f} `);
  }
  for (const pool of POOLS) {
    const agent = file(renderSteps(agentInput({ masters: 3 }, pool)), "/etc/systemd/system/mesos-agent.service").replace(/\\?\n\s*/g, " ");
    for (const f of ["--credential=/etc/mesos/credential", "--http_credentials=/etc/mesos/http_credentials",
      "--authenticate_http_readonly=true", "--authenticate_http_readwrite=true", "--authenticate_http_executors=true",
      "--jwt_secret_key=/etc/mesos/jwt_secret_key", "--acls=file:///etc/mesos/acls.json", "--master=file:///etc/mesos/zk"]) {
      expect(agent, pool.name).toContain(`${f} `);
    }
  }
  const marathon = file(renderSteps(masterInput({ masters: 3 })), "/etc/systemd/system/marathon.service").replace(/\\?\n\s*/g, " ");
  expect(marathon).toContain("--mesos_user mesos-task ");
  expect(marathon).not.toContain("--mesos_user root");
});

it("quorum is floor(n/2)+1 in every master's flags: 1→1, 3→2, 5→3", () => {
  for (const [n, q] of [[1, 1], [3, 2], [5, 3]] as const) {
    for (let k = 1; k <= n; k++) {
      const unit = file(renderSteps(masterInput({ masters: n }, k)), "/etc/systemd/system/mesos-master.service");
      expect(unit).toMatch(new RegExp(`--quorum=${q} `));
    }
  }
});
