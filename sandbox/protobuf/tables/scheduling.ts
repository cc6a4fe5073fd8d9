/** k8s.io/api scheduling/v1. */
import { K, type MessageTable } from "../schema.js";

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const scheduling: MessageTable = {
  PriorityClass: { metadata: [1, "meta.ObjectMeta"], value: [2, "int32", K], globalDefault: [3, "bool"], description: [4, "string"], preemptionPolicy: [5, "string", K] },
};
