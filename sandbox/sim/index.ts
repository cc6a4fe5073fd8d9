/**
 * The sandbox's simulated kube-controller-manager, scheduler and kubelet: everything that turns
 * Deployments, StatefulSets, DaemonSets and Jobs into running pods, and Services into endpoints.
 */
import type { SandboxApi } from "../core/types.js";
import type { Clock, ControllerOptions } from "./common.js";
import { DaemonSetController } from "./daemonset.js";
import { DeploymentController } from "./deployment.js";
import { EndpointsController } from "./endpoints.js";
import { EndpointSliceController } from "./endpointslice.js";
import { JobController } from "./job.js";
import { Kubelet } from "./kubelet.js";
import { ReplicaSetController } from "./replicaset.js";
import { ServiceAccountController } from "./serviceaccount.js";
import { StatefulSetController } from "./statefulset.js";

export {
  ANNOTATION_DURATION,
  ANNOTATION_EXIT_CODE,
  ANNOTATION_READY_AFTER,
  type Clock,
  type ControllerOptions,
  NODE_IP,
  NODE_NAME,
  parseDurationMs,
  realClock,
} from "./common.js";
export { DaemonSetController } from "./daemonset.js";
export {
  DeploymentController,
  equalIgnoreHash,
  POD_TEMPLATE_HASH,
  podTemplateHash,
  REVISION,
} from "./deployment.js";
export { EndpointsController } from "./endpoints.js";
export { EndpointSliceController } from "./endpointslice.js";
export { JobController, type JobControllerOptions } from "./job.js";
export { INVALID_SIM_ANNOTATION, Kubelet, normalizeImage } from "./kubelet.js";
export { podsToDelete, ReplicaSetController } from "./replicaset.js";
export { ServiceAccountController } from "./serviceaccount.js";
export { StatefulSetController } from "./statefulset.js";

export interface WorkloadControllerOptions {
  /** Time source for all controllers (default: the wall clock). */
  clock?: Clock;
  /** Base delay before a Job replaces a failed pod (default 10s, as Kubernetes). */
  jobBackoffBaseMs?: number;
  /** Reports errors a reconcile could not recover from (default: one line on stderr). */
  onError?: ControllerOptions["onError"];
}

export interface WorkloadControllers {
  /** Stops every controller: unsubscribes and cancels timers. Idempotent. */
  stop(): void;
}

/** Starts all workload controllers against `api`; call stop() on shutdown. */
export function startWorkloadControllers(
  api: SandboxApi,
  options: WorkloadControllerOptions = {},
): WorkloadControllers {
  const common: ControllerOptions = {
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  };
  const controllers = [
    new ServiceAccountController(api, common),
    new Kubelet(api, common),
    new ReplicaSetController(api, common),
    new DeploymentController(api, common),
    new StatefulSetController(api, common),
    new DaemonSetController(api, common),
    new JobController(api, {
      ...common,
      ...(options.jobBackoffBaseMs !== undefined ? { backoffBaseMs: options.jobBackoffBaseMs } : {}),
    }),
    new EndpointsController(api, common),
    new EndpointSliceController(api, common),
  ];
  for (const c of controllers) c.start();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      for (const c of controllers) c.stop();
    },
  };
}
