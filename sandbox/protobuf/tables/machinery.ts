/**
 * The small k8s.io/apimachinery packages: the runtime.Unknown envelope every protobuf body is
 * wrapped in, RawExtension, IntOrString and Quantity.
 */
import type { MessageTable } from "../schema.js";

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const runtime: MessageTable = {
  TypeMeta: { apiVersion: [1, "string"], kind: [2, "string"] },
  Unknown: { typeMeta: [1, "TypeMeta"], raw: [2, "bytes"], contentEncoding: [3, "string"], contentType: [4, "string"] },
  RawExtension: { raw: [1, "bytes"] },
};

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const intstr: MessageTable = {
  IntOrString: { type: [1, "int64"], intVal: [2, "int32"], strVal: [3, "string"] },
};

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const resource: MessageTable = {
  Quantity: { string: [1, "string"] },
};
