/**
 * Starts the simulated parts of the sandbox: workload controllers and traffic.
 * Each part is one call here and registers its own stop with the sandbox.
 */
import type { Sandbox } from "./sandbox.js";
import { type Clock, startWorkloadControllers } from "./sim/index.js";

export interface SimulationOptions {
  seed?: number;
  /** Time source for the workload controllers (default: the wall clock). */
  clock?: Clock;
}

export function startSimulation(sandbox: Sandbox, options: SimulationOptions = {}): void {
  // Workloads: Deployment → ReplicaSet → Pod, pod lifecycle, Jobs, endpoints (sandbox/sim).
  const workloads = startWorkloadControllers(sandbox.core, options.clock ? { clock: options.clock } : {});
  sandbox.onStop(() => workloads.stop());

  // Traffic: added by sandbox/traffic.
}
