/** Replica counts per weight (reference §4) and the rolling moves of a basic canary. */
import { describe, expect, it } from "vitest";
import {
  abortCanaryWeight,
  basicCanaryCounts,
  replicaWeight,
  rollBasicCanary,
  routedCanaryReplicas,
} from "../../controller/rollouts/replica-math.js";

describe("basicCanaryCounts (no router: the weight as pod counts)", () => {
  it.each([
    // replicas, weight, canary, stable
    [10, 41, 4, 6],
    [10, 20, 2, 8],
    [10, 60, 6, 4],
    [10, 45, 5, 5],
    [10, 0, 0, 10],
    [10, 100, 10, 0],
    [4, 10, 1, 3], // at least one canary pod once the weight is above 0
    [4, 99, 3, 1], // at least one stable pod while the weight is below 100
    [1, 50, 1, 1], // one replica: both sides keep a pod
    [0, 50, 0, 0],
    [5, 20, 1, 4],
    [5, 60, 3, 2],
  ])("%i replicas at %i%% → %i canary / %i stable", (replicas, weight, canary, stable) => {
    expect(basicCanaryCounts(replicas, weight)).toEqual({ canary, stable });
  });

  it("takes the weight in units of maxTrafficWeight", () => {
    expect(basicCanaryCounts(10, 410, 1000)).toEqual({ canary: 4, stable: 6 });
  });
});

describe("routedCanaryReplicas (router: ceil, stable stays full)", () => {
  it.each([
    [10, 41, 100, 5],
    [10, 1, 100, 1],
    [4, 20, 100, 1],
    [4, 50, 100, 2],
    [10, 100, 100, 10],
    [10, 0, 100, 0],
    [10, 5, 1000, 1],
    [3, 34, 100, 2],
  ])("%i replicas at %i/%i → %i canary pods", (replicas, weight, max, canary) => {
    expect(routedCanaryReplicas(replicas, weight, max)).toBe(canary);
  });
});

describe("rollBasicCanary", () => {
  const base = { replicas: 10, maxSurge: 3, maxUnavailable: 2 };

  it("grows the canary within maxSurge while the stable set waits for it", () => {
    expect(
      rollBasicCanary({
        ...base,
        canary: { spec: 0, available: 0, target: 4 },
        stable: { spec: 10, available: 10, target: 6 },
        othersSpec: 0,
      }),
    ).toEqual({ canary: 3, stable: 10 });
  });

  it("shrinks the stable set only as canary pods become available", () => {
    expect(
      rollBasicCanary({
        ...base,
        canary: { spec: 3, available: 2, target: 4 },
        stable: { spec: 10, available: 10, target: 6 },
        othersSpec: 0,
      }),
    ).toEqual({ canary: 3, stable: 8 });
    expect(
      rollBasicCanary({
        ...base,
        canary: { spec: 4, available: 4, target: 4 },
        stable: { spec: 7, available: 7, target: 6 },
        othersSpec: 0,
      }),
    ).toEqual({ canary: 4, stable: 6 });
  });

  it("never shrinks the stable set for a canary that does not get ready", () => {
    expect(
      rollBasicCanary({
        ...base,
        canary: { spec: 3, available: 0, target: 4 },
        stable: { spec: 10, available: 10, target: 6 },
        othersSpec: 0,
      }),
    ).toEqual({ canary: 3, stable: 10 });
  });

  it("spends maxUnavailable only when there is no surge", () => {
    expect(
      rollBasicCanary({
        replicas: 4,
        maxSurge: 0,
        maxUnavailable: 1,
        canary: { spec: 0, available: 0, target: 2 },
        stable: { spec: 4, available: 4, target: 2 },
        othersSpec: 0,
      }),
    ).toEqual({ canary: 0, stable: 3 });
  });

  it("restores the stable set at once and keeps enough pods when the canary shrinks", () => {
    expect(
      rollBasicCanary({
        ...base,
        canary: { spec: 6, available: 6, target: 2 },
        stable: { spec: 4, available: 4, target: 8 },
        othersSpec: 0,
      }),
    ).toEqual({ canary: 4, stable: 8 });
  });
});

describe("weights", () => {
  it("replicaWeight is the ready-pod share", () => {
    expect(replicaWeight(4, 6)).toBe(40);
    expect(replicaWeight(0, 0)).toBe(0);
  });

  it("abortCanaryWeight returns traffic to stable as fast as stable has pods (dynamicStableScale)", () => {
    expect(abortCanaryWeight(10, 10, 60)).toBe(0);
    expect(abortCanaryWeight(10, 4, 60)).toBe(60);
    expect(abortCanaryWeight(10, 7, 60)).toBe(30);
    expect(abortCanaryWeight(10, 2, 20)).toBe(20);
  });
});
