/** k8s.io/api autoscaling/v1: Scale (the scale subresource) and the v1 HorizontalPodAutoscaler. */
import { K, type MessageTable } from "../schema.js";

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const autoscalingv1: MessageTable = {
  CrossVersionObjectReference: { kind: [1, "string", K], name: [2, "string", K], apiVersion: [3, "string"] },
  HorizontalPodAutoscaler: { metadata: [1, "meta.ObjectMeta"], spec: [2, "HorizontalPodAutoscalerSpec"], status: [3, "HorizontalPodAutoscalerStatus"] },
  HorizontalPodAutoscalerSpec: { scaleTargetRef: [1, "CrossVersionObjectReference"], minReplicas: [2, "int32", K], maxReplicas: [3, "int32", K], targetCPUUtilizationPercentage: [4, "int32", K] },
  HorizontalPodAutoscalerStatus: {
    observedGeneration: [1, "int64", K], lastScaleTime: [2, "meta.Time"], currentReplicas: [3, "int32", K], desiredReplicas: [4, "int32", K],
    currentCPUUtilizationPercentage: [5, "int32", K],
  },
  Scale: { metadata: [1, "meta.ObjectMeta"], spec: [2, "ScaleSpec"], status: [3, "ScaleStatus"] },
  ScaleSpec: { replicas: [1, "int32", K] },
  ScaleStatus: { replicas: [1, "int32", K], selector: [2, "string"] },
};
