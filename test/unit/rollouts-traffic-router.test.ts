/**
 * The routers' I/O against an in-memory client that behaves as the API server does for writes
 * (resourceVersion preconditions → 409, AlreadyExists → 409): one write per call and object, none
 * when nothing changes, re-read and retry on conflicts (bounded), the Istio write order, the
 * factory's choice, and typed errors.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { Rollout, RolloutTrafficRouting } from "../../api/v1alpha1/rollout.js";
import type { ObjectRef, WriteOptions } from "../../controller/kube/dynamic-client.js";
import { apiException } from "../../controller/kube/errors.js";
import {
  InvalidSpecError,
  RouteNotFoundError,
  type RouterClient,
  type RouterDeps,
  routerFor,
  TrafficRouterError,
  type TrafficState,
  UnsupportedError,
} from "../../controller/rollouts/traffic/index.js";

type Obj = Record<string, unknown>;

interface Write {
  verb: "create" | "update";
  kind: string;
  name: string;
  object: KubernetesObject;
  fieldManager: string | undefined;
}

/** The write semantics of an API server, in memory. */
class FakeCluster implements RouterClient {
  private readonly objects = new Map<string, KubernetesObject>();
  private version = 100;
  readonly writes: Write[] = [];
  readonly attempts: Write[] = [];
  /** Runs before each write is judged: a concurrent writer can change the stored object here. */
  beforeWrite?: (write: Write) => void;

  private key(ref: { kind: string; name: string; namespace?: string }): string {
    return `${ref.kind}/${ref.namespace ?? "default"}/${ref.name}`;
  }

  put(object: KubernetesObject): void {
    const stored = structuredClone(object);
    stored.metadata = {
      ...stored.metadata,
      resourceVersion: String(++this.version),
      uid: `uid-${this.version}`,
    };
    this.objects.set(this.key(refOf(stored)), stored);
  }

  /** Changes a stored object as another client would (new resourceVersion). */
  edit(ref: { kind: string; name: string; namespace?: string }, change: (object: Obj) => void): void {
    const object = this.objects.get(this.key(ref));
    if (!object) throw new Error(`no ${this.key(ref)}`);
    change(object as unknown as Obj);
    object.metadata = { ...object.metadata, resourceVersion: String(++this.version) };
  }

  stored<T = Obj>(kind: string, name: string, namespace = "shop"): T {
    return structuredClone(this.objects.get(this.key({ kind, name, namespace }))) as T;
  }

  async get<T extends KubernetesObject = KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
    const object = this.objects.get(this.key(ref));
    return object ? (structuredClone(object) as T) : undefined;
  }

  async create<T extends KubernetesObject>(object: T, options: WriteOptions = {}): Promise<T> {
    const write = this.record("create", object, options);
    if (this.objects.has(this.key(refOf(object)))) {
      throw apiException("POST", "/x", 409, { kind: "Status", reason: "AlreadyExists", code: 409 });
    }
    this.put(object);
    this.writes.push(write);
    return structuredClone(this.objects.get(this.key(refOf(object)))) as T;
  }

  async replace<T extends KubernetesObject>(object: T, options: WriteOptions = {}): Promise<T> {
    const write = this.record("update", object, options);
    const live = this.objects.get(this.key(refOf(object)));
    if (!live) throw apiException("PUT", "/x", 404, { kind: "Status", reason: "NotFound", code: 404 });
    if (object.metadata?.resourceVersion !== live.metadata?.resourceVersion) {
      throw apiException("PUT", "/x", 409, { kind: "Status", reason: "Conflict", code: 409 });
    }
    const stored = structuredClone(object);
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.version) };
    this.objects.set(this.key(refOf(object)), stored);
    this.writes.push(write);
    return structuredClone(stored);
  }

  private record(verb: Write["verb"], object: KubernetesObject, options: WriteOptions): Write {
    const write = {
      verb,
      kind: object.kind ?? "",
      name: object.metadata?.name ?? "",
      object: structuredClone(object),
      fieldManager: options.fieldManager,
    };
    this.attempts.push(write);
    this.beforeWrite?.(write);
    return write;
  }
}

function refOf(object: KubernetesObject): { kind: string; name: string; namespace?: string } {
  return {
    kind: object.kind ?? "",
    name: object.metadata?.name ?? "",
    ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}),
  };
}

function rollout(routing: Omit<RolloutTrafficRouting, "managedRoutes"> = {}, uid = "rollout-uid"): Rollout {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "Rollout",
    metadata: { name: "shop", namespace: "shop", uid },
    spec: {
      strategy: {
        canary: {
          stableService: "shop-stable",
          canaryService: "shop-canary",
          trafficRouting: { managedRoutes: [{ name: "beta" }, { name: "shadow" }], ...routing },
        },
      },
    },
  };
}

const backend = (name: string, weight?: number) => ({
  name,
  port: 80,
  ...(weight === undefined ? {} : { weight }),
});

function httpRoute(): KubernetesObject {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "shop", namespace: "shop" },
    spec: { parentRefs: [{ name: "gw" }], rules: [{ backendRefs: [backend("shop-stable", 100)] }] },
  } as KubernetesObject;
}

const weightsOf = (route: Obj) =>
  ((route.spec as { rules: { backendRefs: Obj[] }[] }).rules.at(-1)?.backendRefs ?? []).map((r) => r.weight);

const beta = { name: "beta", match: [{ headerName: "x-cohort", headerValue: { exact: "beta" } }] };
const shadow = { name: "shadow", percentage: 20, match: [{ path: { prefix: "/" } }] };
const state = (
  canaryWeight: number,
  headerRoutes = [beta].slice(0, 0),
  mirrorRoutes = [shadow].slice(0, 0),
) => ({ canaryWeight, headerRoutes, mirrorRoutes }) satisfies TrafficState;

function setup(
  routing: Omit<RolloutTrafficRouting, "managedRoutes">,
  objects: KubernetesObject[],
  deps: Partial<RouterDeps> = {},
) {
  const cluster = new FakeCluster();
  for (const object of objects) cluster.put(object);
  const router = routerFor(rollout(routing), { client: cluster, ...deps });
  return { cluster, router };
}

describe("routerFor", () => {
  const client = new FakeCluster();
  it.each([
    ["none", {}],
    ["gatewayAPI", { gatewayAPI: { httpRoute: "shop" } }],
    ["gatewayAPI", { plugins: { "argoproj-labs/gatewayAPI": { httpRoute: "shop", namespace: "edge" } } }],
    [
      "gatewayAPI",
      {
        plugins: {
          "argoproj-labs/gatewayAPI": { httpRoutes: [{ name: "a" }, { name: "b", useHeaderRoutes: true }] },
        },
      },
    ],
    ["istio", { istio: { virtualService: { name: "shop" } } }],
    ["nginx", { nginx: { stableIngress: "shop" } }],
    ["multiple", { istio: { virtualService: { name: "shop" } }, nginx: { stableIngress: "shop" } }],
  ] as const)("%s for %j", (type, routing) => {
    expect(routerFor(rollout(routing), { client }).type).toBe(type);
  });

  it("is NoRouter for blue-green and for a canary without trafficRouting", () => {
    const blueGreen: Rollout = { ...rollout(), spec: { strategy: { blueGreen: { activeService: "shop" } } } };
    expect(routerFor(blueGreen, { client }).type).toBe("none");
  });

  it("says what is missing", () => {
    const noServices = rollout({ gatewayAPI: { httpRoute: "shop" } });
    delete noServices.spec.strategy.canary!.stableService;
    expect(() => routerFor(noServices, { client })).toThrow(
      new InvalidSpecError(
        'Rollout "shop": traffic routing needs spec.strategy.canary.stableService and canaryService',
      ),
    );
    expect(() => routerFor(rollout({ istio: {} }), { client })).toThrow(
      /trafficRouting\.istio needs virtualService/,
    );
    expect(() => routerFor(rollout({ nginx: {} }), { client })).toThrow(
      /trafficRouting\.nginx needs stableIngress/,
    );
    expect(() =>
      routerFor(rollout({ plugins: { "argoproj-labs/gatewayAPI": { httpRoutes: [] } } }), { client }),
    ).toThrow(/needs httpRoute or httpRoutes/);
  });
});

describe("Gateway API router I/O", () => {
  const routing = { gatewayAPI: { httpRoute: "shop" } };

  it("writes once per call as slipway-rollouts, and not at all when nothing changes", async () => {
    const { cluster, router } = setup(routing, [httpRoute()]);
    await router.setWeight(10);
    expect(cluster.writes.map((w) => [w.verb, w.kind, w.fieldManager])).toEqual([
      ["update", "HTTPRoute", "slipway-rollouts"],
    ]);
    expect(weightsOf(cluster.stored("HTTPRoute", "shop"))).toEqual([90, 10]);
    await router.setWeight(10);
    await router.removeManagedRoutes();
    await router.setHeaderRoute({ name: "beta" });
    expect(cluster.writes).toHaveLength(1);
    expect(await router.verify(state(10))).toEqual({ ok: true });
  });

  it("re-reads and retries on 409, keeping the other writer's change", async () => {
    const { cluster, router } = setup(routing, [httpRoute()]);
    let concurrent = true;
    cluster.beforeWrite = () => {
      if (!concurrent) return;
      concurrent = false;
      cluster.edit({ kind: "HTTPRoute", name: "shop", namespace: "shop" }, (o) => {
        (o.metadata as Obj).labels = { edited: "by-someone" };
      });
    };
    await router.setWeight(30);
    expect(cluster.attempts).toHaveLength(2);
    const stored = cluster.stored("HTTPRoute", "shop");
    expect(weightsOf(stored)).toEqual([70, 30]);
    expect((stored.metadata as Obj).labels).toEqual({ edited: "by-someone" });
  });

  it("gives up after a bounded number of conflicts with a typed error", async () => {
    const { cluster, router } = setup(routing, [httpRoute()], { maxConflictRetries: 2 });
    cluster.beforeWrite = () =>
      cluster.edit({ kind: "HTTPRoute", name: "shop", namespace: "shop" }, (o) => {
        (o.metadata as Obj).labels = { n: String(cluster.attempts.length) };
      });
    const error = await router.setWeight(30).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrafficRouterError);
    expect((error as TrafficRouterError).reason).toBe("Conflict");
    expect((error as Error).message).toMatch(
      /HTTPRoute "shop" in namespace "shop" changed under every one of 3 attempts/,
    );
    expect(cluster.attempts).toHaveLength(3);
  });

  it("names a missing route object", async () => {
    const { router } = setup({ gatewayAPI: { httpRoute: "shop", namespace: "edge" } }, []);
    await expect(router.setWeight(10)).rejects.toThrow(new RouteNotFoundError("HTTPRoute", "shop", "edge"));
    await expect(router.setWeight(10)).rejects.toThrow(
      'route object "shop" (HTTPRoute) not found in namespace "edge"',
    );
    expect(await router.verify(state(0))).toEqual({
      ok: false,
      reason: 'route object "shop" (HTTPRoute) not found in namespace "edge"',
    });
  });

  it("verify detects a hand edit, apply puts it right in one write", async () => {
    const { cluster, router } = setup(routing, [httpRoute()]);
    await router.apply(state(20, [beta], [shadow]));
    expect(cluster.writes).toHaveLength(1);
    expect(await router.verify(state(20, [beta], [shadow]))).toEqual({ ok: true });
    expect(await router.verify(state(20, [beta]))).toMatchObject({ ok: false });

    cluster.edit({ kind: "HTTPRoute", name: "shop", namespace: "shop" }, (o) => {
      const rules = (o.spec as { rules: { backendRefs: Obj[] }[] }).rules;
      rules[2]!.backendRefs[0]!.weight = 0;
    });
    expect(await router.verify(state(20, [beta], [shadow]))).toEqual({
      ok: false,
      reason: 'HTTPRoute "shop" in namespace "shop": spec.rules[2].backendRefs[0].weight is 0, expected 80',
    });
    await router.apply(state(20, [beta], [shadow]));
    expect(await router.verify(state(20, [beta], [shadow]))).toEqual({ ok: true });

    // A route that can no longer carry the split is a failed verification, not a crash.
    cluster.edit({ kind: "HTTPRoute", name: "shop", namespace: "shop" }, (o) => {
      (o.spec as Obj).rules = [{ backendRefs: [backend("elsewhere")] }];
    });
    expect(await router.verify(state(20))).toEqual({
      ok: false,
      reason:
        'HTTPRoute "shop" in namespace "shop": HTTPRoute "shop" has no rule with backendRefs to "shop-stable"',
    });
  });

  it("puts managed routes only on HTTPRoutes marked useHeaderRoutes (plugin form)", async () => {
    const second = httpRoute();
    second.metadata!.name = "shop-internal";
    const { cluster, router } = setup(
      {
        plugins: {
          "argoproj-labs/gatewayAPI": {
            httpRoutes: [{ name: "shop", useHeaderRoutes: true }, { name: "shop-internal" }],
          },
        },
      },
      [httpRoute(), second],
    );
    await router.setHeaderRoute(beta);
    await router.setWeight(5);
    expect(cluster.stored<{ spec: { rules: unknown[] } }>("HTTPRoute", "shop").spec.rules).toHaveLength(2);
    expect(
      cluster.stored<{ spec: { rules: unknown[] } }>("HTTPRoute", "shop-internal").spec.rules,
    ).toHaveLength(1);
    expect(weightsOf(cluster.stored("HTTPRoute", "shop-internal"))).toEqual([95, 5]);
    expect(await router.verify(state(5, [beta]))).toEqual({ ok: true });
  });

  it("validates before touching the cluster", async () => {
    const { cluster, router } = setup(routing, [httpRoute()]);
    await expect(router.setWeight(101)).rejects.toBeInstanceOf(InvalidSpecError);
    await expect(router.setHeaderRoute({ ...beta, name: "gamma" })).rejects.toThrow(/managedRoutes/);
    await expect(router.verify(state(-1))).rejects.toBeInstanceOf(InvalidSpecError);
    expect(cluster.attempts).toHaveLength(0);
  });
});

describe("Istio router I/O: write order", () => {
  const routing = {
    istio: {
      virtualService: { name: "shop" },
      destinationRule: { name: "shop", stableSubsetName: "stable", canarySubsetName: "canary" },
    },
  };
  const dest = (subset: string, weight: number) => ({ destination: { host: "shop", subset }, weight });
  const virtualService = (canaryWeight: number): KubernetesObject =>
    ({
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      metadata: { name: "shop", namespace: "shop" },
      spec: {
        hosts: ["shop"],
        http: [{ route: [dest("stable", 100 - canaryWeight), dest("canary", canaryWeight)] }],
      },
    }) as KubernetesObject;
  const destinationRule = (stable: string, canary: string): KubernetesObject =>
    ({
      apiVersion: "networking.istio.io/v1beta1",
      kind: "DestinationRule",
      metadata: { name: "shop", namespace: "shop" },
      spec: {
        host: "shop",
        subsets: [
          { name: "stable", labels: { "rollouts-pod-template-hash": stable } },
          { name: "canary", labels: { "rollouts-pod-template-hash": canary } },
        ],
      },
    }) as KubernetesObject;
  const canaryWeightOf = (object: KubernetesObject) =>
    (object as unknown as { spec: { http: { route: Obj[] }[] } }).spec.http.at(-1)!.route[1]!.weight;

  it("takes traffic off the canary subset before pointing it at a new version", async () => {
    const { cluster, router } = setup(routing, [virtualService(20), destinationRule("s1", "old")], {
      stableHash: "s1",
      canaryHash: "new",
    });
    await router.setWeight(10);
    expect(
      cluster.writes.map((w) => [w.kind, w.kind === "VirtualService" ? canaryWeightOf(w.object) : "-"]),
    ).toEqual([
      ["VirtualService", 0],
      ["DestinationRule", "-"],
      ["VirtualService", 10],
    ]);
    expect(await router.verify(state(10))).toEqual({ ok: true });
  });

  it("does not drain when the canary subset already selects nothing routed", async () => {
    const { cluster, router } = setup(routing, [virtualService(0), destinationRule("s1", "old")], {
      stableHash: "s1",
      canaryHash: "new",
    });
    await router.setWeight(10);
    expect(cluster.writes.map((w) => w.kind)).toEqual(["DestinationRule", "VirtualService"]);
  });

  it("on promotion moves the stable subset first, then the weight", async () => {
    const { cluster, router } = setup(routing, [virtualService(100), destinationRule("s1", "c2")], {
      stableHash: "c2",
      canaryHash: "c2",
    });
    await router.setWeight(0);
    expect(cluster.writes.map((w) => w.kind)).toEqual(["DestinationRule", "VirtualService"]);
    expect(canaryWeightOf(cluster.writes[1]!.object)).toBe(0);
  });

  it("verify reports a subset pointing at the wrong version", async () => {
    const { cluster, router } = setup(routing, [virtualService(10), destinationRule("s1", "c2")], {
      stableHash: "s1",
      canaryHash: "c2",
    });
    expect(await router.verify(state(10))).toEqual({ ok: true });
    cluster.edit({ kind: "DestinationRule", name: "shop", namespace: "shop" }, (o) => {
      ((o.spec as { subsets: Obj[] }).subsets[1]!.labels as Obj)["rollouts-pod-template-hash"] = "zzz";
    });
    expect(await router.verify(state(10))).toEqual({
      ok: false,
      reason:
        'DestinationRule "shop" in namespace "shop": subset "canary" selects rollouts-pod-template-hash "zzz", expected "c2"',
    });
  });
});

describe("NGINX router I/O", () => {
  const routing = { nginx: { stableIngress: "shop" } };
  const stable: KubernetesObject & { spec: Obj } = {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "shop", namespace: "shop" },
    spec: {
      rules: [
        {
          host: "shop.example.com",
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: "shop-stable", port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };

  it("creates the canary Ingress owned by the Rollout, then updates it", async () => {
    const { cluster, router } = setup(routing, [stable]);
    await router.setWeight(10);
    await router.setHeaderRoute(beta);
    await router.setWeight(10);
    expect(cluster.writes.map((w) => [w.verb, w.name])).toEqual([
      ["create", "shop-shop-canary"],
      ["update", "shop-shop-canary"],
    ]);
    const canary = cluster.stored<{ metadata: Obj }>("Ingress", "shop-shop-canary");
    expect(canary.metadata.ownerReferences).toEqual([
      {
        apiVersion: "slipway.dev/v1alpha1",
        kind: "Rollout",
        name: "shop",
        uid: "rollout-uid",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(canary.metadata.annotations).toMatchObject({
      "nginx.ingress.kubernetes.io/canary": "true",
      "nginx.ingress.kubernetes.io/canary-weight": "10",
      "nginx.ingress.kubernetes.io/canary-by-header": "x-cohort",
    });
    expect(await router.verify(state(10, [beta]))).toEqual({ ok: true });
    // The stable Ingress is never written.
    expect(cluster.stored("Ingress", "shop")).toMatchObject({ spec: stable.spec });
  });

  it("holds one header route at a time and cannot mirror", async () => {
    const { cluster, router } = setup(routing, [stable]);
    await router.setHeaderRoute(beta);
    await expect(router.setHeaderRoute({ ...beta, name: "shadow" })).rejects.toThrow(
      'the nginx router holds one header route at a time: "beta" is set; remove it before setting "shadow"',
    );
    await expect(router.setMirrorRoute(shadow)).rejects.toBeInstanceOf(UnsupportedError);
    await router.setMirrorRoute({ name: "shadow" });
    expect(await router.verify(state(0, [], [shadow]))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/cannot mirror/),
    });
    await router.removeManagedRoutes();
    expect(await router.verify(state(0))).toEqual({ ok: true });
    expect(cluster.writes).toHaveLength(2);
  });

  it("refuses to take over an Ingress of the same name it does not own", async () => {
    const squatter = {
      ...stable,
      metadata: { name: "shop-shop-canary", namespace: "shop" },
    } as KubernetesObject;
    const { router } = setup(routing, [stable, squatter]);
    const error = await router.setWeight(10).catch((e: unknown) => e);
    expect((error as TrafficRouterError).reason).toBe("NotOwned");
    expect(await router.verify(state(10))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not owned by Rollout "shop"/),
    });
  });
});

describe("no router and several routers", () => {
  it("NoRouter: weights are replica counts, verify passes, header routes need a router", async () => {
    const router = routerFor(rollout(), { client: new FakeCluster() });
    await router.setWeight(40);
    expect(await router.verify(state(40, [beta]))).toEqual({ ok: true });
    await expect(router.setHeaderRoute(beta)).rejects.toThrow(/needs spec\.strategy\.canary\.trafficRouting/);
    await router.setHeaderRoute({ name: "beta" });
    await router.removeManagedRoutes();
  });

  it("MultiRouter writes each and names the router that failed verification", async () => {
    const ingress: KubernetesObject = {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "shop", namespace: "shop" },
      spec: {
        rules: [
          {
            http: {
              paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "shop-stable" } } }],
            },
          },
        ],
      },
    } as KubernetesObject;
    const { cluster, router } = setup(
      { gatewayAPI: { httpRoute: "shop" }, nginx: { stableIngress: "shop" } },
      [httpRoute(), ingress],
    );
    await router.setWeight(25);
    expect(cluster.writes.map((w) => w.kind)).toEqual(["HTTPRoute", "Ingress"]);
    expect(await router.verify(state(25))).toEqual({ ok: true });
    expect(await router.verify(state(30))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^gatewayAPI: /),
    });
  });
});
