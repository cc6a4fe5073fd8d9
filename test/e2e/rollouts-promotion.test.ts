/**
 * How a release gets promoted, or does not, end to end (kubectl and the `slipway` binary against
 * the in-process controllers):
 *
 * - `slipway rollout promote --full` at an indefinite pause skips every remaining step: the next
 *   pause and the analysis step (whose template would fail) never happen, no AnalysisRun is made;
 * - blue-green `autoPromotionSeconds`: the rollout pauses with the preview up, then switches the
 *   active Service by itself once the seconds have passed;
 * - blue-green `prePromotionAnalysis` failing: the active Service never leaves the old set, the
 *   rollout is aborted (Degraded) and the preview set is scaled down;
 * - `scaleDownDelayRevisionLimit: 0`: the old stable set goes at promotion, not after its 60 s
 *   scaleDownDelaySeconds; `rollbackWindow`: going back to the previous revision skips the steps
 *   (no pause), and it is stable again at once.
 *
 * The failing analysis is a Job provider metric whose Job exits 1. Needs `npm run build` (the CLI).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeJson } from "../helpers/sandbox.js";
import { RolloutsHarness } from "./rollouts-harness.js";

const NS = "promotion";
let h: RolloutsHarness;

const services = (...names: string[]) =>
  names
    .map(
      (n) => `
apiVersion: v1
kind: Service
metadata: {name: ${n}, namespace: ${NS}}
spec: {selector: {app: ${n.split("-")[0]}}, ports: [{port: 80}]}
---`,
    )
    .join("");

const rollout = (name: string, image: string, strategy: string) => `
apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata: {name: ${name}, namespace: ${NS}}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: app, image: "${image}"}]}
  strategy:
${strategy}
`;

const fullSteps = `    canary:
      canaryService: full-canary
      stableService: full-stable
      scaleDownDelaySeconds: 1
      steps:
        - setWeight: 50
        - pause: {}
        - setWeight: 75
        - pause: {}
        - analysis: {templates: [{templateName: fails}]}
        - pause: {}`;

const autoPromotion = `    blueGreen:
      activeService: auto-active
      previewService: auto-preview
      autoPromotionSeconds: 2
      scaleDownDelaySeconds: 1`;

const prePromotion = `    blueGreen:
      activeService: pre-active
      previewService: pre-preview
      abortScaleDownDelaySeconds: 1
      prePromotionAnalysis: {templates: [{templateName: fails}]}`;

const backSteps = `    canary:
      canaryService: back-canary
      stableService: back-stable
      scaleDownDelaySeconds: 60
      scaleDownDelayRevisionLimit: 0
      steps: [{setWeight: 50}, {pause: {}}]`;
const back = (image: string) =>
  rollout("back", image, backSteps).replace("  strategy:", "  rollbackWindow: {revisions: 2}\n  strategy:");

beforeAll(async () => {
  h = await RolloutsHarness.start();
  await h.namespace(NS);
  await h.apply(`${services(
    "full-stable",
    "full-canary",
    "auto-active",
    "auto-preview",
    "pre-active",
    "pre-preview",
    "back-stable",
    "back-canary",
  )}
apiVersion: slipway.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: fails, namespace: ${NS}}
spec:
  metrics:
    - name: smoke-test
      provider:
        job:
          spec:
            backoffLimit: 0
            template:
              metadata: {annotations: {sim.slipway.dev/duration: 300ms, sim.slipway.dev/exit-code: "1"}}
              spec:
                restartPolicy: Never
                containers: [{name: check, image: "registry.example/check:1"}]
`);
  await h.startController();
  await h.apply(
    [
      rollout("full", "app:1", fullSteps),
      rollout("auto", "app:1", autoPromotion),
      rollout("pre", "app:1", prePromotion),
      back("app:1"),
    ].join("---"),
  );
  for (const name of ["full", "auto", "pre", "back"])
    await h.waitRollout(NS, name, `${name}: first deploy Healthy`, (r) => r.status?.phase === "Healthy");
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

const eventsOf = async (name: string, reason: string) =>
  (await h.events(NS, name)).filter((e: KubeJson) => e.reason === reason);

describe("promotion", () => {
  it("promote --full at a pause skips every remaining step, the failing analysis included", async () => {
    await h.apply(rollout("full", "app:2", fullSteps));
    const paused = await h.waitRollout(NS, "full", "paused at steps[1]", (r) =>
      r.status?.phase === "Paused" && r.status.currentStepIndex === 1 ? r : undefined,
    );
    const canary = paused.status.currentPodHash as string;
    const r = await h.cli(["rollout", "promote", "full", "--full", "-n", NS]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^rollout 'full' fully promoted: /);
    const done = await h.waitRollout(NS, "full", "Healthy on app:2", (x) =>
      x.status?.phase === "Healthy" && x.status.stableRS === canary ? x : undefined,
    );
    expect(done.status.currentStepIndex).toBe(6);
    expect(await h.list("analysisruns", NS)).toEqual([]);
    expect((await eventsOf("full", "RolloutStepCompleted")).map((e) => e.message)).toEqual([
      "Rollout step 1/6 completed (setWeight: 50)",
    ]);
    expect((await eventsOf("full", "RolloutPromoted")).map((e) => e.message)).toContain(
      "Full promotion: skipping steps 2..6",
    );
  });

  it("blue-green autoPromotionSeconds: pauses with the preview up, then switches by itself", async () => {
    await h.apply(rollout("auto", "app:2", autoPromotion));
    const paused = await h.waitRollout(NS, "auto", "BlueGreenPause", (r) =>
      r.status?.pauseConditions?.[0]?.reason === "BlueGreenPause" ? r : undefined,
    );
    const next = paused.status.currentPodHash as string;
    const old = paused.status.stableRS as string;
    expect(paused.status.phase).toBe("Paused");
    expect(paused.status.blueGreen).toMatchObject({ activeSelector: old, previewSelector: next });
    const pausedAt = Date.parse(paused.status.pauseConditions[0].startTime);

    const done = await h.waitRollout(NS, "auto", "promoted by itself", (r) =>
      r.status?.phase === "Healthy" && r.status.stableRS === next ? r : undefined,
    );
    expect(done.status.blueGreen.activeSelector).toBe(next);
    expect((await h.get("service", NS, "auto-active")).spec.selector["rollouts-pod-template-hash"]).toBe(
      next,
    );
    const [promoted] = await eventsOf("auto", "RolloutPromoted");
    // Event times are whole seconds: not before 2 s after the pause began, less that second.
    expect(Date.parse(promoted!.firstTimestamp)).toBeGreaterThanOrEqual(pausedAt + 1000);
  });

  it("blue-green prePromotionAnalysis failing: active never moves, aborted, preview scaled down", async () => {
    const old = (await h.get("rollout", NS, "pre")).status.stableRS as string;
    await h.apply(rollout("pre", "app:2", prePromotion));
    const activeSeen = new Set<string>();
    const aborted = await h.waitRollout(NS, "pre", "aborted", async (r) => {
      activeSeen.add((await h.get("service", NS, "pre-active")).spec.selector["rollouts-pod-template-hash"]);
      return r.status?.abort === true && r;
    });
    const next = aborted.status.currentPodHash as string;
    expect(next).not.toBe(old);
    expect([...activeSeen]).toEqual([old]);
    expect(aborted.status.phase).toBe("Degraded");
    expect(aborted.status.message).toContain(`analysis run pre-${next}-pre failed`);
    expect((await h.get("analysisrun", NS, `pre-${next}-pre`)).status.phase).toBe("Failed");
    await h.waitRollout(NS, "pre", "preview set scaled down", async () => {
      const sets = await h.replicaSets(NS, "pre");
      return sets.find((s) => s.metadata.name === `pre-${next}`)?.spec.replicas === 0;
    });
    const after = await h.get("rollout", NS, "pre");
    expect(after.status).toMatchObject({
      stableRS: old,
      phase: "Degraded",
      blueGreen: { activeSelector: old },
    });
    expect((await h.get("service", NS, "pre-active")).spec.selector["rollouts-pod-template-hash"]).toBe(old);
  });

  it("scaleDownDelayRevisionLimit 0 scales the old set down at promotion; rollbackWindow skips the steps back", async () => {
    const v1 = (await h.get("rollout", NS, "back")).status.stableRS as string;
    await h.apply(back("app:2"));
    const paused = await h.waitRollout(NS, "back", "paused at steps[1]", (r) =>
      r.status?.phase === "Paused" && r.status.currentStepIndex === 1 ? r : undefined,
    );
    const v2 = paused.status.currentPodHash as string;
    await h.patchStatus(NS, "back", { status: { pauseConditions: null } });
    await h.waitRollout(
      NS,
      "back",
      "Healthy on app:2",
      (r) => r.status?.phase === "Healthy" && r.status.stableRS === v2,
    );
    // Well within the 60 s delay: past the revision limit, the old set does not wait.
    await h.waitRollout(
      NS,
      "back",
      "app:1 set scaled down",
      async () => {
        const sets = await h.replicaSets(NS, "back");
        return sets.find((x) => x.metadata.name === `back-${v1}`)?.spec.replicas === 0;
      },
      15_000,
    );

    // Back to app:1, one revision behind stable: straight to stable, never paused.
    await h.apply(back("app:1"));
    const phases = new Set<string>();
    const done = await h.waitRollout(NS, "back", "Healthy on app:1 again", (r) => {
      if (r.status?.currentPodHash === v1) phases.add(r.status.phase);
      return r.status?.phase === "Healthy" && r.status.stableRS === v1 ? r : undefined;
    });
    expect(done.status.currentStepIndex).toBe(2);
    expect(phases.has("Paused")).toBe(false);
    const skip = await eventsOf("back", "SkipSteps");
    expect(skip.map((e) => e.message)).toEqual([
      "Rollback within rollbackWindow (2 revisions): steps, pauses and analysis are skipped",
    ]);
  });
});
