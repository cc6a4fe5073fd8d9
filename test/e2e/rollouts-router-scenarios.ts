/**
 * The routers other than Gateway API, as scenarios the rollouts e2e tests run side by side in one
 * sandbox: Istio host level (VirtualService weights between the stable and canary Services),
 * Istio subset level (DestinationRule subsets on pod hashes) and NGINX (a managed canary
 * Ingress). Each scenario has its own namespace, with a `shop-stable` and a `shop-canary` Service,
 * the routing object (named `shop`, carrying the simulated traffic) and a way to read back the
 * canary weight slipway wrote into it.
 */
import type { KubeJson as Json } from "../helpers/sandbox.js";
import type { RolloutsHarness } from "./rollouts-harness.js";

export interface RouterScenario {
  ns: string;
  /** Kind of the object `/sim/traffic` reports the traffic under. */
  kind: "VirtualService" | "Ingress";
  /** `trafficRouting` of the Rollout, as YAML flow. */
  routing: string;
  /** Services and routing objects, applied before the Rollout. */
  objects: string;
  /** The canary weight in the routing object, as the router wrote it. */
  canaryWeight(h: RolloutsHarness): Promise<number>;
}

const svc = (ns: string, name: string) => `
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec: {selector: {app: shop}, ports: [{port: 80}]}
---`;

/** The weight of the destination `pick` selects in the user's (not slipway's) HTTP routes. */
async function virtualServiceWeight(
  h: RolloutsHarness,
  ns: string,
  pick: (destination: Json) => boolean,
): Promise<number> {
  const vs = await h.get("virtualservice", ns, "shop");
  const managed = JSON.parse(vs.metadata.annotations?.["slipway.dev/managed-routes"] ?? "[]") as string[];
  const http = (vs.spec.http as Json[]).filter((r) => !managed.includes(r.name));
  const dest = http.flatMap((r) => r.route as Json[]).find((d) => pick(d.destination));
  return dest?.weight ?? 0;
}

/** Scenarios in namespaces `<prefix>-istio-host`, `<prefix>-istio-subset`, `<prefix>-nginx`. */
export function routerScenarios(prefix: string, rps: number): RouterScenario[] {
  const annotations = `{"sim.slipway.dev/rps": "${rps}"}`;
  const host = `${prefix}-istio-host`;
  const subset = `${prefix}-istio-subset`;
  const nginx = `${prefix}-nginx`;
  const services = (ns: string) => `${svc(ns, "shop-stable")}${svc(ns, "shop-canary")}`;
  return [
    {
      ns: host,
      kind: "VirtualService",
      routing: "istio: {virtualService: {name: shop, routes: [primary]}}",
      objects: `${services(host)}
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: shop, namespace: ${host}, annotations: ${annotations}}
spec:
  hosts: [shop]
  http:
    - name: primary
      route:
        - {destination: {host: shop-stable}, weight: 100}
        - {destination: {host: shop-canary}, weight: 0}`,
      canaryWeight: (h) => virtualServiceWeight(h, host, (d) => d.host === "shop-canary"),
    },
    {
      ns: subset,
      kind: "VirtualService",
      routing:
        "istio: {virtualService: {name: shop}, destinationRule: {name: shop, stableSubsetName: stable, canarySubsetName: canary}}",
      objects: `${services(subset)}${svc(subset, "shop")}
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: shop, namespace: ${subset}}
spec: {host: shop, subsets: [{name: stable}, {name: canary}]}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: shop, namespace: ${subset}, annotations: ${annotations}}
spec:
  hosts: [shop]
  http: [{route: [{destination: {host: shop, subset: stable}, weight: 100}]}]`,
      canaryWeight: (h) => virtualServiceWeight(h, subset, (d) => d.subset === "canary"),
    },
    {
      ns: nginx,
      kind: "Ingress",
      routing: "nginx: {stableIngress: shop}",
      objects: `${services(nginx)}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: ${nginx}, annotations: ${annotations}}
spec:
  ingressClassName: nginx
  rules:
    - host: shop.example.com
      http:
        paths: [{path: /, pathType: Prefix, backend: {service: {name: shop-stable, port: {number: 80}}}}]`,
      canaryWeight: async (h) => {
        // The managed canary Ingress is `<rollout>-<stableIngress>-canary`.
        const ing = await h.get("ingress", nginx, "shop-shop-canary");
        return Number(ing.metadata.annotations?.["nginx.ingress.kubernetes.io/canary-weight"] ?? "0");
      },
    },
  ];
}
