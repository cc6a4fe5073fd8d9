/**
 * CRDs of the traffic routers slipway drives, installed when the sandbox starts, as they would be
 * on a cluster that has Gateway API and Istio: HTTPRoute, Gateway and GatewayClass
 * (gateway.networking.k8s.io) and VirtualService and DestinationRule (networking.istio.io).
 *
 * The schemas declare the fields routing uses (so `kubectl explain` and validation cover them)
 * and keep unknown fields, so manifests written for newer releases are stored as written.
 */
import type { KubeObject } from "../core/types.js";

type Schema = Record<string, unknown>;

const str: Schema = { type: "string" };
const int: Schema = { type: "integer" };
const num: Schema = { type: "number" };
const obj = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({
  type: "object",
  properties,
  ...extra,
});
const open = (properties: Record<string, Schema>): Schema =>
  obj(properties, { "x-kubernetes-preserve-unknown-fields": true });
const arr = (items: Schema, extra: Schema = {}): Schema => ({ type: "array", items, ...extra });
const map: Schema = { type: "object", additionalProperties: { type: "string" } };
const anyObject: Schema = { type: "object", "x-kubernetes-preserve-unknown-fields": true };

function crd(options: {
  group: string;
  kind: string;
  plural: string;
  shortNames?: string[];
  scope?: "Namespaced" | "Cluster";
  versions: string[];
  storage: string;
  spec: Schema;
  columns?: { name: string; type: string; jsonPath: string }[];
}): KubeObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${options.plural}.${options.group}`,
      labels: { "app.kubernetes.io/part-of": "slipway-sandbox" },
    },
    spec: {
      group: options.group,
      scope: options.scope ?? "Namespaced",
      names: {
        plural: options.plural,
        singular: options.kind.toLowerCase(),
        kind: options.kind,
        listKind: `${options.kind}List`,
        ...(options.shortNames ? { shortNames: options.shortNames } : {}),
        categories:
          options.group === "networking.istio.io" ? ["istio-io", "networking-istio-io"] : ["gateway-api"],
      },
      versions: options.versions.map((name) => ({
        name,
        served: true,
        storage: name === options.storage,
        subresources: { status: {} },
        ...(options.columns
          ? {
              additionalPrinterColumns: [
                ...options.columns,
                { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
              ],
            }
          : {}),
        schema: {
          openAPIV3Schema: obj({
            apiVersion: str,
            kind: str,
            metadata: { type: "object" },
            spec: options.spec,
            status: anyObject,
          }),
        },
      })),
    },
  };
}

// ---- Gateway API ----------------------------------------------------------------------------

const parentRef = open({ group: str, kind: str, namespace: str, name: str, sectionName: str, port: int });
const backendRef = open({ group: str, kind: str, namespace: str, name: str, port: int, weight: int });
const headerMatch = open({
  type: { type: "string", enum: ["Exact", "RegularExpression"] },
  name: str,
  value: str,
});
const httpRouteMatch = open({
  path: open({ type: { type: "string", enum: ["Exact", "PathPrefix", "RegularExpression"] }, value: str }),
  headers: arr(headerMatch),
  queryParams: arr(open({ type: str, name: str, value: str })),
  method: str,
});
const filter = open({
  type: str,
  requestMirror: open({ backendRef, percent: int, fraction: open({ numerator: int, denominator: int }) }),
  requestHeaderModifier: anyObject,
  responseHeaderModifier: anyObject,
  requestRedirect: anyObject,
  urlRewrite: anyObject,
  extensionRef: anyObject,
});

const httpRouteSpec = open({
  parentRefs: arr(parentRef),
  hostnames: arr(str),
  rules: arr(
    open({
      name: str,
      matches: arr(httpRouteMatch),
      filters: arr(filter),
      backendRefs: arr(
        open({
          group: str,
          kind: str,
          namespace: str,
          name: str,
          port: int,
          weight: int,
          filters: arr(filter),
        }),
      ),
      timeouts: anyObject,
    }),
  ),
});

const gatewaySpec = open({
  gatewayClassName: str,
  listeners: arr(
    open({ name: str, hostname: str, port: int, protocol: str, allowedRoutes: anyObject, tls: anyObject }),
  ),
  addresses: arr(anyObject),
});

// ---- Istio ----------------------------------------------------------------------------------

const stringMatch = open({ exact: str, prefix: str, regex: str });
const destination = open({ host: str, subset: str, port: open({ number: int }) });
const virtualServiceSpec = open({
  hosts: arr(str),
  gateways: arr(str),
  http: arr(
    open({
      name: str,
      match: arr(
        open({
          name: str,
          uri: stringMatch,
          headers: { type: "object", additionalProperties: stringMatch },
          method: stringMatch,
          authority: stringMatch,
          queryParams: anyObject,
        }),
      ),
      route: arr(open({ destination, weight: int, headers: anyObject })),
      mirror: destination,
      mirrors: arr(open({ destination, percentage: open({ value: num }) })),
      mirrorPercentage: open({ value: num }),
      retries: anyObject,
      timeout: str,
      fault: anyObject,
      rewrite: anyObject,
      redirect: anyObject,
    }),
  ),
  tcp: arr(anyObject),
  tls: arr(anyObject),
  exportTo: arr(str),
});

const destinationRuleSpec = open({
  host: str,
  trafficPolicy: anyObject,
  subsets: arr(open({ name: str, labels: map, trafficPolicy: anyObject })),
  exportTo: arr(str),
});

/** The router CRDs the sandbox installs at start. */
export function routerCrds(): KubeObject[] {
  return [
    crd({
      group: "gateway.networking.k8s.io",
      kind: "GatewayClass",
      plural: "gatewayclasses",
      shortNames: ["gc"],
      scope: "Cluster",
      versions: ["v1", "v1beta1"],
      storage: "v1",
      spec: open({ controllerName: str, description: str, parametersRef: anyObject }),
      columns: [{ name: "Controller", type: "string", jsonPath: ".spec.controllerName" }],
    }),
    crd({
      group: "gateway.networking.k8s.io",
      kind: "Gateway",
      plural: "gateways",
      shortNames: ["gtw"],
      versions: ["v1", "v1beta1"],
      storage: "v1",
      spec: gatewaySpec,
      columns: [{ name: "Class", type: "string", jsonPath: ".spec.gatewayClassName" }],
    }),
    crd({
      group: "gateway.networking.k8s.io",
      kind: "HTTPRoute",
      plural: "httproutes",
      versions: ["v1", "v1beta1"],
      storage: "v1",
      spec: httpRouteSpec,
      columns: [{ name: "Hostnames", type: "string", jsonPath: ".spec.hostnames" }],
    }),
    crd({
      group: "networking.istio.io",
      kind: "VirtualService",
      plural: "virtualservices",
      shortNames: ["vs"],
      versions: ["v1", "v1beta1", "v1alpha3"],
      storage: "v1",
      spec: virtualServiceSpec,
      columns: [
        { name: "Gateways", type: "string", jsonPath: ".spec.gateways" },
        { name: "Hosts", type: "string", jsonPath: ".spec.hosts" },
      ],
    }),
    crd({
      group: "networking.istio.io",
      kind: "DestinationRule",
      plural: "destinationrules",
      shortNames: ["dr"],
      versions: ["v1", "v1beta1", "v1alpha3"],
      storage: "v1",
      spec: destinationRuleSpec,
      columns: [{ name: "Host", type: "string", jsonPath: ".spec.host" }],
    }),
  ];
}
