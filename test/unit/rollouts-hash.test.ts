/** The pod-template hash: stable across key order and processes, blind to the hash label. */
import { describe, expect, it } from "vitest";
import { canonicalJson, fnv1a32, podTemplateHash, safeEncode } from "../../controller/rollouts/hash.js";

const template = {
  metadata: { labels: { app: "web", tier: "front" }, annotations: { note: "x" } },
  spec: { containers: [{ name: "web", image: "web:1", ports: [{ containerPort: 8080 }] }] },
};

describe("podTemplateHash", () => {
  it("is the same for the same template written in another key order", () => {
    const reordered = {
      spec: { containers: [{ ports: [{ containerPort: 8080 }], image: "web:1", name: "web" }] },
      metadata: { annotations: { note: "x" }, labels: { tier: "front", app: "web" } },
    };
    expect(podTemplateHash(reordered)).toBe(podTemplateHash(template));
  });

  it("is a fixed value for a fixed template (names survive restarts and upgrades)", () => {
    expect(podTemplateHash(template)).toBe(podTemplateHash(structuredClone(template)));
    expect(podTemplateHash(template)).toMatchInlineSnapshot(`"5474776f4f"`);
  });

  it("changes with the image, a label or an annotation", () => {
    const h = podTemplateHash(template);
    const image = structuredClone(template);
    image.spec.containers[0]!.image = "web:2";
    const label = structuredClone(template);
    label.metadata.labels.tier = "back";
    const note = structuredClone(template);
    note.metadata.annotations.note = "y";
    expect(new Set([h, podTemplateHash(image), podTemplateHash(label), podTemplateHash(note)]).size).toBe(4);
  });

  it("ignores the rollouts-pod-template-hash label and undefined members", () => {
    const labelled = structuredClone(template) as typeof template & {
      metadata: { labels: Record<string, string> };
    };
    labelled.metadata.labels["rollouts-pod-template-hash"] = "abc";
    expect(podTemplateHash(labelled)).toBe(podTemplateHash(template));
    expect(podTemplateHash({ ...template, extra: undefined })).toBe(podTemplateHash(template));
  });

  it("mixes in a collision count", () => {
    expect(podTemplateHash(template, 1)).not.toBe(podTemplateHash(template));
  });

  it("uses Kubernetes' safe alphabet", () => {
    expect(podTemplateHash(template)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(safeEncode("0123456789")).toBe("456789bcdf");
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(canonicalJson({ b: 1, a: [2, { d: 3, c: null }] })).toBe('{"a":[2,{"c":null,"d":3}],"b":1}');
  });
});
