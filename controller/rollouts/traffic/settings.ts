/**
 * What every router reads from the Rollout and its dependencies, resolved once (defaults applied,
 * required fields checked) so the routers themselves never look at the Rollout's spec again.
 */
import type { OwnerReference } from "../../../api/v1alpha1/common.js";
import type { Rollout } from "../../../api/v1alpha1/rollout.js";
import { InvalidSpecError } from "./errors.js";
import {
  DEFAULT_FIELD_MANAGER,
  DEFAULT_MAX_TRAFFIC_WEIGHT,
  type RouterClient,
  type RouterDeps,
} from "./router.js";

export interface RouterSettings {
  client: RouterClient;
  rolloutName: string;
  /** The Rollout's namespace: its Services live there, and routing objects by default. */
  namespace: string;
  /** Set when the Rollout has a uid: objects slipway creates (the NGINX canary Ingress) carry it. */
  owner?: OwnerReference;
  stableService: string;
  canaryService: string;
  maxTrafficWeight: number;
  /** `trafficRouting.managedRoutes` names, highest precedence first. */
  managedRoutes: string[];
  canaryHash?: string;
  stableHash?: string;
  fieldManager: string;
  maxConflictRetries: number;
}

export function resolveSettings(rollout: Rollout, deps: RouterDeps): RouterSettings {
  const name = rollout.metadata.name ?? "";
  const canary = rollout.spec.strategy.canary;
  const routing = canary?.trafficRouting;
  const stableService = deps.stableService ?? canary?.stableService;
  const canaryService = deps.canaryService ?? canary?.canaryService;
  if (!stableService || !canaryService) {
    throw new InvalidSpecError(
      `Rollout "${name}": traffic routing needs spec.strategy.canary.stableService and canaryService`,
    );
  }
  if (stableService === canaryService) {
    throw new InvalidSpecError(
      `Rollout "${name}": stableService and canaryService are both "${stableService}"; they must differ`,
    );
  }
  const maxTrafficWeight = deps.maxTrafficWeight ?? routing?.maxTrafficWeight ?? DEFAULT_MAX_TRAFFIC_WEIGHT;
  if (!Number.isInteger(maxTrafficWeight) || maxTrafficWeight < 1) {
    throw new InvalidSpecError(
      `Rollout "${name}": maxTrafficWeight ${maxTrafficWeight} must be a whole number ≥ 1`,
    );
  }
  const uid = rollout.metadata.uid;
  return {
    client: deps.client,
    rolloutName: name,
    namespace: rollout.metadata.namespace ?? "default",
    ...(uid
      ? {
          owner: {
            apiVersion: rollout.apiVersion,
            kind: rollout.kind,
            name,
            uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        }
      : {}),
    stableService,
    canaryService,
    maxTrafficWeight,
    managedRoutes: (routing?.managedRoutes ?? []).map((r) => r.name),
    ...(deps.canaryHash ? { canaryHash: deps.canaryHash } : {}),
    ...(deps.stableHash ? { stableHash: deps.stableHash } : {}),
    fieldManager: deps.fieldManager ?? DEFAULT_FIELD_MANAGER,
    maxConflictRetries: deps.maxConflictRetries ?? 5,
  };
}
