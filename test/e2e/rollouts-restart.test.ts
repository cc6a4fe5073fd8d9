/**
 * Resumability: the controller process is killed again and again while a canary walks its steps
 * (every request after its k-th write fails, as if it had died there, k = 1..6), and a fresh
 * process — new caches, no memory of the last — takes over each time. The rollout still ends
 * exactly as an uninterrupted one: one ReplicaSet per revision, one AnalysisRun per analysis step
 * (and one background run), every step index written in order (watched), the HTTPRoute's canary weight going
 * 0 → 20 → 50 → 80 → 100 → 0 without skipping or going back (watched from the test's own client).
 */
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterClient } from "../../controller/kube/cluster-client.js";
import type { KubeJson } from "../helpers/sandbox.js";
import { RolloutsHarness, sleep } from "./rollouts-harness.js";

const NS = "restart";
let h: RolloutsHarness;
let watcher: ClusterClient;

const job = (name: string) => `
    - name: ${name}
      provider:
        job:
          spec:
            backoffLimit: 0
            template:
              metadata: {annotations: {sim.slipway.dev/duration: 300ms}}
              spec:
                restartPolicy: Never
                containers: [{name: check, image: "registry.example/check:1"}]`;

const rolloutYaml = (image: string) => `
apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata: {name: api, namespace: ${NS}}
spec:
  replicas: 5
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: "${image}"}]}
  strategy:
    canary:
      canaryService: api-canary
      stableService: api-stable
      scaleDownDelaySeconds: 1
      trafficRouting:
        gatewayAPI: {httpRoute: api}
      analysis:
        startingStep: 1
        templates: [{templateName: smoke}]
      steps:
        - setWeight: 20
        - analysis: {templates: [{templateName: smoke}]}
        - pause: {duration: 1s}
        - setWeight: 50
        - analysis: {templates: [{templateName: smoke}]}
        - setWeight: 80
        - pause: {duration: 500ms}
`;

beforeAll(async () => {
  h = await RolloutsHarness.start();
  await h.namespace(NS);
  await h.apply(`
apiVersion: v1
kind: Service
metadata: {name: api-stable, namespace: ${NS}}
spec: {selector: {app: api}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: api-canary, namespace: ${NS}}
spec: {selector: {app: api}, ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: ${NS}}
spec:
  parentRefs: [{name: gateway}]
  rules:
    - backendRefs: [{name: api-stable, port: 80}]
---
apiVersion: slipway.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: smoke, namespace: ${NS}}
spec:
  metrics:${job("smoke")}
`);
  const kc = new KubeConfig();
  kc.loadFromFile(h.sb.kubeconfig);
  watcher = new ClusterClient(kc);
  const first = await h.startController();
  await h.apply(rolloutYaml("api:1"));
  await h.waitRollout(NS, "api", "first deploy Healthy", (r) => r.status?.phase === "Healthy");
  await first.stop();
}, 60_000);

afterAll(async () => {
  watcher?.close();
  await h?.stop();
});

describe("a controller killed at every step", () => {
  it("resumes with no duplicate ReplicaSet or AnalysisRun and no skipped step", async () => {
    // Watch the HTTPRoute's canary weight from an independent client.
    const weights: number[] = [];
    const abort = new AbortController();
    const route = await watcher.dynamic.get<KubeJson>({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      name: "api",
      namespace: NS,
    });
    const watching = watcher
      .watch(
        `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes`,
        { resourceVersion: route!.metadata.resourceVersion, fieldSelector: "metadata.name=api" },
        (event) => {
          const object = event.object as KubeJson;
          const canary = (object.spec?.rules?.[0]?.backendRefs ?? []).find(
            (b: KubeJson) => b.name === "api-canary",
          );
          const w = canary ? (canary.weight ?? 1) : 0;
          if (weights[weights.length - 1] !== w) weights.push(w);
        },
        abort.signal,
      )
      .catch(() => undefined);

    // ... and the Rollout's step index, on every status write.
    const ro0 = await h.get("rollout", NS, "api");
    const indexes: number[] = [];
    const watchingSteps = watcher
      .watch(
        `/apis/slipway.dev/v1alpha1/namespaces/${NS}/rollouts`,
        { resourceVersion: ro0.metadata.resourceVersion, fieldSelector: "metadata.name=api" },
        (event) => {
          const status = (event.object as KubeJson).status;
          if (!status || status.currentPodHash === ro0.status.currentPodHash) return;
          const i = status.currentStepIndex as number;
          if (indexes[indexes.length - 1] !== i) indexes.push(i);
        },
        abort.signal,
      )
      .catch(() => undefined);

    await h.apply(rolloutYaml("api:2"));
    const kills = [1, 3, 2, 5, 4, 6, 2, 3, 1, 4, 5, 2, 6, 3, 4, 2, 5, 3, 6, 4];
    let processes = 0;
    for (const k of kills) {
      const proc = await h.startController({ killAfterWrites: k });
      processes++;
      const deadline = Date.now() + 15_000;
      while (!proc.dead() && Date.now() < deadline) await sleep(20);
      await proc.stop();
      const ro = await h.get("rollout", NS, "api");
      const settled = ro.status?.observedGeneration === ro.metadata.generation;
      if (settled && ro.status.phase === "Healthy" && ro.status.stableRS === ro.status.currentPodHash) break;
    }
    await h.startController();
    const done = await h.waitRollout(NS, "api", "Healthy on api:2", (r) =>
      r.status?.phase === "Healthy" &&
      r.status.stableRS === r.status.currentPodHash &&
      r.status.replicas === 5
        ? r
        : undefined,
    );
    abort.abort();
    await watching;
    await watchingSteps;
    expect(processes).toBeGreaterThan(5);
    const canary = done.status.currentPodHash as string;

    const sets = await h.replicaSets(NS, "api");
    expect(sets).toHaveLength(2);
    expect(sets.map((s) => s.metadata.annotations["rollout.argoproj.io/revision"]).sort()).toEqual([
      "1",
      "2",
    ]);
    const runs = (await h.list("analysisruns", NS)).map((r) => [r.metadata.name, r.status?.phase]);
    expect(runs.sort()).toEqual([
      [`api-${canary}-1`, "Successful"],
      [`api-${canary}-4`, "Successful"],
      [`api-${canary}-bg`, "Successful"],
    ]);
    // Events of a killed process may be lost (they are written in the background); the status
    // is the record: every step index, in order, none skipped (index 0 may never be written when
    // the first write of the new revision already completed step 0).
    expect(indexes).toEqual([0, 1, 2, 3, 4, 5, 6, 7].slice(indexes[0] === 0 ? 0 : 1));
    expect(weights).toEqual([0, 20, 50, 80, 100, 0].slice(weights[0] === 0 ? 0 : 1));
  }, 110_000);
});
