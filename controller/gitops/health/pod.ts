import { isPlainObject } from "../diff/object.js";
import { condition, type HealthCheck, health, list, str } from "./types.js";

interface ContainerStatus {
  name?: string;
  state?: {
    waiting?: { reason?: string; message?: string };
    terminated?: { reason?: string; message?: string; exitCode?: number };
  };
  lastState?: { terminated?: unknown };
}

function containerStatuses(
  obj: unknown,
  key: "containerStatuses" | "initContainerStatuses",
): ContainerStatus[] {
  return list(obj, ["status", key]).filter(isPlainObject) as ContainerStatus[];
}

/** A waiting reason that will not fix itself: `ErrImagePull`, `CreateContainerConfigError`, `*BackOff`. */
function isStuckWaiting(reason: string | undefined): boolean {
  return !!reason && (reason.startsWith("Err") || reason.endsWith("Error") || reason.endsWith("BackOff"));
}

function failMessage(ctr: ContainerStatus): string {
  const t = ctr.state?.terminated;
  if (!t) return "";
  if (t.message) return t.message;
  if (t.reason === "OOMKilled") return t.reason;
  if (t.exitCode !== undefined && t.exitCode !== 0) {
    return `container "${ctr.name ?? ""}" failed with exit code ${t.exitCode}`;
  }
  return "";
}

/**
 * core/v1 Pod, as gitops-engine's `health_pod.go`.
 *
 * Long-running pods (`restartPolicy: Always`, the default) are Degraded as soon as a container is
 * stuck waiting (CrashLoopBackOff, ImagePullBackOff, ...), Healthy when Ready, and Degraded when
 * not ready after a container has terminated. Pods that run to completion (`Never`, `OnFailure`)
 * are usually sync hooks, so they stay Progressing while Running and are judged only by their final
 * phase: judging a hook pod by a transient image pull error would fail the sync early.
 */
export const podHealth: HealthCheck = (obj) => {
  const restartPolicy = str(obj, ["spec", "restartPolicy"]) ?? "Always";
  const message = str(obj, ["status", "message"]);
  if (restartPolicy === "Always") {
    const stuck = containerStatuses(obj, "containerStatuses").filter((c) =>
      isStuckWaiting(c.state?.waiting?.reason),
    );
    if (stuck.length > 0) {
      const text = stuck
        .map((c) => c.state?.waiting?.message || c.state?.waiting?.reason || "")
        .filter((m) => m)
        .join(", ");
      return health("Degraded", text);
    }
  }
  switch (str(obj, ["status", "phase"])) {
    case "Pending":
      return health("Progressing", message);
    case "Succeeded":
      return health("Healthy", message);
    case "Failed": {
      if (message) return health("Degraded", message);
      const all = [
        ...containerStatuses(obj, "initContainerStatuses"),
        ...containerStatuses(obj, "containerStatuses"),
      ];
      for (const ctr of all) {
        const m = failMessage(ctr);
        if (m) return health("Degraded", m);
      }
      return health("Degraded");
    }
    case "Running": {
      if (restartPolicy !== "Always") return health("Progressing", message);
      if (condition(obj, "Ready")?.status === "True") return health("Healthy", message);
      const restarted = containerStatuses(obj, "containerStatuses").some(
        (c) => c.lastState?.terminated !== undefined,
      );
      return health(restarted ? "Degraded" : "Progressing", message);
    }
    default:
      return health("Unknown", message);
  }
};
