/**
 * planWrites: the writes that bring a set's Applications to what its template renders, and the
 * memo hook that lets the controller skip comparing apps it already found equal.
 */
import { describe, expect, it } from "vitest";
import type { Application } from "../../api/v1alpha1/application.js";
import { planWrites } from "../../controller/appset/plan.js";

function app(name: string, path: string, extra: Partial<Application["metadata"]> = {}): Application {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "Application",
    metadata: { name, namespace: "slipway-system", ...extra },
    spec: {
      project: "default",
      source: { repoURL: "https://git.example/r.git", path, targetRevision: "main" },
      destination: { name: "east", namespace: "web" },
    },
  } as Application;
}

describe("planWrites", () => {
  it("creates the missing, updates the changed, deletes the unwanted, leaves the equal", () => {
    const existing = [
      app("same", "a", { resourceVersion: "1" }),
      app("changed", "old", { resourceVersion: "2" }),
      app("gone", "a", { resourceVersion: "3" }),
    ];
    const writes = planWrites([app("same", "a"), app("changed", "new"), app("new", "a")], existing);
    expect(writes.map((w) => [w.op, (w.op === "delete" ? w.existing : w.app).metadata.name])).toEqual([
      ["update", "changed"],
      ["create", "new"],
      ["delete", "gone"],
    ]);
    const update = writes[0] as { app: Application; existing: Application };
    expect(update.app.spec.source?.path).toBe("new");
    // The existing object (the informer's cache) is not modified.
    expect(update.existing.spec.source?.path).toBe("old");
    expect(update.app.metadata.resourceVersion).toBe("2");
  });

  it("skips the comparison where knownEqual says so, and only there", () => {
    const existing = [app("a", "old", { resourceVersion: "7" }), app("b", "old", { resourceVersion: "8" })];
    const asked: string[] = [];
    const writes = planWrites([app("a", "new"), app("b", "new")], existing, "sync", {}, (d) => {
      asked.push(d.metadata.name ?? "");
      return d.metadata.name === "a";
    });
    expect(asked).toEqual(["a", "b"]);
    expect(writes.map((w) => (w.op === "delete" ? w.existing : w.app).metadata.name)).toEqual(["b"]);
  });

  it("create-only never updates or deletes", () => {
    const writes = planWrites([app("x", "new")], [app("x", "old"), app("y", "a")], "create-only");
    expect(writes).toEqual([]);
  });
});
