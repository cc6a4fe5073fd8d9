/** The syntax tree of a condition. Every node keeps its source offset for error messages. */
import type { Value } from "./value.js";

export type Node =
  | { type: "Literal"; value: Value; offset: number }
  | { type: "Identifier"; name: string; offset: number }
  /** `#` (the element) or `#index` inside a predicate. */
  | { type: "Pointer"; name: string; offset: number }
  | { type: "Member"; object: Node; property: Node; optional: boolean; offset: number }
  | { type: "Slice"; object: Node; from?: Node; to?: Node; offset: number }
  | { type: "Unary"; op: string; operand: Node; offset: number }
  | { type: "Binary"; op: string; left: Node; right: Node; offset: number }
  | { type: "Conditional"; test: Node; consequent: Node; alternate: Node; offset: number }
  | { type: "Call"; callee: string; args: Node[]; offset: number }
  | { type: "Closure"; body: Node; offset: number }
  | { type: "Array"; elements: Node[]; offset: number }
  | { type: "Map"; entries: { key: string; value: Node }[]; offset: number };
