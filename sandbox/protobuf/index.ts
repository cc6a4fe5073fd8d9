/** Kubernetes protobuf request bodies for the sandbox's HTTP server. */
export {
  decodeKubernetesProtobuf,
  encodeKubernetesProtobuf,
  PROTOBUF_CONTENT_TYPE,
  PROTOBUF_MAGIC,
  ProtobufDecodeError,
  UnsupportedProtobufKindError,
} from "./codec.js";
export { decodeProtobufRequestBody } from "./http.js";
export { messageForKind, supportedKinds } from "./registry.js";
