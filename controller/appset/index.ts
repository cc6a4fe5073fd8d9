export {
  type ApplicationSetController,
  type ApplicationSetControllerOptions,
  ApplicationSetReconciler,
  createApplicationSetController,
} from "./controller.js";
export * from "./generators.js";
export * from "./plan.js";
export * from "./rolling-sync.js";
export * from "./template.js";
