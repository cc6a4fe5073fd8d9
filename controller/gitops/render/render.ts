/**
 * Render: the manifests an Application's source describes, from a checked-out tree.
 *
 * The source type is chosen as Argo CD chooses it: an explicit non-empty `helm`, `kustomize` or
 * `directory` field decides (two at once is an error); otherwise the app directory is looked at:
 * a kustomization file means Kustomize (it wins over a Chart.yaml next to it, as in Argo CD), a
 * `Chart.yaml` means Helm, anything else is a plain directory, in which `.jsonnet` files are
 * evaluated alongside YAML and JSON.
 *
 * Every failure is a typed {@link RenderError} naming the file, so the reconciler can set a
 * `ComparisonError` condition and leave the live state alone; nothing here throws untyped errors
 * for bad repository content.
 */
import type { ApplicationSource } from "../../../api/v1alpha1/application.js";
import { renderDirectory } from "./directory.js";
import { RenderError } from "./errors.js";
import { renderHelm } from "./helm.js";
import { findKustomization, renderKustomize } from "./kustomize.js";
import { assertNoDuplicates, type ParsedManifest } from "./manifests.js";
import { assertNoEscapingSymlinks, lstatOrUndefined, resolveAppDir } from "./paths.js";
import type { RenderContext, RenderOptions, RenderResult, SourceType } from "./types.js";

const DEFAULTS = {
  timeoutMs: 90_000,
  maxOutputBytes: 128 * 1024 * 1024,
  maxFileBytes: 16 * 1024 * 1024,
  maxTotalBytes: 128 * 1024 * 1024,
};

function isSet(value: object | undefined): boolean {
  if (!value) return false;
  return Object.values(value).some(
    (v) => v !== undefined && v !== null && v !== false && v !== "" && !(Array.isArray(v) && v.length === 0),
  );
}

/** The source type for `source` with its app directory at `appDir` (see the module comment). */
export async function detectSourceType(source: ApplicationSource, appDir: string): Promise<SourceType> {
  if (source.chart) {
    throw new RenderError(
      `source.chart "${source.chart}" names a Helm repository chart; only charts in Git repositories are supported`,
      { reason: "InvalidSource" },
    );
  }
  const explicit: SourceType[] = [];
  if (isSet(source.helm)) explicit.push("Helm");
  if (isSet(source.kustomize)) explicit.push("Kustomize");
  if (isSet(source.directory)) explicit.push("Directory");
  if (explicit.length > 1) {
    throw new RenderError(
      `multiple source types are set (${explicit.join(", ")}); set only one of helm, kustomize, directory`,
      {
        reason: "InvalidSource",
      },
    );
  }
  if (explicit[0]) return explicit[0];
  if (await findKustomization(appDir)) return "Kustomize";
  if ((await lstatOrUndefined(`${appDir}/Chart.yaml`))?.isFile()) return "Helm";
  return "Directory";
}

/**
 * Renders `source` from the checkout at `checkoutDir` (a RepoCache checkout or any directory).
 * Checks path safety first: `source.path` must be relative without `..`, and no symlink in the
 * checkout may lead outside it.
 */
export async function render(
  source: ApplicationSource,
  checkoutDir: string,
  options: RenderOptions = {},
): Promise<RenderResult> {
  const location = await resolveAppDir(checkoutDir, source.path);
  await assertNoEscapingSymlinks(location.root);
  const type = await detectSourceType(source, location.appDir);
  const ctx: RenderContext = {
    source,
    ...location,
    options,
    limits: {
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      maxOutputBytes: options.maxOutputBytes ?? DEFAULTS.maxOutputBytes,
      maxFileBytes: options.maxFileBytes ?? DEFAULTS.maxFileBytes,
      maxTotalBytes: options.maxTotalBytes ?? DEFAULTS.maxTotalBytes,
    },
    files: [],
    warnings: [],
  };
  let manifests: ParsedManifest[];
  if (type === "Kustomize") manifests = await renderKustomize(ctx);
  else if (type === "Helm") manifests = await renderHelm(ctx);
  else manifests = await renderDirectory(ctx);
  assertNoDuplicates(manifests, options.namespace);
  return {
    type,
    objects: manifests.map((m) => m.object),
    origins: manifests.map((m) => m.origin),
    files: ctx.files,
    warnings: ctx.warnings,
  };
}
