import { describe, expect, it } from "vitest";
import { cloneJson } from "../../api/json.js";

describe("cloneJson", () => {
  it("copies a JSON tree deeply, keeping key order, undefined members and nulls", () => {
    const source = { b: 1, a: { list: [1, { x: "y" }, null], u: undefined }, s: "t", f: false };
    const copy = cloneJson(source);
    expect(copy).toEqual(source);
    expect(Object.keys(copy)).toEqual(["b", "a", "s", "f"]);
    expect("u" in copy.a).toBe(true);
    copy.a.list[1] = { x: "changed" };
    (copy.a.list as unknown[]).push(4);
    expect(source.a.list).toEqual([1, { x: "y" }, null]);
    expect(copy.a).not.toBe(source.a);
  });

  it("copies values that are not plain JSON instead of sharing them", () => {
    const when = new Date(0);
    const source = { when, tags: new Map([["k", "v"]]), bare: Object.assign(Object.create(null), { k: 1 }) };
    const copy = cloneJson(source);
    expect(copy.when).not.toBe(when);
    expect(copy.when.getTime()).toBe(0);
    expect(copy.tags.get("k")).toBe("v");
    expect(copy.tags).not.toBe(source.tags);
    expect(copy.bare).toEqual({ k: 1 });
  });
});
