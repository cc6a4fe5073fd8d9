/**
 * `slipway rollout ...` as a user runs it: the built CLI binary in a child process against a
 * sandbox cluster with slipway installed, kubectl as the independent judge of what each command
 * wrote. No Rollout controller runs here: the objects `get` draws (ReplicaSets, their simulated
 * pods, an AnalysisRun, the HTTPRoute) are made by hand, and the rollout's status is written as
 * the controller would. cli-rollout-controller.test.ts drives the same commands against the real
 * controller.
 *
 * Needs dist/ (npm test builds it; alone, beforeAll rebuilds when dist is older than cli/).
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeJson, startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = join(root, "dist/cli/main.js");
const NS = "shop";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let sb: TestSandbox;
let dir: string;
let env: NodeJS.ProcessEnv;

function run(command: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((done) => {
    execFile(command, args, { env: { ...env, ...extraEnv }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

const slipway = (args: string[]) =>
  run(process.execPath, [cli, ...args, "--kubeconfig", sb.kubeconfig, "-n", NS]);

async function ok(args: string[]): Promise<string> {
  const r = await slipway(args);
  if (r.code !== 0) throw new Error(`slipway ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const getRollout = (name = "web"): Promise<KubeJson> => sb.kubectlJson(["get", "rollout", name, "-n", NS]);

const patchStatus = (name: string, status: unknown) =>
  sb.kubectlOk([
    "patch",
    "rollout",
    name,
    "-n",
    NS,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status }),
  ]);

const apply = (yaml: string) => sb.kubectlOk(["apply", "-n", NS, "-f", "-"], { input: yaml });

/** dist is rebuilt when it is missing or older than any CLI source. */
function ensureBuilt(): void {
  const newest = Math.max(
    ...readdirSync(join(root, "cli"))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => statSync(join(root, "cli", f)).mtimeMs),
  );
  const built = join(root, "dist/cli/rollout-actions.js");
  if (existsSync(built) && statSync(built).mtimeMs >= newest) return;
  try {
    execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, stdio: "ignore" });
  } catch {
    // tsc exits non-zero on type errors elsewhere but still emits; the check below decides.
  }
  if (!existsSync(built))
    throw new Error("dist/cli/rollout-actions.js is missing: run npx tsc -p tsconfig.build.json");
}

const ROLLOUT = (name: string, image = "shop/web:1.27") => `apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata:
  name: ${name}
spec:
  replicas: 3
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
        - name: app
          image: ${image}
  strategy:
    canary:
      canaryService: ${name}-canary
      stableService: ${name}-stable
      trafficRouting:
        gatewayAPI: {httpRoute: ${name}}
      analysis:
        startingStep: 1
        templates: [{templateName: success-rate}]
      steps:
        - setWeight: 10
        - pause: {duration: 30s}
        - setWeight: 20
        - pause: {}
        - analysis: {templates: [{templateName: success-rate}]}
        - setWeight: 50
        - pause: {duration: 5m}
        - setWeight: 80
`;

/** A ReplicaSet as the controller makes it: owned by the Rollout, hash label, revision annotation. */
const REPLICA_SET = (
  rollout: string,
  uid: string,
  hash: string,
  revision: number,
  image: string,
  replicas: number,
) => `
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: ${rollout}-${hash}
  labels: {app: ${rollout}, rollouts-pod-template-hash: "${hash}"}
  annotations: {rollout.argoproj.io/revision: "${revision}"}
  ownerReferences:
    - {apiVersion: slipway.dev/v1alpha1, kind: Rollout, name: ${rollout}, uid: "${uid}", controller: true}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${rollout}, rollouts-pod-template-hash: "${hash}"}
  template:
    metadata:
      labels: {app: ${rollout}, rollouts-pod-template-hash: "${hash}"}
    spec:
      containers:
        - name: app
          image: ${image}
`;

/** The status the controller writes while waiting at steps[3] (a pause without duration). */
const PAUSED_STATUS = {
  phase: "Paused",
  message: "CanaryPauseStep",
  observedGeneration: 1,
  currentStepIndex: 3,
  currentPodHash: "6d9f7c8b5",
  stableRS: "58b7d9c44f",
  controllerPause: true,
  pauseConditions: [
    {
      reason: "CanaryPauseStep",
      startTime: new Date(Date.now() - 65_000).toISOString().replace(/\.\d+Z$/, "Z"),
    },
  ],
  replicas: 4,
  updatedReplicas: 1,
  readyReplicas: 4,
  availableReplicas: 4,
  canary: {
    currentBackgroundAnalysisRunStatus: { name: "web-6d9f7c8b5-2-background", status: "Running" },
    weights: { canary: { weight: 20 }, stable: { weight: 80 } },
  },
};

let uid = "";

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "slipway-cli-rollout-"));
  env = { ...process.env, HOME: dir, KUBECONFIG: "", NO_COLOR: "" };
  delete env.KUBERNETES_SERVICE_HOST;
  sb = await startTestSandbox();
  await ok(["install"]);
  await sb.kubectlOk(["create", "namespace", NS]);
  await apply(ROLLOUT("web"));
  uid = (await getRollout()).metadata.uid;
  await apply(
    [
      REPLICA_SET("web", uid, "58b7d9c44f", 1, "shop/web:1.25", 3),
      REPLICA_SET("web", uid, "6d9f7c8b5", 2, "shop/web:1.27", 1),
      `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  rules:
    - backendRefs:
        - {name: web-stable, port: 80, weight: 80}
        - {name: web-canary, port: 80, weight: 20}
`,
      `
apiVersion: slipway.dev/v1alpha1
kind: AnalysisRun
metadata:
  name: web-6d9f7c8b5-2-background
  labels: {rollouts-pod-template-hash: "6d9f7c8b5"}
  annotations: {rollout.argoproj.io/revision: "2"}
  ownerReferences:
    - {apiVersion: slipway.dev/v1alpha1, kind: Rollout, name: web, uid: "${uid}", controller: true}
spec:
  metrics:
    - name: success-rate
      interval: 1m
      successCondition: result[0] >= 0.95
      provider: {prometheus: {address: "http://prometheus:9090", query: up}}
`,
    ].join("\n---\n"),
  );
  await sb.kubectlOk([
    "patch",
    "analysisrun",
    "web-6d9f7c8b5-2-background",
    "-n",
    NS,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({
      status: {
        phase: "Running",
        metricResults: [
          {
            name: "success-rate",
            phase: "Running",
            count: 2,
            successful: 2,
            measurements: [
              {
                phase: "Successful",
                value: "[0.99]",
                startedAt: "2025-01-01T10:00:00Z",
                finishedAt: "2025-01-01T10:00:01Z",
              },
              {
                phase: "Successful",
                value: "[0.97]",
                startedAt: "2025-01-01T10:01:00Z",
                finishedAt: "2025-01-01T10:01:01Z",
              },
            ],
          },
        ],
      },
    }),
  ]);
  await patchStatus("web", PAUSED_STATUS);
  // The sandbox's ReplicaSet simulator brings the pods up.
  await waitFor(
    async () => {
      const pods = (await sb.kubectlJson(["get", "pods", "-n", NS])).items as KubeJson[];
      return (
        pods.length === 4 &&
        pods.every((p) =>
          p.status?.conditions?.some((c: KubeJson) => c.type === "Ready" && c.status === "True"),
        )
      );
    },
    { message: "4 ready pods" },
  );
}, 90_000);

afterAll(async () => {
  await sb?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("rollout list and get", () => {
  it("lists rollouts with kubectl-argo-rollouts' columns; -A adds the namespace; -o json the objects", async () => {
    const [table, all, json, empty] = await Promise.all([
      ok(["rollout", "list"]),
      slipway(["rollout", "list", "-A"]),
      ok(["rollout", "list", "-o", "json"]),
      run(process.execPath, [cli, "rollout", "list", "--kubeconfig", sb.kubeconfig, "-n", "default"]),
    ]);
    expect(table.split("\n")[0]).toMatch(
      /^NAME\s+STRATEGY\s+STATUS\s+STEP\s+SET-WEIGHT\s+READY\s+DESIRED\s+UP-TO-DATE\s+AVAILABLE$/,
    );
    expect(table.split("\n")[1]).toMatch(/^web\s+Canary\s+Paused\s+3\/8\s+20\s+4\/4\s+3\s+1\s+4$/);
    expect(all.stdout.split("\n")[1]).toMatch(/^shop\s+web\s+Canary\s+Paused/);
    expect(JSON.parse(json).items.map((r: KubeJson) => r.metadata.name)).toEqual(["web"]);
    expect(empty).toMatchObject({
      code: 0,
      stdout: "",
      stderr: 'No rollouts found in namespace "default".\n',
    });
  });

  it("get draws the header and tree from the real objects, plain text when not on a terminal", async () => {
    // Independent reads, run side by side to keep the test short.
    const [out, jsonOut, missing] = await Promise.all([
      ok(["rollout", "get", "web"]),
      ok(["rollout", "get", "web", "-o", "json"]),
      slipway(["rollout", "get", "nope"]),
    ]);
    expect(out).not.toContain("\x1b[");
    const lines = out.split("\n");
    expect(lines.slice(0, 8)).toEqual([
      "Name:            web",
      "Namespace:       shop",
      "Status:          ॥ Paused",
      "Message:         CanaryPauseStep",
      "Strategy:        Canary",
      "  Step:          3/8",
      "  SetWeight:     20",
      "  ActualWeight:  20 (HTTPRoute shop/web: stable 80, canary 20)",
    ]);
    expect(lines).toContain("Images:          shop/web:1.25 (stable)");
    expect(lines).toContain("                 shop/web:1.27 (canary)");
    expect(out).toMatch(
      /\nPaused: +at pause step steps\[3\] for \d+m(\d+s)?: waits for "slipway rollout promote web"\n/,
    );
    const tree = lines.slice(lines.findIndex((l) => l.startsWith("NAME ")));
    expect(tree[0]).toMatch(/^NAME\s+KIND\s+STATUS\s+AGE\s+INFO$/);
    expect(tree[1]).toMatch(/^⟳ web\s+Rollout\s+॥ Paused\s+\d+s$/);
    expect(tree[2]).toBe("├──# revision:2");
    expect(tree[3]).toMatch(/^│ {2}├──⧉ web-6d9f7c8b5\s+ReplicaSet\s+✔ Healthy\s+\d+s\s+canary$/);
    expect(tree[4]).toMatch(/^│ {2}│ {2}└──□ web-6d9f7c8b5-\w+\s+Pod\s+✔ Running\s+\d+s\s+ready:1\/1$/);
    expect(tree[5]).toMatch(
      /^│ {2}└──α web-6d9f7c8b5-2-background\s+AnalysisRun\s+◌ Running\s+\d+s\s+✔ 2, ✖ 0 {2}success-rate=0\.97$/,
    );
    expect(tree[6]).toBe("└──# revision:1");
    expect(tree[7]).toMatch(/^ {3}└──⧉ web-58b7d9c44f\s+ReplicaSet\s+✔ Healthy\s+\d+s\s+stable$/);
    expect(
      tree.filter((l) => /□ web-58b7d9c44f-\w+\s+Pod\s+✔ Running\s+\d+s\s+ready:1\/1$/.test(l)),
    ).toHaveLength(3);

    const json = JSON.parse(jsonOut);
    expect(json).toMatchObject({
      kind: "Rollout",
      metadata: { name: "web" },
      status: { currentStepIndex: 3 },
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'error: rollout "nope" not found in namespace "shop" (list them with "slipway rollout list -n shop")\n',
    );
  });

  it("get --watch off a terminal prints a new block whenever the rollout changes", async () => {
    const child = spawn(
      process.execPath,
      [cli, "rollout", "get", "web", "--watch", "--timeout", "8s", "--kubeconfig", sb.kubeconfig, "-n", NS],
      {
        env,
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on("exit", r));
    await waitFor(() => out.includes("INFO\n"), { message: "the first drawing" });
    await patchStatus("web", {
      currentStepIndex: 2,
      pauseConditions: null,
      phase: "Progressing",
      message: "more replicas need to be updated",
    });
    await waitFor(() => out.includes("  Step:          2/8"), { message: "a second drawing" });
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    const blocks = out.split(/\n(?=Name: )/);
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toContain("  Step:          3/8");
    expect(blocks[1]).toContain("Status:          ◌ Progressing");
    await patchStatus("web", PAUSED_STATUS);
  });
});

describe("rollout commands: one effect each, in status or spec, and an Event", () => {
  it("pause / resume write spec.paused and refuse when they would do nothing", async () => {
    expect(await ok(["rollout", "pause", "web"])).toBe(
      `rollout 'web' paused: it stays where it is until "slipway rollout resume web"\n`,
    );
    const [paused, again] = await Promise.all([getRollout(), slipway(["rollout", "pause", "web"])]);
    expect(paused.spec.paused).toBe(true);
    expect(again).toMatchObject({
      code: 1,
      stderr: "error: rollout 'web' is already paused\n",
    });
    expect(await ok(["rollout", "resume", "web"])).toBe("rollout 'web' resumed\n");
    const [resumed, resumeAgain] = await Promise.all([getRollout(), slipway(["rollout", "resume", "web"])]);
    expect(resumed.spec.paused).toBe(false);
    expect(resumeAgain).toMatchObject({
      code: 1,
      stderr: `error: rollout 'web' is not paused by the user: it waits for promotion (CanaryPauseStep); "slipway rollout promote web" continues it\n`,
    });
  });

  it("promote clears the pause conditions through the status subresource; --full sets promoteFull", async () => {
    expect(await ok(["rollout", "promote", "web"])).toBe(
      "rollout 'web' promoted: leaves the pause at steps[3], on to steps[4] (analysis success-rate)\n",
    );
    const ro = await getRollout();
    expect(ro.status.pauseConditions).toBeUndefined();
    expect(ro.status.controllerPause).toBe(true);
    expect(ro.status.currentStepIndex).toBe(3);
    // No pause left: promote now skips the current step, as Argo's does.
    expect(await ok(["rollout", "promote", "web"])).toBe(
      "rollout 'web' promoted: skips steps[3] (pause), on to steps[4] (analysis success-rate)\n",
    );
    expect((await getRollout()).status.currentStepIndex).toBe(4);
    expect(await ok(["rollout", "promote", "web", "--full"])).toMatch(/^rollout 'web' fully promoted: /);
    expect((await getRollout()).status.promoteFull).toBe(true);
    await patchStatus("web", { ...PAUSED_STATUS, promoteFull: null });
  });

  it("abort sets status.abort; promote is then refused; retry clears abort and keeps abortedAt", async () => {
    expect(await ok(["rollout", "abort", "web"])).toBe(
      "rollout 'web' aborted: traffic returns to stable, then the canary scales down\n",
    );
    expect((await getRollout()).status.abort).toBe(true);
    // What the controller adds when it acts on the abort.
    await patchStatus("web", {
      abortedAt: "2025-01-01T10:00:00Z",
      phase: "Degraded",
      message: "RolloutAborted: aborted by user",
    });
    const promote = await slipway(["rollout", "promote", "web"]);
    expect(promote.code).toBe(1);
    expect(promote.stderr).toMatch(
      /^error: rollout 'web' is aborted: "slipway rollout retry web" runs the update again/,
    );

    expect(await ok(["rollout", "retry", "web"])).toBe(
      "rollout 'web' retried: the update runs again from steps[0] (setWeight 10)\n",
    );
    const ro = await getRollout();
    expect(ro.status.abort).toBe(false);
    expect(ro.status.abortedAt).toBe("2025-01-01T10:00:00Z");
    await patchStatus("web", { ...PAUSED_STATUS, abort: null, abortedAt: null });
  });

  it("undo copies a revision's pod template into spec.template; unknown revisions are named", async () => {
    const [unknown, undone] = await Promise.all([
      slipway(["rollout", "undo", "web", "--to-revision", "7"]),
      ok(["rollout", "undo", "web"]),
    ]);
    expect(unknown).toMatchObject({ code: 1, stderr: "error: no revision 7; revisions: 1, 2\n" });
    expect(undone).toBe("rollout 'web' rolled back to revision 1 (shop/web:1.25): an update to it starts\n");
    const template = (await getRollout()).spec.template;
    expect(template.metadata.labels).toEqual({ app: "web" });
    expect(template.spec.containers[0].image).toBe("shop/web:1.25");
    // Once the controller has seen the new template, its hash names revision 1: nothing to undo.
    const ro = await getRollout();
    await patchStatus("web", { observedGeneration: ro.metadata.generation, currentPodHash: "58b7d9c44f" });
    expect(await ok(["rollout", "undo", "web", "--to-revision", "1"])).toBe(
      "rollout 'web' unchanged: skipped rollback (the current template already matches revision 1)\n",
    );
  });

  it("set image changes the container's image; restart --in sets spec.restartAt", async () => {
    const [set, noSuch] = await Promise.all([
      ok(["rollout", "set", "image", "web", "app=shop/web:1.28"]),
      slipway(["rollout", "set", "image", "web", "sidecar=x:1"]),
    ]);
    expect(set).toBe(
      "rollout 'web' image updated: app=shop/web:1.28 (was shop/web:1.25); an update starts\n",
    );
    expect((await getRollout()).spec.template.spec.containers[0].image).toBe("shop/web:1.28");
    expect(noSuch).toMatchObject({
      code: 1,
      stderr: "error: rollout 'web' has no container 'sidecar' (containers: app)\n",
    });
    const before = Date.now();
    expect(await ok(["rollout", "restart", "web", "--in", "10s"])).toMatch(
      /^rollout 'web' restarts at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: pods created before then are replaced, a few at a time\n$/,
    );
    const at = Date.parse((await getRollout()).spec.restartAt);
    expect(at - before).toBeGreaterThanOrEqual(9_000);
    expect(at - before).toBeLessThan(25_000);
  });

  it("records each command as an Event on the Rollout", async () => {
    const events = (
      await sb.kubectlJson(["get", "events", "-n", NS, "--field-selector", "involvedObject.name=web"])
    ).items as KubeJson[];
    const reasons = new Set(events.map((e) => e.reason));
    for (const reason of [
      "PauseRequested",
      "ResumeRequested",
      "PromoteRequested",
      "PromoteFullRequested",
      "AbortRequested",
      "RetryRequested",
      "UndoRequested",
      "ImageUpdated",
      "RestartRequested",
    ]) {
      expect(reasons).toContain(reason);
    }
    expect(
      events.every((e) => e.source?.component === "slipway-cli" && e.involvedObject.kind === "Rollout"),
    ).toBe(true);
  });
});

describe("rollout status", () => {
  it("waits, then exits 1 on timeout with the last state", async () => {
    await patchStatus("web", {
      ...PAUSED_STATUS,
      observedGeneration: (await getRollout()).metadata.generation,
    });
    const r = await slipway(["rollout", "status", "web", "--timeout", "2s"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      'Waiting for rollout "web" to finish: Paused - CanaryPauseStep: step 3/8, weight 20, updated 1/3, available 4\n',
    );
    expect(r.stderr).toBe(
      'error: timed out after 2s waiting for rollout "web"; last state: Paused - CanaryPauseStep: step 3/8, weight 20, updated 1/3, available 4\n',
    );
  });

  it("exits 0 once Healthy and complete, 1 at once when Degraded", async () => {
    const waiting = slipway(["rollout", "status", "web", "--timeout", "20s"]);
    await new Promise((r) => setTimeout(r, 1500));
    await patchStatus("web", {
      phase: "Healthy",
      message: null,
      pauseConditions: null,
      currentStepIndex: 8,
      stableRS: "6d9f7c8b5",
      updatedReplicas: 3,
      availableReplicas: 3,
    });
    const done = await waiting;
    expect(done.code).toBe(0);
    expect(done.stdout.trimEnd().split("\n").at(-1)).toBe('rollout "web" successfully rolled out');

    await patchStatus("web", {
      phase: "Degraded",
      message: "RolloutAborted: metric success-rate failed",
      abort: true,
      stableRS: "58b7d9c44f",
    });
    const degraded = await slipway(["rollout", "status", "web"]);
    expect(degraded).toMatchObject({
      code: 1,
      stdout: "",
      stderr: 'error: rollout "web" is Degraded: RolloutAborted: metric success-rate failed\n',
    });
  });
});

describe("rollout lint and kubectl slipway", () => {
  it("lints a file offline with precise messages; exit 1 on errors, 0 when valid", async () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, ROLLOUT("api").replace("- setWeight: 50", "- setWeight: 150"));
    const good = join(dir, "good.yaml");
    writeFileSync(good, ROLLOUT("api"));
    const [r1, r2] = await Promise.all([
      run(process.execPath, [cli, "rollout", "lint", "-f", bad]),
      run(process.execPath, [cli, "rollout", "lint", "-f", good]),
    ]);
    expect(r1.code).toBe(1);
    expect(r1.stdout).toBe(
      [
        `${bad}: Rollout "api": spec.strategy.canary.steps[5].setWeight: must be <= 100`,
        `${bad}: Rollout "api": spec.strategy.canary.steps[4].analysis.templates[0].templateName: warning: AnalysisTemplate "success-rate" is not in the files given: it must exist in the Rollout's namespace when the analysis starts`,
        `${bad}: Rollout "api": spec.strategy.canary.analysis.templates[0].templateName: warning: AnalysisTemplate "success-rate" is not in the files given: it must exist in the Rollout's namespace when the analysis starts`,
        "",
      ].join("\n"),
    );
    expect(r1.stderr).toBe("1 error, 2 warnings\n");
    expect(r2).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/good\.yaml: valid \(2 warnings\)\n$/),
    });
    // The template in a file of its own, given in the same command: no warning; each file's
    // summary counts its own warnings.
    const template = join(dir, "template.yaml");
    writeFileSync(
      template,
      `apiVersion: slipway.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: success-rate}
spec:
  metrics:
    - name: ok
      provider: {web: {url: "http://example.invalid/ok", jsonPath: "{$.ok}"}}
      successCondition: result == true
`,
    );
    const lonely = join(dir, "lonely.yaml");
    writeFileSync(lonely, ROLLOUT("solo"));
    const both = await run(process.execPath, [cli, "rollout", "lint", "-f", good, "-f", template]);
    expect(both).toMatchObject({ code: 0, stdout: `${good}: valid\n${template}: valid\n` });
    const apart = await run(process.execPath, [cli, "rollout", "lint", "-f", good, "-f", lonely]);
    expect(apart.code).toBe(0);
    expect(apart.stdout.split("\n").filter((l) => l.endsWith(")"))).toEqual([
      `${good}: valid (2 warnings)`,
      `${lonely}: valid (2 warnings)`,
    ]);
  });

  it("works as a kubectl plugin: kubectl slipway rollout ...", async () => {
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    const plugin = join(bin, "kubectl-slipway");
    // A Node script named like the installed bin, so the CLI knows it runs as `kubectl slipway`.
    writeFileSync(plugin, `#!${process.execPath}\nimport(${JSON.stringify(cli)});\n`);
    chmodSync(plugin, 0o755);
    const pathEnv = { PATH: `${bin}:${process.env.PATH ?? ""}` };
    const r = await run(
      "kubectl",
      ["slipway", "rollout", "list", "--kubeconfig", sb.kubeconfig, "-n", NS],
      pathEnv,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+STRATEGY/);
    expect(r.stdout).toMatch(/\nweb\s+Canary\s+Degraded/);
    const help = await run("kubectl", ["slipway", "rollout", "--help"], pathEnv);
    expect(help.stdout).toMatch(/^Usage: kubectl slipway rollout/);
  });
});
