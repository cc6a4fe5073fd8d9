/**
 * The ApplicationSet controller end to end: a hub sandbox (slipway's CRDs, the Application
 * controller and the ApplicationSet controller in this process) and two target sandboxes
 * registered as cluster Secrets, one cluster registry shared by both controllers. Here the
 * clusters generator is checked at the Application level (destinations, ownership, deletion) and
 * RollingSync runs real syncs on the hub; delivery into the targets is fleet-delivery.test.ts.
 */
import { KubeConfig } from "@kubernetes/client-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApplicationSet } from "../../api/v1alpha1/applicationset.js";
import { clusterFromKubeconfig } from "../../cli/cluster-actions.js";
import {
  type ApplicationSetController,
  createApplicationSetController,
} from "../../controller/appset/index.js";
import type { ClusterRegistry } from "../../controller/clusters/cluster-registry.js";
import { clusterSecret } from "../../controller/clusters/cluster-secret.js";
import { type KubeJson, startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";
import { configMap, type GitopsEnv, NS, type RunningController, startGitopsEnv } from "./gitops-harness.js";

let env: GitopsEnv;
let targets: TestSandbox[] = [];
let ctl: RunningController;
let clusters: ClusterRegistry;
let appsets: ApplicationSetController;

async function apps(): Promise<KubeJson[]> {
  return (await env.sb.kubectlJson<KubeJson>(["get", "applications.slipway.dev", "-n", NS]))
    .items as KubeJson[];
}
async function appset(name: string): Promise<ApplicationSet> {
  return (await env.sb.kubectlJson<KubeJson>([
    "get",
    "applicationsets.slipway.dev",
    name,
    "-n",
    NS,
  ])) as ApplicationSet;
}
function ownedNames(items: KubeJson[], set: string): string[] {
  return items
    .filter((a) =>
      (a.metadata.ownerReferences ?? []).some((r: KubeJson) => r.kind === "ApplicationSet" && r.name === set),
    )
    .map((a) => a.metadata.name as string)
    .sort();
}
async function waitOwned(set: string, want: string[], message: string): Promise<KubeJson[]> {
  return waitFor(
    async () => {
      const items = await apps();
      return JSON.stringify(ownedNames(items, set)) === JSON.stringify(want) ? items : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 200, message },
  );
}

beforeAll(async () => {
  [env, ...targets] = await Promise.all([startGitopsEnv("appset"), startTestSandbox(), startTestSandbox()]);
  for (const [i, t] of targets.entries()) {
    const kc = new KubeConfig();
    kc.loadFromFile(t.kubeconfig);
    const secret = clusterSecret(clusterFromKubeconfig(`target-${i + 1}`, kc), NS);
    secret.metadata!.labels = {
      ...secret.metadata!.labels,
      tier: "target",
      env: i === 0 ? "staging" : "prod",
    };
    await env.applyJson(secret);
  }
  ctl = await env.startController({ clusters: {} });
  const log = pino({ level: process.env.SLIPWAY_TEST_LOG ?? "silent" });
  clusters = ctl.clusters!;
  appsets = createApplicationSetController({
    client: ctl.client,
    informers: ctl.informers,
    namespace: NS,
    clusters,
    repoCache: ctl.apps.repoCache,
    recorder: ctl.recorder,
    log,
    resyncMs: 2_000,
  });
  await appsets.start();
}, 60_000);

afterAll(async () => {
  await appsets?.stop();
  await Promise.all([env?.stop(), ...targets.map((t) => t.stop())]);
});

function appSet(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "ApplicationSet",
    metadata: { name, namespace: NS },
    spec,
  };
}

describe("clusters generator", () => {
  it("generates one Application per selected target (not the hub), removes it when relabelled", async () => {
    await env.applyJson(
      appSet("per-cluster", {
        generators: [
          {
            clusters: {
              selector: { matchLabels: { tier: "target" } },
              values: { color: "c-{{metadata.labels.env}}" },
            },
          },
        ],
        template: {
          metadata: { name: "{{name}}-cm", labels: { env: "{{metadata.labels.env}}" } },
          spec: {
            project: "default",
            source: { repoURL: env.repo.url, path: "cm", targetRevision: "{{values.color}}" },
            destination: { server: "{{server}}", namespace: "default" },
          },
        },
      }),
    );
    const items = await waitOwned(
      "per-cluster",
      ["target-1-cm", "target-2-cm"],
      "two generated Applications",
    );
    const byName = new Map(items.map((a) => [a.metadata.name as string, a]));
    expect(byName.get("target-1-cm")?.spec.destination.server).toBe(targets[0]!.url);
    expect(byName.get("target-2-cm")?.spec.destination.server).toBe(targets[1]!.url);
    expect(byName.get("target-2-cm")?.spec.source.targetRevision).toBe("c-prod");
    expect(byName.get("target-1-cm")?.metadata.labels.env).toBe("staging");
    expect(items.some((a) => a.spec.destination.server === "https://kubernetes.default.svc")).toBe(false);
    const status = await waitFor(
      async () => {
        const s = await appset("per-cluster");
        return s.status?.resourcesCount === 2 ? s.status : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, message: "status.resources" },
    );
    expect(status.conditions?.find((c) => c.type === "ParametersGenerated")?.status).toBe("True");
    expect(status.resources?.map((r) => r.name)).toEqual(["target-1-cm", "target-2-cm"]);

    // Relabel target-2 out of the selection: its Application goes, the other stays.
    const secrets = (await env.sb.kubectlJson<KubeJson>(["get", "secrets", "-n", NS, "-l", "env=prod"]))
      .items as KubeJson[];
    await env.sb.kubectlOk(["label", "secret", "-n", NS, secrets[0]!.metadata.name, "tier-"]);
    await waitOwned("per-cluster", ["target-1-cm"], "target-2's Application removed");
  });
});

describe("git generator error", () => {
  it("keeps every Application generated before and reports ErrorOccurred", async () => {
    await env.repo.commit({
      "envs/a/cm.yaml": configMap("a", { x: "1" }),
      "envs/b/cm.yaml": configMap("b", { x: "2" }),
    });
    const spec = (repoURL: string) => ({
      generators: [{ git: { repoURL, directories: [{ path: "envs/*" }] } }],
      template: {
        metadata: { name: "git-{{path.basename}}" },
        spec: {
          project: "default",
          source: { repoURL: env.repo.url, path: "{{path}}" },
          destination: { server: "https://kubernetes.default.svc", namespace: "default" },
        },
      },
    });
    await env.applyJson(appSet("from-git", spec(env.repo.url)));
    await waitOwned("from-git", ["git-a", "git-b"], "Applications from the git directories");
    await env.applyJson(appSet("from-git", spec("http://127.0.0.1:1/unreachable.git")));
    const status = await waitFor(
      async () => {
        const s = await appset("from-git");
        const c = s.status?.conditions?.find((x) => x.type === "ErrorOccurred");
        return c?.status === "True" ? s.status : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, message: "ErrorOccurred=True" },
    );
    expect(status?.conditions?.find((c) => c.type === "ParametersGenerated")?.status).toBe("False");
    await new Promise((r) => setTimeout(r, 2_500)); // a resync later: still there
    expect(ownedNames(await apps(), "from-git")).toEqual(["git-a", "git-b"]);
  });

  it("refuses a set whose generated names collide", async () => {
    await env.applyJson(
      appSet("dupes", {
        generators: [{ list: { elements: [{ n: "same" }, { n: "same" }] } }],
        template: {
          metadata: { name: "dup-{{n}}" },
          spec: {
            project: "default",
            source: { repoURL: env.repo.url, path: "x" },
            destination: { server: "https://kubernetes.default.svc" },
          },
        },
      }),
    );
    const status = await waitFor(
      async () =>
        (await appset("dupes")).status?.conditions?.find(
          (c) => c.type === "ErrorOccurred" && c.status === "True",
        ),
      { timeoutMs: 10_000, intervalMs: 200, message: "duplicate names refused" },
    );
    expect(status.message).toMatch(/duplicate/);
    expect(ownedNames(await apps(), "dupes")).toEqual([]);
  });
});

describe("RollingSync", () => {
  it("syncs the dev group, and the prod group only once dev is Healthy", async () => {
    await env.repo.commit({
      "rs/dev/cm.yaml": configMap("rs-dev", { v: "1" }),
      "rs/prod/cm.yaml": configMap("rs-prod", { v: "1" }),
    });
    await env.applyJson(
      appSet("rolling", {
        generators: [{ list: { elements: [{ env: "prod" }, { env: "dev" }] } }],
        strategy: {
          type: "RollingSync",
          rollingSync: {
            steps: [
              { matchExpressions: [{ key: "env", operator: "In", values: ["dev"] }] },
              { matchExpressions: [{ key: "env", operator: "In", values: ["prod"] }] },
            ],
          },
        },
        template: {
          metadata: { name: "rs-{{env}}", labels: { env: "{{env}}" } },
          spec: {
            project: "default",
            source: { repoURL: env.repo.url, path: "rs/{{env}}" },
            destination: { server: "https://kubernetes.default.svc", namespace: "default" },
            syncPolicy: { automated: {} },
          },
        },
      }),
    );
    const [dev, prod] = await Promise.all([
      env.waitApp(
        "rs-dev",
        "synced and healthy",
        (a) => a.status?.operationState?.phase === "Succeeded" && a.status?.health?.status === "Healthy",
        40_000,
      ),
      env.waitApp("rs-prod", "synced", (a) => a.status?.operationState?.phase === "Succeeded", 40_000),
    ]);
    expect(prod.spec.syncPolicy?.automated).toBeUndefined();
    expect(prod.status!.operationState!.operation.initiatedBy?.username).toBe("applicationset-controller");
    expect(Date.parse(prod.status!.operationState!.startedAt)).toBeGreaterThanOrEqual(
      Date.parse(dev.status!.operationState!.finishedAt!) - 1000,
    );
    await env.sb.kubectlOk(["get", "configmap", "rs-dev", "rs-prod", "-n", "default"]);
    const status = await waitFor(
      async () => {
        const s = await appset("rolling");
        return s.status?.applicationStatus?.every((x) => x.status === "Healthy") ? s.status : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200, message: "every app Healthy in applicationStatus" },
    );
    expect(status.applicationStatus?.map((s) => `${s.application}:${s.step}`)).toEqual([
      "rs-dev:1",
      "rs-prod:2",
    ]);

    // Settled: resyncs (every 2 s here) write no ApplicationSet status and no Application.
    const writes = () =>
      ctl.requests.filter(
        (r) => r.method !== "GET" && !r.watch && /applicationsets|applications\/rs-/.test(r.path),
      ).length;
    await new Promise((r) => setTimeout(r, 1_000));
    const before = writes();
    await new Promise((r) => setTimeout(r, 3_000));
    expect(writes()).toBe(before);
  }, 60_000);
});
