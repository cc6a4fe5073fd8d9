/** The AnalysisRun controller: reconciler, factory, events and metrics. */
export { type AnalysisRunControllerOptions, createAnalysisRunController } from "./controller.js";
export { type RunEvent, transitionEvents } from "./events.js";
export { AnalysisMetrics } from "./metrics.js";
export {
  type AnalysisRunObject,
  AnalysisRunReconciler,
  type AnalysisRunReconcilerOptions,
} from "./run-reconciler.js";
export { readSecretArgs } from "./secrets.js";
