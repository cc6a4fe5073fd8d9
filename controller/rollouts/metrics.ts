/**
 * Rollout metrics on `/metrics`: `slipway_rollout_phase{namespace,name,phase}` (1 for the current
 * phase, 0 for the others), `slipway_rollout_step{namespace,name}` (currentStepIndex),
 * `slipway_rollout_canary_weight{namespace,name}` and `slipway_rollout_aborts_total{namespace,name}`.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { RolloutStatus } from "../../api/v1alpha1/rollout.js";
import { registerOnce } from "../queue/metrics.js";

const PHASES = ["Healthy", "Progressing", "Paused", "Degraded"] as const;

export class RolloutMetrics {
  private readonly phase: Gauge<"namespace" | "name" | "phase"> | undefined;
  private readonly step: Gauge<"namespace" | "name"> | undefined;
  private readonly weight: Gauge<"namespace" | "name"> | undefined;
  private readonly aborts: Counter<"namespace" | "name"> | undefined;

  constructor(registry?: Registry) {
    if (!registry) return;
    this.phase = registerOnce(
      registry,
      "slipway_rollout_phase",
      () =>
        new Gauge({
          name: "slipway_rollout_phase",
          help: "Rollout phase: 1 for the current phase (Healthy, Progressing, Paused, Degraded), 0 for the others",
          labelNames: ["namespace", "name", "phase"],
          registers: [registry],
        }),
    );
    this.step = registerOnce(
      registry,
      "slipway_rollout_step",
      () =>
        new Gauge({
          name: "slipway_rollout_step",
          help: "Rollout canary step index (status.currentStepIndex)",
          labelNames: ["namespace", "name"],
          registers: [registry],
        }),
    );
    this.weight = registerOnce(
      registry,
      "slipway_rollout_canary_weight",
      () =>
        new Gauge({
          name: "slipway_rollout_canary_weight",
          help: "Traffic weight of the canary (router weight, or the ready-pod share without a router)",
          labelNames: ["namespace", "name"],
          registers: [registry],
        }),
    );
    this.aborts = registerOnce(
      registry,
      "slipway_rollout_aborts_total",
      () =>
        new Counter({
          name: "slipway_rollout_aborts_total",
          help: "Rollout updates aborted (failed analysis, abort command, progress deadline)",
          labelNames: ["namespace", "name"],
          registers: [registry],
        }),
    );
  }

  observe(namespace: string, name: string, status: RolloutStatus): void {
    for (const phase of PHASES) this.phase?.set({ namespace, name, phase }, status.phase === phase ? 1 : 0);
    this.step?.set({ namespace, name }, status.currentStepIndex ?? 0);
    this.weight?.set({ namespace, name }, status.canary?.weights?.canary.weight ?? 0);
  }

  aborted(namespace: string, name: string): void {
    this.aborts?.inc({ namespace, name });
  }

  /** Drops the series of a deleted Rollout. */
  forget(namespace: string, name: string): void {
    for (const phase of PHASES) this.phase?.remove({ namespace, name, phase });
    this.step?.remove({ namespace, name });
    this.weight?.remove({ namespace, name });
    this.aborts?.remove({ namespace, name });
  }
}
