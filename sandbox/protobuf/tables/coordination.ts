/** k8s.io/api coordination/v1. */
import { K, type MessageTable } from "../schema.js";

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const coordination: MessageTable = {
  Lease: { metadata: [1, "meta.ObjectMeta"], spec: [2, "LeaseSpec"] },
  LeaseSpec: {
    holderIdentity: [1, "string", K], leaseDurationSeconds: [2, "int32", K], acquireTime: [3, "meta.MicroTime"], renewTime: [4, "meta.MicroTime"],
    leaseTransitions: [5, "int32", K], strategy: [6, "string", K], preferredHolder: [7, "string", K],
  },
};
