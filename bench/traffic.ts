/**
 * Micro-benchmark of the traffic simulator against the budget: 2,000 simulated requests/s
 * over 50 route objects must cost < 25% of one core.
 *
 * 50 route objects (HTTPRoutes with a header rule, weights and a mirror; VirtualServices with
 * DestinationRule subsets and a mirror; NGINX stable+canary Ingresses; plain Services) × 40 rps,
 * driven for 10 simulated seconds in 100 ms ticks with the clock advanced by hand, with a
 * /sim/metrics scrape every 5 s. CPU time (process.cpuUsage, user + system) is divided by the
 * simulated wall time. One simulated second of warm-up (JIT) runs before the measurement.
 *
 * Run: npm run build && node dist/bench/traffic.js
 */
import type {
  GroupVersionResource,
  KubeObject,
  ResourceType,
  SandboxApi,
  WatchEvent,
} from "../sandbox/core/types.js";
import { TrafficSimulator } from "../sandbox/traffic/traffic-simulator.js";

const ROUTES = 50;
const RPS_PER_ROUTE = 40;
const SIMULATED_SECONDS = 10;
const TICK_MS = 100;
const SCRAPE_EVERY_MS = 5_000;

const KINDS: Record<string, string> = {
  services: "Service",
  pods: "Pod",
  ingresses: "Ingress",
  httproutes: "HTTPRoute",
  virtualservices: "VirtualService",
  destinationrules: "DestinationRule",
};

function apiGroupOf(object: KubeObject): string {
  const slash = object.apiVersion.indexOf("/");
  return slash < 0 ? "" : object.apiVersion.slice(0, slash);
}

/**
 * A read-only snapshot of a cluster: the simulator lists it once at connect and then only reads its
 * own index, so this measures the simulator and not a store.
 */
class Snapshot implements SandboxApi {
  constructor(private readonly objects: KubeObject[]) {}
  resolve(group: string, version: string, plural: string): ResourceType {
    return {
      group,
      version,
      kind: plural,
      listKind: plural,
      plural,
      singular: plural,
      namespaced: true,
      shortNames: [],
      categories: [],
      verbs: ["list"],
      subresources: { status: false },
    };
  }
  get(): KubeObject | undefined {
    return undefined;
  }
  list(gvr: GroupVersionResource): KubeObject[] {
    // Both served versions of a kind list the same objects, as in the real store.
    return this.objects.filter((o) => o.kind === KINDS[gvr.resource] && apiGroupOf(o) === gvr.group);
  }
  subscribe(
    _gvr: GroupVersionResource | "*",
    _listener: (event: WatchEvent, type: ResourceType) => void,
  ): () => void {
    return () => {};
  }
  recordEvent(): void {}
  create(): KubeObject {
    throw new Error("read-only");
  }
  update(): KubeObject {
    throw new Error("read-only");
  }
  patch(): KubeObject {
    throw new Error("read-only");
  }
  delete(): KubeObject | undefined {
    throw new Error("read-only");
  }
}

function service(
  namespace: string,
  name: string,
  selector: Record<string, string>,
  rps?: number,
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, annotations: rps ? { "sim.slipway.dev/rps": String(rps) } : {} },
    spec: { selector },
  };
}

function pod(namespace: string, name: string, hash: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      labels: { app: "app", "rollouts-pod-template-hash": hash },
      annotations: { "sim.slipway.dev/latency-ms": "50", "sim.slipway.dev/error-rate": "0.01" },
    },
    status: { conditions: [{ type: "Ready", status: "True" }] },
  };
}

function ingress(
  namespace: string,
  name: string,
  backend: string,
  annotations: Record<string, string>,
): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace, annotations },
    spec: {
      rules: [
        {
          host: `${namespace}.example`,
          http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: backend } } }] },
        },
      ],
    },
  };
}

/** One namespace per route object: stable (5 pods) and canary (2 pods) behind the chosen router. */
function cluster(): KubeObject[] {
  const objects: KubeObject[] = [];
  const rps = { "sim.slipway.dev/rps": String(RPS_PER_ROUTE) };
  const headers = { "sim.slipway.dev/headers": '[{"name":"x-cohort","value":"beta","fraction":0.05}]' };
  for (let i = 0; i < ROUTES; i++) {
    const ns = `app-${i}`;
    objects.push(service(ns, "stable", { app: "app", "rollouts-pod-template-hash": "s" }));
    objects.push(service(ns, "canary", { app: "app", "rollouts-pod-template-hash": "c" }));
    for (let p = 0; p < 5; p++) objects.push(pod(ns, `app-s-${p}`, "s"));
    for (let p = 0; p < 2; p++) objects.push(pod(ns, `app-c-${p}`, "c"));
    switch (i % 4) {
      case 0:
        objects.push({
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "HTTPRoute",
          metadata: { name: "app", namespace: ns, annotations: { ...rps, ...headers } },
          spec: {
            rules: [
              {
                matches: [{ headers: [{ name: "x-cohort", value: "beta" }] }],
                backendRefs: [{ name: "canary" }],
              },
              {
                filters: [
                  { type: "RequestMirror", requestMirror: { backendRef: { name: "canary" }, percent: 20 } },
                ],
                backendRefs: [
                  { name: "stable", weight: 90 },
                  { name: "canary", weight: 10 },
                ],
              },
            ],
          },
        });
        break;
      case 1:
        objects.push(service(ns, "app", { app: "app" }));
        objects.push({
          apiVersion: "networking.istio.io/v1beta1",
          kind: "DestinationRule",
          metadata: { name: "app", namespace: ns },
          spec: {
            host: "app",
            subsets: [
              { name: "stable", labels: { "rollouts-pod-template-hash": "s" } },
              { name: "canary", labels: { "rollouts-pod-template-hash": "c" } },
            ],
          },
        });
        objects.push({
          apiVersion: "networking.istio.io/v1beta1",
          kind: "VirtualService",
          metadata: { name: "app", namespace: ns, annotations: { ...rps, ...headers } },
          spec: {
            hosts: ["app"],
            http: [
              {
                match: [{ headers: { "x-cohort": { exact: "beta" } } }],
                route: [{ destination: { host: "app", subset: "canary" } }],
              },
              {
                route: [
                  { destination: { host: "app", subset: "stable" }, weight: 90 },
                  { destination: { host: "app", subset: "canary" }, weight: 10 },
                ],
                mirror: { host: "app", subset: "canary" },
                mirrorPercentage: { value: 20 },
              },
            ],
          },
        });
        break;
      case 2:
        objects.push(ingress(ns, "app", "stable", rps));
        objects.push(
          ingress(ns, "app-canary", "canary", {
            "nginx.ingress.kubernetes.io/canary": "true",
            "nginx.ingress.kubernetes.io/canary-weight": "10",
            "nginx.ingress.kubernetes.io/canary-by-header": "x-canary",
          }),
        );
        break;
      default:
        objects.push(service(ns, "app", { app: "app" }, RPS_PER_ROUTE));
    }
  }
  return objects;
}

async function main(): Promise<void> {
  let now = 0;
  const simulator = new TrafficSimulator(new Snapshot(cluster()), { clock: () => now, seed: 1 });

  const drive = async (untilMs: number) => {
    while (now < untilMs) {
      now += TICK_MS;
      simulator.tick(now);
      if (now % SCRAPE_EVERY_MS === 0) await simulator.metricsText();
    }
  };

  await drive(1000); // warm-up, not measured
  const before = process.cpuUsage();
  await drive(1000 + SIMULATED_SECONDS * 1000);
  const used = process.cpuUsage(before);

  const report = simulator.trafficReport(SIMULATED_SECONDS);
  const requests = report.routes.reduce((total, route) => total + route.total, 0);
  const cpuMs = (used.user + used.system) / 1000;
  const share = (cpuMs / (SIMULATED_SECONDS * 1000)) * 100;
  console.log(
    `routes=${report.routes.length} requests=${requests} (${requests / SIMULATED_SECONDS}/s simulated) ` +
      `cpu=${cpuMs.toFixed(1)}ms (${((cpuMs * 1000) / requests).toFixed(2)} µs/request)`,
  );
  console.log(`cpu share of one core = ${share.toFixed(2)}%`);
}

await main();
