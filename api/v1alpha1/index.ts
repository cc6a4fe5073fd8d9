/** slipway.dev/v1alpha1: types, schemas, the kind registry and the CRDs built from them. */
export * from "./analysis.js";
export * from "./application.js";
export * from "./applicationset.js";
export * from "./appproject.js";
export * from "./common.js";
export * from "./crds.js";
export * from "./kinds.js";
export * from "./rollout.js";
