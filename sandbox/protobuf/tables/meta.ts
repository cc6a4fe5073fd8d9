/** k8s.io/apimachinery pkg/apis/meta/v1 messages that request bodies reach (ObjectMeta, Time, DeleteOptions...). */
import { K, type MessageTable, R } from "../schema.js";

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const meta: MessageTable = {
  Condition: { type: [1, "string", K], status: [2, "string", K], observedGeneration: [3, "int64"], lastTransitionTime: [4, "Time"], reason: [5, "string", K], message: [6, "string", K] },
  DeleteOptions: { gracePeriodSeconds: [1, "int64", K], preconditions: [2, "Preconditions"], orphanDependents: [3, "bool", K], propagationPolicy: [4, "string", K], dryRun: [5, "string", R], ignoreStoreReadErrorWithClusterBreakingPotential: [6, "bool", K] },
  FieldsV1: { Raw: [1, "bytes"] },
  LabelSelector: { matchLabels: [1, "map<string,string>"], matchExpressions: [2, "LabelSelectorRequirement", R] },
  LabelSelectorRequirement: { key: [1, "string", K], operator: [2, "string", K], values: [3, "string", R] },
  ManagedFieldsEntry: { manager: [1, "string"], operation: [2, "string"], apiVersion: [3, "string"], time: [4, "Time"], fieldsType: [6, "string"], fieldsV1: [7, "FieldsV1"], subresource: [8, "string"] },
  MicroTime: { seconds: [1, "int64"], nanos: [2, "int32"] },
  ObjectMeta: {
    name: [1, "string"], generateName: [2, "string"], namespace: [3, "string"], selfLink: [4, "string"], uid: [5, "string"], resourceVersion: [6, "string"],
    generation: [7, "int64"], creationTimestamp: [8, "Time"], deletionTimestamp: [9, "Time"], deletionGracePeriodSeconds: [10, "int64", K],
    labels: [11, "map<string,string>"], annotations: [12, "map<string,string>"], ownerReferences: [13, "OwnerReference", R], finalizers: [14, "string", R],
    managedFields: [17, "ManagedFieldsEntry", R],
  },
  OwnerReference: { apiVersion: [5, "string", K], kind: [1, "string", K], name: [3, "string", K], uid: [4, "string", K], controller: [6, "bool", K], blockOwnerDeletion: [7, "bool", K] },
  Preconditions: { uid: [1, "string", K], resourceVersion: [2, "string", K] },
  Time: { seconds: [1, "int64"], nanos: [2, "int32"] },
};
