// The shared probe lines (provisioning/render/probe-snippets.ts), run by bash for real: ZooKeeper's `srvr` against
// a local TCP server that answers as ZooKeeper does, the metrics greps against snapshot texts as Mesos writes
// them; and em-lib.sh's em_zk_mode, which cannot import them, is the same line byte for byte.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricIsOne, metricValue, zkMode, zkSrvr } from "../../provisioning/render/probe-snippets";

const bash = (script: string, args: string[] = []) => new Promise<{ code: number; stdout: string }>((resolve) =>
  execFile("bash", ["-c", script, "probe", ...args], { timeout: 15_000 },
    (err, stdout) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout: String(stdout) })));

describe("probe snippets", () => {
  let zk: Server;
  let port: number;
  beforeAll(async () => {
    const answer = "Zookeeper version: 3.8.6-x, built on 1970-01-01\nLatency min/avg/max: 0/0.1/2\nMode: follower\n";
    zk = createServer((s) => s.once("data", (d) => s.end(d.toString() === "srvr" ? answer : "")));
    await new Promise<void>((r) => zk.listen(0, "127.0.0.1", r));
    port = (zk.address() as AddressInfo).port;
  });
  afterAll(() => { zk.close(); });

  it("zkSrvr asks `srvr` and prints the answer; zkMode keeps the mode alone", async () => {
    const srvr = await bash(zkSrvr('"$1"', port), ["127.0.0.1"]);
    expect(srvr.stdout).toContain("Mode: follower");
    // zkMode is zkSrvr on 2181 piped to the mode: here on the test server's port.
    const mode = await bash(zkMode('"$1"').replace("/2181\"", `/${port}"`), ["127.0.0.1"]);
    expect(mode).toEqual({ code: 0, stdout: "follower\n" });
  });

  it("zkMode prints nothing and succeeds when nothing answers", async () => {
    zk.close();
    const closed = await bash(zkMode('"$1"').replace("/2181\"", `/${port}"`), ["127.0.0.1"]);
    expect(closed).toEqual({ code: 0, stdout: "" });
  });

  it("em-lib.sh's em_zk_mode is zkMode('\"$1\"') verbatim", () => {
    const lib = readFileSync(join(__dirname, "..", "..", "provisioning", "render", "em-lib.sh"), "utf8");
    const body = /^em_zk_mode\(\) \{[^\n]*\n(?:\s*#[^\n]*\n)*([^\n]*)\n\}/m.exec(lib);
    expect(body?.[1]).toBe(`  ${zkMode('"$1"')}`);
  });

  it("metricIsOne: 1 and 1.0, escaped slashes or not; never 0, 10 or 0.1", async () => {
    const is1 = async (text: string) =>
      (await bash(`b=$1; ${metricIsOne("master/elected", '"$b"')}`, [text])).code === 0;
    expect(await is1('{"master/elected":1,"master/uptime_secs":3.2}')).toBe(true);
    expect(await is1('{"master\\/elected": 1.0}')).toBe(true);
    expect(await is1('{"master/uptime_secs":1.0,"master/elected":0.0}')).toBe(false);
    expect(await is1('{"master/elected":10}')).toBe(false);
    expect(await is1('{"master/elected":1.5}')).toBe(false);
    expect(await is1('{"other/master/elected":1}')).toBe(false);
    expect(await is1("")).toBe(false);
  });

  it("metricValue prints the value, nothing (and fails) when the key is absent", async () => {
    const v = (text: string) => bash(`m=$1; ${metricValue("master/elected", '"$m"')}`, [text]);
    expect((await v('{"master/elected":1.0,"x":2}')).stdout).toBe("1.0\n");
    expect((await v('{"master\\/elected" : 0}')).stdout).toBe("0\n");
    const absent = await v('{"master/uptime_secs":1}');
    expect(absent.stdout).toBe("");
    expect(absent.code).not.toBe(0);
  });

  it("refuses what would not stay one shell word or one port", () => {
    expect(() => zkSrvr('"$1"', 0)).toThrow(/not a TCP port/);
    expect(() => zkSrvr('"$1"', 2181.5)).toThrow(/not a TCP port/);
    expect(() => metricIsOne("master/elected' ; rm -rf / #", '"$b"')).toThrow(/is not a\/b\/c/);
  });
});
