/**
 * The HTTP server's entry point: decodes a protobuf request body and maps the decoder's refusals
 * onto API errors. Malformed bytes propagate as plain errors, which parseBody already answers with
 * 400 "the object provided is unrecognized or malformed".
 */
import { ApiError } from "../core/errors.js";
import { decodeKubernetesProtobuf, PROTOBUF_CONTENT_TYPE, UnsupportedProtobufKindError } from "./codec.js";

export { PROTOBUF_CONTENT_TYPE };

export function decodeProtobufRequestBody(body: Buffer): Record<string, unknown> {
  try {
    return decodeKubernetesProtobuf(body);
  } catch (error) {
    if (error instanceof UnsupportedProtobufKindError) {
      throw new ApiError(
        415,
        "UnsupportedMediaType",
        `the sandbox cannot decode ${error.kind} (${error.apiVersion || "no apiVersion"}) from ${PROTOBUF_CONTENT_TYPE}: no descriptor for that kind; send it as application/json`,
      );
    }
    throw error;
  }
}
