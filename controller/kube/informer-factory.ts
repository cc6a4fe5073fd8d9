/**
 * One informer per (resource, namespace, selectors) per cluster, shared by every controller
 * that asks for it, as client-go's `SharedInformerFactory`: ten reconcilers reading Services
 * cost one list and one watch, not ten.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  describeTarget,
  type InformerClient,
  type InformerScope,
  type InformerSettings,
  type ResourceTarget,
  SharedInformer,
} from "./informer.js";

export class InformerFactory {
  private readonly informers = new Map<string, SharedInformer<KubernetesObject>>();
  private started = false;

  constructor(
    private readonly client: InformerClient,
    private readonly settings: InformerSettings = {},
  ) {}

  /**
   * The shared informer for `target` within `scope`. The same arguments give the same
   * instance. (A resource named once by GVR and once by kind gets two caches: name each
   * resource one way.) Informers made after `start()` start at once.
   */
  forResource<T extends KubernetesObject = KubernetesObject>(
    target: ResourceTarget,
    scope: InformerScope = {},
  ): SharedInformer<T> {
    const key = describeTarget(target, scope);
    let informer = this.informers.get(key);
    if (!informer) {
      informer = new SharedInformer<KubernetesObject>(this.client, target, scope, this.settings);
      this.informers.set(key, informer);
      if (this.started) informer.start();
    }
    // The cache holds whatever the server sends; the caller names the type it expects.
    return informer as unknown as SharedInformer<T>;
  }

  /** Starts every informer made so far, and those made later. */
  start(): void {
    this.started = true;
    for (const informer of this.informers.values()) informer.start();
  }

  /** Resolves true when every informer has synced; false if one stopped or `signal` aborted. */
  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
    return results.every(Boolean);
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
