import { describe, expect, it } from "vitest";
import { RolloutCoordinator, SETTLE_MS, type Turn } from "../../provisioning/rollout/coordinator";
import { leadershipScript, parseLeadership } from "../../provisioning/rollout/leader";
import { disruptive, rankOf, rolloutSpec, slotsFor } from "../../provisioning/rollout/plan";
import { rolloutSpecs } from "../../provisioning/baremetal/bootstrap";
import { ConfigError, parseModel } from "../../components/config";
import { STACKS } from "../program/fixtures";
import { renderSteps } from "../../provisioning/steps";
import type { BootstrapInput } from "../../provisioning/steps/types";
import { renderStepScripts } from "../../provisioning/render/ssh-plan";
import { agentInput, masterInput, masterIp } from "./bootstrap-input";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("rollout plan", () => {
  it("maxUnavailable: a count capped by the pool, a percentage rounded down, at least one", () => {
    expect(slotsFor(1, 6)).toBe(1);
    expect(slotsFor(4, 3)).toBe(3);
    expect(slotsFor("25%", 10)).toBe(2);
    expect(slotsFor("10%", 3)).toBe(1);
    expect(slotsFor("100%", 7)).toBe(7);
    expect(() => slotsFor("0%", 3)).toThrow(/rollout.maxUnavailable/);
    expect(() => slotsFor(0, 3)).toThrow(/rollout.maxUnavailable/);
  });

  it("masters roll one at a time whatever maxUnavailable says; a pool's agents in batches", () => {
    expect(rolloutSpec("master", 3, 5)).toEqual({ group: "masters", slots: 1, size: 3 });
    expect(rolloutSpec("agent", 4, "50%", "gpu")).toEqual({ group: "pool:gpu", slots: 2, size: 4 });
  });

  it("rolloutSpecs sizes each pool by its own agents", () => {
    const node = (id: string, role: "master" | "agent", pool?: string) => ({ id, role, pool }) as never;
    const spec = rolloutSpecs({ rollout: { maxUnavailable: "50%" } }, {
      masters: [node("m1", "master"), node("m2", "master"), node("m3", "master")],
      agents: [node("a-1", "agent", "a"), node("a-2", "agent", "a"), node("b-1", "agent", "b"), node("b-2", "agent", "b"), node("b-3", "agent", "b"), node("b-4", "agent", "b")],
    });
    expect(spec(node("m2", "master"))).toEqual({ group: "masters", slots: 1, size: 3 });
    expect(spec(node("a-1", "agent", "a"))).toEqual({ group: "pool:a", slots: 1, size: 2 });
    expect(spec(node("b-1", "agent", "b"))).toEqual({ group: "pool:b", slots: 2, size: 4 });
  });

  it("only steps that may restart a daemon take turns; the leader of what restarts goes last", () => {
    expect(disruptive([{ step: "firewall" }])).toBe(false);
    expect(disruptive([{ step: "firewall" }, { step: "mesos" }])).toBe(true);
    const zk = [{ step: "zookeeper" as const }];
    expect(rankOf(zk, { zookeeper: true, mesos: false })).toBe(1);
    expect(rankOf(zk, { zookeeper: false, mesos: true })).toBe(0); // a Mesos-only leader: ZooKeeper restarts cost no election
    expect(rankOf([{ step: "install" }, { step: "zookeeper" }, { step: "mesos" }], { zookeeper: true, mesos: true })).toBe(3);
    // The Mesos leader goes after the ZooKeeper leader: restarted first, it could hand Mesos to the next to restart.
    expect(rankOf([{ step: "zookeeper" }, { step: "mesos" }], { zookeeper: false, mesos: true }))
      .toBeGreaterThan(rankOf([{ step: "zookeeper" }, { step: "mesos" }], { zookeeper: true, mesos: false }));
    // A ZooKeeper upgrade (install + zookeeper) restarts no Mesos master: the Mesos leader need not wait.
    expect(rankOf([{ step: "install" }, { step: "zookeeper" }], { zookeeper: false, mesos: true })).toBe(0);
    expect(rankOf(zk, undefined)).toBe(0);
  });

  it("leadership: parsed from the probe's output; the probe refuses anything but an address", () => {
    expect(parseLeadership("zookeeper=leader\nmesos=1\n")).toEqual({ zookeeper: true, mesos: true });
    expect(parseLeadership("zookeeper=follower\nmesos=0.0\n")).toEqual({ zookeeper: false, mesos: false });
    expect(parseLeadership("zookeeper=\nmesos=\n")).toEqual({ zookeeper: false, mesos: false });
    expect(leadershipScript("10.0.0.11")).toContain("ip=10.0.0.11");
    expect(() => leadershipScript("10.0.0.1; rm -rf /")).toThrow(/not an IPv4 address/);
  });

  it("config: rollout.maxUnavailable takes a count or a percentage, and names the key otherwise", () => {
    const parse = (rollout: unknown) => parseModel({ ...STACKS.baremetal, rollout }, {});
    expect(parse(undefined).rollout).toEqual({ maxUnavailable: 1 });
    expect(parse({ maxUnavailable: "25%" }).rollout).toEqual({ maxUnavailable: "25%" });
    for (const bad of [0, 1.5, "0%", "150%", "two"]) {
      try {
        parse({ maxUnavailable: bad });
        throw new Error(`accepted ${bad}`);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as Error).message).toMatch(/rollout\.maxUnavailable/);
        expect((e as Error).message).toMatch(/25%/);
      }
    }
  });
});

/** Records the order hosts start and end in; each host "works" `ms` then releases (or fails). */
function harness(c: RolloutCoordinator) {
  const log: string[] = [];
  let running = 0;
  let most = 0;
  const roll = async (group: string, id: string, slots: number, rank = 0, ms = 30, fail = false) => {
    let turn: Turn;
    try {
      turn = await c.acquire("c1", group, id, slots, rank);
    } catch (e) {
      log.push(`stopped ${id}: ${(e as Error).message}`);
      return;
    }
    running++;
    most = Math.max(most, running);
    log.push(`start ${id} ${turn.position}/${turn.total}`);
    await sleep(ms);
    running--;
    log.push(`end ${id}`);
    turn.release(fail ? new Error(`${id} failed its gate`) : undefined);
  };
  return { log, roll, most: () => most };
}

/** A coordinator told (by diff) that m1..m3 will roll, and its harness. */
function threeMasters() {
  const c = new RolloutCoordinator();
  for (const id of ["m1", "m2", "m3"]) c.expect("c1", "masters", id, 1);
  return harness(c);
}

describe("rollout coordinator", () => {
  it("masters one at a time, the leader last even when its update arrives first", async () => {
    const h = threeMasters();
    await Promise.all([h.roll("masters", "m2", 1, 1), h.roll("masters", "m1", 1), sleep(20).then(() => h.roll("masters", "m3", 1))]);
    expect(h.log.filter((l) => l.startsWith("start"))).toEqual(["start m1 1/3", "start m3 2/3", "start m2 3/3"]);
    expect(h.most()).toBe(1);
  });

  it("a master added to a running cluster starts after the masters' rollout; in a new cluster after it settles", async () => {
    const coordinator = new RolloutCoordinator();
    const k = harness(coordinator);
    for (const id of ["m1", "m2"]) coordinator.expect("c1", "masters", id, 1);
    const joined = coordinator.afterGroup("c1", "masters", 10).then(() => k.log.push("m4 starts"));
    await Promise.all([k.roll("masters", "m1", 1), k.roll("masters", "m2", 1), joined]);
    expect(k.log).toEqual(["start m1 1/2", "end m1", "start m2 2/2", "end m2", "m4 starts"]);
    // Nothing rolls: the wait is the settle time alone, SETTLE_MS.
    const t0 = Date.now();
    await new RolloutCoordinator().afterGroup("c2", "masters", 10);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(SETTLE_MS - 20);
    // A failed roll stops the new master too, with the failure's reason.
    const f = new RolloutCoordinator();
    const fh = harness(f);
    f.expect("c1", "masters", "m1", 1);
    const stopped = f.afterGroup("c1", "masters", 10).then(() => "started", (e: Error) => e.message);
    await fh.roll("masters", "m1", 1, 0, 10, true);
    expect(await stopped).toBe("m1 failed its gate");
  });

  it("two leaders of the same rank (ZooKeeper's and Mesos's) both go last, one after the other", async () => {
    const h = threeMasters();
    const stuck = sleep(5_000).then(() => "stuck");
    const all = Promise.all([h.roll("masters", "m1", 1, 1), h.roll("masters", "m2", 1), h.roll("masters", "m3", 1, 1)]);
    expect(await Promise.race([all.then(() => "done"), stuck])).toBe("done");
    expect(h.log.filter((l) => l.startsWith("start"))).toEqual(["start m2 1/3", "start m1 2/3", "start m3 3/3"]);
    expect(h.most()).toBe(1);
  });

  it("a leader whose expected peers never arrive starts once the group has settled", async () => {
    const h = threeMasters();
    const t0 = Date.now();
    await h.roll("masters", "m1", 1, 1, 5);
    expect(h.log).toEqual(["start m1 1/3", "end m1"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(SETTLE_MS - 50);
  });

  it("a pool rolls maxUnavailable agents at once", async () => {
    const c = new RolloutCoordinator();
    const h = harness(c);
    await Promise.all(["a1", "a2", "a3", "a4", "a5"].map((id) => h.roll("pool:general", id, 2)));
    expect(h.most()).toBe(2);
    expect(h.log.filter((l) => l.startsWith("end"))).toHaveLength(5);
  });

  it("the first failure stops every waiting host of the cluster, naming it; later arrivals are refused too", async () => {
    const c = new RolloutCoordinator();
    const h = harness(c);
    await Promise.all([h.roll("masters", "m1", 1, 0, 20, true), h.roll("masters", "m2", 1), h.roll("pool:general", "a1", 1, 0, 20)]);
    await h.roll("masters", "m3", 1);
    expect(h.log).toContain("stopped m2: m1 failed its gate");
    expect(h.log).toContain("stopped m3: m1 failed its gate");
    expect(h.log.some((l) => l.startsWith("start m2"))).toBe(false);
  });
});

describe("restarts follow package versions", () => {
  /** The input with another pinned Mesos package version (what a `versions.mesos` bump resolves to). */
  const bumped = (i: BootstrapInput): BootstrapInput =>
    ({ ...i, artifacts: { ...i.artifacts, mesos: { ...i.artifacts.mesos, version: "1.11.0-0.9.1" } } });
  const unit = (i: BootstrapInput, path: string) => renderSteps(i).flatMap((s) => s.files).find((f) => f.path === path)!.content;
  const hash = (i: BootstrapInput, step: string) => renderStepScripts(renderSteps(i)).find((s) => s.step === step)!.hash;

  it("a Mesos version bump changes the master's and the agent's unit, so the mesos step restarts them", () => {
    for (const [input, path] of [[masterInput({ masters: 3 }), "/etc/systemd/system/mesos-master.service"],
      [agentInput({ masters: 3 }), "/etc/systemd/system/mesos-agent.service"]] as const) {
      expect(unit(input, path)).toContain("1.11.0-0.9.0");
      expect(unit(bumped(input), path)).toContain("1.11.0-0.9.1");
      // The mesos step changes (it runs, and em_service restarts the unit whose bytes changed), not only install.
      expect(hash(bumped(input), "mesos")).not.toBe(hash(input, "mesos"));
      expect(hash(bumped(input), "install")).not.toBe(hash(input, "install"));
    }
  });

  it("Marathon from apt loads the host's libmesos: a Mesos bump changes its unit too (the image brings its own)", () => {
    const marathonUnit = "/etc/systemd/system/marathon.service";
    const apt = masterInput({ masters: 3, overrides: { marathon: { aptPackage: "marathon" } } });
    expect(unit(bumped(apt), marathonUnit)).not.toBe(unit(apt, marathonUnit));
    expect(unit(bumped(apt), marathonUnit)).toContain("libmesos 1.11.0-0.9.1");
    const image = masterInput({ masters: 3 });
    expect(unit(bumped(image), marathonUnit)).toBe(unit(image, marathonUnit));
  });

  it("the same versions render the same bytes: no restart without a change", () => {
    const i = masterInput({ masters: 3 });
    expect(hash(i, "mesos")).toBe(hash(masterInput({ masters: 3 }), "mesos"));
  });
});

describe("the masters' mesos gate waits for an elected leader (not a stale /redirect)", () => {
  /** Runs the master's mesos gate with a fake curl: metrics bodies per master address, 200 for the rest. */
  const gate = (bodies: Record<string, string>, down: string[] = [], input: BootstrapInput = masterInput({ masters: 3 })) => {
    const script = renderSteps(input).find((s) => s.name === "mesos")!.gate.script;
    const dir = mkdtempSync(join(tmpdir(), "em-gate-"));
    const cases = [...down.map((ip) => `*${ip}:5050/health*) printf 000 ;;`),
      ...Object.entries(bodies).map(([ip, b]) => `*${ip}:5050/metrics/snapshot*) printf '%s' '${b}' ;;`)].join("\n");
    writeFileSync(join(dir, "curl"), `#!/bin/bash\ncase "$*" in\n${cases}\n*metrics/snapshot*) printf '{}' ;;\n*) printf 200 ;;\nesac\n`, { mode: 0o755 });
    const r = spawnSync("bash", ["-euo", "pipefail", "-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    rmSync(dir, { recursive: true, force: true });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const [m1, m2] = [masterIp(1), masterIp(2)];
  const leader = '{"master/elected": 1.0, "registrar/log/recovered": 1.0}';

  it("passes with exactly one elected master that recovered its registrar (escaped slashes too)", () => {
    expect(gate({ [m1]: leader, [m2]: '{"master/elected": 0.0}' }).code).toBe(0);
    expect(gate({ [m2]: '{"master\\/elected":1,"registrar\\/log\\/recovered":1}' }).code).toBe(0);
  });

  it("growing from one master: the one master passes with fewer masters than the quorum running Mesos, not after", () => {
    const [m3, none] = [masterIp(3), { [m1]: '{"master/elected": 1.0, "registrar/log/recovered": 0.0}' }];
    const seeding = { ...masterInput({ masters: 3 }), seedsNewMasters: true as const };
    expect(gate(none, [m2, m3], seeding)).toMatchObject({ code: 0,
      out: expect.stringContaining("1 of 3 masters run Mesos, fewer than --quorum=2: the new masters start from this one's") });
    // A quorum runs Mesos: the whole gate again (an elected master that recovered its registrar).
    expect(gate(none, [m3], seeding)).toMatchObject({ code: 1, out: expect.stringContaining("has not recovered its registrar") });
    expect(gate({ [m1]: leader }, [m3], seeding).code).toBe(0);
    // Any other master: the whole gate, however many run.
    expect(gate(none, [m2, m3])).toMatchObject({ code: 1, out: expect.stringContaining("has not recovered its registrar") });
  });

  it("fails while no master is elected, while two are, and before the registrar recovered", () => {
    expect(gate({ [m1]: '{"master/elected": 0.0}' })).toMatchObject({ code: 1, out: expect.stringContaining("0 masters report master/elected") });
    expect(gate({ [m1]: leader, [m2]: leader })).toMatchObject({ code: 1, out: expect.stringContaining("2 masters report") });
    expect(gate({ [m1]: '{"master/elected": 1.0, "registrar/log/recovered": 0.0}' }))
      .toMatchObject({ code: 1, out: expect.stringContaining("has not recovered its registrar") });
  });
});
