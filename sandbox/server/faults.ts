/**
 * Fault injection for reliability tests: API errors (500/429/503) at a rate, added latency,
 * watch streams dropped after a while, and 410 Gone on watch resume, per verb and resource.
 * Rules come from `slipway sandbox up --faults FILE` or `PUT /sim/faults`.
 */
export interface FaultRule {
  /** Verbs the rule applies to (get, list, watch, create, update, patch, delete); all when omitted. */
  verbs?: string[];
  /** Resources (plural, optionally "plural.group") the rule applies to; all when omitted. */
  resources?: string[];
  /** Fraction of matching requests that fail with `status`. */
  errorRate?: number;
  status?: 500 | 429 | 503;
  /** Added latency in ms for matching requests. */
  latencyMs?: number;
  /** Watches are cut after this many ms. */
  dropWatchAfterMs?: number;
  /** Watches that resume from a resourceVersion get 410 Gone. */
  goneOnResume?: boolean;
}

export interface FaultDecision {
  status?: number;
  latencyMs: number;
  dropWatchAfterMs?: number;
  goneOnResume: boolean;
}

export function parseFaultRules(input: unknown): FaultRule[] {
  const rules = Array.isArray(input) ? input : (input as { rules?: unknown })?.rules;
  if (!Array.isArray(rules)) throw new Error('fault rules must be a list (or an object with "rules")');
  return rules.map((r, i) => {
    if (typeof r !== "object" || r === null) throw new Error(`fault rule ${i}: must be an object`);
    const rule = r as FaultRule;
    if (
      rule.errorRate !== undefined &&
      (typeof rule.errorRate !== "number" || rule.errorRate < 0 || rule.errorRate > 1)
    ) {
      throw new Error(`fault rule ${i}: errorRate must be a number between 0 and 1`);
    }
    if (rule.status !== undefined && ![500, 429, 503].includes(rule.status)) {
      throw new Error(`fault rule ${i}: status must be 500, 429 or 503`);
    }
    if (rule.latencyMs !== undefined && (typeof rule.latencyMs !== "number" || rule.latencyMs < 0)) {
      throw new Error(`fault rule ${i}: latencyMs must be a non-negative number`);
    }
    return rule;
  });
}

export class FaultInjector {
  private rules: FaultRule[] = [];
  constructor(private readonly random: () => number = Math.random) {}

  set(rules: FaultRule[]): void {
    this.rules = rules;
  }

  get(): FaultRule[] {
    return this.rules;
  }

  decide(verb: string, resource: string, group: string): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0, goneOnResume: false };
    for (const rule of this.rules) {
      if (rule.verbs && !rule.verbs.includes(verb)) continue;
      if (rule.resources && !rule.resources.some((r) => r === resource || r === `${resource}.${group}`))
        continue;
      decision.latencyMs += rule.latencyMs ?? 0;
      if (rule.dropWatchAfterMs !== undefined) decision.dropWatchAfterMs = rule.dropWatchAfterMs;
      if (rule.goneOnResume) decision.goneOnResume = true;
      if (decision.status === undefined && rule.errorRate && this.random() < rule.errorRate) {
        decision.status = rule.status ?? 500;
      }
    }
    return decision;
  }
}
