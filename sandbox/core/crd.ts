/**
 * CustomResourceDefinitions: turning a CRD into served resources, and validating, pruning and
 * defaulting custom objects by the CRD's openAPIV3Schema, as the API server does.
 */

import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { cloneJson } from "../../api/json.js";
import { invalid, type StatusCause } from "./errors.js";
import type { PrinterColumn, ServedResource } from "./registry.js";
import type { KubeObject } from "./types.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: Obj };
  subresources?: {
    status?: Obj;
    scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  };
  additionalPrinterColumns?: PrinterColumn[];
}

interface CrdSpec {
  group: string;
  scope: "Namespaced" | "Cluster";
  names: {
    plural: string;
    singular?: string;
    kind: string;
    listKind?: string;
    shortNames?: string[];
    categories?: string[];
  };
  versions: CrdVersion[];
}

/** Checks a CRD the way the API server's CRD validation does, for the mistakes people make. */
export function validateCrd(crd: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = crd.spec as Partial<CrdSpec> | undefined;
  const name = crd.metadata.name ?? "";
  if (!spec) return [{ field: "spec", message: "Required value" }];
  if (!spec.group) causes.push({ field: "spec.group", message: "Required value" });
  if (!spec.names?.plural) causes.push({ field: "spec.names.plural", message: "Required value" });
  if (!spec.names?.kind) causes.push({ field: "spec.names.kind", message: "Required value" });
  if (spec.scope !== "Namespaced" && spec.scope !== "Cluster")
    causes.push({
      field: "spec.scope",
      message: `Unsupported value: "${spec.scope}": supported values: "Cluster", "Namespaced"`,
    });
  if (spec.group && spec.names?.plural && name !== `${spec.names.plural}.${spec.group}`)
    causes.push({
      field: "metadata.name",
      message: `Invalid value: "${name}": must be spec.names.plural+"."+spec.group`,
    });
  const versions = spec.versions ?? [];
  if (versions.length === 0)
    causes.push({
      field: "spec.versions",
      message: "Invalid value: must have exactly one version marked as storage version",
    });
  else if (versions.filter((v) => v.storage).length !== 1)
    causes.push({
      field: "spec.versions",
      message: "Invalid value: must have exactly one version marked as storage version",
    });
  versions.forEach((v, i) => {
    if (!v.schema?.openAPIV3Schema)
      causes.push({
        field: `spec.versions[${i}].schema.openAPIV3Schema`,
        message: "Required value: schemas are required",
      });
  });
  return causes;
}

/** The status the API server gives an accepted CRD; transition times are kept from `previous`. */
export function crdStatus(crd: KubeObject, now: string, previous?: Obj): Obj {
  const spec = crd.spec as CrdSpec;
  const before = (previous?.conditions ?? []) as {
    type: string;
    status: string;
    lastTransitionTime?: string;
  }[];
  const condition = (type: string, reason: string, message: string) => ({
    type,
    status: "True",
    lastTransitionTime: before.find((c) => c.type === type && c.status === "True")?.lastTransitionTime ?? now,
    reason,
    message,
  });
  return {
    acceptedNames: {
      plural: spec.names.plural,
      singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
      kind: spec.names.kind,
      listKind: spec.names.listKind ?? `${spec.names.kind}List`,
      ...(spec.names.shortNames ? { shortNames: spec.names.shortNames } : {}),
      ...(spec.names.categories ? { categories: spec.names.categories } : {}),
    },
    conditions: [
      condition("NamesAccepted", "NoConflicts", "no conflicts found"),
      condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
    ],
    storedVersions: spec.versions.filter((v) => v.storage).map((v) => v.name),
  };
}

/** The served resources of a CRD, one per served version. */
export function servedResourcesOf(crd: KubeObject): ServedResource[] {
  const spec = crd.spec as CrdSpec;
  const storage = spec.versions.find((v) => v.storage)?.name;
  return spec.versions
    .filter((v) => v.served !== false)
    .map((v) => ({
      group: spec.group,
      version: v.name,
      kind: spec.names.kind,
      listKind: spec.names.listKind ?? `${spec.names.kind}List`,
      plural: spec.names.plural,
      singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
      namespaced: spec.scope === "Namespaced",
      shortNames: spec.names.shortNames ?? [],
      categories: spec.names.categories ?? [],
      verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
      subresources: {
        status: v.subresources?.status !== undefined,
        ...(v.subresources?.scale ? { scale: v.subresources.scale } : {}),
      },
      ...(storage ? { storageVersion: storage } : {}),
      ...(v.schema?.openAPIV3Schema ? { crdSchema: v.schema.openAPIV3Schema } : {}),
      printerColumns: v.additionalPrinterColumns ?? [],
      fromCrd: crd.metadata.name!,
    }));
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validators = new WeakMap<Obj, ValidateFunction>();

/** Rewrites Kubernetes schema extensions into plain JSON Schema that ajv understands. */
function toJsonSchema(node: unknown, root = true): unknown {
  if (Array.isArray(node)) return node.map((n) => toJsonSchema(n, false));
  if (!isObj(node)) return node;
  const out: Obj = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith("x-kubernetes-")) continue;
    if (k === "properties" && isObj(v)) {
      const props: Obj = {};
      for (const [pk, pv] of Object.entries(v)) {
        // metadata is validated by the generic ObjectMeta rules, not by the CRD schema.
        if (root && pk === "metadata") continue;
        props[pk] = toJsonSchema(pv, false);
      }
      out.properties = props;
    } else if (k === "default") {
      // defaults are applied before validation; ajv must not see them as keywords.
    } else {
      out[k] = typeof v === "object" ? toJsonSchema(v, false) : v;
    }
  }
  if (node["x-kubernetes-int-or-string"] === true && out.type === undefined) {
    out.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  return out;
}

function validatorFor(schema: Obj): ValidateFunction {
  let v = validators.get(schema);
  if (!v) {
    v = ajv.compile(toJsonSchema(schema) as Obj);
    validators.set(schema, v);
  }
  return v;
}

function fieldPath(instancePath: string): string {
  return instancePath
    .split("/")
    .slice(1)
    .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), "");
}

function valueAt(object: unknown, instancePath: string): unknown {
  let current = object;
  for (const part of instancePath.split("/").slice(1)) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Obj)[part.replaceAll("~1", "/").replaceAll("~0", "~")];
  }
  return current;
}

function describeError(object: unknown, e: ErrorObject): StatusCause {
  const field = fieldPath(e.instancePath) || "<root>";
  const value = valueAt(object, e.instancePath);
  if (e.keyword === "required") {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    const f = field === "<root>" ? missing : `${field}.${missing}`;
    return { reason: "FieldValueRequired", field: f, message: "Required value" };
  }
  if (e.keyword === "enum") {
    const allowed = (e.params as { allowedValues: unknown[] }).allowedValues
      .map((a) => JSON.stringify(a))
      .join(", ");
    return {
      reason: "FieldValueNotSupported",
      field,
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed}`,
    };
  }
  const shown =
    typeof value === "object" ? (Array.isArray(value) ? '"array"' : '"object"') : JSON.stringify(value);
  return {
    reason: "FieldValueInvalid",
    field,
    message: `Invalid value: ${shown}: ${field} in body ${e.message ?? "is invalid"}`,
  };
}

/**
 * Prunes fields the schema does not know (reporting them), fills in defaults, then validates.
 * Returns the unknown field paths so the caller can honour fieldValidation=Strict|Warn.
 */
export function admitCustomObject(resource: ServedResource, object: KubeObject): string[] {
  const schema = resource.crdSchema;
  if (!schema) return [];
  const unknown: string[] = [];
  pruneAndDefault(object, schema, "", unknown, true);
  const validate = validatorFor(schema);
  const candidate: unknown = object;
  if (!validate(candidate)) {
    const causes = (validate.errors ?? [])
      .filter((e) => e.keyword !== "anyOf" && e.keyword !== "if")
      .map((e) => describeError(object, e));
    throw invalid(resource.group, resource.kind, object.metadata.name ?? "", dedupe(causes));
  }
  return unknown;
}

function dedupe(causes: StatusCause[]): StatusCause[] {
  const seen = new Set<string>();
  return causes.filter((c) => {
    const key = `${c.field}|${c.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function pruneAndDefault(value: unknown, schema: Obj, path: string, unknown: string[], root = false): void {
  if (Array.isArray(value)) {
    if (isObj(schema.items)) {
      const items = schema.items;
      value.forEach((item, i) => {
        pruneAndDefault(item, items, `${path}[${i}]`, unknown);
      });
    }
    return;
  }
  if (!isObj(value)) return;
  const properties = isObj(schema.properties) ? schema.properties : undefined;
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  const embedded = schema["x-kubernetes-embedded-resource"] === true;
  if (properties) {
    for (const [key, propSchema] of Object.entries(properties)) {
      if (!isObj(propSchema)) continue;
      if (value[key] === undefined && propSchema.default !== undefined)
        value[key] = cloneJson(propSchema.default);
    }
  }
  for (const key of Object.keys(value)) {
    const childPath = path ? `${path}.${key}` : key;
    if ((root || embedded) && (key === "apiVersion" || key === "kind" || key === "metadata")) continue;
    const propSchema = properties?.[key];
    if (isObj(propSchema)) {
      pruneAndDefault(value[key], propSchema, childPath, unknown);
    } else if (isObj(schema.additionalProperties)) {
      pruneAndDefault(value[key], schema.additionalProperties, childPath, unknown);
    } else if (schema.additionalProperties === true || preserve) {
      // kept as is
    } else if (properties || schema.type === "object") {
      unknown.push(childPath);
      delete value[key];
    }
  }
}
