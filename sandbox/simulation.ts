/**
 * Starts the simulated parts of the sandbox: workload controllers and traffic.
 * TEMPORARY: filled in as sandbox/sim and sandbox/traffic land.
 */
import type { Sandbox } from "./sandbox.js";

export interface SimulationOptions {
  seed?: number;
}

export function startSimulation(_sandbox: Sandbox, _options: SimulationOptions = {}): void {}
