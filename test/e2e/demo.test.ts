/**
 * `slipway demo`, the README's first command, run as a user runs it: it must exit 0 and tell the
 * whole story. Both judges are exercised: a real Prometheus (when installed; mandatory in CI) and
 * the web provider reading the sandbox's /sim/traffic.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { prometheusAvailable } from "../helpers/prometheus.js";

const run = promisify(execFile);
const CLI = join(process.cwd(), "dist/cli/main.js");

async function demo(args: string[]): Promise<{ code: number; stdout: string }> {
  return run(process.execPath, [CLI, "demo", ...args], {
    timeout: 240_000,
    env: { ...process.env, NO_COLOR: "1" },
  }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );
}

function expectTheWholeStory(stdout: string): void {
  expect(stdout).toContain("✔ the Application is Synced and Healthy");
  expect(stdout).toContain("✔ the canary took 20% and then 50% of the route");
  expect(stdout).toContain("✔ analysis passed and shop 1.1 became the stable version");
  expect(stdout).toMatch(/✔ all traffic now reaches shop 1\.1/);
  expect(stdout).toContain("✔ the failed analysis aborted the release, with no human action");
  expect(stdout).toMatch(/event: Rollout aborted .*metric error-rate/);
  expect(stdout).toContain("✔ the route sends the canary nothing (weight 0%)");
  expect(stdout).toMatch(/✔ shop 1\.1 answers every request again/);
  expect(stdout).toContain("All of it happened.");
  expect(stdout).not.toContain("✖");
}

describe("slipway demo", () => {
  it.skipIf(!prometheusAvailable())(
    "tells the whole story with a real Prometheus, and exits 0",
    async () => {
      const { code, stdout } = await demo([]);
      expect(stdout).toMatch(/prometheus {9}http:\/\/127\.0\.0\.1:\d+/);
      expectTheWholeStory(stdout);
      expect(code).toBe(0);
    },
    240_000,
  );

  it("tells the whole story without Prometheus (web provider on /sim/traffic), and exits 0", async () => {
    const { code, stdout } = await demo(["--no-prometheus"]);
    expect(stdout).toContain("not used (--no-prometheus)");
    expectTheWholeStory(stdout);
    expect(code).toBe(0);
  }, 240_000);
});
