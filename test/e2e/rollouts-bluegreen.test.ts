/**
 * Blue-green end to end, with traffic generated through the active Service and a real
 * Prometheus for the post-promotion analysis:
 *
 * - manual promotion: the new set comes up beside the active one (its pods get ready only after
 *   2 s), the preview Service moves to it once ready, the rollout pauses (`BlueGreenPause`) until
 *   promoted, then the active Service flips in one write; no request ever lands on a pod that is
 *   not ready (no 503 in a window spanning the whole update); the old set goes after
 *   scaleDownDelaySeconds;
 * - a failing post-promotion analysis aborts: the active Service goes straight back to the old
 *   set (kept at full size until the analysis passes), which takes every request again, and the
 *   new set is scaled down after abortScaleDownDelaySeconds.
 *
 * Skipped when Prometheus is not installed, unless REQUIRE_SERVICES=1.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prometheusAvailable } from "../helpers/prometheus.js";
import type { KubeJson } from "../helpers/sandbox.js";
import { errorRateTemplate, RolloutsHarness, routeOf } from "./rollouts-harness.js";

const NS = "bg";
const hasPrometheus = prometheusAvailable();
let h: RolloutsHarness;

const traffic = async (seconds: number) => routeOf(await h.traffic(seconds), NS, "Service", "web-active");
/** Traffic over whole seconds that all start after this call. */
const freshWindow = async (seconds: number) =>
  routeOf(await h.freshTraffic(seconds), NS, "Service", "web-active");

const rolloutYaml = (image: string, opts: { errorRate?: string; manual: boolean; post?: boolean }) => `
apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata: {name: web, namespace: ${NS}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {"sim.slipway.dev/ready-after": "2s", "sim.slipway.dev/error-rate": "${opts.errorRate ?? "0"}"}
    spec: {containers: [{name: web, image: "${image}"}]}
  strategy:
    blueGreen:
      activeService: web-active
      previewService: web-preview
      autoPromotionEnabled: ${!opts.manual}
      scaleDownDelaySeconds: 2
      abortScaleDownDelaySeconds: 2
      activeMetadata: {labels: {role: active}}
      previewMetadata: {labels: {role: preview}}
${
  opts.post
    ? `      postPromotionAnalysis:
        templates: [{templateName: error-rate}]
        args: [{name: hash, valueFrom: {podTemplateHashValue: Latest}}]`
    : ""
}
`;

beforeAll(async () => {
  if (!hasPrometheus) return;
  h = await RolloutsHarness.start();
  const prom = await h.startPrometheus();
  await h.namespace(NS);
  await h.apply(`
apiVersion: v1
kind: Service
metadata:
  name: web-active
  namespace: ${NS}
  annotations: {"sim.slipway.dev/rps": "100"}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-preview, namespace: ${NS}}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
${errorRateTemplate(NS, prom.address)}`);
  await h.startController();
  await h.apply(rolloutYaml("web:1", { manual: true }));
  await h.waitRollout(NS, "web", "first deploy Healthy", (r) => r.status?.phase === "Healthy");
}, 90_000);

afterAll(async () => {
  await h?.stop();
});

const selector = async (svc: string) =>
  (await h.get("service", NS, svc)).spec.selector["rollouts-pod-template-hash"];

describe.skipIf(!hasPrometheus)("blue-green", () => {
  it("manual promotion: preview first, pause, then one flip of the active Service to ready pods", async () => {
    const blue = (await h.get("rollout", NS, "web")).status.stableRS as string;
    expect(await selector("web-active")).toBe(blue);
    // Serving from blue with no 503 before the update starts (its pods took 2 s to get ready).
    expect((await freshWindow(1)).byHash[""] ?? 0).toBe(0);
    const started = Date.now();
    await h.apply(rolloutYaml("web:2", { manual: true }));
    const paused = await h.waitRollout(
      NS,
      "web",
      "BlueGreenPause",
      (r) => r.status?.phase === "Paused" && r,
      20_000,
    );
    const green = paused.status.currentPodHash as string;
    expect(paused.status.pauseConditions).toEqual([
      { reason: "BlueGreenPause", startTime: expect.any(String) },
    ]);
    expect(paused.status.blueGreen).toMatchObject({ activeSelector: blue, previewSelector: green });
    // The preview only moved once every preview pod was ready (ready-after: 2 s).
    expect(Date.now() - started).toBeGreaterThan(1800);
    expect(await selector("web-active")).toBe(blue);
    expect(await selector("web-preview")).toBe(green);
    const previewPods = await h.list("pods", NS, `rollouts-pod-template-hash=${green}`);
    expect(previewPods.every((p) => p.metadata.labels.role === "preview")).toBe(true);

    await h.patchStatus(NS, "web", { status: { pauseConditions: null } });
    await h.waitRollout(NS, "web", "promoted", (r) => r.status?.blueGreen?.activeSelector === green);
    const promotedAt = Date.now();
    expect(await selector("web-active")).toBe(green);
    const blueSet = async () =>
      (await h.replicaSets(NS, "web")).find((s) => s.metadata.name === `web-${blue}`)!;
    await h.waitRollout(
      NS,
      "web",
      "old set scaled down",
      async () => (await blueSet()).spec.replicas === 0,
      10_000,
    );
    expect(Date.now() - promotedAt).toBeGreaterThan(1500);
    const done = await h.waitRollout(NS, "web", "Healthy", (r) => r.status?.phase === "Healthy" && r);
    expect(done.status.stableRS).toBe(green);

    // One write flipped the active Service; no request in the whole update met an unready pod.
    const switches = (await h.events(NS, "web")).filter(
      (e) =>
        e.reason === "SwitchService" &&
        String(e.message).startsWith("Switched selector for service 'web-active'"),
    );
    expect(switches.map((e: KubeJson) => [e.message, e.count])).toEqual([
      [`Switched selector for service 'web-active' from '${blue}' to '${green}'`, 1],
    ]);
    const whole = await traffic(Math.floor((Date.now() - started) / 1000));
    expect(whole.byHash[""] ?? 0).toBe(0);
    const activePods = await h.list("pods", NS, `rollouts-pod-template-hash=${green}`);
    expect(activePods.every((p) => p.metadata.labels.role === "active")).toBe(true);
  });

  it("a failing post-promotion analysis puts the active Service back on the old set", async () => {
    const green = (await h.get("rollout", NS, "web")).status.stableRS as string;
    await h.apply(rolloutYaml("web:3", { manual: false, post: true, errorRate: "0.5" }));
    const promoted = await h.waitRollout(
      NS,
      "web",
      "auto-promoted",
      (r) =>
        r.status?.currentPodHash !== green &&
        r.status?.blueGreen?.activeSelector === r.status?.currentPodHash &&
        r,
      20_000,
    );
    const bad = promoted.status.currentPodHash as string;
    const aborted = await h.waitRollout(NS, "web", "aborted", (r) => r.status?.abort === true && r, 30_000);
    expect(aborted.status.phase).toBe("Degraded");
    expect(aborted.status.message).toContain(`analysis run web-${bad}-post failed: metric error-rate`);
    expect(aborted.status.stableRS).toBe(green);
    expect(await selector("web-active")).toBe(green);
    expect(aborted.status.blueGreen.activeSelector).toBe(green);
    const window = await freshWindow(2);
    expect(window.byHash[green]).toBe(1);
    const badSet = async () =>
      (await h.replicaSets(NS, "web")).find((s) => s.metadata.name === `web-${bad}`)!;
    await h.waitRollout(
      NS,
      "web",
      "new set scaled down",
      async () => (await badSet()).spec.replicas === 0,
      10_000,
    );
    const greenSet = (await h.replicaSets(NS, "web")).find((s) => s.metadata.name === `web-${green}`)!;
    expect(greenSet.spec.replicas).toBe(3);
  });
});
