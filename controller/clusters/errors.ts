/** A cluster Secret slipway cannot use; the message says which field and why. */
export class ClusterSecretError extends Error {
  override readonly name = "ClusterSecretError";
}
