/**
 * Traffic routing for a canary (Argo's rollout/trafficrouting.go): the state the router should
 * realise at the current step — canary weight, header (A/B) and mirror (shadow) routes — and the
 * memo of what each router was last verified to realise, so an unchanged rollout costs no request
 * and a step only counts as done once `verify` confirmed it.
 */
import type { DesiredTraffic } from "./context.js";
import { digest } from "./hash.js";
import { steps } from "./spec.js";
import type { RolloutObject } from "./types.js";

/** Header and mirror routes in force at `index`: every such step up to it, a name-only step removing. */
export function managedRoutesAt(
  rollout: RolloutObject,
  index: number,
): Pick<DesiredTraffic, "headerRoutes" | "mirrorRoutes"> {
  const all = steps(rollout);
  const headers = new Map<string, DesiredTraffic["headerRoutes"][number]>();
  const mirrors = new Map<string, DesiredTraffic["mirrorRoutes"][number]>();
  if (index >= all.length) return { headerRoutes: [], mirrorRoutes: [] };
  for (let i = 0; i <= index; i++) {
    const step = all[i]!;
    const h = step.setHeaderRoute;
    if (h) {
      if (h.match && h.match.length > 0) headers.set(h.name, { name: h.name, match: h.match });
      else headers.delete(h.name);
    }
    const m = step.setMirrorRoute;
    if (m) {
      if (m.match && m.match.length > 0)
        mirrors.set(m.name, {
          name: m.name,
          match: m.match,
          ...(m.percentage !== undefined ? { percentage: m.percentage } : {}),
        });
      else mirrors.delete(m.name);
    }
  }
  const order = (rollout.spec.strategy.canary?.trafficRouting?.managedRoutes ?? []).map((r) => r.name);
  const rank = (n: string) => {
    const i = order.indexOf(n);
    return i < 0 ? order.length : i;
  };
  return {
    headerRoutes: [...headers.values()].sort((a, b) => rank(a.name) - rank(b.name)),
    mirrorRoutes: [...mirrors.values()].sort((a, b) => rank(a.name) - rank(b.name)),
  };
}

export function trafficDigest(state: DesiredTraffic): string {
  return digest(state);
}

interface MemoEntry {
  digest: string;
  atMs: number;
}

/**
 * What each Rollout's router was last verified to realise (by Rollout uid). Only an
 * optimisation: a new process starts empty and verifies once.
 */
export class TrafficMemo {
  private readonly entries = new Map<string, MemoEntry>();

  verified(uid: string, state: DesiredTraffic): boolean {
    return this.entries.get(uid)?.digest === trafficDigest(state);
  }

  /** Whether the router must be called: a different state, or the last check is older than `maxAgeMs`. */
  stale(uid: string, state: DesiredTraffic, nowMs: number, maxAgeMs: number): boolean {
    const e = this.entries.get(uid);
    return !e || e.digest !== trafficDigest(state) || nowMs - e.atMs >= maxAgeMs;
  }

  /** The state this uid was last verified at, as a digest. */
  lastDigest(uid: string): string | undefined {
    return this.entries.get(uid)?.digest;
  }

  record(uid: string, state: DesiredTraffic, nowMs: number): void {
    this.entries.set(uid, { digest: trafficDigest(state), atMs: nowMs });
  }

  forget(uid: string): void {
    this.entries.delete(uid);
  }
}
