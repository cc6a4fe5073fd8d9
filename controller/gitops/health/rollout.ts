import { condition, field, generation, type HealthCheck, health, num, optNum, str } from "./types.js";

/**
 * Rollout (`slipway.dev/v1alpha1` and `argoproj.io/v1alpha1`), as Argo CD's bundled Lua check
 * `resource_customizations/argoproj.io/Rollout/health.lua`.
 *
 * The rollout controller records its own verdict in `status.phase` (Healthy, Progressing, Paused,
 * Degraded) once it has observed the current generation; `Paused` is surfaced as Suspended, which is
 * what a canary waiting at a pause step is. Objects written before the controller set a phase fall
 * back to the replica counts, as the Lua script does for Argo Rollouts < 1.0.
 */
export const rolloutHealth: HealthCheck = (obj) => {
  const observed = optNum(obj, ["status", "observedGeneration"]);
  if (field(obj, "status") === undefined || (observed !== undefined && observed < generation(obj))) {
    return health("Progressing", "Waiting for rollout spec update to be observed");
  }
  const message = str(obj, ["status", "message"]);
  const phase = str(obj, ["status", "phase"]);
  switch (phase) {
    case "Paused":
      return health("Suspended", message ?? "Rollout is paused");
    case "Healthy":
    case "Progressing":
    case "Degraded":
      return health(phase, message);
    case undefined:
      break;
    default:
      return health("Unknown", `Unknown rollout phase ${phase}`);
  }

  // Legacy: derive the phase from conditions and counts.
  const invalid = condition(obj, "InvalidSpec");
  if (invalid?.status === "True") return health("Degraded", invalid.message);
  if (field(obj, "status", "abort") === true) return health("Degraded", "Rollout is aborted");
  const pauses = field(obj, "status", "pauseConditions");
  if (field(obj, "spec", "paused") === true || (Array.isArray(pauses) && pauses.length > 0)) {
    return health("Suspended", "Rollout is paused");
  }
  const desired = optNum(obj, ["spec", "replicas"]) ?? 1;
  const replicas = num(obj, ["status", "replicas"]);
  const updated = num(obj, ["status", "updatedReplicas"]);
  const available = num(obj, ["status", "availableReplicas"]);
  if (updated < desired) {
    return health("Progressing", "Waiting for roll out to finish: More replicas need to be updated");
  }
  // Blue-green keeps the old set up for scaleDownDelaySeconds; only canary waits for it to go.
  if (field(obj, "spec", "strategy", "canary") !== undefined && replicas > updated) {
    return health("Progressing", "Waiting for roll out to finish: old replicas are pending termination");
  }
  if (available < updated) {
    return health(
      "Progressing",
      "Waiting for roll out to finish: updated replicas are still becoming available",
    );
  }
  return health("Healthy");
};
