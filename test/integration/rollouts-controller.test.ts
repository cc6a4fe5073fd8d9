/**
 * The Rollout controller against a sandbox over HTTPS, for what is not a canary walk: no request
 * when nothing changed, metrics, bad input (InvalidSpec with a Warning, healed when the input is
 * fixed), a template that never gets ready (progress deadline, stable untouched), the scale
 * subresource (kubectl scale, status.selector for HPAs), workloadRef with scaleDown, and restartAt.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControllerProcess, RolloutsHarness, sleep } from "../e2e/rollouts-harness.js";
import type { KubeJson } from "../helpers/sandbox.js";

const NS = "ctl";
let h: RolloutsHarness;
let proc: ControllerProcess;

const rollout = (
  name: string,
  extra = "",
  template = `{metadata: {labels: {app: ${name}}}, spec: {containers: [{name: app, image: "app:1"}]}}`,
) => `
apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata: {name: ${name}, namespace: ${NS}}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template: ${template}
${extra}`;

beforeAll(async () => {
  h = await RolloutsHarness.start();
  await h.namespace(NS);
  proc = await h.startController({ analysis: false });
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

const condition = (ro: KubeJson, type: string) =>
  (ro.status?.conditions ?? []).find((c: KubeJson) => c.type === type);

describe("the Rollout controller", () => {
  it("makes no API request when it reconciles an unchanged rollout, and exports metrics", async () => {
    await h.apply(rollout("quiet", "  strategy: {canary: {steps: [{setWeight: 50}]}}"));
    await h.waitRollout(NS, "quiet", "Healthy", (r) => r.status?.phase === "Healthy");
    await sleep(500);
    const before = proc.requests.length;
    for (let i = 0; i < 5; i++) proc.rollouts.enqueue(`${NS}/quiet`);
    await sleep(500);
    expect(proc.requests.slice(before)).toEqual([]);
    const metrics = await proc.registry.metrics();
    expect(metrics).toContain(`slipway_rollout_phase{namespace="${NS}",name="quiet",phase="Healthy"} 1`);
    expect(metrics).toContain(`slipway_rollout_phase{namespace="${NS}",name="quiet",phase="Degraded"} 0`);
    expect(metrics).toContain(`slipway_rollout_step{namespace="${NS}",name="quiet"} 1`);
    expect(metrics).toContain(`slipway_rollout_canary_weight{namespace="${NS}",name="quiet"} 0`);
  });

  it("reports bad input as InvalidSpec with a Warning, moves nothing, and heals once it is fixed", async () => {
    await h.apply(
      rollout(
        "bad",
        `  strategy:
    canary:
      canaryService: bad-canary
      stableService: bad-stable
      steps: [{analysis: {templates: [{templateName: missing}]}}]`,
      ),
    );
    const ro = await h.waitRollout(NS, "bad", "InvalidSpec", (r) => r.status?.phase === "Degraded" && r);
    expect(condition(ro, "InvalidSpec")).toMatchObject({ status: "True", reason: "InvalidSpec" });
    expect(ro.status.message).toBe(
      'InvalidSpec: canaryService: Service "bad-canary" not found; stableService: Service "bad-stable" not found; analysis: AnalysisTemplate "missing" not found',
    );
    expect(await h.replicaSets(NS, "bad")).toEqual([]);
    await proc.recorder.flush();
    const warnings = (await h.events(NS, "bad")).filter(
      (e) => e.type === "Warning" && e.reason === "InvalidSpec",
    );
    expect(warnings).toHaveLength(1);

    await h.apply(`
apiVersion: v1
kind: Service
metadata: {name: bad-canary, namespace: ${NS}}
spec: {selector: {app: bad}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: bad-stable, namespace: ${NS}}
spec: {selector: {app: bad}, ports: [{port: 80}]}
---
apiVersion: slipway.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: missing, namespace: ${NS}}
spec: {metrics: [{name: m, provider: {web: {url: "http://127.0.0.1:1"}}}]}
`);
    const healed = await h.waitRollout(
      NS,
      "bad",
      "Healthy once fixed",
      (r) => r.status?.phase === "Healthy" && r,
    );
    expect(condition(healed, "InvalidSpec")).toBeUndefined();
  });

  it("a template that never gets ready misses the progress deadline; stable keeps every pod", async () => {
    const strategy = `  progressDeadlineSeconds: 2
  strategy: {canary: {steps: [{setWeight: 50}, {pause: {}}]}}`;
    await h.apply(rollout("stuck", strategy));
    const first = await h.waitRollout(NS, "stuck", "Healthy", (r) => r.status?.phase === "Healthy" && r);
    const stable = first.status.stableRS;
    await h.apply(
      rollout(
        "stuck",
        strategy,
        `{metadata: {labels: {app: stuck}, annotations: {sim.slipway.dev/ready-after: 1h}}, spec: {containers: [{name: app, image: "app:2"}]}}`,
      ),
    );
    const late = await h.waitRollout(
      NS,
      "stuck",
      "deadline",
      (r) => r.status?.phase === "Degraded" && r,
      20_000,
    );
    expect(late.status.message).toMatch(
      /^ProgressDeadlineExceeded: ReplicaSet "stuck-.*" has timed out progressing\.$/,
    );
    const sets = await h.replicaSets(NS, "stuck");
    expect(sets.find((s) => s.metadata.name === `stuck-${stable}`)!.spec.replicas).toBe(2);
    expect(sets.find((s) => s.metadata.name !== `stuck-${stable}`)!.status.availableReplicas ?? 0).toBe(0);
  });

  it("serves the scale subresource: kubectl scale, status.replicas and status.selector for HPAs", async () => {
    await h.sb.kubectlOk(["scale", "rollout", "-n", NS, "quiet", "--replicas=3"]);
    await h.waitRollout(
      NS,
      "quiet",
      "3 replicas",
      (r) => r.status?.replicas === 3 && r.status.availableReplicas === 3,
    );
    const scale = await h.sb.kubectlJson(["get", "rollout", "-n", NS, "quiet", "--subresource=scale"]);
    expect(scale.spec.replicas).toBe(3);
    expect(scale.status).toMatchObject({ replicas: 3, selector: "app=quiet" });
  });

  it("workloadRef takes the template of a Deployment and scales it down once the rollout is up", async () => {
    await h.apply(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: legacy, namespace: ${NS}}
spec:
  replicas: 2
  selector: {matchLabels: {app: legacy}}
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: app, image: "legacy:1"}]}
---
apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata: {name: legacy, namespace: ${NS}}
spec:
  replicas: 2
  selector: {matchLabels: {app: legacy}}
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: legacy, scaleDown: onsuccess}
  strategy: {canary: {steps: [{setWeight: 50}]}}
`);
    await h.waitRollout(NS, "legacy", "Healthy", (r) => r.status?.phase === "Healthy");
    const sets = await h.replicaSets(NS, "legacy");
    expect(sets).toHaveLength(1);
    expect(sets[0]!.spec.template.spec.containers[0].image).toBe("legacy:1");
    await h.waitRollout(NS, "legacy", "Deployment scaled down", async () => {
      const dep = await h.get("deployment", NS, "legacy");
      return dep.spec.replicas === 0;
    });
  });

  it("restartAt replaces the pods created before it, one at a time", async () => {
    const before = (await h.list("pods", NS, "app=quiet")).map((p) => p.metadata.name).sort();
    expect(before).toHaveLength(3);
    // Object timestamps are whole seconds: restartAt a second after the last pod was created.
    await sleep(1100);
    const at = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    await h.sb.kubectlOk([
      "patch",
      "rollout",
      "-n",
      NS,
      "quiet",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { restartAt: at } }),
    ]);
    const done = await h.waitRollout(
      NS,
      "quiet",
      "restarted",
      (r) => r.status?.restartedAt === at && r,
      30_000,
    );
    expect(done.status.phase).toBe("Healthy");
    const after = (await h.list("pods", NS, "app=quiet"))
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => p.metadata.name);
    expect(after).toHaveLength(3);
    expect(after.filter((n) => before.includes(n))).toEqual([]);
  });
});
