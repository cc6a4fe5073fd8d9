/** Render: directory | kustomize | helm | jsonnet → Kubernetes objects, with path safety and typed errors. */
export { argoGlob, listManifestFiles } from "./directory.js";
export * from "./errors.js";
export { findTool, type ToolName, type ToolPaths } from "./exec.js";
export { escapeSetValue } from "./helm.js";
export { parseImageOverride } from "./kustomize.js";
export {
  assertNoDuplicates,
  type ObjectOrigin,
  type ParsedManifest,
  parseJsonManifests,
  parseYamlManifests,
} from "./manifests.js";
export { detectSourceType, render } from "./render.js";
export type { RenderOptions, RenderResult, SourceType } from "./types.js";
