/**
 * Starts the simulated parts of the sandbox: workload controllers and traffic.
 * Each part is one call here and registers its own stop with the sandbox.
 */
import type { Sandbox } from "./sandbox.js";
import { type Clock, startWorkloadControllers } from "./sim/index.js";
import { handleSimEndpoint } from "./traffic/sim-endpoints.js";
import { TrafficSimulator } from "./traffic/traffic-simulator.js";

export interface SimulationOptions {
  seed?: number;
  /** Time source for the workload controllers (default: the wall clock). */
  clock?: Clock;
}

export function startSimulation(sandbox: Sandbox, options: SimulationOptions = {}): void {
  // Workloads: Deployment → ReplicaSet → Pod, pod lifecycle, Jobs, endpoints (sandbox/sim).
  const workloads = startWorkloadControllers(sandbox.core, options.clock ? { clock: options.clock } : {});
  sandbox.onStop(() => workloads.stop());

  // Traffic: generated requests routed by the live routing objects, published at /sim/* (sandbox/traffic).
  const traffic = new TrafficSimulator(sandbox.core, {
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.clock ? { clock: () => options.clock!.now().getTime() } : {}),
  });
  traffic.start();
  sandbox.onStop(() => traffic.stop());
  const endpoint: Parameters<typeof sandbox.http.addPublicRoute>[1] = (req, res) => {
    handleSimEndpoint(traffic, req, res);
  };
  sandbox.http.addPublicRoute("/sim/metrics", endpoint);
  sandbox.http.addPublicRoute("/sim/traffic", endpoint);
}
