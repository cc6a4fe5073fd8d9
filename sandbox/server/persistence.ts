/**
 * Optional persistence (`--state-dir`): a JSON snapshot of every object and the current
 * resourceVersion, written shortly after changes and on shutdown, read at start.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ObjectStore } from "../core/store.js";
import type { KubeObject } from "../core/types.js";

interface Snapshot {
  revision: number;
  objects: { collection: string; object: KubeObject }[];
}

const FILE = "objects.json";

export function loadStore(dir: string | undefined): ObjectStore {
  if (!dir || !existsSync(join(dir, FILE))) return new ObjectStore();
  const snapshot = JSON.parse(readFileSync(join(dir, FILE), "utf8")) as Snapshot;
  // Resume numbering above the saved revision so clients never see a resourceVersion go backwards.
  const store = new ObjectStore(50_000, snapshot.revision + 1);
  for (const { collection, object } of snapshot.objects) store.restore(collection, object);
  return store;
}

export function saveStore(dir: string, store: ObjectStore): void {
  mkdirSync(dir, { recursive: true });
  const snapshot: Snapshot = { revision: store.currentRevision, objects: [...store.all()] };
  const tmp = join(dir, `${FILE}.tmp`);
  // Write then rename, so a crash mid-write never leaves a torn snapshot.
  writeFileSync(tmp, JSON.stringify(snapshot));
  renameSync(tmp, join(dir, FILE));
}

/** Saves at most once per `delayMs` while changes keep coming. */
export class SnapshotWriter {
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly dir: string,
    private readonly store: ObjectStore,
    private readonly delayMs = 1000,
  ) {
    this.unsubscribe = store.subscribe(() => this.schedule());
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      saveStore(this.dir, this.store);
    }, this.delayMs);
    this.timer.unref();
  }

  close(): void {
    this.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    saveStore(this.dir, this.store);
  }
}
