/**
 * Watch streams: replay from a resourceVersion out of the store's log (410 Gone when the log no
 * longer reaches back), then live events; objects entering or leaving a selector are sent as
 * ADDED / DELETED, as the API server's watch cache does.
 */
import type { ServerResponse } from "node:http";
import type { SandboxCore } from "../core/api.js";
import { gone } from "../core/errors.js";
import type { ServedResource } from "../core/registry.js";
import { parseFieldSelector, parseLabelSelector } from "../core/selectors.js";
import { collectionKey, type LoggedEvent, objectKey } from "../core/store.js";
import type { KubeObject, WatchEventType } from "../core/types.js";

export interface WatchRequest {
  resource: ServedResource;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  timeoutSeconds?: number;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  /** Turns an object into what the client asked for (plain, Table row, PartialObjectMetadata). */
  render: (object: KubeObject) => unknown;
  /** Fault injection: drop the stream after this many ms. */
  dropAfterMs?: number;
}

export interface WatchHub {
  active: number;
}

export function serveWatch(core: SandboxCore, req: WatchRequest, res: ServerResponse, hub: WatchHub): void {
  const { resource } = req;
  const collection = collectionKey(resource.group, resource.plural);
  const labels = parseLabelSelector(req.labelSelector);
  const fields = parseFieldSelector(req.fieldSelector);
  const namespace = resource.namespaced ? req.namespace || undefined : undefined;
  const matches = (o: KubeObject) =>
    (namespace === undefined || o.metadata.namespace === namespace) && labels(o.metadata.labels) && fields(o);
  const visible = new Set<string>();

  res.writeHead(200, {
    "Content-Type": "application/json",
    "Transfer-Encoding": "chunked",
    "Cache-Control": "no-cache, private",
  });
  res.flushHeaders();
  hub.active++;

  const send = (type: WatchEventType, object: unknown) => {
    if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const emit = (type: LoggedEvent["type"], object: KubeObject) => {
    const key = objectKey(object.metadata.namespace, object.metadata.name!);
    const now = type !== "DELETED" && matches(object);
    const before = visible.has(key);
    const presented = core.present(resource, object);
    if (type === "DELETED") {
      if (before || matches(object)) send("DELETED", req.render(presented));
      visible.delete(key);
    } else if (now) {
      visible.add(key);
      send(before ? "MODIFIED" : "ADDED", req.render(presented));
    } else if (before) {
      visible.delete(key);
      send("DELETED", req.render(presented));
    }
  };

  const bookmark = () =>
    send("BOOKMARK", {
      kind: resource.kind,
      apiVersion: resource.group ? `${resource.group}/${resource.version}` : resource.version,
      metadata: { resourceVersion: String(core.store.currentRevision) },
    });

  const rv = req.resourceVersion;
  const fromScratch = rv === undefined || rv === "" || rv === "0" || req.sendInitialEvents;
  if (fromScratch) {
    for (const o of core.listRaw(resource, { ...(namespace ? { namespace } : {}) }))
      if (matches(o)) emit("ADDED", o);
    if (req.sendInitialEvents) {
      send("BOOKMARK", {
        kind: resource.kind,
        apiVersion: resource.group ? `${resource.group}/${resource.version}` : resource.version,
        metadata: {
          resourceVersion: String(core.store.currentRevision),
          annotations: { "k8s.io/initial-events-end": "true" },
        },
      });
    }
  } else {
    const since = core.store.eventsSince(Number(rv), collection);
    if (since === undefined || Number.isNaN(Number(rv))) {
      const err = gone(`too old resource version: ${rv} (${core.store.oldestResumableRevision})`);
      send("ERROR", err.toStatus());
      res.end();
      hub.active--;
      return;
    }
    // Objects that existed at rv and matched: we cannot know them all cheaply, so treat every
    // currently stored match as visible; replayed events then correct the picture.
    for (const o of core.listRaw(resource, { ...(namespace ? { namespace } : {}) })) {
      if (matches(o)) visible.add(objectKey(o.metadata.namespace, o.metadata.name!));
    }
    for (const e of since) emitReplay(e);
  }

  function emitReplay(e: LoggedEvent) {
    // During replay an object's MODIFIED is shown even if it entered the set later (already counted visible).
    const key = objectKey(e.object.metadata.namespace, e.object.metadata.name!);
    if (e.type === "ADDED" && matches(e.object)) {
      visible.add(key);
      send("ADDED", req.render(core.present(resource, e.object)));
    } else emit(e.type, e.object);
  }

  const unsubscribe = core.store.subscribe((e) => {
    if (e.collection === collection) emit(e.type, e.object);
  });
  const timers: NodeJS.Timeout[] = [];
  let closed = false;
  const cleanup = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    hub.active--;
  };
  res.on("close", cleanup);
  if (req.allowBookmarks) timers.push(setInterval(bookmark, 5_000));
  timers.push(
    setTimeout(
      () => {
        cleanup();
        res.end();
      },
      (req.timeoutSeconds ?? 1800) * 1000,
    ),
  );
  if (req.dropAfterMs !== undefined) {
    timers.push(
      setTimeout(() => {
        // A dropped stream: the connection goes away without a clean end, as when a proxy resets it.
        cleanup();
        res.socket?.destroy();
      }, req.dropAfterMs),
    );
  }
}
