/** k8s.io/api authentication/v1: TokenRequest, the body of `kubectl create token`. */
import { K, type MessageTable, R } from "../schema.js";

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const authentication: MessageTable = {
  BoundObjectReference: { kind: [1, "string"], aPIVersion: [2, "string", undefined, "apiVersion"], name: [3, "string"], uID: [4, "string", undefined, "uid"] },
  TokenRequest: { metadata: [1, "meta.ObjectMeta"], spec: [2, "TokenRequestSpec"], status: [3, "TokenRequestStatus"] },
  TokenRequestSpec: { audiences: [1, "string", R], expirationSeconds: [4, "int64", K], boundObjectRef: [3, "BoundObjectReference"] },
  TokenRequestStatus: { token: [1, "string", K], expirationTimestamp: [2, "meta.Time"] },
};
