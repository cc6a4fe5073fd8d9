/** k8s.io/api authorization/v1: the self reviews `kubectl auth can-i` sends. */
import { K, type MessageTable, R } from "../schema.js";

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const authorization: MessageTable = {
  SelfSubjectAccessReview: { metadata: [1, "meta.ObjectMeta"], spec: [2, "SelfSubjectAccessReviewSpec"], status: [3, "SubjectAccessReviewStatus"] },
  SelfSubjectAccessReviewSpec: { resourceAttributes: [1, "ResourceAttributes"], nonResourceAttributes: [2, "NonResourceAttributes"] },
  ResourceAttributes: {
    namespace: [1, "string"], verb: [2, "string"], group: [3, "string"], version: [4, "string"], resource: [5, "string"],
    subresource: [6, "string"], name: [7, "string"],
  },
  NonResourceAttributes: { path: [1, "string"], verb: [2, "string"] },
  SubjectAccessReviewStatus: { allowed: [1, "bool", K], reason: [2, "string"], evaluationError: [3, "string"], denied: [4, "bool"] },
  SelfSubjectRulesReview: { metadata: [1, "meta.ObjectMeta"], spec: [2, "SelfSubjectRulesReviewSpec"], status: [3, "SubjectRulesReviewStatus"] },
  SelfSubjectRulesReviewSpec: { namespace: [1, "string"] },
  SubjectRulesReviewStatus: {
    resourceRules: [1, "ResourceRule", R], nonResourceRules: [2, "NonResourceRule", R], incomplete: [3, "bool", K], evaluationError: [4, "string"],
  },
  ResourceRule: { verbs: [1, "string", R], apiGroups: [2, "string", R], resources: [3, "string", R], resourceNames: [4, "string", R] },
  NonResourceRule: { verbs: [1, "string", R], nonResourceURLs: [2, "string", R] },
};
