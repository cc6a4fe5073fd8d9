/**
 * Turning YAML/JSON text into Kubernetes objects, with the checks that make a bad commit fail
 * loudly and locally instead of half-applying: every document must be a mapping with
 * `apiVersion` and `kind`, `List` kinds are expanded, empty documents are skipped, and two
 * definitions of the same object are an error naming both places.
 *
 * YAML is parsed as YAML 1.1, the dialect kubectl's parser (sigs.k8s.io/yaml → go-yaml v2)
 * implements, so `defaultMode: 0644` is 420 and `yes` is true exactly as `kubectl apply` would
 * read them; timestamps, binary, sets and ordered maps are left as plain strings/sequences, as
 * go-yaml does when decoding into untyped JSON. Aliases are capped (`maxAliasCount`) so a
 * "billion laughs" document is refused in milliseconds instead of exhausting memory.
 */

import { type Document, parseAllDocuments, type Tags } from "yaml";
import type { KubeObject } from "../../../api/v1alpha1/crds.js";
import { DuplicateResourceError, RenderError } from "./errors.js";

/** Where an object came from: a repo-relative file (or tool output label) and a 1-based document. */
export interface ObjectOrigin {
  file: string;
  /** For tool output: the template the document came from (Helm's `# Source:` comment). */
  source?: string;
  document: number;
  /** Index inside a `List` document, when the object was one of its items. */
  item?: number;
}

export interface ParsedManifest {
  object: KubeObject;
  origin: ObjectOrigin;
}

export interface ParseOptions {
  /** Alias expansions allowed per document (yaml's exhaustion guard). Default 50. */
  maxAliasCount?: number;
  /**
   * For tool output: read Helm's `# Source: chart/templates/x.yaml` comments so errors name the
   * template rather than "helm template output".
   */
  sourceComments?: boolean;
}

const DROPPED_TAGS = new Set([
  "tag:yaml.org,2002:timestamp",
  "tag:yaml.org,2002:binary",
  "tag:yaml.org,2002:set",
  "tag:yaml.org,2002:omap",
  "tag:yaml.org,2002:pairs",
]);

function yaml11Tags(tags: Tags): Tags {
  return tags.filter((tag) => typeof tag === "string" || !DROPPED_TAGS.has(tag.tag ?? ""));
}

export function describeOrigin(origin: ObjectOrigin): string {
  const item = origin.item === undefined ? "" : `, item ${origin.item}`;
  const source = origin.source ? `: ${origin.source}` : "";
  return `${origin.file}${source} (document ${origin.document}${item})`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Validates one decoded document and appends it (or its List items) to `out`.
 * Exported for JSON sources (Jsonnet output) that bypass YAML.
 */
export function collectObject(value: unknown, origin: ObjectOrigin, out: ParsedManifest[]): void {
  if (value === null || value === undefined) return;
  const where = describeOrigin(origin);
  if (!isRecord(value)) {
    throw new RenderError(
      `${where}: expected a Kubernetes object (a mapping), got ${Array.isArray(value) ? "a list" : typeof value}`,
      {
        reason: "InvalidManifest",
        file: origin.file,
      },
    );
  }
  const { apiVersion, kind } = value;
  const missing = [
    typeof apiVersion === "string" && apiVersion !== "" ? undefined : "apiVersion",
    typeof kind === "string" && kind !== "" ? undefined : "kind",
  ].filter((f): f is string => f !== undefined);
  if (missing.length > 0) {
    throw new RenderError(`${where}: object has no ${missing.join(" or ")}`, {
      reason: "InvalidManifest",
      file: origin.file,
    });
  }
  // `kind: List` (and typed lists such as ConfigMapList) carry their objects in `items`.
  if ((kind as string).endsWith("List") && Array.isArray(value.items)) {
    value.items.forEach((item, index) => {
      if (item === null || item === undefined) return;
      if (origin.item !== undefined) {
        throw new RenderError(`${where}: nested List objects are not supported`, {
          reason: "InvalidManifest",
          file: origin.file,
        });
      }
      collectObject(item, { ...origin, item: index + 1 }, out);
    });
    return;
  }
  const metadata = value.metadata;
  if (metadata !== undefined && metadata !== null && !isRecord(metadata)) {
    throw new RenderError(`${where}: metadata must be a mapping`, {
      reason: "InvalidManifest",
      file: origin.file,
    });
  }
  if (isRecord(metadata)) {
    for (const field of ["name", "namespace", "generateName"] as const) {
      const v = metadata[field];
      if (v !== undefined && v !== null && typeof v !== "string") {
        throw new RenderError(`${where}: metadata.${field} must be a string`, {
          reason: "InvalidManifest",
          file: origin.file,
        });
      }
    }
  }
  const object = { ...value, metadata: isRecord(metadata) ? metadata : {} } as KubeObject;
  out.push({ object, origin });
}

function yamlErrorMessage(error: {
  message: string;
  linePos?: [{ line: number; col: number }, ...unknown[]];
}): string {
  const first = error.message.split("\n")[0] ?? error.message;
  return first.replace(/:\s*$/, "");
}

/** Parses a (multi-document) YAML text. `file` labels every error and origin. */
export function parseYamlManifests(text: string, file: string, options: ParseOptions = {}): ParsedManifest[] {
  const maxAliasCount = options.maxAliasCount ?? 50;
  const out: ParsedManifest[] = [];
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      version: "1.1",
      customTags: yaml11Tags,
      prettyErrors: true,
    }) as Document.Parsed[];
  } catch (error) {
    throw new RenderError(`${file}: invalid YAML: ${(error as Error).message}`, {
      reason: "InvalidManifest",
      file,
      cause: error,
    });
  }
  if (!Array.isArray(docs)) docs = [docs];
  let previousEnd = 0;
  docs.forEach((doc, index) => {
    const document = index + 1;
    let source: string | undefined;
    if (options.sourceComments) {
      const head = text.slice(previousEnd, Math.min(doc.range[1], doc.range[0] + 4096));
      source = /^#\s*Source:\s*(.+?)\s*$/m.exec(head)?.[1];
    }
    const label = source ? `${file}: ${source}` : file;
    previousEnd = doc.range[2];
    const error = doc.errors[0];
    if (error) {
      throw new RenderError(`${label} (document ${document}): invalid YAML: ${yamlErrorMessage(error)}`, {
        reason: "InvalidManifest",
        file,
        cause: error,
      });
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount });
    } catch (cause) {
      const message =
        cause instanceof ReferenceError && /alias/i.test(cause.message)
          ? `too many YAML alias expansions (more than ${maxAliasCount}); refusing a possible alias bomb`
          : (cause as Error).message;
      throw new RenderError(`${label} (document ${document}): ${message}`, {
        reason: "InvalidManifest",
        file,
        cause,
      });
    }
    collectObject(value, source ? { file, source, document } : { file, document }, out);
  });
  return out;
}

/** Parses a `.json` file: one object (or `List`), or an array of objects. */
export function parseJsonManifests(text: string, file: string): ParsedManifest[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RenderError(`${file}: invalid JSON: ${(error as Error).message}`, {
      reason: "InvalidManifest",
      file,
      cause: error,
    });
  }
  const out: ParsedManifest[] = [];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) collectObject(v, { file, document: i + 1 }, out);
  } else collectObject(value, { file, document: 1 }, out);
  return out;
}

/** API group of an apiVersion (`apps/v1` → `apps`, `v1` → core ""). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

/**
 * Refuses two definitions of one object (same group, kind, namespace and name; the version does
 * not matter, since both would be applied to the same stored object). Objects without a name
 * (`generateName` hooks) are never duplicates. `defaultNamespace` is the destination namespace
 * that namespaced objects without one will land in.
 */
export function assertNoDuplicates(manifests: ParsedManifest[], defaultNamespace = ""): void {
  const seen = new Map<string, ObjectOrigin>();
  for (const { object, origin } of manifests) {
    const name = object.metadata?.name;
    if (!name) continue;
    const namespace = object.metadata?.namespace || defaultNamespace;
    const group = groupOf(object.apiVersion);
    const key = `${group}\0${object.kind}\0${namespace}\0${name}`;
    const first = seen.get(key);
    if (first) {
      const gk = group ? `${group}/${object.kind}` : object.kind;
      const id = namespace ? `${namespace}/${name}` : name;
      throw new DuplicateResourceError(
        `duplicate resource ${gk} ${id}: defined in ${describeOrigin(first)} and in ${describeOrigin(origin)}`,
        [first.file, origin.file],
      );
    }
    seen.set(key, origin);
  }
}
