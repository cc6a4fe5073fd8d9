export { type ApplyResult, apiErrorMessage, applyObjects } from "./apply.js";
export { ClusterClient, type ClusterClientOptions, type RequestRecord } from "./cluster-client.js";
export { Discovery, type DiscoveryOptions, UnknownKindError } from "./discovery.js";
export {
  type DeleteOptions,
  DynamicClient,
  type ListOptions,
  type ObjectRef,
  type PatchOptions,
  type PatchType,
  type WriteOptions,
} from "./dynamic-client.js";
export {
  apiException,
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  type KubeStatus,
  statusCode,
  statusOf,
  statusReason,
} from "./errors.js";
export { EventRecorder, type EventRecorderOptions, type EventType } from "./event-recorder.js";
export {
  type InformerClient,
  type InformerHandlers,
  type InformerScope,
  type InformerSettings,
  type ResourceTarget,
  SharedInformer,
} from "./informer.js";
export { InformerFactory } from "./informer-factory.js";
export { KubeconfigError, type KubeconfigOptions, loadKubeConfig } from "./kubeconfig.js";
export { type LeaderElectionOptions, LeaderElector } from "./leader-election.js";
export type { KubeRequester, KubeRequestOptions, QueryValue, WatchEvent } from "./requester.js";
export {
  apiVersionOf,
  type GroupVersionKind,
  type GroupVersionResource,
  groupVersionPath,
  keyOf,
  objectKey,
  type ResourceInfo,
  resourcePath,
  splitApiVersion,
  splitKey,
} from "./resource.js";
