import type { ApplicationSource } from "../../../api/v1alpha1/application.js";
import type { KubeObject } from "../../../api/v1alpha1/crds.js";
import type { ToolPaths } from "./exec.js";
import type { ObjectOrigin } from "./manifests.js";

export type SourceType = "Directory" | "Kustomize" | "Helm";

export interface RenderOptions {
  /** Where the tools are; absent entries are looked up on PATH, `null` means "not installed". */
  tools?: ToolPaths;
  /** The Application's name: Helm's default release name. */
  appName?: string;
  /** The destination namespace: Helm's `--namespace`, and the namespace of unnamespaced objects for duplicate checks. */
  namespace?: string;
  /** Deadline per tool run. Default 90 s (Argo CD's repo-server exec timeout). */
  timeoutMs?: number;
  /** Largest tool output accepted. Default 128 MiB. */
  maxOutputBytes?: number;
  /** Largest single manifest file. Default 16 MiB. */
  maxFileBytes?: number;
  /** Largest sum of manifest files of a directory source. Default 128 MiB. */
  maxTotalBytes?: number;
  /** PATH used to find tools and passed to them. Default: the controller's PATH. */
  pathEnv?: string;
}

export interface RenderResult {
  type: SourceType;
  objects: KubeObject[];
  /** Parallel to `objects`: which file (and document) each came from. */
  origins: ObjectOrigin[];
  /** Repo-relative files the render read (manifests, kustomizations, value files, jsonnet). */
  files: string[];
  warnings: string[];
}

export interface RenderLimits {
  timeoutMs: number;
  maxOutputBytes: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

/** What every source-type renderer gets. */
export interface RenderContext {
  source: ApplicationSource;
  /** Real path of the checkout root. */
  root: string;
  /** Real path of the app directory. */
  appDir: string;
  /** Normalised `source.path` (`.` for the root). */
  appPath: string;
  options: RenderOptions;
  limits: RenderLimits;
  files: string[];
  warnings: string[];
}
