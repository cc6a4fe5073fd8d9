/**
 * `slipway controller` delivering to a cluster registered with `slipway cluster add`, as a user
 * runs it: a hub sandbox (slipway installed), a target sandbox, a Git server, and the controller
 * process on Redis with `--cluster-concurrency`. kubectl against the target judges delivery;
 * Redis shows that the Application queue counts each app in its destination cluster's group.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queueKeys } from "../../controller/queue/redis-scripts.js";
import { type GitServer, startGitServer, type TestRepo } from "../helpers/git-server.js";
import { connectRedis, deletePrefix, REDIS_URL, randomPrefix, redisAvailable } from "../helpers/redis.js";
import { startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";
import { configMap } from "./gitops-harness.js";

const execFileAsync = promisify(execFile);
const CLI = join(process.cwd(), "dist/cli/main.js");
const NS = "slipway-system";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let hub: TestSandbox;
let target: TestSandbox;
let git: GitServer;
let repo: TestRepo;
let cacheDir: string;

async function slipway(args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      [CLI, ...args, "--kubeconfig", hub.kubeconfig],
      {
        timeout: 30_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  [hub, target, git] = await Promise.all([startTestSandbox(), startTestSandbox(), startGitServer()]);
  repo = await git.createRepo("fleet-cli");
  cacheDir = await mkdtemp(join(tmpdir(), "slipway-fleet-cli-"));
  await repo.commit({ "app/cm.yaml": configMap("from-hub", { where: "target" }) });
  const install = await slipway(["install"]);
  if (install.code !== 0) throw new Error(`install failed: ${install.stderr}`);
  const add = await slipway(["cluster", "add", "target", "--from-kubeconfig", target.kubeconfig]);
  if (add.code !== 0) throw new Error(`cluster add failed: ${add.stderr}`);
}, 60_000);

afterAll(async () => {
  await Promise.all([hub?.stop(), target?.stop(), git?.close()]);
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

describe("slipway controller --cluster-concurrency", () => {
  it("is refused without --redis, and when it is not a positive integer", async () => {
    const without = await slipway(["controller", "--cluster-concurrency", "2", "--http-addr", "127.0.0.1:0"]);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/--cluster-concurrency needs --redis/);
    const zero = await slipway([
      "controller",
      "--redis",
      REDIS_URL,
      "--cluster-concurrency",
      "0",
      "--http-addr",
      "127.0.0.1:0",
    ]);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toMatch(/--cluster-concurrency must be a positive integer, got "0"/);
  });

  describe.skipIf(!redisAvailable())("on Redis", () => {
    const prefix = randomPrefix();
    let admin: Redis;
    let child: ChildProcess | undefined;

    afterAll(async () => {
      child?.kill("SIGKILL");
      if (admin) {
        await deletePrefix(admin, prefix);
        await admin.quit();
      }
    });

    it("delivers apps to the registered cluster, each counted in its cluster's queue group", async () => {
      admin = connectRedis();
      const apps = ["one", "two", "three"];
      for (const name of apps) {
        const created = await slipway([
          "app",
          "create",
          name,
          "--repo",
          repo.url,
          "--path",
          "app",
          "--dest-name",
          "target",
          "--dest-namespace",
          `ns-${name}`,
          "--sync-policy",
          "auto",
          "--sync-option",
          "CreateNamespace=true",
        ]);
        expect(created.code, created.stderr).toBe(0);
      }
      child = spawn(
        process.execPath,
        [
          CLI,
          "controller",
          "--kubeconfig",
          hub.kubeconfig,
          "--http-addr",
          "127.0.0.1:0",
          "--redis",
          REDIS_URL,
          "--cluster-concurrency",
          "1",
          "--repo-cache-dir",
          cacheDir,
          "--no-leader-election",
        ],
        { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SLIPWAY_REDIS_PREFIX: prefix } },
      );
      const logs: string[] = [];
      child.stderr!.on("data", (c: Buffer) => logs.push(c.toString()));
      for (const name of apps) {
        await waitFor(
          async () => (await target.kubectl(["get", "configmap", "from-hub", "-n", `ns-${name}`])).code === 0,
          {
            timeoutMs: 40_000,
            intervalMs: 250,
            message: `${name}'s ConfigMap in the target (logs: ${logs.join("").slice(-2000)})`,
          },
        );
      }
      expect((await hub.kubectl(["get", "namespace", "ns-one"])).code).not.toBe(0);
      // Waiting for their resync, each app key carries its destination's group in Redis.
      const labels = await waitFor(
        async () => {
          const l = await admin.hgetall(queueKeys(prefix, "applications").key("labels"));
          return apps.every((a) => l[`${NS}/${a}`]) ? l : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 200, message: "queue labels of the three apps" },
      );
      for (const name of apps) expect(labels[`${NS}/${name}`]).toBe("cluster/target/");
    }, 90_000);
  });
});
