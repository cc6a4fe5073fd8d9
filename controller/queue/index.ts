export { type Clock, sleep, systemClock, type TimerHandle } from "./clock.js";
export { MemoryQueue, type MemoryQueueOptions } from "./memory-queue.js";
export { DURATION_BUCKETS, type QueueMetrics, queueMetrics, registerOnce } from "./metrics.js";
export {
  type BackoffOptions,
  DEFAULT_BACKOFF,
  ExponentialBackoff,
  type RateLimiter,
} from "./rate-limiter.js";
export type { QueueWorker, WorkQueue } from "./work-queue.js";
