/**
 * Shared building blocks for the slipway.dev/v1alpha1 kinds.
 *
 * Every kind is written once with TypeBox: the TypeScript type is `Static<typeof X>` and the
 * CRD schema is derived from the same value by `crds.ts`. The helpers here use only native
 * TypeBox constructs (so `Value.Check` / `Value.Errors` work on every kind) and mark the
 * places where Kubernetes needs its own schema keywords; `crds.ts` turns the few constructs that
 * a structural schema cannot express (literal unions, records) into their Kubernetes spelling.
 */
import {
  FormatRegistry,
  type SchemaOptions,
  type Static,
  type TInteger,
  type TLiteral,
  type TObject,
  type TProperties,
  type TRecord,
  type TString,
  type TUnion,
  type TUnknown,
  Type,
} from "@sinclair/typebox";

export const GROUP = "slipway.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}` as const;
export type ApiVersion = typeof API_VERSION;

/** Marks a value Kubernetes accepts as integer or string (`25%`, `10s`, `{{args.n}}`). */
export const INT_OR_STRING = "x-kubernetes-int-or-string";
/** Marks a subtree the API server keeps as written instead of pruning unknown fields. */
export const PRESERVE_UNKNOWN = "x-kubernetes-preserve-unknown-fields";

// Kubernetes validates `format: date-time` on metav1.Time fields; TypeBox refuses unknown
// formats, so register the same check once for `Value.Check` users.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has("date-time")) {
  FormatRegistry.Set("date-time", (value) => RFC3339.test(value) && !Number.isNaN(Date.parse(value)));
}

/** Integer or string, e.g. `maxSurge: 25%` or `count: "{{args.count}}"`, as Argo's IntOrString. */
export function IntOrString(options: SchemaOptions = {}): TUnion<[TInteger, TString]> {
  return Type.Union([Type.Integer(), Type.String()], { ...options, [INT_OR_STRING]: true });
}

/** A closed set of strings; emitted as `type: string` + `enum` in the CRD. */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: SchemaOptions = {},
): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );
}

/** `map[string]string` (labels, annotations, Helm-style values); emitted with `additionalProperties`. */
export function StringMap(options: SchemaOptions = {}): TRecord<TString, TString> {
  return Type.Record(Type.String(), Type.String(), options) as TRecord<TString, TString>;
}

/** An object whose content belongs to someone else (a PodSpec, Helm values); kept as written. */
export function FreeFormObject(options: SchemaOptions = {}): TRecord<TString, TUnknown> {
  return Type.Record(Type.String(), Type.Unknown(), { ...options, [PRESERVE_UNKNOWN]: true }) as TRecord<
    TString,
    TUnknown
  >;
}

/** The TypeScript side of `OpenObject`: the declared fields plus anything else. */
export interface TOpenObject<T extends TProperties> extends TObject<T> {
  static: Static<TObject<T>> & { [key: string]: unknown };
}

/**
 * An object with a few fields slipway reads (a pod template's labels, container images) inside a
 * structure it does not own; everything else is kept as written.
 */
export function OpenObject<T extends TProperties>(
  properties: T,
  options: SchemaOptions = {},
): TOpenObject<T> {
  return Type.Object(properties, {
    ...options,
    additionalProperties: Type.Unknown(),
    [PRESERVE_UNKNOWN]: true,
  }) as TOpenObject<T>;
}

/** Any JSON value (list generator elements, a web metric's JSON body). */
export function AnyJson(options: SchemaOptions = {}): TUnknown {
  return Type.Unknown({ ...options, [PRESERVE_UNKNOWN]: true });
}

/** A metav1.Time: RFC 3339 in UTC, as the API server writes it. */
export function Timestamp(options: SchemaOptions = {}): TString {
  return Type.String({ ...options, format: "date-time" });
}

/**
 * A Go-style duration (`500ms`, `10s`, `5m`, `1h`). No pattern: analysis templates put
 * `{{args.x}}` placeholders here and they must survive until the run is created.
 */
export function Duration(options: SchemaOptions = {}): TString {
  return Type.String({ description: "Go-style duration such as 30s, 5m or 1h", ...options });
}

export const OwnerReference = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  uid: Type.String(),
  controller: Type.Optional(Type.Boolean()),
  blockOwnerDeletion: Type.Optional(Type.Boolean()),
});
export type OwnerReference = Static<typeof OwnerReference>;

/**
 * metav1.ObjectMeta, typed for the controller's benefit. In the CRD the root `metadata` is
 * emitted as a bare object because the API server owns its validation.
 */
export const ObjectMeta = Type.Object({
  name: Type.Optional(Type.String()),
  generateName: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  creationTimestamp: Type.Optional(Timestamp()),
  deletionTimestamp: Type.Optional(Timestamp()),
  deletionGracePeriodSeconds: Type.Optional(Type.Integer()),
  labels: Type.Optional(StringMap()),
  annotations: Type.Optional(StringMap()),
  finalizers: Type.Optional(Type.Array(Type.String())),
  ownerReferences: Type.Optional(Type.Array(OwnerReference)),
  managedFields: Type.Optional(Type.Array(FreeFormObject())),
});
export type ObjectMeta = Static<typeof ObjectMeta>;

/** Labels and annotations only: what Argo lets you stamp onto pods, jobs and analysis runs. */
export const PodTemplateMetadata = Type.Object({
  labels: Type.Optional(StringMap()),
  annotations: Type.Optional(StringMap()),
});
export type PodTemplateMetadata = Static<typeof PodTemplateMetadata>;

export const LabelSelectorRequirement = Type.Object({
  key: Type.String(),
  operator: StringEnum(["In", "NotIn", "Exists", "DoesNotExist"]),
  values: Type.Optional(Type.Array(Type.String())),
});
export type LabelSelectorRequirement = Static<typeof LabelSelectorRequirement>;

export const LabelSelector = Type.Object({
  matchLabels: Type.Optional(StringMap()),
  matchExpressions: Type.Optional(Type.Array(LabelSelectorRequirement)),
});
export type LabelSelector = Static<typeof LabelSelector>;

/** metav1.GroupKind as AppProject whitelists spell it; `*` globs are allowed. */
export const GroupKind = Type.Object({
  group: Type.String(),
  kind: Type.String(),
});
export type GroupKind = Static<typeof GroupKind>;

/** Health of an app or one of its resources, as gitops-engine reports it. */
export const HealthStatusCode = StringEnum([
  "Healthy",
  "Progressing",
  "Degraded",
  "Suspended",
  "Missing",
  "Unknown",
]);
export type HealthStatusCode = Static<typeof HealthStatusCode>;

/** The `status` of a condition, a string as in metav1.Condition. */
export const ConditionStatus = StringEnum(["True", "False", "Unknown"]);
export type ConditionStatus = Static<typeof ConditionStatus>;
