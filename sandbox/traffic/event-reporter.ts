/**
 * Raises Warning Events about bad simulation input once per object and message, not once per
 * request: at 2,000 requests a second, a per-request Event would flood the store.
 */
import type { KubeObject, SandboxApi } from "../core/types.js";

export class EventReporter {
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly api: Pick<SandboxApi, "recordEvent">) {}

  /** Records a Warning Event unless the same one was already recorded for this object. */
  readonly warn = (object: KubeObject, reason: string, message: string): void => {
    const id = objectId(object);
    let messages = this.seen.get(id);
    if (!messages) {
      messages = new Set();
      this.seen.set(id, messages);
    }
    const key = `${reason}\n${message}`;
    if (messages.has(key)) return;
    messages.add(key);
    try {
      this.api.recordEvent(object, "Warning", reason, message);
    } catch {
      // An Event that cannot be stored (e.g. its namespace is being deleted) must not stop traffic.
    }
  };

  /** Drops the memory of an object that was deleted; a re-created object is reported afresh. */
  forget(object: KubeObject): void {
    this.seen.delete(objectId(object));
  }

  clear(): void {
    this.seen.clear();
  }
}

/** uid when the store assigned one; kind/namespace/name otherwise (plain test objects). */
function objectId(object: KubeObject): string {
  return (
    object.metadata.uid ?? `${object.kind}/${object.metadata.namespace ?? ""}/${object.metadata.name ?? ""}`
  );
}
