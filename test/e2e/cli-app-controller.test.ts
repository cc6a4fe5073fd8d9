/**
 * `slipway app sync|wait|get|history|rollback|diff|terminate-op|delete` against the REAL
 * Application controller, started in this process by the GitOps harness (sandbox + Git server
 * + createApplicationController), with the CLI as a child process and kubectl as the judge.
 * cli-app.test.ts covers the same commands' own behaviour with a simulated controller.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeJson } from "../helpers/sandbox.js";
import { configMap, type GitopsEnv, NS, startGitopsEnv } from "./gitops-harness.js";

const cli = join(process.cwd(), "dist/cli/main.js");

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let env: GitopsEnv;
let cliEnv: NodeJS.ProcessEnv;

function slipway(args: string[]): Promise<Result> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [cli, ...args, "--kubeconfig", env.sb.kubeconfig],
      { env: cliEnv, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await slipway(args);
  if (r.code !== 0) throw new Error(`slipway ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const liveColor = async (): Promise<string | undefined> =>
  (await env.sb.kubectl(["get", "configmap", "web", "-n", "guestbook", "-o", "jsonpath={.data.color}"]))
    .stdout || undefined;

/** A PreSync hook Job that runs for `duration` in the sandbox's simulation. */
const slowHook = (duration: string) => `apiVersion: batch/v1
kind: Job
metadata:
  name: slow-migration
  annotations:
    slipway.dev/hook: PreSync
    slipway.dev/hook-delete-policy: BeforeHookCreation
spec:
  template:
    metadata:
      annotations:
        sim.slipway.dev/duration: ${duration}
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: busybox
`;

beforeAll(async () => {
  env = await startGitopsEnv("cli-apps");
  cliEnv = { ...process.env, HOME: env.cacheDir, KUBECONFIG: "", XDG_CACHE_HOME: join(env.cacheDir, "cli") };
  delete cliEnv.SLIPWAY_APP_NAMESPACE;
  await env.repo.commit({ "guestbook/web.yaml": configMap("web", { color: "blue" }) });
  await env.repo.tag("v1");
  await env.repo.commit({ "guestbook/web.yaml": configMap("web", { color: "green" }) });
  await env.startController();
}, 90_000);

afterAll(async () => {
  await env?.stop();
});

describe("slipway app with the real controller", () => {
  it("sync applies the app and prints the result; wait and get then see it synced and healthy", async () => {
    await ok([
      "app",
      "create",
      "guestbook",
      "--repo",
      env.repo.url,
      "--path",
      "guestbook",
      "--revision",
      "v1",
      "--dest-namespace",
      "guestbook",
      "--sync-option",
      "CreateNamespace=true",
    ]);
    const sync = await slipway(["app", "sync", "guestbook", "--timeout", "60s"]);
    expect(sync.stderr).toBe("");
    expect(sync.code).toBe(0);
    expect(sync.stdout).toContain("Phase:              Succeeded");
    expect(sync.stdout).toMatch(/^\s+ConfigMap\s+guestbook\s+web\s+Synced\b/m);
    expect(await liveColor()).toBe("blue");

    const wait = await slipway(["app", "wait", "guestbook", "--timeout", "30s"]);
    expect(wait.code).toBe(0);
    expect(wait.stdout).toContain("Sync Status:        Synced to v1");
    const get = await ok(["app", "get", "guestbook", "--refresh"]);
    expect(get).toMatch(/^\s+ConfigMap\s+guestbook\s+web\s+Synced\b/m);

    // The CLI's local diff agrees with what the controller applied.
    expect(await slipway(["app", "diff", "guestbook"])).toMatchObject({ code: 0, stdout: "" });
  });

  it("a second sync records history; rollback syncs the first deployment again", async () => {
    await ok(["app", "set", "guestbook", "--revision", "main"]);
    const diff = await slipway(["app", "diff", "guestbook"]);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(/^\+\s+color: green$/m);
    await ok(["app", "sync", "guestbook", "--timeout", "60s"]);
    expect(await liveColor()).toBe("green");

    const history = JSON.parse(await ok(["app", "history", "guestbook", "-o", "json"])) as KubeJson[];
    expect(history).toHaveLength(2);
    expect(history[0]!.source.targetRevision).toBe("v1");
    expect(await ok(["app", "history", "guestbook"])).toMatch(/^\d+\s+\S+\s+main \([0-9a-f]{7}\)$/m);

    const rollback = await slipway([
      "app",
      "rollback",
      "guestbook",
      String(history[0]!.id),
      "--timeout",
      "60s",
    ]);
    expect(rollback.stderr).toBe("");
    expect(rollback.code).toBe(0);
    expect(await liveColor()).toBe("blue");
    // Git says green, the cluster is back at blue.
    expect((await slipway(["app", "diff", "guestbook"])).code).toBe(1);
  });

  it("terminate-op stops a running sync", async () => {
    await env.repo.commit({ "guestbook/hook.yaml": slowHook("60s") });
    // The controller checks refs once per resync interval; a hard refresh makes it look now.
    await ok(["app", "refresh", "guestbook", "--hard"]);
    expect(await ok(["app", "sync", "guestbook", "--async"])).toContain("sync operation started");
    await env.waitApp("guestbook", "operation running", (a) => a.status?.operationState?.phase === "Running");
    expect(await ok(["app", "terminate-op", "guestbook"])).toContain("operation terminating");
    const wait = await slipway(["app", "wait", "guestbook", "--operation", "--timeout", "30s"]);
    expect(wait.code).toBe(0);
    const app = await env.app("guestbook");
    expect(app.status?.operationState?.phase).not.toBe("Succeeded");
    await env.repo.commit({ "guestbook/hook.yaml": null });
  });

  it("delete cascades: the controller removes the app's resources, then the app", async () => {
    const deleted = await slipway(["app", "delete", "guestbook", "--yes", "--wait", "--timeout", "30s"]);
    expect(deleted.stderr).toBe("");
    expect(deleted.code).toBe(0);
    expect(await liveColor()).toBeUndefined();
    expect((await env.sb.kubectl(["get", "applications.slipway.dev", "guestbook", "-n", NS])).code).not.toBe(
      0,
    );
  });
});
