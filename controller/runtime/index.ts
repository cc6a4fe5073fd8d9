export {
  Controller,
  type ControllerOptions,
  type EventSource,
  type InformerEvent,
  type WatchOptions,
} from "./controller.js";
export { controllerOwnerKey, type KeyMapper, ownKey } from "./key-mappers.js";
export type { ReconcileContext, ReconcileResult, Reconciler } from "./reconciler.js";
export { TerminalError } from "./terminal-error.js";
