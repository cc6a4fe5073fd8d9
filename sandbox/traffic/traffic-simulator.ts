/**
 * Generates the sandbox's simulated traffic: every Service, HTTPRoute, VirtualService or Ingress
 * annotated `sim.slipway.dev/rps` receives that many requests per second, each routed through the
 * live routing objects to a ready pod, which answers per its annotations; the results feed the
 * Prometheus series at `/sim/metrics` and the shares at `/sim/traffic`.
 *
 * Time only enters through `tick(nowMs)`, and every route object draws from its own seeded stream,
 * so a run is reproducible: same seed, same objects, same ticks → same requests and answers.
 */
import type { Registry } from "prom-client";
import type { GroupVersionResource, KubeObject, SandboxApi, WatchEvent } from "../core/types.js";
import {
  ANNOTATION_HEADERS,
  ANNOTATION_RPS,
  type HeaderMix,
  parseHeaderMix,
  parseRps,
  ROUTE_ANNOTATIONS,
  SIM_PREFIX,
} from "./annotations.js";
import { EventReporter } from "./event-reporter.js";
import { ObjectIndex } from "./object-index.js";
import { podBehaviour, sampleResponse } from "./pod-behaviour.js";
import { deriveSeed, Prng } from "./prng.js";
import { type RouteKind, resolveRoute, routeKindOf } from "./route-resolver.js";
import type { Delivery, RouteContext, SimRequest } from "./route-types.js";
import { podTemplateHash } from "./service.js";
import { TrafficMetrics } from "./traffic-metrics.js";
import { type RouteId, type TrafficReport, TrafficWindow } from "./traffic-window.js";

export interface TrafficSimulatorOptions {
  /** Seed of every random draw (default 1). */
  seed?: number;
  /** Interval of the timer start() runs (default 100 ms). */
  tickMs?: number;
  /** Milliseconds since the epoch; injected so tests and benchmarks drive time themselves. */
  clock?: () => number;
  /** Registry for the two series (default: a registry of its own). */
  registry?: Registry;
  /**
   * Longest stretch one tick catches up on (default 60 s). After a longer stall (a suspended laptop)
   * the simulator resumes at the configured rate instead of sending the whole backlog at once.
   */
  maxCatchUpMs?: number;
  /** Seconds of per-second history kept for trafficReport (default 900). */
  historySeconds?: number;
  /** Told about an exception escaping a timer-driven tick; the timer keeps running. */
  onError?: (error: unknown) => void;
}

/** Every collection the simulator reads; both Istio versions, since either may be served. */
export const WATCHED_RESOURCES: readonly GroupVersionResource[] = [
  { group: "", version: "v1", resource: "services" },
  { group: "", version: "v1", resource: "pods" },
  { group: "networking.k8s.io", version: "v1", resource: "ingresses" },
  { group: "gateway.networking.k8s.io", version: "v1", resource: "httproutes" },
  { group: "networking.istio.io", version: "v1beta1", resource: "virtualservices" },
  { group: "networking.istio.io", version: "v1", resource: "virtualservices" },
  { group: "networking.istio.io", version: "v1beta1", resource: "destinationrules" },
  { group: "networking.istio.io", version: "v1", resource: "destinationrules" },
];

const WATCHED_COLLECTIONS = new Set(WATCHED_RESOURCES.map((r) => `${r.group}/${r.resource}`)).size;

const MIRRORED = true;
const SERVED = false;

/** A route object carrying `sim.slipway.dev/*` annotations, and its generator state. */
interface RouteState extends RouteId {
  object: KubeObject;
  rps: number;
  headers: HeaderMix;
  /** Fractional requests owed from earlier ticks, so the long-run rate is exact. */
  carry: number;
  random: Prng;
  /** Clock time the simulator first saw the object; traffic starts from there. */
  firstSeenMs: number;
  /** Annotations not yet parsed since the object last changed. */
  stale: boolean;
}

export class TrafficSimulator {
  private readonly seed: number;
  private readonly tickMs: number;
  private readonly clock: () => number;
  private readonly maxCatchUpMs: number;
  private readonly onError: ((error: unknown) => void) | undefined;
  private readonly index = new ObjectIndex();
  private readonly routes = new Map<string, RouteState>();
  private ordered: RouteState[] | undefined;
  private readonly reporter: EventReporter;
  private readonly metrics: TrafficMetrics;
  private readonly window: TrafficWindow;
  /** Unsubscribe functions by "group/resource" (one per collection, whichever version is served). */
  private readonly subscriptions = new Map<string, () => void>();
  private timer: NodeJS.Timeout | undefined;
  private lastTickMs: number;

  constructor(
    private readonly api: SandboxApi,
    options: TrafficSimulatorOptions = {},
  ) {
    this.seed = options.seed ?? 1;
    // A timer below 10 ms would only burn CPU: the work per tick is proportional to elapsed time.
    this.tickMs = Math.max(10, options.tickMs ?? 100);
    this.clock = options.clock ?? Date.now;
    this.maxCatchUpMs = options.maxCatchUpMs ?? 60_000;
    this.onError = options.onError;
    this.reporter = new EventReporter(api);
    this.metrics = new TrafficMetrics(options.registry);
    this.window = new TrafficWindow(options.historySeconds);
    this.lastTickMs = this.clock();
  }

  /** Follows the store and sends traffic every `tickMs` until stop(). */
  start(): void {
    if (this.timer) return;
    this.connect();
    this.lastTickMs = this.clock();
    this.timer = setInterval(() => {
      try {
        this.tick(this.clock());
      } catch (error) {
        this.onError?.(error);
      }
    }, this.tickMs);
    // The sandbox server keeps the process alive; the simulator alone should not.
    this.timer.unref();
  }

  /** Stops the timer and the subscriptions; a later start() or tick() lists the store afresh. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.disconnect();
    this.index.clear();
    this.routes.clear();
    this.ordered = undefined;
    this.reporter.clear();
  }

  /**
   * Sends the requests due between the previous tick and `nowMs`: rps × elapsed per route object,
   * fractions carried over. Synchronous, and the only place traffic is generated.
   */
  tick(nowMs: number): void {
    if (this.subscriptions.size < WATCHED_COLLECTIONS) this.connect();
    const elapsed = nowMs - this.lastTickMs;
    if (elapsed <= 0) return;
    const from = elapsed > this.maxCatchUpMs ? nowMs - this.maxCatchUpMs : this.lastTickMs;
    this.lastTickMs = nowMs;
    for (const route of this.orderedRoutes()) {
      if (route.stale) this.parseAnnotations(route);
      // A route that appeared since the last tick owes traffic only from when it was first seen.
      const since = route.firstSeenMs > from && route.firstSeenMs < nowMs ? route.firstSeenMs : from;
      route.carry += (route.rps * (nowMs - since)) / 1000;
      const count = Math.floor(route.carry + 1e-9);
      route.carry = Math.max(0, route.carry - count);
      this.send(route, count, since, nowMs);
    }
    this.metrics.flush();
  }

  /** Prometheus text exposition of both series, for `/sim/metrics`. */
  metricsText(): Promise<string> {
    return this.metrics.text();
  }

  /** Content-Type header to serve metricsText() with. */
  get metricsContentType(): string {
    return this.metrics.contentType;
  }

  /** Shares of the last `windowSeconds` seconds (up to the last tick), for `/sim/traffic`. */
  trafficReport(windowSeconds: number): TrafficReport {
    const current = new Map<string, RouteId & { rps: number }>();
    for (const route of this.orderedRoutes()) {
      if (route.stale) this.parseAnnotations(route);
      current.set(route.key, route);
    }
    return this.window.report(this.lastTickMs, windowSeconds, current);
  }

  private send(route: RouteState, count: number, startMs: number, endMs: number): void {
    if (count === 0) return;
    const ctx: RouteContext = { lookup: this.index, random: route.random, warn: this.reporter.warn };
    const step = (endMs - startMs) / count;
    for (let i = 0; i < count; i++) {
      // Requests are spread evenly over the interval, which decides their per-second bucket.
      const second = Math.floor((startMs + (i + 0.5) * step) / 1000);
      const request: SimRequest = { headers: this.drawHeaders(route), path: "/" };
      const decision = resolveRoute(route.object, request, ctx);
      this.answer(route, decision.primary, SERVED, second);
      for (const mirror of decision.mirrors) this.answer(route, mirror, MIRRORED, second);
    }
  }

  /**
   * Counts one copy of a request where it landed. A copy with no ready destination is still counted
   * (code 503, or 404 when no route matched, with pod=""): no traffic is silently lost.
   */
  private answer(route: RouteState, delivery: Delivery, mirrored: boolean, second: number): void {
    const { pod } = delivery;
    const hash = podTemplateHash(pod);
    let code = delivery.code ?? 503;
    if (pod) {
      const response = sampleResponse(podBehaviour(pod, this.invalidPodAnnotation), route.random);
      code = response.code;
      this.metrics.record(
        delivery.namespace,
        delivery.service,
        pod.metadata.name ?? "",
        hash,
        response.code,
        mirrored,
        response.latencySeconds,
      );
    } else {
      this.metrics.record(
        delivery.namespace,
        delivery.service,
        "",
        "",
        delivery.code ?? 503,
        mirrored,
        undefined,
      );
    }
    if (mirrored) this.window.mirroredCopy(route, second, hash);
    else this.window.served(route, second, hash, delivery.service, code >= 500);
  }

  private readonly invalidPodAnnotation = (pod: KubeObject, annotation: string, message: string): void => {
    this.reporter.warn(pod, "InvalidSimAnnotation", `${annotation}: ${message}`);
  };

  /** One draw per header name: the slice it falls in picks the value, past the last slice none. */
  private drawHeaders(route: RouteState): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const group of route.headers) {
      const draw = route.random.next();
      const choice = group.choices.find((c) => draw < c.cumulative);
      if (choice) headers[group.name] = choice.value;
    }
    return headers;
  }

  /** Reads the route annotations once per object change; bad ones become Events and are ignored. */
  private parseAnnotations(route: RouteState): void {
    route.stale = false;
    const annotations = route.object.metadata.annotations ?? {};
    for (const key of Object.keys(annotations).sort()) {
      if (key.startsWith(SIM_PREFIX) && !ROUTE_ANNOTATIONS.has(key)) {
        this.reporter.warn(
          route.object,
          "UnknownSimAnnotation",
          `unknown annotation ${key} ignored; known: ${[...ROUTE_ANNOTATIONS].join(", ")}`,
        );
      }
    }
    route.rps = 0;
    const rps = annotations[ANNOTATION_RPS];
    if (rps !== undefined) {
      const parsed = parseRps(rps);
      if (parsed.ok) route.rps = parsed.value;
      else
        this.reporter.warn(
          route.object,
          "InvalidSimAnnotation",
          `${ANNOTATION_RPS}: ${parsed.error}; no traffic sent`,
        );
    }
    route.headers = [];
    const headers = annotations[ANNOTATION_HEADERS];
    if (headers !== undefined) {
      const parsed = parseHeaderMix(headers);
      if (parsed.ok) route.headers = parsed.value;
      else {
        this.reporter.warn(
          route.object,
          "InvalidSimAnnotation",
          `${ANNOTATION_HEADERS} ${parsed.error}; requests are sent without extra headers`,
        );
      }
    }
  }

  /**
   * Attaches to every watched collection the store serves: subscribe first, then list, so nothing
   * written in between is missed (the store is synchronous). Collections not served yet (Istio or
   * Gateway API CRDs installed later) are looked for again on every tick; the store cannot resolve
   * or subscribe to them before then.
   */
  private connect(): void {
    for (const gvr of WATCHED_RESOURCES) {
      const collection = `${gvr.group}/${gvr.resource}`;
      if (this.subscriptions.has(collection) || !this.api.resolve(gvr.group, gvr.version, gvr.resource))
        continue;
      let objects: KubeObject[];
      try {
        this.subscriptions.set(
          collection,
          this.api.subscribe(gvr, (event) => this.onEvent(event)),
        );
        objects = this.api.list(gvr);
      } catch {
        // Served a moment ago but gone now (a CRD being deleted): try again next tick.
        this.subscriptions.get(collection)?.();
        this.subscriptions.delete(collection);
        continue;
      }
      for (const object of objects) this.onEvent({ type: "ADDED", object });
    }
  }

  private disconnect(): void {
    for (const unsubscribe of this.subscriptions.values()) unsubscribe();
    this.subscriptions.clear();
  }

  private onEvent(event: WatchEvent): void {
    if (event.type !== "ADDED" && event.type !== "MODIFIED" && event.type !== "DELETED") return;
    const { object } = event;
    const deleted = event.type === "DELETED";
    if (ObjectIndex.indexes(object)) {
      if (deleted) this.index.remove(object);
      else this.index.upsert(object);
    }
    const kind = routeKindOf(object);
    if (kind) this.trackRoute(kind, object, deleted);
    if (deleted) this.reporter.forget(object);
  }

  /** Keeps generator state for route objects with any `sim.slipway.dev/` annotation (typos included). */
  private trackRoute(kind: RouteKind, object: KubeObject, deleted: boolean): void {
    const namespace = object.metadata.namespace ?? "default";
    const name = object.metadata.name ?? "";
    const key = `${kind}/${namespace}/${name}`;
    const annotated = Object.keys(object.metadata.annotations ?? {}).some((k) => k.startsWith(SIM_PREFIX));
    const existing = this.routes.get(key);
    if (deleted || !annotated) {
      if (existing) {
        this.routes.delete(key);
        this.ordered = undefined;
      }
      return;
    }
    if (existing) {
      existing.object = object;
      existing.stale = true;
      return;
    }
    this.routes.set(key, {
      key,
      kind,
      namespace,
      name,
      object,
      rps: 0,
      headers: [],
      carry: 0,
      random: new Prng(deriveSeed(this.seed, key)),
      firstSeenMs: this.clock(),
      stale: true,
    });
    this.ordered = undefined;
  }

  /** Routes in key order, so the draw sequence never depends on event order. */
  private orderedRoutes(): RouteState[] {
    this.ordered ??= [...this.routes.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return this.ordered;
  }
}
