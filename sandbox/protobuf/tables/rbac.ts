/** k8s.io/api rbac/v1. */
import { K, type MessageTable, R } from "../schema.js";

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const rbac: MessageTable = {
  AggregationRule: { clusterRoleSelectors: [1, "meta.LabelSelector", R] },
  ClusterRole: { metadata: [1, "meta.ObjectMeta"], rules: [2, "PolicyRule", R], aggregationRule: [3, "AggregationRule"] },
  ClusterRoleBinding: { metadata: [1, "meta.ObjectMeta"], subjects: [2, "Subject", R], roleRef: [3, "RoleRef"] },
  PolicyRule: { verbs: [1, "string", R], apiGroups: [2, "string", R], resources: [3, "string", R], resourceNames: [4, "string", R], nonResourceURLs: [5, "string", R] },
  Role: { metadata: [1, "meta.ObjectMeta"], rules: [2, "PolicyRule", R] },
  RoleBinding: { metadata: [1, "meta.ObjectMeta"], subjects: [2, "Subject", R], roleRef: [3, "RoleRef"] },
  RoleRef: { apiGroup: [1, "string", K], kind: [2, "string", K], name: [3, "string", K] },
  Subject: { kind: [1, "string", K], apiGroup: [2, "string"], name: [3, "string", K], namespace: [4, "string"] },
};
