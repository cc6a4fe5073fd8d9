/** k8s.io/api policy/v1. */
import { K, type MessageTable, R } from "../schema.js";

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const policy: MessageTable = {
  Eviction: { metadata: [1, "meta.ObjectMeta"], deleteOptions: [2, "meta.DeleteOptions"] },
  PodDisruptionBudget: { metadata: [1, "meta.ObjectMeta"], spec: [2, "PodDisruptionBudgetSpec"], status: [3, "PodDisruptionBudgetStatus"] },
  PodDisruptionBudgetSpec: { minAvailable: [1, "intstr.IntOrString"], selector: [2, "meta.LabelSelector"], maxUnavailable: [3, "intstr.IntOrString"], unhealthyPodEvictionPolicy: [4, "string", K] },
  PodDisruptionBudgetStatus: {
    observedGeneration: [1, "int64"], disruptedPods: [2, "map<string,meta.Time>"], disruptionsAllowed: [3, "int32", K], currentHealthy: [4, "int32", K],
    desiredHealthy: [5, "int32", K], expectedPods: [6, "int32", K], conditions: [7, "meta.Condition", R],
  },
};
