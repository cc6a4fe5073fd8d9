/**
 * Shared by the rollouts end-to-end tests: a sandbox over HTTPS with the CRDs installed (as
 * `slipway install` applies them), the Rollout controller — and the AnalysisRun controller — run
 * in-process as `slipway controller` runs them, killed and restarted at will, and kubectl as the
 * independent judge.
 */
import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { KubernetesObject } from "@kubernetes/client-node";
import { KubeConfig } from "@kubernetes/client-node";
import pino from "pino";
import { Registry } from "prom-client";
import { createAnalysisRunController } from "../../analysis/reconciler/controller.js";
import { installManifests } from "../../api/v1alpha1/crds.js";
import { applyObjects } from "../../controller/kube/apply.js";
import { ClusterClient } from "../../controller/kube/cluster-client.js";
import { EventRecorder } from "../../controller/kube/event-recorder.js";
import { InformerFactory } from "../../controller/kube/informer-factory.js";
import type { KubeRequestOptions } from "../../controller/kube/requester.js";
import {
  createRolloutController,
  type RolloutControllerOptions,
} from "../../controller/rollouts/controller.js";
import type { Controller } from "../../controller/runtime/controller.js";
import { type RunningPrometheus, startPrometheus } from "../helpers/prometheus.js";
import {
  type KubeJson,
  sandboxGet,
  startTestSandbox,
  type TestSandbox,
  waitFor,
} from "../helpers/sandbox.js";

/** One routing object (Service, HTTPRoute, VirtualService, Ingress) in `/sim/traffic`. */
export interface RouteTraffic {
  kind: string;
  namespace: string;
  name: string;
  total: number;
  /** Share (0..1) of the requests each pod hash answered ("" = no ready pod: a 503). */
  byHash: Record<string, number>;
  /** Mirrored copies per pod hash (counts). */
  mirrored: Record<string, number>;
}

export interface ControllerProcess {
  client: ClusterClient;
  informers: InformerFactory;
  recorder: EventRecorder;
  registry: Registry;
  rollouts: Controller;
  analysis?: Controller;
  /** Write requests (POST/PUT/PATCH/DELETE) this process made. */
  writes: { method: string; path: string; at: number }[];
  /** Every request this process made. */
  requests: { method: string; path: string; at: number }[];
  /** Makes every later request of this process fail, as if it had died there. */
  kill(): void;
  /** Whether the process is dead (killed, or reached `killAfterWrites`). */
  dead(): boolean;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Also run the AnalysisRun controller (default true). */
  analysis?: boolean;
  /** Kill the process (all further requests fail) once it made this many writes. */
  killAfterWrites?: number;
  rollout?: Partial<RolloutControllerOptions>;
}

export class RolloutsHarness {
  readonly processes: ControllerProcess[] = [];
  private prometheus: RunningPrometheus | undefined;

  private constructor(readonly sb: TestSandbox) {}

  static async start(): Promise<RolloutsHarness> {
    const sb = await startTestSandbox();
    const kc = new KubeConfig();
    kc.loadFromFile(sb.kubeconfig);
    await applyObjects(kc, installManifests() as unknown as KubernetesObject[], {
      fieldManager: "slipway-install",
    });
    return new RolloutsHarness(sb);
  }

  /** A controller process: its own client, caches, recorder and registry. */
  async startController(options: StartOptions = {}): Promise<ControllerProcess> {
    const kc = new KubeConfig();
    kc.loadFromFile(this.sb.kubeconfig);
    const log = pino({ level: process.env.ROLLOUTS_TEST_LOG ?? "silent" });
    const client = new ClusterClient(kc, { name: "sandbox" });
    const writes: ControllerProcess["writes"] = [];
    const requests: ControllerProcess["requests"] = [];
    let dead = false;
    const original = client.request.bind(client);
    client.request = async <T>(method: string, path: string, opts?: KubeRequestOptions): Promise<T> => {
      if (dead) throw new Error("process killed");
      const isWrite = method !== "GET";
      if (isWrite && options.killAfterWrites !== undefined && writes.length >= options.killAfterWrites) {
        dead = true;
        throw new Error("process killed");
      }
      requests.push({ method, path, at: Date.now() });
      if (isWrite && !path.endsWith("/events") && !path.includes("/events/"))
        writes.push({ method, path, at: Date.now() });
      return original<T>(method, path, opts);
    };
    const informers = new InformerFactory(client, { log });
    const recorder = new EventRecorder(client, { log });
    const registry = new Registry();
    const rollouts = createRolloutController({
      client,
      informers,
      recorder,
      registry,
      log,
      ...options.rollout,
    });
    const analysis =
      options.analysis === false
        ? undefined
        : createAnalysisRunController({ client, informers, recorder, log, registry });
    informers.start();
    await rollouts.start();
    await analysis?.start();
    const proc: ControllerProcess = {
      client,
      informers,
      recorder,
      registry,
      rollouts,
      ...(analysis ? { analysis } : {}),
      writes,
      requests,
      kill: () => {
        dead = true;
      },
      dead: () => dead,
      stop: async () => {
        await rollouts.stop();
        await analysis?.stop();
        await recorder.flush().catch(() => undefined);
        await informers.stop();
        client.close();
      },
    };
    this.processes.push(proc);
    return proc;
  }

  async apply(yaml: string): Promise<void> {
    await this.sb.kubectlOk(["apply", "-f", "-"], { input: yaml });
  }

  async namespace(name: string): Promise<void> {
    await this.sb.kubectlOk(["create", "namespace", name]);
  }

  get(kind: string, ns: string, name: string): Promise<KubeJson> {
    return this.sb.kubectlJson(["get", kind, "-n", ns, name]);
  }

  async list(kind: string, ns: string, selector?: string): Promise<KubeJson[]> {
    const args = ["get", kind, "-n", ns, ...(selector ? ["-l", selector] : [])];
    return ((await this.sb.kubectlJson(args)).items ?? []) as KubeJson[];
  }

  /** The Rollout's ReplicaSets, by name. */
  async replicaSets(ns: string, rollout: string): Promise<KubeJson[]> {
    const all = await this.list("replicasets", ns);
    return all
      .filter((rs) =>
        rs.metadata.ownerReferences?.some((r: KubeJson) => r.kind === "Rollout" && r.name === rollout),
      )
      .sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
  }

  async events(ns: string, name: string): Promise<KubeJson[]> {
    const items = (
      await this.sb.kubectlJson([
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        `involvedObject.name=${name}`,
      ])
    ).items as KubeJson[];
    return items;
  }

  async patchStatus(ns: string, name: string, patch: unknown): Promise<void> {
    await this.sb.kubectlOk([
      "patch",
      "rollout",
      "-n",
      ns,
      name,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify(patch),
    ]);
  }

  /** Polls the Rollout (through kubectl) until `check` returns something. */
  waitRollout<T>(
    ns: string,
    name: string,
    what: string,
    check: (ro: KubeJson) => T | undefined | false | Promise<T | undefined | false>,
    timeoutMs = 30_000,
  ): Promise<T> {
    let last: KubeJson | undefined;
    return waitFor(
      async () => {
        last = await this.get("rollout", ns, name);
        return check(last);
      },
      { timeoutMs, intervalMs: 150, message: what },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nlast status: ${JSON.stringify(last?.status, null, 1)}`);
    });
  }

  /** A real Prometheus scraping this sandbox's `/sim/metrics` every second; stopped with the harness. */
  async startPrometheus(): Promise<RunningPrometheus> {
    this.prometheus = await startPrometheus({
      targets: [new URL(this.sb.url).host],
      metricsPath: "/sim/metrics",
      scheme: "https",
      insecureSkipVerify: true,
    });
    return this.prometheus;
  }

  /** Runs the built `slipway` CLI (dist/: `npm run build` first) against this sandbox. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const main = join(resolve(dirname(fileURLToPath(import.meta.url)), "../.."), "dist/cli/main.js");
    return new Promise((done) => {
      execFile(
        process.execPath,
        [main, ...args, "--kubeconfig", this.sb.kubeconfig],
        { timeout: 60_000 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
          done({ code, stdout, stderr });
        },
      );
    });
  }

  /** `/sim/traffic` over the last `seconds` whole seconds. */
  async traffic(seconds: number): Promise<RouteTraffic[]> {
    const report = JSON.parse(await sandboxGet(this.sb, `/sim/traffic?window=${seconds}`)) as {
      routes: RouteTraffic[];
    };
    return report.routes;
  }

  /** `/sim/traffic` over `seconds` whole seconds that all start after this call. */
  async freshTraffic(seconds: number): Promise<RouteTraffic[]> {
    await sleep(300);
    await sleep(1000 - (Date.now() % 1000) + 50);
    await sleep(seconds * 1000 + 250);
    return this.traffic(seconds);
  }

  async stop(): Promise<void> {
    for (const p of this.processes) await p.stop().catch(() => undefined);
    await this.prometheus?.stop();
    await this.sb.stop();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The routing object's entry in a `/sim/traffic` report; throws when it has none. */
export function routeOf(routes: RouteTraffic[], ns: string, kind: string, name: string): RouteTraffic {
  const route = routes.find((r) => r.namespace === ns && r.kind === kind && r.name === name);
  if (!route) throw new Error(`no ${kind} ${ns}/${name} in /sim/traffic`);
  return route;
}

/**
 * AnalysisTemplate `error-rate` in `ns`: the share of 5xx answers (mirrored copies left out) of
 * the pods with the hash in arg `hash`, over the last 3 s, must stay under 10%; three
 * measurements a second apart after 3 s.
 */
export const errorRateTemplate = (ns: string, prometheusAddress: string) => `
apiVersion: slipway.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: error-rate, namespace: ${ns}}
spec:
  args: [{name: hash}]
  metrics:
    - name: error-rate
      initialDelay: 3s
      interval: 1s
      count: 3
      successCondition: result[0] < 0.1
      provider:
        prometheus:
          address: ${prometheusAddress}
          query: >-
            (sum(rate(http_requests_total{namespace="${ns}",mirrored="false",rollouts_pod_template_hash="{{args.hash}}",code=~"5.."}[3s])) or vector(0))
            / sum(rate(http_requests_total{namespace="${ns}",mirrored="false",rollouts_pod_template_hash="{{args.hash}}"}[3s]))
`;
