/** k8s.io/api apps/v1. */
import { K, type MessageTable, R } from "../schema.js";

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const apps: MessageTable = {
  ControllerRevision: { metadata: [1, "meta.ObjectMeta"], data: [2, "runtime.RawExtension"], revision: [3, "int64", K] },
  DaemonSet: { metadata: [1, "meta.ObjectMeta"], spec: [2, "DaemonSetSpec"], status: [3, "DaemonSetStatus"] },
  DaemonSetCondition: { type: [1, "string", K], status: [2, "string", K], lastTransitionTime: [3, "meta.Time"], reason: [4, "string"], message: [5, "string"] },
  DaemonSetSpec: { selector: [1, "meta.LabelSelector"], template: [2, "core.PodTemplateSpec"], updateStrategy: [3, "DaemonSetUpdateStrategy"], minReadySeconds: [4, "int32"], revisionHistoryLimit: [6, "int32", K] },
  DaemonSetStatus: {
    currentNumberScheduled: [1, "int32", K], numberMisscheduled: [2, "int32", K], desiredNumberScheduled: [3, "int32", K], numberReady: [4, "int32", K],
    observedGeneration: [5, "int64"], updatedNumberScheduled: [6, "int32"], numberAvailable: [7, "int32"], numberUnavailable: [8, "int32"],
    collisionCount: [9, "int32", K], conditions: [10, "DaemonSetCondition", R],
  },
  DaemonSetUpdateStrategy: { type: [1, "string"], rollingUpdate: [2, "RollingUpdateDaemonSet"] },
  Deployment: { metadata: [1, "meta.ObjectMeta"], spec: [2, "DeploymentSpec"], status: [3, "DeploymentStatus"] },
  DeploymentCondition: { type: [1, "string", K], status: [2, "string", K], lastUpdateTime: [6, "meta.Time"], lastTransitionTime: [7, "meta.Time"], reason: [4, "string"], message: [5, "string"] },
  DeploymentSpec: {
    replicas: [1, "int32", K], selector: [2, "meta.LabelSelector"], template: [3, "core.PodTemplateSpec"], strategy: [4, "DeploymentStrategy"],
    minReadySeconds: [5, "int32"], revisionHistoryLimit: [6, "int32", K], paused: [7, "bool"], progressDeadlineSeconds: [9, "int32", K],
    podReplacementPolicy: [10, "string", K],
  },
  DeploymentStatus: {
    observedGeneration: [1, "int64"], replicas: [2, "int32"], updatedReplicas: [3, "int32"], readyReplicas: [7, "int32"], availableReplicas: [4, "int32"],
    unavailableReplicas: [5, "int32"], terminatingReplicas: [9, "int32", K], conditions: [6, "DeploymentCondition", R], collisionCount: [8, "int32", K],
  },
  DeploymentStrategy: { type: [1, "string"], rollingUpdate: [2, "RollingUpdateDeployment"] },
  ReplicaSet: { metadata: [1, "meta.ObjectMeta"], spec: [2, "ReplicaSetSpec"], status: [3, "ReplicaSetStatus"] },
  ReplicaSetCondition: { type: [1, "string", K], status: [2, "string", K], lastTransitionTime: [3, "meta.Time"], reason: [4, "string"], message: [5, "string"] },
  ReplicaSetSpec: { replicas: [1, "int32", K], minReadySeconds: [4, "int32"], selector: [2, "meta.LabelSelector"], template: [3, "core.PodTemplateSpec"] },
  ReplicaSetStatus: {
    replicas: [1, "int32", K], fullyLabeledReplicas: [2, "int32"], readyReplicas: [4, "int32"], availableReplicas: [5, "int32"],
    terminatingReplicas: [7, "int32", K], observedGeneration: [3, "int64"], conditions: [6, "ReplicaSetCondition", R],
  },
  RollingUpdateDaemonSet: { maxUnavailable: [1, "intstr.IntOrString"], maxSurge: [2, "intstr.IntOrString"] },
  RollingUpdateDeployment: { maxUnavailable: [1, "intstr.IntOrString"], maxSurge: [2, "intstr.IntOrString"] },
  RollingUpdateStatefulSetStrategy: { partition: [1, "int32", K], maxUnavailable: [2, "intstr.IntOrString"] },
  StatefulSet: { metadata: [1, "meta.ObjectMeta"], spec: [2, "StatefulSetSpec"], status: [3, "StatefulSetStatus"] },
  StatefulSetCondition: { type: [1, "string", K], status: [2, "string", K], lastTransitionTime: [3, "meta.Time"], reason: [4, "string"], message: [5, "string"] },
  StatefulSetOrdinals: { start: [1, "int32"] },
  StatefulSetPersistentVolumeClaimRetentionPolicy: { whenDeleted: [1, "string"], whenScaled: [2, "string"] },
  StatefulSetSpec: {
    replicas: [1, "int32", K], selector: [2, "meta.LabelSelector"], template: [3, "core.PodTemplateSpec"], volumeClaimTemplates: [4, "core.PersistentVolumeClaim", R],
    serviceName: [5, "string"], podManagementPolicy: [6, "string"], updateStrategy: [7, "StatefulSetUpdateStrategy"], revisionHistoryLimit: [8, "int32", K],
    minReadySeconds: [9, "int32"], persistentVolumeClaimRetentionPolicy: [10, "StatefulSetPersistentVolumeClaimRetentionPolicy"], ordinals: [11, "StatefulSetOrdinals"],
  },
  StatefulSetStatus: {
    observedGeneration: [1, "int64"], replicas: [2, "int32", K], readyReplicas: [3, "int32"], currentReplicas: [4, "int32"], updatedReplicas: [5, "int32"],
    currentRevision: [6, "string"], updateRevision: [7, "string"], collisionCount: [9, "int32", K], conditions: [10, "StatefulSetCondition", R],
    availableReplicas: [11, "int32"],
  },
  StatefulSetUpdateStrategy: { type: [1, "string"], rollingUpdate: [2, "RollingUpdateStatefulSetStrategy"] },
};
