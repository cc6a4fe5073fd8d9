/**
 * The GitOps end-to-end harness: a real sandbox over HTTPS (with simulated Deployments, Pods and
 * Jobs), `slipway install`'s manifests applied with kubectl, a real `git http-backend` server, and
 * the Application controller in this process with its HTTP server (webhook) — restartable, so a
 * test can kill it mid-sync and start a fresh one. kubectl is the independent judge.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import pino from "pino";
import { Registry } from "prom-client";
import type { Application } from "../../api/v1alpha1/application.js";
import { installManifests } from "../../api/v1alpha1/crds.js";
import { ClusterRegistry } from "../../controller/clusters/cluster-registry.js";
import {
  type ApplicationController,
  createApplicationController,
} from "../../controller/gitops/app-controller.js";
import { ClusterClient, type RequestRecord } from "../../controller/kube/cluster-client.js";
import { EventRecorder } from "../../controller/kube/event-recorder.js";
import { InformerFactory } from "../../controller/kube/informer-factory.js";
import { ControllerHttpServer } from "../../controller/server/http-server.js";
import { type GitServer, startGitServer, type TestRepo } from "../helpers/git-server.js";
import { type KubeJson, startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";

export const NS = "slipway-system";

export interface ControllerOptions {
  resyncMs?: number;
  selfHealTimeoutMs?: number;
  operationTimeoutMs?: number;
  hookTimeoutMs?: number;
  /** Deliver to clusters registered by Secrets too (a ClusterRegistry with these check settings). */
  clusters?: { checkIntervalMs?: number; checkTimeoutMs?: number; requestTimeoutMs?: number };
}

export interface RunningController {
  client: ClusterClient;
  informers: InformerFactory;
  apps: ApplicationController;
  http: ControllerHttpServer;
  url: string;
  registry: Registry;
  recorder: EventRecorder;
  /** With `clusters`: the registry the Application controller resolves destinations with. */
  clusters?: ClusterRegistry;
  /** Every Kubernetes API request this controller made. */
  requests: RequestRecord[];
  stop(): Promise<void>;
}

export interface GitopsEnv {
  sb: TestSandbox;
  git: GitServer;
  repo: TestRepo;
  cacheDir: string;
  startController(options?: ControllerOptions): Promise<RunningController>;
  applyJson(object: unknown): Promise<void>;
  app(name: string): Promise<Application>;
  waitApp(
    name: string,
    what: string,
    check: (app: Application) => boolean,
    timeoutMs?: number,
  ): Promise<Application>;
  stop(): Promise<void>;
}

export async function startGitopsEnv(repoName = "apps"): Promise<GitopsEnv> {
  const sb = await startTestSandbox();
  const git = await startGitServer();
  const repo = await git.createRepo(repoName);
  const cacheDir = await mkdtemp(join(tmpdir(), "slipway-gitops-e2e-"));
  // CRDs first: kubectl maps every kind of a file before it applies any of them.
  const manifests = installManifests(NS);
  for (const items of [
    manifests.filter((m) => m.kind === "CustomResourceDefinition"),
    manifests.filter((m) => m.kind !== "CustomResourceDefinition"),
  ]) {
    // A CRD created a moment ago may not be in discovery yet: retry briefly.
    await waitFor(
      async () =>
        (
          await sb.kubectl(["apply", "--server-side", "-f", "-"], {
            input: JSON.stringify({ apiVersion: "v1", kind: "List", items }),
          })
        ).code === 0,
      { timeoutMs: 15_000, intervalMs: 250, message: "slipway's manifests to apply" },
    );
  }
  const controllers: RunningController[] = [];

  const env: GitopsEnv = {
    sb,
    git,
    repo,
    cacheDir,
    async startController(options = {}) {
      const kc = new KubeConfig();
      kc.loadFromFile(sb.kubeconfig);
      const requests: RequestRecord[] = [];
      const registry = new Registry();
      const log = pino({ level: process.env.SLIPWAY_TEST_LOG ?? "silent" });
      const client = new ClusterClient(kc, { onRequest: (r) => requests.push(r), registry });
      const informers = new InformerFactory(client, { log });
      const recorder = new EventRecorder(client, { log });
      const clusters = options.clusters
        ? new ClusterRegistry({
            client,
            informers,
            namespace: NS,
            log,
            ...(options.clusters.checkIntervalMs
              ? { checkIntervalMs: options.clusters.checkIntervalMs }
              : {}),
            ...(options.clusters.checkTimeoutMs ? { checkTimeoutMs: options.clusters.checkTimeoutMs } : {}),
            ...(options.clusters.requestTimeoutMs
              ? { clientOptions: { requestTimeoutMs: options.clusters.requestTimeoutMs } }
              : {}),
          })
        : undefined;
      const apps = createApplicationController({
        ...(clusters ? { clusters } : {}),
        client,
        informers,
        namespace: NS,
        repoCacheDir: join(cacheDir, `repos-${controllers.length}`),
        registry,
        log,
        recorder,
        resyncMs: options.resyncMs ?? 3_600_000,
        selfHealTimeoutMs: options.selfHealTimeoutMs ?? 0,
        ...(options.operationTimeoutMs ? { operationTimeoutMs: options.operationTimeoutMs } : {}),
        ...(options.hookTimeoutMs ? { hookTimeoutMs: options.hookTimeoutMs } : {}),
        concurrency: 4,
      });
      const http = new ControllerHttpServer({
        addr: "127.0.0.1:0",
        registry,
        readiness: () => ({ ready: true }),
      });
      http.setWebhookHandler(apps.webhookHandler);
      const url = await http.listen();
      informers.start();
      if (clusters) {
        clusters.start();
        await clusters.waitForSync();
      }
      await apps.start();
      let stopped = false;
      const running: RunningController = {
        client,
        informers,
        apps,
        http,
        url,
        registry,
        recorder,
        ...(clusters ? { clusters } : {}),
        requests,
        async stop() {
          if (stopped) return;
          stopped = true;
          await apps.stop();
          await clusters?.stop();
          await informers.stop();
          await recorder.flush();
          await http.close();
          client.close();
        },
      };
      controllers.push(running);
      return running;
    },
    async applyJson(object) {
      await sb.kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", "-"], {
        input: JSON.stringify(object),
      });
    },
    async app(name) {
      return (await sb.kubectlJson<KubeJson>([
        "get",
        "applications.slipway.dev",
        name,
        "-n",
        NS,
      ])) as Application;
    },
    async waitApp(name, what, check, timeoutMs = 30_000) {
      let last: Application | undefined;
      try {
        return await waitFor(
          async () => {
            last = await env.app(name);
            return check(last) ? last : undefined;
          },
          { timeoutMs, intervalMs: 150, message: `${name}: ${what}` },
        );
      } catch (error) {
        throw new Error(
          `${(error as Error).message}\nlast seen status: ${JSON.stringify(last?.status ?? null, null, 1).slice(0, 4000)}\noperation: ${JSON.stringify(last?.operation ?? null)}`,
        );
      }
    },
    async stop() {
      for (const c of controllers) await c.stop().catch(() => undefined);
      await git.close().catch(() => undefined);
      await sb.stop();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
  return env;
}

export function configMap(
  name: string,
  data: Record<string, string>,
  annotations: Record<string, string> = {},
): string {
  const lines = [
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata:",
    `  name: ${name}`,
    ...(Object.keys(annotations).length > 0
      ? ["  annotations:", ...Object.entries(annotations).map(([k, v]) => `    ${k}: "${v}"`)]
      : []),
    "data:",
    ...Object.entries(data).map(([k, v]) => `  ${k}: "${v}"`),
  ];
  return `${lines.join("\n")}\n`;
}

export function application(
  name: string,
  repoURL: string,
  path: string,
  destinationNamespace: string,
  extra: {
    syncPolicy?: Record<string, unknown>;
    project?: string;
    operation?: Record<string, unknown>;
    targetRevision?: string;
    finalizers?: string[];
    annotations?: Record<string, string>;
  } = {},
): Record<string, unknown> {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "Application",
    metadata: {
      name,
      namespace: NS,
      ...(extra.finalizers ? { finalizers: extra.finalizers } : {}),
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    spec: {
      project: extra.project ?? "default",
      source: { repoURL, path, targetRevision: extra.targetRevision ?? "main" },
      destination: { server: "https://kubernetes.default.svc", namespace: destinationNamespace },
      ...(extra.syncPolicy ? { syncPolicy: extra.syncPolicy } : {}),
    },
    ...(extra.operation ? { operation: extra.operation } : {}),
  };
}

/** Writes made by a controller (anything but GET and WATCH). */
export function writesOf(requests: readonly RequestRecord[]): RequestRecord[] {
  return requests.filter((r) => r.method !== "GET" && r.method !== "WATCH");
}
