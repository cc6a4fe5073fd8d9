/**
 * Where traffic went recently, for `/sim/traffic`: a ring of per-second buckets, each counting, per
 * route object, served requests by pod-template hash and Service, and mirrored copies by hash.
 */
import type { RouteKind } from "./route-resolver.js";

export interface RouteTraffic {
  kind: RouteKind;
  namespace: string;
  name: string;
  /** Configured `sim.slipway.dev/rps` (0 when unset, invalid, or the object is gone). */
  rps: number;
  /** Requests that entered through this object in the window (mirrored copies not included). */
  total: number;
  /** Share of `total` per pod-template hash; "" is requests no pod answered (no route, no endpoint). */
  byHash: Record<string, number>;
  /** Share of `total` per backend Service; "" when no route matched. */
  byService: Record<string, number>;
  /** Mirrored copies per pod-template hash (counts: their answers are discarded). */
  mirrored: Record<string, number>;
  /**
   * Fraction of each pod-template hash's served requests answered with a 5xx: what an analysis
   * needs when no Prometheus is at hand (`slipway demo` falls back to it through the web provider).
   */
  errorRateByHash: Record<string, number>;
}

export interface TrafficReport {
  windowSeconds: number;
  routes: RouteTraffic[];
}

interface RouteCounts {
  total: number;
  byHash: Map<string, number>;
  errorsByHash: Map<string, number>;
  byService: Map<string, number>;
  mirrored: Map<string, number>;
}

interface Bucket {
  second: number;
  routes: Map<string, RouteCounts>;
}

/** Identifies a route object; also the key its counts are kept under. */
export interface RouteId {
  key: string;
  kind: RouteKind;
  namespace: string;
  name: string;
}

export class TrafficWindow {
  private readonly buckets: (Bucket | undefined)[];
  private readonly ids = new Map<string, RouteId>();

  /** Keeps `capacitySeconds` of history; longer windows are clamped to it. */
  constructor(readonly capacitySeconds = 900) {
    this.buckets = new Array(capacitySeconds).fill(undefined);
  }

  served(route: RouteId, second: number, hash: string, service: string, failed = false): void {
    const counts = this.counts(route, second);
    counts.total++;
    increment(counts.byHash, hash);
    if (failed) increment(counts.errorsByHash, hash);
    increment(counts.byService, service);
  }

  mirroredCopy(route: RouteId, second: number, hash: string): void {
    increment(this.counts(route, second).mirrored, hash);
  }

  /**
   * Shares over the last `windowSeconds` whole seconds before `nowMs`: the current, partial second is
   * left out, so the window always spans exactly `windowSeconds` seconds of traffic and `total` is
   * rps × windowSeconds. `current` lists the tracked routes, so they appear even without traffic.
   */
  report(
    nowMs: number,
    windowSeconds: number,
    current: ReadonlyMap<string, RouteId & { rps: number }>,
  ): TrafficReport {
    const window = Math.max(1, Math.min(Math.floor(windowSeconds), this.capacitySeconds - 1));
    // The `window` complete seconds before now. Counting the buckets that merely overlap
    // [now − window, now) instead would add up to a whole extra second whenever now is not on a
    // second boundary (a 2 s window at 200 rps reporting ~500 requests).
    const last = Math.floor(nowMs / 1000) - 1;
    const first = last - window + 1;
    const totals = new Map<string, RouteCounts>();
    for (const bucket of this.buckets) {
      if (!bucket || bucket.second < first || bucket.second > last) continue;
      for (const [key, counts] of bucket.routes) {
        let sum = totals.get(key);
        if (!sum) {
          sum = emptyCounts();
          totals.set(key, sum);
        }
        sum.total += counts.total;
        merge(sum.byHash, counts.byHash);
        merge(sum.errorsByHash, counts.errorsByHash);
        merge(sum.byService, counts.byService);
        merge(sum.mirrored, counts.mirrored);
      }
    }
    const keys = new Set([...current.keys(), ...totals.keys()]);
    const routes: RouteTraffic[] = [];
    for (const key of [...keys].sort()) {
      const id = current.get(key) ?? this.ids.get(key);
      if (!id) continue;
      const counts = totals.get(key) ?? emptyCounts();
      routes.push({
        kind: id.kind,
        namespace: id.namespace,
        name: id.name,
        rps: current.get(key)?.rps ?? 0,
        total: counts.total,
        byHash: shares(counts.byHash, counts.total),
        byService: shares(counts.byService, counts.total),
        mirrored: sortedRecord(counts.mirrored),
        errorRateByHash: errorRates(counts.errorsByHash, counts.byHash),
      });
    }
    this.forgetIdle(last, current);
    return { windowSeconds: window, routes };
  }

  private counts(route: RouteId, second: number): RouteCounts {
    const slot = ((second % this.capacitySeconds) + this.capacitySeconds) % this.capacitySeconds;
    let bucket = this.buckets[slot];
    if (!bucket || bucket.second !== second) {
      bucket = { second, routes: new Map() };
      this.buckets[slot] = bucket;
    }
    let counts = bucket.routes.get(route.key);
    if (!counts) {
      counts = emptyCounts();
      bucket.routes.set(route.key, counts);
      this.ids.set(route.key, route);
    }
    return counts;
  }

  /** Drops names of deleted routes whose traffic has aged out of every bucket. */
  private forgetIdle(nowSecond: number, current: ReadonlyMap<string, RouteId>): void {
    if (this.ids.size <= current.size) return;
    const live = new Set<string>();
    for (const bucket of this.buckets) {
      if (bucket && bucket.second > nowSecond - this.capacitySeconds) {
        for (const key of bucket.routes.keys()) live.add(key);
      }
    }
    for (const key of this.ids.keys()) if (!live.has(key) && !current.has(key)) this.ids.delete(key);
  }
}

function emptyCounts(): RouteCounts {
  return { total: 0, byHash: new Map(), errorsByHash: new Map(), byService: new Map(), mirrored: new Map() };
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function merge(into: Map<string, number>, from: Map<string, number>): void {
  for (const [key, value] of from) into.set(key, (into.get(key) ?? 0) + value);
}

/** Shares rounded to 4 decimals; keys sorted so the JSON is stable. */
function shares(counts: Map<string, number>, total: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of [...counts.keys()].sort()) out[key] = Math.round((counts.get(key)! / total) * 1e4) / 1e4;
  return out;
}

/** Errors over requests per hash, for every hash that answered (0 when none failed). */
function errorRates(errors: Map<string, number>, served: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of [...served.keys()].sort()) {
    if (key === "") continue;
    out[key] = Math.round(((errors.get(key) ?? 0) / served.get(key)!) * 1e4) / 1e4;
  }
  return out;
}

function sortedRecord(counts: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of [...counts.keys()].sort()) out[key] = counts.get(key)!;
  return out;
}
