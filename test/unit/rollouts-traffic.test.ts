/**
 * The routers' pure transforms on fixtures: live routing object + what is asked → object to write.
 * Weights 0/10/50/100 and maxTrafficWeight, header routes (add, remove, order), mirror routes,
 * idempotence (applying twice changes nothing), the user's fields untouched, and the differences
 * `verify` reports.
 */
import { describe, expect, it } from "vitest";
import {
  InvalidRouteError,
  InvalidSpecError,
  UnsupportedError,
} from "../../controller/rollouts/traffic/errors.js";
import * as gw from "../../controller/rollouts/traffic/gateway-api/transform.js";
import * as istio from "../../controller/rollouts/traffic/istio/transform.js";
import { canonical, firstDifference, sameJson } from "../../controller/rollouts/traffic/json.js";
import * as nginx from "../../controller/rollouts/traffic/nginx/transform.js";
import type { HeaderRoute, MirrorRoute, TrafficState } from "../../controller/rollouts/traffic/router.js";

type Obj = Record<string, unknown>;

const MANAGED = "slipway.dev/managed-routes";
const beta: HeaderRoute = {
  name: "beta",
  match: [{ headerName: "x-cohort", headerValue: { exact: "beta" } }],
};
const shadow: MirrorRoute = { name: "shadow", percentage: 50, match: [{ path: { prefix: "/api/v2" } }] };
const state = (canaryWeight: number, headerRoutes: HeaderRoute[] = [], mirrorRoutes: MirrorRoute[] = []) =>
  ({ canaryWeight, headerRoutes, mirrorRoutes }) satisfies TrafficState;

/** The rules, rule names and backendRefs of a route, as plain JSON. */
const rulesOf = (route: gw.HTTPRoute) => (route.spec?.rules ?? []) as Obj[];
const httpOf = (vs: istio.VirtualService) => (vs.spec?.http ?? []) as Obj[];

// ---- Gateway API --------------------------------------------------------------------------------

const gwConfig: gw.GatewayRouteConfig = {
  stableService: "shop-stable",
  canaryService: "shop-canary",
  serviceNamespace: "shop",
  maxTrafficWeight: 100,
  managedRoutes: ["beta", "shadow", "gamma"],
};

const stableRef = (weight?: number) => ({
  group: "",
  kind: "Service",
  name: "shop-stable",
  port: 80,
  ...(weight === undefined ? {} : { weight }),
});
const canaryRef = (weight?: number) => ({ ...stableRef(weight), name: "shop-canary" });

function httpRoute(): gw.HTTPRoute {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: {
      name: "shop",
      namespace: "shop",
      resourceVersion: "7",
      labels: { team: "checkout" },
      annotations: { "example.com/owner": "checkout" },
    },
    spec: {
      parentRefs: [{ name: "gateway", namespace: "infra" }],
      hostnames: ["shop.example.com"],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/api" } }],
          filters: [
            {
              type: "URLRewrite",
              urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" } },
            },
          ],
          backendRefs: [stableRef()],
          timeouts: { request: "10s" },
        },
        {
          matches: [{ path: { type: "PathPrefix", value: "/static" } }],
          backendRefs: [{ name: "cdn", port: 80 }],
        },
      ],
    },
  };
}

/** Everything but the rules' backendRef weights and slipway's annotation and rules. */
function userView(route: gw.HTTPRoute): unknown {
  const copy = canonical(route) as gw.HTTPRoute;
  delete copy.metadata?.annotations?.[MANAGED];
  const rules = rulesOf(copy).filter((r) => !String(r.name ?? "").startsWith("slipway-"));
  for (const rule of rules) {
    rule.backendRefs = (rule.backendRefs as Obj[])
      .filter((r) => r.name !== "shop-canary")
      .map(({ weight: _, ...rest }) => rest);
  }
  copy.spec = { ...copy.spec, rules };
  return copy;
}

describe("Gateway API: weights", () => {
  it.each([0, 10, 50, 100])("setWeight(%i): stable gets 100 - w, canary w, nothing else moves", (w) => {
    const before = httpRoute();
    const after = gw.setWeight(before, w, gwConfig);
    expect(rulesOf(after)[0]!.backendRefs).toEqual([stableRef(100 - w), canaryRef(w)]);
    expect(rulesOf(after)[1]).toEqual(rulesOf(before)[1]);
    expect(userView(after)).toEqual(userView(before));
    expect(after.metadata).toEqual(before.metadata);
    // The input is never modified.
    expect(before).toEqual(httpRoute());
  });

  it("is idempotent: the second application changes nothing", () => {
    const once = gw.setWeight(httpRoute(), 10, gwConfig);
    expect(gw.setWeight(once, 10, gwConfig)).toEqual(once);
    // An existing canary backendRef is reused, not duplicated.
    expect(rulesOf(gw.setWeight(once, 40, gwConfig))[0]!.backendRefs).toEqual([stableRef(60), canaryRef(40)]);
  });

  it("weighs in units of maxTrafficWeight", () => {
    const cfg = { ...gwConfig, maxTrafficWeight: 1000 };
    expect(rulesOf(gw.setWeight(httpRoute(), 15, cfg))[0]!.backendRefs).toEqual([
      stableRef(985),
      canaryRef(15),
    ]);
    expect(() => gw.setWeight(httpRoute(), 1001, cfg)).toThrow(InvalidSpecError);
    expect(() => gw.setWeight(httpRoute(), 101, gwConfig)).toThrow(/between 0 and maxTrafficWeight \(100\)/);
    expect(() => gw.setWeight(httpRoute(), 2.5, gwConfig)).toThrow(InvalidSpecError);
  });

  it("sets every rule that routes to stable, and only those", () => {
    const route = httpRoute();
    rulesOf(route).push({
      matches: [{ path: { type: "PathPrefix", value: "/cart" } }],
      backendRefs: [stableRef(1), canaryRef(0), { name: "legacy", port: 80, weight: 5 }],
    });
    const after = gw.setWeight(route, 30, gwConfig);
    expect(rulesOf(after)[2]!.backendRefs).toEqual([
      stableRef(70),
      canaryRef(30),
      { name: "legacy", port: 80, weight: 5 },
    ]);
    expect(rulesOf(after)[1]).toEqual(rulesOf(route)[1]);
  });

  it("matches Services by kind, group and namespace, not by name alone", () => {
    const route = httpRoute();
    rulesOf(route)[0]!.backendRefs = [{ ...stableRef(), namespace: "elsewhere" }];
    expect(() => gw.setWeight(route, 10, gwConfig)).toThrow(
      new InvalidRouteError('HTTPRoute "shop" has no rule with backendRefs to "shop-stable"'),
    );
    rulesOf(route)[0]!.backendRefs = [{ ...stableRef(), namespace: "shop" }];
    expect(rulesOf(gw.setWeight(route, 10, gwConfig))[0]!.backendRefs).toHaveLength(2);
  });
});

describe("Gateway API: header routes", () => {
  const weighted = () => gw.setWeight(httpRoute(), 10, gwConfig);

  it("adds a rule before the user's, narrowing their matches by the header, 100% to canary", () => {
    const after = gw.setHeaderRoute(weighted(), beta, gwConfig);
    const rules = rulesOf(after);
    expect(rules).toHaveLength(3);
    expect(rules[0]).toEqual({
      name: "slipway-beta",
      matches: [
        {
          path: { type: "PathPrefix", value: "/api" },
          headers: [{ type: "Exact", name: "x-cohort", value: "beta" }],
        },
      ],
      // The user's rule's filters and timeouts apply to the canary's requests too.
      filters: rulesOf(httpRoute())[0]!.filters,
      timeouts: { request: "10s" },
      backendRefs: [canaryRef()],
    });
    expect(rules.slice(1)).toEqual(rulesOf(weighted()));
    expect(after.metadata?.annotations).toEqual({ "example.com/owner": "checkout", [MANAGED]: '["beta"]' });
  });

  it("turns each match into its own OR branch, prefixes into anchored regexes", () => {
    const route: HeaderRoute = {
      name: "beta",
      match: [
        { headerName: "x-cohort", headerValue: { regex: "beta|gamma" } },
        { headerName: "x-version", headerValue: { prefix: "2.1" } },
      ],
    };
    const rule = rulesOf(gw.setHeaderRoute(weighted(), route, gwConfig))[0]!;
    expect((rule.matches as Obj[]).map((m) => m.headers)).toEqual([
      [{ type: "RegularExpression", name: "x-cohort", value: "beta|gamma" }],
      [{ type: "RegularExpression", name: "x-version", value: "2\\.1.*" }],
    ]);
  });

  it("matches every path when the user's rule has no matches", () => {
    const route = httpRoute();
    delete rulesOf(route)[0]!.matches;
    const rule = rulesOf(gw.setHeaderRoute(route, beta, gwConfig))[0]!;
    expect(rule.matches).toEqual([
      {
        path: { type: "PathPrefix", value: "/" },
        headers: [{ type: "Exact", name: "x-cohort", value: "beta" }],
      },
    ]);
    // The canary backendRef did not exist yet: it is made from the stable one.
    expect(rule.backendRefs).toEqual([canaryRef()]);
  });

  it("orders managed rules by managedRoutes whatever the call order, and replaces by name", () => {
    const gamma: HeaderRoute = {
      name: "gamma",
      match: [{ headerName: "x-cohort", headerValue: { exact: "gamma" } }],
    };
    const a = gw.setHeaderRoute(gw.setHeaderRoute(weighted(), gamma, gwConfig), beta, gwConfig);
    const b = gw.setHeaderRoute(gw.setHeaderRoute(weighted(), beta, gwConfig), gamma, gwConfig);
    expect(a).toEqual(b);
    expect(rulesOf(a).map((r) => r.name)).toEqual(["slipway-beta", "slipway-gamma", undefined, undefined]);
    expect(a.metadata?.annotations?.[MANAGED]).toBe('["beta","gamma"]');

    const changed = gw.setHeaderRoute(
      a,
      { ...beta, match: [{ headerName: "x-cohort", headerValue: { exact: "b2" } }] },
      gwConfig,
    );
    expect(rulesOf(changed)).toHaveLength(4);
    expect(JSON.stringify(rulesOf(changed)[0])).toContain('"b2"');
  });

  it("is idempotent, and removing it gives back the route exactly", () => {
    const once = gw.setHeaderRoute(weighted(), beta, gwConfig);
    expect(gw.setHeaderRoute(once, beta, gwConfig)).toEqual(once);
    expect(gw.removeRoute(once, "beta", gwConfig)).toEqual(weighted());
    expect(gw.setHeaderRoute(once, { ...beta, match: [] }, gwConfig)).toEqual(weighted());
    // Removing what is not there is a no-op.
    expect(gw.removeRoute(weighted(), "beta", gwConfig)).toEqual(weighted());
  });

  it("never takes a user's rule for slipway's", () => {
    const route = weighted();
    rulesOf(route).unshift({ name: "slipway-beta", backendRefs: [{ name: "mine", port: 80 }] });
    const after = gw.removeManagedRoutes(gw.setHeaderRoute(route, beta, gwConfig), gwConfig);
    // Without the annotation naming it, the user's rule named slipway-beta is theirs.
    expect(gw.removeRoute(route, "beta", gwConfig)).toEqual(route);
    expect(rulesOf(after).filter((r) => r.name === "slipway-beta")).toHaveLength(0);
  });

  it("refuses a route that managedRoutes does not list", () => {
    expect(() => gw.setHeaderRoute(weighted(), { ...beta, name: "delta" }, gwConfig)).toThrow(
      'setHeaderRoute "delta": the route must be listed in trafficRouting.managedRoutes ("beta", "shadow", "gamma")',
    );
    expect(() =>
      gw.setHeaderRoute(
        weighted(),
        { name: "beta", match: [{ headerName: "x", headerValue: {} }] },
        gwConfig,
      ),
    ).toThrow(/exactly one of exact, prefix or regex/);
  });

  it("names rules validly whatever the route is called", () => {
    expect(gw.ruleName("beta")).toBe("slipway-beta");
    expect(gw.ruleName("Beta Users")).toMatch(/^slipway-beta-users-[0-9a-f]{8}$/);
    expect(gw.ruleName("Beta Users")).not.toBe(gw.ruleName("beta-users"));
    expect(gw.ruleName("x".repeat(100)).length).toBeLessThanOrEqual(63);
  });
});

describe("Gateway API: mirror routes", () => {
  it("adds a rule with the weighted backendRefs and a RequestMirror filter to the canary", () => {
    const after = gw.setMirrorRoute(gw.setWeight(httpRoute(), 10, gwConfig), shadow, gwConfig);
    const rule = rulesOf(after)[0]!;
    expect(rule).toEqual({
      name: "slipway-shadow",
      matches: [{ path: { type: "PathPrefix", value: "/api/v2" } }],
      backendRefs: [stableRef(90), canaryRef(10)],
      filters: [
        ...(rulesOf(httpRoute())[0]!.filters as Obj[]),
        { type: "RequestMirror", requestMirror: { backendRef: canaryRef(), percent: 50 } },
      ],
      timeouts: { request: "10s" },
    });
  });

  it("mirrors 100% by default, converts method, path and header matches", () => {
    const mirror: MirrorRoute = {
      name: "shadow",
      match: [
        { method: { exact: "post" }, path: { exact: "/api/cart" }, headers: { "x-debug": { prefix: "on" } } },
      ],
    };
    const rule = rulesOf(gw.setMirrorRoute(httpRoute(), mirror, gwConfig))[0]!;
    expect(rule.matches).toEqual([
      {
        path: { type: "Exact", value: "/api/cart" },
        method: "POST",
        headers: [{ type: "RegularExpression", name: "x-debug", value: "on.*" }],
      },
    ]);
    expect((rule.filters as Obj[]).at(-1)).toEqual({
      type: "RequestMirror",
      requestMirror: { backendRef: canaryRef(), percent: 100 },
    });
    expect(() =>
      gw.setMirrorRoute(httpRoute(), { name: "shadow", match: [{ method: { regex: "P.*" } }] }, gwConfig),
    ).toThrow('setMirrorRoute "shadow": Gateway API matches the method exactly; use method.exact');
  });

  it("follows later weight changes; header rules keep 100% canary", () => {
    let route = gw.setMirrorRoute(httpRoute(), shadow, gwConfig);
    route = gw.setHeaderRoute(route, beta, gwConfig);
    route = gw.setWeight(route, 50, gwConfig);
    expect(rulesOf(route).map((r) => r.name)).toEqual([
      "slipway-beta",
      "slipway-shadow",
      undefined,
      undefined,
    ]);
    expect(rulesOf(route)[0]!.backendRefs).toEqual([canaryRef()]);
    expect(rulesOf(route)[1]!.backendRefs).toEqual([stableRef(50), canaryRef(50)]);
    expect(rulesOf(route)[2]!.backendRefs).toEqual([stableRef(50), canaryRef(50)]);
    // Same as rendering the whole state at once.
    expect(gw.render(httpRoute(), state(50, [beta], [shadow]), gwConfig)).toEqual(route);
  });

  it("rewrites a managed rule when the route or its base rule changes", () => {
    const at50 = gw.setMirrorRoute(httpRoute(), shadow, gwConfig);
    const at100 = gw.setMirrorRoute(at50, { ...shadow, percentage: 100 }, gwConfig);
    expect(((rulesOf(at100)[0]!.filters as Obj[]).at(-1)!.requestMirror as Obj).percent).toBe(100);
    // The user drops the timeouts from their rule: the managed copy follows on the next render.
    const edited = gw.setHeaderRoute(at50, beta, gwConfig);
    delete rulesOf(edited)[2]!.timeouts;
    const next = gw.render(edited, state(0, [beta], [shadow]), gwConfig);
    expect(rulesOf(next).map((r) => r.timeouts)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("removeManagedRoutes restores the user's route (weights aside)", () => {
    const route = gw.render(httpRoute(), state(20, [beta], [shadow]), gwConfig);
    const removed = gw.removeManagedRoutes(route, gwConfig);
    expect(removed).toEqual(gw.setWeight(httpRoute(), 20, gwConfig));
    expect(userView(removed)).toEqual(userView(httpRoute()));
    expect(removed.metadata?.annotations).toEqual(httpRoute().metadata?.annotations);
  });
});

describe("Gateway API: render and verify", () => {
  it("render is idempotent and replaces managed rules not asked for", () => {
    const full = gw.render(httpRoute(), state(10, [beta], [shadow]), gwConfig);
    expect(gw.render(full, state(10, [beta], [shadow]), gwConfig)).toEqual(full);
    expect(firstDifference(gw.render(full, state(10, [beta], [shadow]), gwConfig), full)).toBeUndefined();
    expect(gw.render(full, state(10), gwConfig)).toEqual(gw.setWeight(httpRoute(), 10, gwConfig));
  });

  it("reports a hand edit as the first difference", () => {
    const live = gw.render(httpRoute(), state(10, [beta]), gwConfig);
    (rulesOf(live)[1]!.backendRefs as Obj[])[0]!.weight = 50;
    expect(firstDifference(gw.render(live, state(10, [beta]), gwConfig), live)).toBe(
      "spec.rules[1].backendRefs[0].weight is 50, expected 90",
    );
    const deleted = gw.render(httpRoute(), state(10, [beta]), gwConfig);
    rulesOf(deleted).shift();
    expect(firstDifference(gw.render(deleted, state(10, [beta]), gwConfig), deleted)).toMatch(
      /^spec\.rules has 2 entries, expected 3/,
    );
  });

  it("keeps a live managed rule the API server filled with defaults", () => {
    const live = gw.render(httpRoute(), state(10, [beta]), gwConfig);
    const rule = rulesOf(live)[0]!;
    (rule.backendRefs as Obj[])[0]!.weight = 1; // Gateway API's default weight
    expect(gw.render(live, state(10, [beta]), gwConfig)).toEqual(live);
    // ...but not one whose meaning changed.
    ((rule.matches as Obj[])[0]!.headers as Obj[])[0]!.value = "alpha";
    expect(firstDifference(gw.render(live, state(10, [beta]), gwConfig), live)).toBe(
      'spec.rules[0].matches[0].headers[0].value is "alpha", expected "beta"',
    );
  });

  it("checks the whole state", () => {
    expect(() => gw.render(httpRoute(), state(10, [beta, beta]), gwConfig)).toThrow(/used twice/);
    expect(() => gw.render(httpRoute(), state(10, [{ name: "beta", match: [] }]), gwConfig)).toThrow(
      /no match/,
    );
    expect(() => gw.render(httpRoute(), state(10, [], [{ ...shadow, percentage: 101 }]), gwConfig)).toThrow(
      /outside 0\.\.100/,
    );
  });
});

// ---- Istio --------------------------------------------------------------------------------------

const istioConfig: istio.IstioRouteConfig = {
  stableService: "shop-stable",
  canaryService: "shop-canary",
  namespace: "shop",
  maxTrafficWeight: 100,
  managedRoutes: ["beta", "shadow"],
};

const dest = (host: string, weight?: number, subset?: string) => ({
  destination: { host, ...(subset ? { subset } : {}), port: { number: 80 } },
  ...(weight === undefined ? {} : { weight }),
});

function virtualService(): istio.VirtualService {
  return {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "VirtualService",
    metadata: { name: "shop", namespace: "shop", annotations: { "example.com/owner": "checkout" } },
    spec: {
      hosts: ["shop.example.com"],
      gateways: ["infra/gateway"],
      http: [
        {
          name: "primary",
          match: [{ uri: { prefix: "/api" } }],
          rewrite: { uri: "/" },
          retries: { attempts: 3 },
          route: [dest("shop-stable", 100), dest("shop-canary", 0)],
        },
        { name: "static", route: [dest("cdn")] },
      ],
    },
  };
}

describe("Istio: weights", () => {
  it.each([0, 10, 50, 100])("setWeight(%i) at host level", (w) => {
    const before = virtualService();
    const after = istio.setWeight(before, w, istioConfig);
    expect(httpOf(after)[0]!.route).toEqual([dest("shop-stable", 100 - w), dest("shop-canary", w)]);
    expect({ ...httpOf(after)[0], route: undefined }).toEqual({ ...httpOf(before)[0], route: undefined });
    expect(httpOf(after)[1]).toEqual(httpOf(before)[1]);
    expect(after.metadata).toEqual(before.metadata);
    expect(istio.setWeight(after, w, istioConfig)).toEqual(after);
  });

  it("writes percentages (Istio wants a sum of 100) whatever maxTrafficWeight is", () => {
    const cfg = { ...istioConfig, maxTrafficWeight: 1000 };
    expect(httpOf(istio.setWeight(virtualService(), 125, cfg))[0]!.route).toEqual([
      dest("shop-stable", 87),
      dest("shop-canary", 13),
    ]);
    expect(istio.istioWeights(1000, 1000)).toEqual({ stable: 0, canary: 100 });
  });

  it("adds a missing canary destination with the stable host's form", () => {
    const vs = virtualService();
    httpOf(vs)[0]!.route = [dest("shop-stable.shop.svc.cluster.local")];
    expect(httpOf(istio.setWeight(vs, 10, istioConfig))[0]!.route).toEqual([
      dest("shop-stable.shop.svc.cluster.local", 90),
      dest("shop-canary.shop.svc.cluster.local", 10),
    ]);
  });

  it("subset level: one host, stable and canary subsets", () => {
    const cfg = { ...istioConfig, subsets: { stable: "stable", canary: "canary" } };
    const vs = virtualService();
    httpOf(vs)[0]!.route = [dest("shop", 100, "stable")];
    expect(httpOf(istio.setWeight(vs, 25, cfg))[0]!.route).toEqual([
      dest("shop", 75, "stable"),
      dest("shop", 25, "canary"),
    ]);
  });

  it("manages only the routes named in virtualService.routes, with clear errors", () => {
    const vs = virtualService();
    httpOf(vs).push({ name: "legacy", route: [dest("shop-stable", 100)] });
    const after = istio.setWeight(vs, 10, { ...istioConfig, routes: ["primary"] });
    expect(httpOf(after)[2]).toEqual(httpOf(vs)[2]);
    expect(() => istio.setWeight(vs, 10, { ...istioConfig, routes: ["nope"] })).toThrow(
      'VirtualService "shop" has no HTTP route named "nope"',
    );
    expect(() => istio.setWeight(vs, 10, { ...istioConfig, routes: ["static"] })).toThrow(
      'VirtualService "shop" HTTP route "static" has no destination to "shop-stable"',
    );
    expect(() => istio.setWeight(vs, 10, { ...istioConfig, stableService: "other" })).toThrow(
      InvalidRouteError,
    );
  });
});

describe("Istio: header and mirror routes", () => {
  const weighted = () => istio.setWeight(virtualService(), 10, istioConfig);

  it("inserts a named header route first, copying the base route's rewrite and retries", () => {
    const after = istio.setHeaderRoute(weighted(), beta, istioConfig);
    expect(httpOf(after)[0]).toEqual({
      name: "beta",
      match: [{ uri: { prefix: "/api" }, headers: { "x-cohort": { exact: "beta" } } }],
      route: [dest("shop-canary", 100)],
      rewrite: { uri: "/" },
      retries: { attempts: 3 },
    });
    expect(httpOf(after).slice(1)).toEqual(httpOf(weighted()));
    expect(after.metadata?.annotations?.[MANAGED]).toBe('["beta"]');
    expect(istio.setHeaderRoute(after, beta, istioConfig)).toEqual(after);
    expect(istio.removeRoute(after, "beta", istioConfig)).toEqual(weighted());
  });

  it("adds a mirror route with the weighted route, mirror and mirrorPercentage", () => {
    const after = istio.setMirrorRoute(weighted(), shadow, istioConfig);
    expect(httpOf(after)[0]).toEqual({
      name: "shadow",
      match: [{ uri: { prefix: "/api/v2" } }],
      route: [dest("shop-stable", 90), dest("shop-canary", 10)],
      mirror: { host: "shop-canary", port: { number: 80 } },
      mirrorPercentage: { value: 50 },
      rewrite: { uri: "/" },
      retries: { attempts: 3 },
    });
    // Weight changes follow into the mirror route; order follows managedRoutes.
    const both = istio.setWeight(istio.setHeaderRoute(after, beta, istioConfig), 30, istioConfig);
    expect(httpOf(both).map((h) => h.name)).toEqual(["beta", "shadow", "primary", "static"]);
    expect(httpOf(both)[1]!.route).toEqual([dest("shop-stable", 70), dest("shop-canary", 30)]);
    expect(both).toEqual(istio.render(virtualService(), state(30, [beta], [shadow]), istioConfig));
    expect(istio.removeManagedRoutes(both, istioConfig)).toEqual(
      istio.setWeight(virtualService(), 30, istioConfig),
    );
  });

  it("converts mirror matches: method, uri and headers, each as exact, prefix or regex", () => {
    expect(
      istio.istioMatch(
        {
          method: { exact: "GET" },
          path: { regex: "/v[0-9]+/.*" },
          headers: { "x-debug": { prefix: "on" } },
        },
        "shadow",
      ),
    ).toEqual({
      method: { exact: "GET" },
      uri: { regex: "/v[0-9]+/.*" },
      headers: { "x-debug": { prefix: "on" } },
    });
  });

  it("refuses to shadow a user's route with the same name", () => {
    const vs = weighted();
    httpOf(vs).push({ name: "beta", route: [dest("shop-stable")] });
    expect(() => istio.setHeaderRoute(vs, beta, istioConfig)).toThrow(
      /already has an HTTP route named "beta"/,
    );
  });

  it("render detects a hand-edited weight and a stray managed route", () => {
    const live = istio.render(virtualService(), state(10, [beta]), istioConfig);
    expect(firstDifference(istio.render(live, state(10, [beta]), istioConfig), live)).toBeUndefined();
    (httpOf(live)[1]!.route as Obj[])[1]!.weight = 40;
    expect(firstDifference(istio.render(live, state(10, [beta]), istioConfig), live)).toBe(
      "spec.http[1].route[1].weight is 40, expected 10",
    );
    const stray = istio.render(virtualService(), state(10, [beta]), istioConfig);
    expect(firstDifference(istio.render(stray, state(10), istioConfig), stray)).toMatch(
      /^spec\.http has 3 entries, expected 2/,
    );
  });
});

describe("Istio: DestinationRule subsets", () => {
  const rule = (): istio.DestinationRule => ({
    apiVersion: "networking.istio.io/v1beta1",
    kind: "DestinationRule",
    metadata: { name: "shop", namespace: "shop" },
    spec: {
      host: "shop",
      trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } },
      subsets: [
        { name: "stable", labels: { app: "shop" } },
        { name: "canary", labels: { app: "shop", "rollouts-pod-template-hash": "old" } },
        { name: "debug", labels: { debug: "true" } },
      ],
    },
  });
  const subsets = { stable: "stable", canary: "canary" };

  it("points each subset at its hash, keeping other labels, subsets and fields", () => {
    const after = istio.withSubsetHashes(rule(), subsets, { stable: "aaa", canary: "bbb" });
    expect(after.spec?.subsets).toEqual([
      { name: "stable", labels: { app: "shop", "rollouts-pod-template-hash": "aaa" } },
      { name: "canary", labels: { app: "shop", "rollouts-pod-template-hash": "bbb" } },
      { name: "debug", labels: { debug: "true" } },
    ]);
    expect(after.spec?.trafficPolicy).toEqual(rule().spec?.trafficPolicy);
    expect(istio.subsetHash(after, "canary")).toBe("bbb");
    expect(istio.withSubsetHashes(after, subsets, { stable: "aaa", canary: "bbb" })).toEqual(after);
    // Only the hashes given are written.
    expect(istio.subsetHash(istio.withSubsetHashes(rule(), subsets, { stable: "aaa" }), "canary")).toBe(
      "old",
    );
  });

  it("names a missing subset", () => {
    expect(() =>
      istio.withSubsetHashes(rule(), { stable: "stable", canary: "preview" }, { canary: "x" }),
    ).toThrow('DestinationRule "shop" has no subset "preview"');
  });
});

// ---- NGINX --------------------------------------------------------------------------------------

const nginxConfig: nginx.NginxConfig = {
  rolloutName: "shop",
  stableService: "shop-stable",
  canaryService: "shop-canary",
  annotationPrefix: "nginx.ingress.kubernetes.io",
  additionalIngressAnnotations: {},
  canaryIngressAnnotations: {},
  maxTrafficWeight: 100,
};
const owner = {
  apiVersion: "slipway.dev/v1alpha1",
  kind: "Rollout",
  name: "shop",
  uid: "u-1",
  controller: true,
};
const NGINX = "nginx.ingress.kubernetes.io";

const ingressPath = (path: string, service: string) => ({
  path,
  pathType: "Prefix",
  backend: { service: { name: service, port: { number: 80 } } },
});

function stableIngress(): nginx.Ingress {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: "shop-ingress",
      namespace: "shop",
      annotations: { "kubernetes.io/ingress.class": "nginx", [`${NGINX}/proxy-body-size`]: "8m" },
    },
    spec: {
      ingressClassName: "nginx",
      tls: [{ hosts: ["shop.example.com"], secretName: "shop-tls" }],
      rules: [
        {
          host: "shop.example.com",
          http: { paths: [ingressPath("/", "shop-stable"), ingressPath("/static", "cdn")] },
        },
        { host: "static.example.com", http: { paths: [ingressPath("/", "cdn")] } },
      ],
    },
  };
}

describe("NGINX: the canary Ingress", () => {
  it.each([0, 10, 50, 100])("setWeight(%i) builds it from the stable Ingress", (w) => {
    const canary = nginx.canaryIngress(
      stableIngress(),
      undefined,
      { canaryWeight: w },
      { ...nginxConfig, owner },
    );
    expect(canary).toEqual({
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: {
        name: "shop-shop-ingress-canary",
        namespace: "shop",
        annotations: {
          "kubernetes.io/ingress.class": "nginx",
          [`${NGINX}/canary`]: "true",
          [`${NGINX}/canary-weight`]: String(w),
        },
        ownerReferences: [owner],
      },
      spec: {
        ingressClassName: "nginx",
        rules: [{ host: "shop.example.com", http: { paths: [ingressPath("/", "shop-canary")] } }],
      },
    });
    expect(
      nginx.canaryIngress(stableIngress(), canary, { canaryWeight: w }, { ...nginxConfig, owner }),
    ).toEqual(canary);
  });

  it("honours maxTrafficWeight, annotationPrefix and the extra annotations", () => {
    const cfg: nginx.NginxConfig = {
      ...nginxConfig,
      maxTrafficWeight: 1000,
      annotationPrefix: "custom.nginx.org",
      additionalIngressAnnotations: { "canary-by-header": "x-canary" },
      canaryIngressAnnotations: { "example.com/team": "checkout" },
    };
    expect(
      nginx.canaryIngress(stableIngress(), undefined, { canaryWeight: 100 }, cfg).metadata?.annotations,
    ).toEqual({
      "kubernetes.io/ingress.class": "nginx",
      "custom.nginx.org/canary": "true",
      "custom.nginx.org/canary-weight": "100",
      "custom.nginx.org/canary-weight-total": "1000",
      "custom.nginx.org/canary-by-header": "x-canary",
      "example.com/team": "checkout",
    });
    expect(() => nginx.canaryIngress(stableIngress(), undefined, { canaryWeight: 1001 }, cfg)).toThrow(
      InvalidSpecError,
    );
  });

  it("maps a header route to canary-by-header, keeps it across weights, and removes it", () => {
    const cfg = { ...nginxConfig, additionalIngressAnnotations: { "canary-by-header": "x-canary" } };
    const base = nginx.canaryIngress(stableIngress(), undefined, { canaryWeight: 10 }, cfg);
    const withHeader = nginx.canaryIngress(stableIngress(), base, { headerRoute: beta }, cfg);
    expect(withHeader.metadata?.annotations).toMatchObject({
      [`${NGINX}/canary-by-header`]: "x-cohort",
      [`${NGINX}/canary-by-header-value`]: "beta",
      [`${NGINX}/canary-weight`]: "10",
      "slipway.dev/header-route": "beta",
    });
    const reweighted = nginx.canaryIngress(stableIngress(), withHeader, { canaryWeight: 0 }, cfg);
    expect(reweighted.metadata?.annotations).toEqual({
      ...withHeader.metadata?.annotations,
      [`${NGINX}/canary-weight`]: "0",
    });
    const removed = nginx.canaryIngress(stableIngress(), reweighted, { headerRoute: null }, cfg);
    expect(removed).toEqual(nginx.canaryIngress(stableIngress(), undefined, { canaryWeight: 0 }, cfg));
    expect(removed.metadata?.annotations?.[`${NGINX}/canary-by-header`]).toBe("x-canary");

    const pattern = (headerValue: HeaderRoute["match"][number]["headerValue"]) =>
      nginx.canaryIngress(
        stableIngress(),
        base,
        { headerRoute: { name: "beta", match: [{ headerName: "x-v", headerValue }] } },
        cfg,
      ).metadata?.annotations ?? {};
    expect(pattern({ regex: "2\\..*" })[`${NGINX}/canary-by-header-pattern`]).toBe("2\\..*");
    expect(pattern({ prefix: "2.1" })[`${NGINX}/canary-by-header-pattern`]).toBe("2\\.1.*");
    expect(pattern({ prefix: "2.1" })[`${NGINX}/canary-by-header-value`]).toBeUndefined();
  });

  it("keeps annotations and metadata others own, replaces hand edits under the prefix", () => {
    const live = nginx.canaryIngress(stableIngress(), undefined, { canaryWeight: 10 }, nginxConfig);
    live.metadata = {
      ...live.metadata,
      resourceVersion: "12",
      uid: "c-1",
      labels: { team: "checkout" },
      annotations: {
        ...live.metadata?.annotations,
        "example.com/note": "hi",
        [`${NGINX}/canary-weight`]: "70",
      },
    };
    const next = nginx.canaryIngress(stableIngress(), live, { canaryWeight: 10 }, nginxConfig);
    expect(next.metadata?.annotations?.["example.com/note"]).toBe("hi");
    expect(next.metadata?.annotations?.[`${NGINX}/canary-weight`]).toBe("10");
    expect(next.metadata?.labels).toEqual({ team: "checkout" });
    expect(next.metadata?.resourceVersion).toBe("12");
    expect(firstDifference(next, live)).toBe(
      'metadata.annotations["nginx.ingress.kubernetes.io/canary-weight"] is "70", expected "10"',
    );
  });

  it("refuses what ingress-nginx cannot do, and an Ingress it does not own", () => {
    const two: HeaderRoute = { name: "beta", match: [...beta.match, ...beta.match] };
    expect(() => nginx.canaryIngress(stableIngress(), undefined, { headerRoute: two }, nginxConfig)).toThrow(
      UnsupportedError,
    );
    expect(() =>
      nginx.render(stableIngress(), undefined, state(0, [], [shadow]), ["shadow"], nginxConfig),
    ).toThrow(/cannot mirror traffic/);
    const foreign = nginx.canaryIngress(stableIngress(), undefined, { canaryWeight: 0 }, nginxConfig);
    expect(() =>
      nginx.canaryIngress(stableIngress(), foreign, { canaryWeight: 0 }, { ...nginxConfig, owner }),
    ).toThrow('Ingress "shop-shop-ingress-canary" exists and is not owned by Rollout "shop"');
    const noStable = stableIngress();
    noStable.spec = { rules: [{ http: { paths: [ingressPath("/", "cdn")] } }] };
    expect(() => nginx.canaryIngress(noStable, undefined, { canaryWeight: 0 }, nginxConfig)).toThrow(
      'Ingress "shop-ingress" has no rule with a backend to "shop-stable"',
    );
  });

  it("names the canary Ingress as Argo does, within 253 characters", () => {
    expect(nginx.canaryIngressName("shop", "web")).toBe("shop-web-canary");
    const long = nginx.canaryIngressName("r".repeat(200), "s".repeat(100));
    expect(long).toHaveLength(253);
    expect(long.endsWith("-canary")).toBe(true);
  });
});

describe("first differences", () => {
  it("says where and what, treating undefined keys as absent", () => {
    expect(firstDifference({ a: 1, b: undefined }, { a: 1 })).toBeUndefined();
    expect(sameJson({ a: [1, { b: undefined }] }, { a: [1, {}] })).toBe(true);
    expect(firstDifference({ a: { "x/y": "1" } }, { a: {} })).toBe('a["x/y"] is missing, expected "1"');
    expect(firstDifference({}, { extra: true })).toBe("extra is true, expected it absent");
    expect(firstDifference([1], 2)).toBe("the object is 2, expected [1]");
  });
});
