/**
 * The stable set's capacity during a canary through the Gateway API router, end to end:
 *
 * - an HPA scaling the Rollout through its scale subresource mid-canary (`kubectl scale`, as the
 *   HPA controller writes it) moves the stable set to the new count, both ways, and the canary to
 *   its share of it; the scale subresource reports the stable set alone (`status.HPAReplicas`),
 *   so an HPA that adopts that count as its desired one asks for the same count again instead of
 *   growing the Rollout at every step (argo-rollouts #2857);
 * - `dynamicStableScale`: the stable set shrinks as the canary's weight rises, only once the
 *   router sends it less, and on abort grows back before the traffic returns (#3372): at every
 *   moment sampled the stable weight in the HTTPRoute is within what its available pods can take
 *   (pods get ready 2 s after they start, so the abort is seen in motion); afterwards every
 *   request reaches stable and none met a missing pod.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeJson } from "../helpers/sandbox.js";
import { RolloutsHarness, routeOf } from "./rollouts-harness.js";

const NS = "capacity";
let h: RolloutsHarness;

const objects = (name: string) => `
apiVersion: v1
kind: Service
metadata: {name: ${name}-stable, namespace: ${NS}}
spec: {selector: {app: ${name}}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: ${name}-canary, namespace: ${NS}}
spec: {selector: {app: ${name}}, ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: ${NS}, annotations: {"sim.slipway.dev/rps": "200"}}
spec:
  parentRefs: [{name: gateway}]
  rules: [{backendRefs: [{name: ${name}-stable, port: 80}]}]
`;

const rolloutYaml = (name: string, image: string, replicas: number, canary: string, annotations = "{}") => `
apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata: {name: ${name}, namespace: ${NS}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}, annotations: ${annotations}}
    spec: {containers: [{name: app, image: "${image}"}]}
  strategy:
    canary:
      canaryService: ${name}-canary
      stableService: ${name}-stable
      scaleDownDelaySeconds: 1
      trafficRouting: {gatewayAPI: {httpRoute: ${name}}}
${canary}
`;

beforeAll(async () => {
  h = await RolloutsHarness.start();
  await h.namespace(NS);
  await h.apply(`${objects("hpa")}---${objects("dyn")}`);
  await h.startController({ analysis: false });
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

const scaleOf = (name: string) => h.sb.kubectlJson(["get", "rollout", "-n", NS, name, "--subresource=scale"]);

/** Waits until the sets have these sizes, all of their pods available, and the rollout says so. */
async function settle(name: string, want: Record<string, number>, what: string): Promise<KubeJson> {
  return h.waitRollout(NS, name, what, async (r) => {
    const sets = await h.replicaSets(NS, name);
    const ok = sets.every((rs: KubeJson) => {
      const hash = rs.metadata.labels["rollouts-pod-template-hash"];
      const n = want[hash] ?? 0;
      return rs.spec.replicas === n && (rs.status.availableReplicas ?? 0) === n;
    });
    const total = Object.values(want).reduce((a, b) => a + b, 0);
    return ok && r.status?.replicas === total && r;
  });
}

describe("an HPA scaling the Rollout during a canary (#2857)", () => {
  it("moves the stable set to the new count both ways and reports only it to the HPA", async () => {
    const steps = "      steps: [{setWeight: 25}, {pause: {}}]";
    await h.apply(rolloutYaml("hpa", "app:1", 4, steps));
    const first = await h.waitRollout(NS, "hpa", "Healthy", (r) => r.status?.phase === "Healthy" && r);
    const stable = first.status.stableRS as string;
    expect((await scaleOf("hpa")).status).toMatchObject({ replicas: 4, selector: "app=hpa" });

    await h.apply(rolloutYaml("hpa", "app:2", 4, steps));
    const paused = await h.waitRollout(NS, "hpa", "paused at 25%", (r) =>
      r.status?.currentStepIndex === 1 && r.status.phase === "Paused" && r.status.canary?.weights?.verified
        ? r
        : undefined,
    );
    const canary = paused.status.currentPodHash as string;
    await settle("hpa", { [stable]: 4, [canary]: 1 }, "stable 4, canary 1");
    // Five pods run, but the scale subresource shows the four spec.replicas sizes: an HPA that
    // adopts status.replicas as its desired count asks for 4 again, not 5.
    const scale = await scaleOf("hpa");
    expect(scale.status.replicas).toBe(4);
    expect(scale.spec.replicas).toBe(4);

    // Scaled out mid-canary: stable to 8 (it can take all the traffic back), canary ceil(25% × 8).
    await h.sb.kubectlOk(["scale", "rollout", "-n", NS, "hpa", "--replicas=8"]);
    const out = await settle("hpa", { [stable]: 8, [canary]: 2 }, "stable 8, canary 2");
    expect(out.status.HPAReplicas).toBe(8);
    expect(out.status.currentStepIndex).toBe(1);
    expect(out.status.canary.weights.canary.weight).toBe(25);
    expect((await scaleOf("hpa")).status.replicas).toBe(8);

    // Scaled in: stable to 2, never below what the HPA asks; the canary keeps one pod.
    await h.sb.kubectlOk(["scale", "rollout", "-n", NS, "hpa", "--replicas=2"]);
    const inward = await settle("hpa", { [stable]: 2, [canary]: 1 }, "stable 2, canary 1");
    expect(inward.status.HPAReplicas).toBe(2);
    expect(inward.status.phase).toBe("Paused");

    await h.patchStatus(NS, "hpa", { status: { pauseConditions: null } });
    const done = await h.waitRollout(NS, "hpa", "Healthy on app:2", (r) =>
      r.status?.phase === "Healthy" && r.status.stableRS === canary ? r : undefined,
    );
    expect(done.status.HPAReplicas).toBe(2);
    await settle("hpa", { [canary]: 2 }, "old stable scaled down");
  });
});

describe("dynamicStableScale (#3372)", () => {
  const R = 4;
  const steps = `      dynamicStableScale: true
      abortScaleDownDelaySeconds: 1
      steps: [{setWeight: 25}, {pause: {}}, {setWeight: 75}, {pause: {}}]`;
  const slowReady = `{"sim.slipway.dev/ready-after": "2s"}`;
  const yaml = (image: string) => rolloutYaml("dyn", image, R, steps, slowReady);

  /** One look: the stable weight in the HTTPRoute and the stable set's available pods. */
  interface Sample {
    stableWeight: number;
    available: number;
  }
  const samples: Sample[] = [];
  async function sample(stable: string, routeFirst: boolean): Promise<Sample> {
    // Read in the order that makes a concurrent move err on the safe side: the route first while
    // both grow (abort), the pods first while both shrink (rising weight).
    const weight = async () => {
      const refs = (await h.get("httproute", NS, "dyn")).spec.rules[0].backendRefs as KubeJson[];
      return (refs.find((b) => b.name === "dyn-stable")?.weight ?? 100) as number;
    };
    const pods = async () => {
      const set = (await h.replicaSets(NS, "dyn")).find((x) => x.metadata.name === `dyn-${stable}`);
      return (set?.status.availableReplicas ?? 0) as number;
    };
    let stableWeight: number;
    let available: number;
    if (routeFirst) {
      stableWeight = await weight();
      available = await pods();
    } else {
      available = await pods();
      stableWeight = await weight();
    }
    const s = { stableWeight, available };
    samples.push(s);
    return s;
  }
  const withinCapacity = (s: Sample) => s.stableWeight <= Math.floor((s.available * 100) / R);

  it("stable shrinks as the canary takes traffic and is back at full size before the traffic returns", async () => {
    await h.apply(yaml("app:1"));
    const first = await h.waitRollout(NS, "dyn", "Healthy", (r) => r.status?.phase === "Healthy" && r);
    const stable = first.status.stableRS as string;
    await h.apply(yaml("app:2"));
    const at25 = await h.waitRollout(NS, "dyn", "paused at 25%", async (r) => {
      await sample(stable, false);
      return r.status?.currentStepIndex === 1 && r.status.phase === "Paused" && r;
    });
    const canary = at25.status.currentPodHash as string;
    await settle("dyn", { [stable]: 3, [canary]: 1 }, "stable 3, canary 1");

    await h.patchStatus(NS, "dyn", { status: { pauseConditions: null } });
    await h.waitRollout(NS, "dyn", "paused at 75%", async (r) => {
      await sample(stable, false);
      return r.status?.currentStepIndex === 3 && r.status.phase === "Paused";
    });
    await settle("dyn", { [stable]: 1, [canary]: 3 }, "stable 1, canary 3");
    expect((await sample(stable, false)).stableWeight).toBe(25);

    const abortAt = Date.now();
    await h.patchStatus(NS, "dyn", { status: { abort: true } });
    const during: Sample[] = [];
    await h.waitRollout(NS, "dyn", "all traffic back on a full stable set", async () => {
      const s = await sample(stable, true);
      during.push(s);
      return s.stableWeight === 100 && s.available === R;
    });
    // The traffic waited for the pods: stable was seen still short of them with the canary
    // still weighted, and never asked to take more than its pods can.
    expect(during.some((s) => s.stableWeight < 100 && s.available < R)).toBe(true);
    expect(samples.filter((s) => !withinCapacity(s))).toEqual([]);

    await settle("dyn", { [stable]: R }, "canary scaled down");
    const seconds = Math.ceil((Date.now() - abortAt) / 1000);
    const route = routeOf(await h.traffic(seconds), NS, "HTTPRoute", "dyn");
    expect(route.byHash[""] ?? 0, "requests that met no ready pod").toBe(0);
    const fresh = routeOf(await h.freshTraffic(1), NS, "HTTPRoute", "dyn");
    expect(fresh.byHash[stable]).toBe(1);
  });
});
