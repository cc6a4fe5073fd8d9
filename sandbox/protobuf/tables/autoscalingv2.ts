/** k8s.io/api autoscaling/v2. */
import { K, type MessageTable, R } from "../schema.js";

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const autoscalingv2: MessageTable = {
  ContainerResourceMetricSource: { name: [1, "string", K], target: [2, "MetricTarget"], container: [3, "string", K] },
  ContainerResourceMetricStatus: { name: [1, "string", K], current: [2, "MetricValueStatus"], container: [3, "string", K] },
  CrossVersionObjectReference: { kind: [1, "string", K], name: [2, "string", K], apiVersion: [3, "string"] },
  ExternalMetricSource: { metric: [1, "MetricIdentifier"], target: [2, "MetricTarget"] },
  ExternalMetricStatus: { metric: [1, "MetricIdentifier"], current: [2, "MetricValueStatus"] },
  HPAScalingPolicy: { type: [1, "string", K], value: [2, "int32", K], periodSeconds: [3, "int32", K] },
  HPAScalingRules: { stabilizationWindowSeconds: [3, "int32", K], selectPolicy: [1, "string", K], policies: [2, "HPAScalingPolicy", R], tolerance: [4, "resource.Quantity"] },
  HorizontalPodAutoscaler: { metadata: [1, "meta.ObjectMeta"], spec: [2, "HorizontalPodAutoscalerSpec"], status: [3, "HorizontalPodAutoscalerStatus"] },
  HorizontalPodAutoscalerBehavior: { scaleUp: [1, "HPAScalingRules"], scaleDown: [2, "HPAScalingRules"] },
  HorizontalPodAutoscalerCondition: { type: [1, "string", K], status: [2, "string", K], lastTransitionTime: [3, "meta.Time"], reason: [4, "string"], message: [5, "string"] },
  HorizontalPodAutoscalerSpec: {
    scaleTargetRef: [1, "CrossVersionObjectReference"], minReplicas: [2, "int32", K], maxReplicas: [3, "int32", K], metrics: [4, "MetricSpec", R],
    behavior: [5, "HorizontalPodAutoscalerBehavior"],
  },
  HorizontalPodAutoscalerStatus: {
    observedGeneration: [1, "int64", K], lastScaleTime: [2, "meta.Time"], currentReplicas: [3, "int32"], desiredReplicas: [4, "int32", K],
    currentMetrics: [5, "MetricStatus", R], conditions: [6, "HorizontalPodAutoscalerCondition", R],
  },
  MetricIdentifier: { name: [1, "string", K], selector: [2, "meta.LabelSelector"] },
  MetricSpec: {
    type: [1, "string", K], object: [2, "ObjectMetricSource"], pods: [3, "PodsMetricSource"], resource: [4, "ResourceMetricSource"],
    containerResource: [7, "ContainerResourceMetricSource"], external: [5, "ExternalMetricSource"],
  },
  MetricStatus: {
    type: [1, "string", K], object: [2, "ObjectMetricStatus"], pods: [3, "PodsMetricStatus"], resource: [4, "ResourceMetricStatus"],
    containerResource: [7, "ContainerResourceMetricStatus"], external: [5, "ExternalMetricStatus"],
  },
  MetricTarget: { type: [1, "string", K], value: [2, "resource.Quantity"], averageValue: [3, "resource.Quantity"], averageUtilization: [4, "int32", K] },
  MetricValueStatus: { value: [1, "resource.Quantity"], averageValue: [2, "resource.Quantity"], averageUtilization: [3, "int32", K] },
  ObjectMetricSource: { describedObject: [1, "CrossVersionObjectReference"], target: [2, "MetricTarget"], metric: [3, "MetricIdentifier"] },
  ObjectMetricStatus: { metric: [1, "MetricIdentifier"], current: [2, "MetricValueStatus"], describedObject: [3, "CrossVersionObjectReference"] },
  PodsMetricSource: { metric: [1, "MetricIdentifier"], target: [2, "MetricTarget"] },
  PodsMetricStatus: { metric: [1, "MetricIdentifier"], current: [2, "MetricValueStatus"] },
  ResourceMetricSource: { name: [1, "string", K], target: [2, "MetricTarget"] },
  ResourceMetricStatus: { name: [1, "string", K], current: [2, "MetricValueStatus"] },
};
