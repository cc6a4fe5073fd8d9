import { type HealthCheck, health, str } from "./types.js";

/**
 * core/v1 Namespace. gitops-engine has no rule for it; DESIGN.md asks for one: Active is Healthy,
 * Terminating is Progressing (it is going away, often because an app prune deleted it).
 */
export const namespaceHealth: HealthCheck = (obj) => {
  switch (str(obj, ["status", "phase"])) {
    case "Terminating":
      return health("Progressing", "Namespace is terminating");
    case undefined:
    case "Active":
      return health("Healthy");
    default:
      return health("Unknown", `Unknown namespace phase ${str(obj, ["status", "phase"])}`);
  }
};
