/**
 * `slipway rollout` against the real Rollout controller (run in-process by the rollouts harness,
 * as `slipway controller` runs it) in the sandbox, with a Gateway API HTTPRoute as the router:
 * the CLI binary drives a canary through its steps and reads back what the controller did.
 *
 * A new image pauses at steps[1]; `get` shows Paused at step 1/4 with the weight read from the
 * HTTPRoute; `promote` moves it on and `status` exits 0 once it is stable. Then a second update is
 * aborted (`status` exits 1, `get` says why and that traffic is back on stable), `promote` is
 * refused, `retry` runs it again and `promote --full` finishes it.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeJson } from "../helpers/sandbox.js";
import { RolloutsHarness } from "./rollouts-harness.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = join(root, "dist/cli/main.js");
const NS = "flow";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let h: RolloutsHarness;
let dir: string;
let env: NodeJS.ProcessEnv;

function slipway(args: string[]): Promise<Result> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [cli, ...args, "--kubeconfig", h.sb.kubeconfig, "-n", NS],
      { env, timeout: 60_000 },
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

const ROLLOUT = `
apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata: {name: web, namespace: ${NS}}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:1"}]}
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      scaleDownDelaySeconds: 1
      abortScaleDownDelaySeconds: 1
      trafficRouting:
        gatewayAPI: {httpRoute: web}
      steps:
        - setWeight: 25
        - pause: {}
        - setWeight: 75
        - pause: {duration: 1s}
`;

/** The header fields of `rollout get`, by label. */
function header(out: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of out.split("\n")) {
    if (line.startsWith("NAME ")) break;
    const m = /^\s*([A-Za-z]+):\s+(.*)$/.exec(line);
    if (m) fields[m[1]!] = m[2]!;
  }
  return fields;
}

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "slipway-cli-rollout-ctl-"));
  env = { ...process.env, HOME: dir, KUBECONFIG: "" };
  delete env.KUBERNETES_SERVICE_HOST;
  h = await RolloutsHarness.start();
  await h.namespace(NS);
  await h.apply(`
apiVersion: v1
kind: Service
metadata: {name: web-stable, namespace: ${NS}}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-canary, namespace: ${NS}}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: ${NS}}
spec:
  rules:
    - backendRefs:
        - {name: web-stable, port: 80, weight: 100}
        - {name: web-canary, port: 80, weight: 0}
`);
  await h.startController({ analysis: false });
}, 60_000);

afterAll(async () => {
  await h?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("rollout CLI with the Rollout controller", () => {
  let stable = "";

  it("status waits for the first deploy and exits 0 when it is stable", async () => {
    await h.apply(ROLLOUT);
    const r = await slipway(["rollout", "status", "web", "--timeout", "40s"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe('rollout "web" successfully rolled out');
    stable = (await h.get("rollout", NS, "web")).status.stableRS;
    expect(stable).toMatch(/^[a-z0-9]+$/);
  });

  it("a new image pauses at steps[1]: get shows the step, the weights from the HTTPRoute and why", async () => {
    expect(await ok(["rollout", "set", "image", "web", "web=web:2"])).toBe(
      "rollout 'web' image updated: web=web:2 (was web:1); an update starts\n",
    );
    const paused = await h.waitRollout(
      NS,
      "web",
      "the pause at steps[1] with the HTTPRoute at 25",
      async (ro) => {
        if (ro.status?.phase !== "Paused" || ro.status.currentStepIndex !== 1) return false;
        const route = await h.get("httproute", NS, "web");
        const refs = route.spec.rules[0].backendRefs as KubeJson[];
        return refs.find((b) => b.name === "web-canary")?.weight === 25 && ro;
      },
      40_000,
    );
    const canary = paused.status.currentPodHash as string;
    const out = await ok(["rollout", "get", "web"]);
    const fields = header(out);
    expect(fields).toMatchObject({
      Status: "॥ Paused",
      Message: "CanaryPauseStep",
      Strategy: "Canary",
      Step: "1/4",
      SetWeight: "25",
      ActualWeight: "25 (HTTPRoute flow/web: stable 75, canary 25)",
      Desired: "4",
    });
    expect(fields.Paused).toMatch(
      /^at pause step steps\[1\] for \d+s: waits for "slipway rollout promote web"$/,
    );
    expect(out).toContain("Images:          web:1 (stable)\n                 web:2 (canary)\n");
    expect(out).toMatch(
      new RegExp(`├──# revision:2\\n│  └──⧉ web-${canary}\\s+ReplicaSet\\s+✔ Healthy\\s+\\S+\\s+canary\\n`),
    );
    expect(out).toMatch(
      new RegExp(`└──# revision:1\\n   └──⧉ web-${stable}\\s+ReplicaSet\\s+✔ Healthy\\s+\\S+\\s+stable\\n`),
    );
    expect(out.match(/□ web-\w+-\w+\s+Pod\s+✔ Running\s+\S+\s+ready:1\/1/g)?.length).toBeGreaterThanOrEqual(
      5,
    );
    expect((await ok(["rollout", "list"])).split("\n")[1]).toMatch(/^web\s+Canary\s+Paused\s+1\/4\s+25\s/);
  });

  it("promote moves it on, and status exits 0 once the canary is stable", async () => {
    expect(await ok(["rollout", "promote", "web"])).toBe(
      "rollout 'web' promoted: leaves the pause at steps[1], on to steps[2] (setWeight 75)\n",
    );
    const r = await slipway(["rollout", "status", "web", "--timeout", "40s"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe('rollout "web" successfully rolled out');
    const ro = await h.get("rollout", NS, "web");
    expect(ro.status.stableRS).toBe(ro.status.currentPodHash);
    expect(ro.status.stableRS).not.toBe(stable);
    stable = ro.status.stableRS;
    const fields = header(await ok(["rollout", "get", "web"]));
    expect(fields).toMatchObject({
      Status: "✔ Healthy",
      Step: "4/4",
      SetWeight: "100",
      Images: "web:2 (stable)",
    });
    const events = (await h.events(NS, "web")).map((e) => e.reason);
    expect(events).toContain("PromoteRequested");
    expect(events).toContain("RolloutCompleted");
  });

  it("abort: status exits 1, get says why and that traffic is back on stable; retry and promote --full finish it", async () => {
    await ok(["rollout", "set", "image", "web", "web=web:3"]);
    await h.waitRollout(
      NS,
      "web",
      "paused at steps[1]",
      (ro) => ro.status?.phase === "Paused" && ro.status.currentStepIndex === 1,
      40_000,
    );
    expect(await ok(["rollout", "abort", "web"])).toBe(
      "rollout 'web' aborted: traffic returns to stable, then the canary scales down\n",
    );
    const status = await slipway(["rollout", "status", "web", "--timeout", "40s"]);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/^error: rollout "web" is Degraded: RolloutAborted: /);
    await h.waitRollout(NS, "web", "traffic back on stable", async () => {
      const refs = (await h.get("httproute", NS, "web")).spec.rules[0].backendRefs as KubeJson[];
      return refs.find((b) => b.name === "web-canary")?.weight === 0;
    });
    const fields = header(await ok(["rollout", "get", "web"]));
    expect(fields.Status).toBe("✖ Degraded");
    expect(fields.ActualWeight).toBe("0 (HTTPRoute flow/web: stable 100, canary 0)");
    expect(fields.Aborted).toMatch(
      /traffic is back on stable; "slipway rollout retry web" runs the update again$/,
    );

    const promote = await slipway(["rollout", "promote", "web", "--full"]);
    expect(promote.code).toBe(1);
    expect(promote.stderr).toMatch(
      /^error: rollout 'web' is aborted: "slipway rollout retry web" runs the update again/,
    );

    expect(await ok(["rollout", "retry", "web"])).toBe(
      "rollout 'web' retried: the update runs again from steps[0] (setWeight 25)\n",
    );
    await h.waitRollout(
      NS,
      "web",
      "paused at steps[1] again",
      (ro) => ro.status?.phase === "Paused" && ro.status.currentStepIndex === 1 && !ro.status.abort,
      40_000,
    );
    expect(await ok(["rollout", "promote", "web", "--full"])).toMatch(/^rollout 'web' fully promoted: /);
    const done = await slipway(["rollout", "status", "web", "--timeout", "40s"]);
    expect(done.code, done.stderr).toBe(0);
    expect(header(await ok(["rollout", "get", "web"]))).toMatchObject({
      Status: "✔ Healthy",
      Images: "web:3 (stable)",
    });
    const events = (await h.events(NS, "web")).map((e) => e.reason);
    for (const reason of [
      "AbortRequested",
      "RolloutAborted",
      "RetryRequested",
      "RolloutRetried",
      "PromoteFullRequested",
    ]) {
      expect(events).toContain(reason);
    }
  });
});
