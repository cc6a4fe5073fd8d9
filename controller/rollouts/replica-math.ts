/**
 * How many pods each ReplicaSet of a canary should run (pure; Argo's utils/replicaset/canary.go
 * with slipway's safety rules). See reference §4:
 *
 * - Without a traffic router the weight is approximated by pod counts, rounding to the nearest
 *   pod (10 replicas at 41% → 4 canary / 6 stable), with at least one pod on each side while the
 *   weight is strictly between 0 and 100.
 * - With a router the stable set stays at full size and the canary gets
 *   `ceil(weight × replicas / maxTrafficWeight)`; `setCanaryScale` overrides that.
 * - Moving between counts without a router honours maxSurge, and the stable set only shrinks as
 *   canary pods become available to replace it (a canary that never gets ready never costs the
 *   stable set a pod; maxUnavailable is only spent when maxSurge is 0 and there is no other way).
 */

export interface Counts {
  canary: number;
  stable: number;
}

/** Basic canary: the weight as pod counts, to the nearest pod. */
export function basicCanaryCounts(replicas: number, weight: number, maxWeight = 100): Counts {
  if (replicas <= 0) return { canary: 0, stable: 0 };
  if (weight >= maxWeight) return { canary: replicas, stable: 0 };
  if (weight <= 0) return { canary: 0, stable: replicas };
  if (replicas === 1) return { canary: 1, stable: 1 };
  let canary = Math.round((weight * replicas) / maxWeight);
  canary = Math.min(Math.max(canary, 1), replicas - 1);
  return { canary, stable: replicas - canary };
}

/** With a router: the canary pods needed to take `weight` of the traffic. */
export function routedCanaryReplicas(replicas: number, weight: number, maxWeight = 100): number {
  if (replicas <= 0 || weight <= 0) return 0;
  return Math.min(replicas, Math.ceil((weight * replicas) / maxWeight));
}

export interface SetState {
  /** spec.replicas now. */
  spec: number;
  /** status.availableReplicas now. */
  available: number;
  /** Where it should end up. */
  target: number;
}

export interface RollInput {
  replicas: number;
  maxSurge: number;
  maxUnavailable: number;
  canary: SetState;
  stable: SetState;
  /** spec.replicas of every other (older) set still running. */
  othersSpec: number;
}

/**
 * One move of a basic canary towards its targets: the next spec.replicas of canary and stable.
 * Restoring the stable set never waits; growing the canary stays within maxSurge; shrinking
 * the stable set waits for available canary pods; shrinking the canary keeps at least
 * `replicas - maxUnavailable` pods available overall.
 */
export function rollBasicCanary(input: RollInput): Counts {
  const { replicas, maxSurge, maxUnavailable, canary, stable, othersSpec } = input;
  let stableNext = stable.spec;
  let canaryNext = canary.spec;
  if (stable.target > stableNext) stableNext = stable.target;
  if (canary.target > canaryNext) {
    const room = replicas + maxSurge - (stableNext + canaryNext + othersSpec);
    canaryNext = Math.min(canary.target, canaryNext + Math.max(0, room));
  }
  if (stable.target < stableNext) {
    const floor = replicas - canary.available - (maxSurge === 0 ? maxUnavailable : 0);
    stableNext = Math.min(stableNext, Math.max(stable.target, floor));
  }
  if (canary.target < canaryNext) {
    const minAvailable = replicas - maxUnavailable;
    const spare = Math.max(0, stable.available + canary.available - minAvailable);
    const floor = canary.available - spare;
    canaryNext = Math.min(canaryNext, Math.max(canary.target, floor));
  }
  return { canary: Math.max(0, canaryNext), stable: Math.max(0, stableNext) };
}

/**
 * The canary's share of ready pods, in units of `maxWeight` (what a Service splitting by
 * endpoints gives it without a router).
 */
export function replicaWeight(canaryReady: number, stableReady: number, maxWeight = 100): number {
  const total = canaryReady + stableReady;
  if (total <= 0) return 0;
  return Math.round((canaryReady * maxWeight) / total);
}

/**
 * `dynamicStableScale` during an abort: the canary weight the stable set can take back now.
 * Traffic returns to stable as fast as stable has pods for it (never more than its capacity:
 * issue #3372), reaching 0 once stable is full again.
 */
export function abortCanaryWeight(
  replicas: number,
  stableAvailable: number,
  currentCanaryWeight: number,
  maxWeight = 100,
): number {
  if (replicas <= 0) return 0;
  const stableShare = Math.floor((Math.min(stableAvailable, replicas) * maxWeight) / replicas);
  return Math.min(currentCanaryWeight, Math.max(0, maxWeight - stableShare));
}
