/**
 * `slipway rollout lint`: checks Rollout, AnalysisTemplate and ClusterAnalysisTemplate manifests
 * offline, first against the API schema (the TypeBox definitions the CRDs are generated from,
 * so lint and the API server agree), then for what a schema cannot say: Argo's semantic rules
 * (pkg/apis/rollouts/validation) and references between the objects of the file.
 *
 * Each problem names the file, the object and the field as the user wrote it:
 *   web.yaml: Rollout "web": spec.strategy.canary.steps[2].setWeight: must be <= 100
 * Warnings (analysis templates not in the file, arguments no template declares) do not fail.
 */
import type { TSchema } from "@sinclair/typebox";
import { Value, type ValueError, ValueErrorType } from "@sinclair/typebox/value";
import { parseAllDocuments } from "yaml";
import { validateTemplateSpec } from "../analysis/validate.js";
import {
  AnalysisTemplate as AnalysisTemplateSchema,
  type AnalysisTemplateSpec,
  type Argument,
  ClusterAnalysisTemplate as ClusterAnalysisTemplateSchema,
} from "../api/v1alpha1/analysis.js";
import { API_VERSION, INT_OR_STRING, type LabelSelector } from "../api/v1alpha1/common.js";
import {
  type CanaryStep,
  type Rollout,
  type RolloutAnalysis,
  Rollout as RolloutSchema,
  type StringMatch,
} from "../api/v1alpha1/rollout.js";
import { pauseDurationMs } from "./rollout-state.js";

export interface LintProblem {
  severity: "error" | "warning";
  file: string;
  /** `Rollout "web"`; absent for problems with the file itself. */
  object?: string;
  /** `spec.strategy.canary.steps[2].setWeight`, or `file:line:col` details for YAML errors. */
  path?: string;
  message: string;
}

/** `file.yaml: Rollout "web": spec.x: message` (warnings say so after the path). */
export function formatProblem(p: LintProblem): string {
  const parts = [p.file];
  if (p.object) parts.push(p.object);
  if (p.path) parts.push(p.path);
  return `${parts.join(": ")}: ${p.severity === "warning" ? "warning: " : ""}${p.message}`;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// Paths

/** A JSON pointer as the user reads the YAML: `/spec/steps/2/x` → `spec.steps[2].x`. */
export function pointerToPath(pointer: string): string {
  let out = "";
  for (const raw of pointer.split("/").slice(1)) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Schema

function schemaMessage(error: ValueError): string {
  const schema = error.schema as TSchema & Record<string, unknown>;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return "is required";
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(schema.const)}`;
    case ValueErrorType.Integer:
      return "must be an integer";
    case ValueErrorType.Number:
      return "must be a number";
    case ValueErrorType.String:
      return "must be a string";
    case ValueErrorType.Boolean:
      return "must be true or false";
    case ValueErrorType.Array:
      return "must be a list";
    case ValueErrorType.Object:
      return "must be a mapping";
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `must be <= ${schema.maximum}`;
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `must be >= ${schema.minimum}`;
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${schema.minItems} item${schema.minItems === 1 ? "" : "s"}`;
    case ValueErrorType.StringFormat:
      return schema.format === "date-time"
        ? "must be an RFC 3339 time such as 2025-01-31T12:00:00Z"
        : `must be in ${String(schema.format)} format`;
    case ValueErrorType.Union: {
      if (schema[INT_OR_STRING]) return "must be an integer or a string";
      const literals = ((schema.anyOf as TSchema[] | undefined) ?? []).map(
        (s) => (s as { const?: unknown }).const,
      );
      if (literals.length > 0 && literals.every((l) => typeof l === "string"))
        return `must be one of ${literals.join(", ")}`;
      return "has the wrong type";
    }
    default:
      return error.message.replace(/^Expected/, "expected");
  }
}

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: unknown;
  patternProperties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

/**
 * Fields the schema does not know. The API server would drop them (or refuse them, with
 * kubectl's strict validation), so a typo such as `setWieght` would silently do nothing.
 */
function unknownFields(schema: SchemaNode, value: unknown, pointer: string, out: string[]): void {
  if (Array.isArray(value)) {
    if (schema.items)
      value.forEach((v, i) => {
        unknownFields(schema.items!, v, `${pointer}/${i}`, out);
      });
    return;
  }
  if (!isObject(value)) return;
  if (schema.properties) {
    for (const [key, v] of Object.entries(value)) {
      const sub = schema.properties[key];
      const escaped = key.replace(/~/g, "~0").replace(/\//g, "~1");
      if (sub) unknownFields(sub, v, `${pointer}/${escaped}`, out);
      else if (schema.additionalProperties === undefined) out.push(`${pointer}/${escaped}`);
    }
  } else if (schema.patternProperties) {
    const sub = Object.values(schema.patternProperties)[0];
    if (sub) for (const [key, v] of Object.entries(value)) unknownFields(sub, v, `${pointer}/${key}`, out);
  }
}

function schemaProblems(schema: TSchema, value: unknown): { path: string; message: string }[] {
  const seen = new Set<string>();
  const out: { path: string; message: string }[] = [];
  for (const error of Value.Errors(schema, value)) {
    if (seen.has(error.path)) continue;
    seen.add(error.path);
    out.push({ path: pointerToPath(error.path), message: schemaMessage(error) });
  }
  const unknown: string[] = [];
  unknownFields(schema as SchemaNode, value, "", unknown);
  for (const pointer of unknown) {
    const path = pointerToPath(pointer);
    if (!seen.has(pointer)) out.push({ path, message: "unknown field (the API server would drop it)" });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The file

export interface Doc {
  kind: string;
  name: string;
  namespace?: string;
  value: Json;
}

interface Templates {
  namespaced: Map<string, Doc>;
  cluster: Map<string, Doc>;
}

/** The AnalysisTemplates and ClusterAnalysisTemplates in a manifest's text (unparsable text: none). */
export function analysisTemplatesIn(text: string): Doc[] {
  const out: Doc[] = [];
  const parsed = parseAllDocuments(text);
  for (const doc of Array.isArray(parsed) ? parsed : [parsed]) {
    if (doc.errors.length > 0) continue;
    const value: unknown = doc.toJS();
    const items =
      isObject(value) && value.kind === "List" && Array.isArray(value.items) ? value.items : [value];
    for (const item of items) {
      if (!isObject(item) || (item.kind !== "AnalysisTemplate" && item.kind !== "ClusterAnalysisTemplate"))
        continue;
      const meta = isObject(item.metadata) ? item.metadata : {};
      out.push({
        kind: item.kind,
        name: typeof meta.name === "string" ? meta.name : "",
        ...(typeof meta.namespace === "string" ? { namespace: meta.namespace } : {}),
        value: item,
      });
    }
  }
  return out;
}

/**
 * Problems found in one manifest file's text; `file` is only used in messages. `elsewhere` are
 * templates from the other files linted with it: a Rollout may name them without a warning.
 */
export function lintText(text: string, file: string, elsewhere: readonly Doc[] = []): LintProblem[] {
  const problems: LintProblem[] = [];
  const docs: Doc[] = [];
  const otherKinds: string[] = [];
  const parsed = parseAllDocuments(text);
  for (const doc of Array.isArray(parsed) ? parsed : [parsed]) {
    for (const err of doc.errors) {
      const pos = err.linePos?.[0];
      const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
      problems.push({
        severity: "error",
        file: where,
        message: `invalid YAML: ${err.message.split("\n")[0]}`,
      });
    }
    if (doc.errors.length > 0) continue;
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const items =
      isObject(value) && value.kind === "List" && Array.isArray(value.items) ? value.items : [value];
    for (const item of items) {
      if (!isObject(item)) {
        problems.push({
          severity: "error",
          file,
          message: "every document must be a Kubernetes object (a mapping)",
        });
        continue;
      }
      const kind = typeof item.kind === "string" ? item.kind : "";
      const meta = isObject(item.metadata) ? item.metadata : {};
      const name = typeof meta.name === "string" ? meta.name : "";
      if (kind === "Rollout" || kind === "AnalysisTemplate" || kind === "ClusterAnalysisTemplate") {
        docs.push({
          kind,
          name,
          ...(typeof meta.namespace === "string" ? { namespace: meta.namespace } : {}),
          value: item,
        });
      } else {
        otherKinds.push(kind || "(no kind)");
      }
    }
  }
  if (docs.length === 0 && problems.length === 0) {
    const found = otherKinds.length ? ` (found ${[...new Set(otherKinds)].join(", ")})` : "";
    problems.push({
      severity: "error",
      file,
      message: `no Rollout, AnalysisTemplate or ClusterAnalysisTemplate${found}`,
    });
    return problems;
  }

  const templates: Templates = { namespaced: new Map(), cluster: new Map() };
  for (const d of [...elsewhere, ...docs]) {
    if (d.kind === "AnalysisTemplate") templates.namespaced.set(d.name, d);
    if (d.kind === "ClusterAnalysisTemplate") templates.cluster.set(d.name, d);
  }
  for (const d of docs) {
    const object = `${d.kind} "${d.name || "(no name)"}"`;
    const report = (severity: LintProblem["severity"], path: string, message: string) =>
      problems.push({ severity, file, object, ...(path ? { path } : {}), message });
    const error = (path: string, message: string) => report("error", path, message);

    const apiVersion = d.value.apiVersion;
    if (apiVersion === "argoproj.io/v1alpha1") {
      error(
        "apiVersion",
        `must be ${API_VERSION} (an Argo Rollouts manifest moves over by changing its apiVersion)`,
      );
    }
    const schema =
      d.kind === "Rollout"
        ? RolloutSchema
        : d.kind === "AnalysisTemplate"
          ? AnalysisTemplateSchema
          : ClusterAnalysisTemplateSchema;
    const reported = new Set<string>(apiVersion === "argoproj.io/v1alpha1" ? ["apiVersion"] : []);
    for (const p of schemaProblems(schema, d.value)) {
      if (reported.has(p.path)) continue;
      reported.add(p.path);
      error(p.path, p.message);
    }
    if (!d.name && !(isObject(d.value.metadata) && d.value.metadata.generateName))
      error("metadata.name", "is required");

    const semantic: [LintProblem["severity"], string, string][] = [];
    const add = (severity: LintProblem["severity"], path: string, message: string) =>
      semantic.push([severity, path, message]);
    if (d.kind === "Rollout") checkRollout(d.value as unknown as Rollout, d, templates, add);
    else checkTemplate(d.value.spec, add);
    for (const [severity, path, message] of semantic) {
      // A field the schema already refused needs no second message.
      if (severity === "error" && reported.has(path)) continue;
      reported.add(path);
      report(severity, path, message);
    }
  }
  return problems;
}

type Add = (severity: LintProblem["severity"], path: string, message: string) => void;

// ---------------------------------------------------------------------------------------------
// Rollout

const STEP_ACTIONS = [
  "setWeight",
  "pause",
  "analysis",
  "setCanaryScale",
  "setHeaderRoute",
  "setMirrorRoute",
] as const;

function labelsText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(",") : "none";
}

/** Does `selector` select pods with `labels` (matchLabels and matchExpressions, ANDed)? */
function selectorProblem(selector: LabelSelector, labels: Record<string, string>): string | undefined {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[k] !== v)
      return `${k}=${v} does not match spec.template.metadata.labels (${labelsText(labels)})`;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const ok =
      e.operator === "In"
        ? has && (e.values ?? []).includes(value!)
        : e.operator === "NotIn"
          ? !has || !(e.values ?? []).includes(value!)
          : e.operator === "Exists"
            ? has
            : !has;
    if (!ok)
      return `${e.key} ${e.operator} ${JSON.stringify(e.values ?? [])} does not match spec.template.metadata.labels (${labelsText(labels)})`;
  }
  return undefined;
}

/** `25%` or a whole number; the message when it is neither. */
function intOrPercentProblem(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? undefined : "must be >= 0";
  if (typeof value === "string" && /^\d+%$/.test(value)) return undefined;
  return "must be a whole number or a percentage such as 25%";
}

const isZero = (v: unknown) => v === 0 || v === "0%";

function checkStringMatch(match: StringMatch | undefined, path: string, add: Add): void {
  if (!isObject(match)) return;
  const set = (["exact", "prefix", "regex"] as const).filter((k) => match[k] !== undefined);
  if (set.length !== 1)
    add(
      "error",
      path,
      `must set exactly one of exact, prefix, regex${set.length ? ` (found ${set.join(", ")})` : ""}`,
    );
  if (match.regex !== undefined) {
    try {
      new RegExp(match.regex);
    } catch (err) {
      add("error", `${path}.regex`, `is not a valid regular expression: ${(err as Error).message}`);
    }
  }
}

function checkAnalysis(
  analysis: RolloutAnalysis | undefined,
  path: string,
  rollout: Doc,
  templates: Templates,
  add: Add,
): void {
  if (!isObject(analysis)) return;
  const refs = analysis.templates ?? [];
  if (refs.length === 0) {
    add("error", `${path}.templates`, "must name at least one analysis template");
    return;
  }
  const given = new Set((analysis.args ?? []).map((a) => a.name));
  const declared = new Set<string>();
  refs.forEach((ref, j) => {
    if (!isObject(ref) || typeof ref.templateName !== "string") return;
    const refPath = `${path}.templates[${j}].templateName`;
    const found = ref.clusterScope
      ? templates.cluster.get(ref.templateName)
      : templates.namespaced.get(ref.templateName);
    const kind = ref.clusterScope ? "ClusterAnalysisTemplate" : "AnalysisTemplate";
    if (!found) {
      add(
        "warning",
        refPath,
        ref.clusterScope
          ? `ClusterAnalysisTemplate "${ref.templateName}" is not in the files given: it must exist in the cluster when the analysis starts`
          : `AnalysisTemplate "${ref.templateName}" is not in the files given: it must exist in the Rollout's namespace when the analysis starts`,
      );
      return;
    }
    if (!ref.clusterScope && found.namespace && rollout.namespace && found.namespace !== rollout.namespace) {
      add(
        "error",
        refPath,
        `AnalysisTemplate "${ref.templateName}" is in namespace "${found.namespace}", the Rollout in "${rollout.namespace}" (use a ClusterAnalysisTemplate to share one)`,
      );
    }
    const spec = isObject(found.value.spec)
      ? (found.value.spec as unknown as AnalysisTemplateSpec)
      : undefined;
    for (const arg of spec?.args ?? []) {
      if (!isObject(arg) || typeof arg.name !== "string") continue;
      declared.add(arg.name);
      if (arg.value === undefined && !arg.valueFrom && !given.has(arg.name)) {
        add(
          "error",
          `${path}.args`,
          `missing argument "${arg.name}" that ${kind} "${ref.templateName}" needs (it has no default value)`,
        );
      }
    }
  });
  const allFound = refs.every(
    (ref) =>
      isObject(ref) &&
      (ref.clusterScope
        ? templates.cluster.has(ref.templateName)
        : templates.namespaced.has(ref.templateName)),
  );
  (analysis.args ?? []).forEach((arg: Argument, k) => {
    if (!isObject(arg)) return;
    if (allFound && !declared.has(arg.name)) {
      add(
        "warning",
        `${path}.args[${k}]`,
        `argument "${arg.name}" is not declared by the templates (it is ignored)`,
      );
    }
    if (arg.value === undefined && !arg.valueFrom)
      add("error", `${path}.args[${k}]`, "needs a value or valueFrom");
  });
}

function checkStep(
  step: CanaryStep,
  i: number,
  rollout: Rollout,
  doc: Doc,
  templates: Templates,
  add: Add,
): void {
  const path = `spec.strategy.canary.steps[${i}]`;
  if (!isObject(step)) return;
  const canary = rollout.spec.strategy.canary!;
  const routing = canary.trafficRouting;
  const actions = STEP_ACTIONS.filter((a) => step[a] !== undefined);
  if (actions.length !== 1) {
    add(
      "error",
      path,
      `must set exactly one of ${STEP_ACTIONS.join(", ")} (${actions.length ? `found ${actions.join(", ")}` : "found none"})`,
    );
  }
  const max = routing?.maxTrafficWeight ?? 100;
  if (typeof step.setWeight === "number" && step.setWeight > max && max < 100) {
    add("error", `${path}.setWeight`, `must be <= ${max} (trafficRouting.maxTrafficWeight)`);
  }
  if (isObject(step.pause) && step.pause.duration !== undefined) {
    const d = step.pause.duration;
    if (typeof d === "number" ? d < 0 : pauseDurationMs(d) === undefined) {
      add(
        "error",
        `${path}.pause.duration`,
        typeof d === "number" || /^-/.test(d)
          ? "must be >= 0"
          : `${JSON.stringify(d)} is not a duration (use seconds, or a duration such as 30s, 5m, 1h)`,
      );
    }
  }
  if (isObject(step.setCanaryScale)) {
    const s = step.setCanaryScale;
    const set = (["weight", "replicas", "matchTrafficWeight"] as const).filter((k) => s[k] !== undefined);
    if (set.length !== 1)
      add(
        "error",
        `${path}.setCanaryScale`,
        `must set exactly one of weight, replicas, matchTrafficWeight${set.length ? ` (found ${set.join(", ")})` : ""}`,
      );
    if (!routing)
      add(
        "error",
        `${path}.setCanaryScale`,
        "needs spec.strategy.canary.trafficRouting (without a router the weight is the replica ratio)",
      );
  }
  const managed = new Set((routing?.managedRoutes ?? []).map((r) => r.name));
  for (const kind of ["setHeaderRoute", "setMirrorRoute"] as const) {
    const route = step[kind];
    if (!isObject(route)) continue;
    if (!routing) {
      add("error", `${path}.${kind}`, "needs spec.strategy.canary.trafficRouting");
    } else if (typeof route.name === "string" && !managed.has(route.name)) {
      add(
        "error",
        `${path}.${kind}.name`,
        `"${route.name}" is not listed in spec.strategy.canary.trafficRouting.managedRoutes${managed.size ? ` (${[...managed].join(", ")})` : ""}`,
      );
    }
  }
  if (isObject(step.setHeaderRoute)) {
    (step.setHeaderRoute.match ?? []).forEach((m, j) => {
      if (isObject(m)) checkStringMatch(m.headerValue, `${path}.setHeaderRoute.match[${j}].headerValue`, add);
    });
  }
  if (isObject(step.setMirrorRoute)) {
    (step.setMirrorRoute.match ?? []).forEach((m, j) => {
      if (!isObject(m)) return;
      const base = `${path}.setMirrorRoute.match[${j}]`;
      if (m.method) checkStringMatch(m.method, `${base}.method`, add);
      if (m.path) checkStringMatch(m.path, `${base}.path`, add);
      for (const [h, v] of Object.entries(m.headers ?? {}))
        checkStringMatch(v, `${base}.headers[${JSON.stringify(h)}]`, add);
    });
  }
  if (step.analysis !== undefined) checkAnalysis(step.analysis, `${path}.analysis`, doc, templates, add);
}

function checkRollout(rollout: Rollout, doc: Doc, templates: Templates, add: Add): void {
  const spec = rollout.spec;
  if (!isObject(spec)) return;
  const strategy = isObject(spec.strategy) ? spec.strategy : undefined;
  if (strategy) {
    const set = (["canary", "blueGreen"] as const).filter((k) => strategy[k] !== undefined);
    if (set.length !== 1) add("error", "spec.strategy", "must set exactly one of canary or blueGreen");
  }

  // Template, selector, workloadRef.
  if (spec.template === undefined && spec.workloadRef === undefined) {
    add("error", "spec.template", "is required (or spec.workloadRef to take it from a Deployment)");
  } else if (spec.template !== undefined && spec.workloadRef !== undefined) {
    add("error", "spec.workloadRef", "cannot be set together with spec.template");
  }
  if (isObject(spec.template)) {
    const labels = (isObject(spec.template.metadata) ? spec.template.metadata.labels : undefined) ?? {};
    const containers = isObject(spec.template.spec) ? spec.template.spec.containers : undefined;
    if (Array.isArray(containers) && containers.length === 0)
      add("error", "spec.template.spec.containers", "must have at least one container");
    if (spec.selector === undefined) {
      add("error", "spec.selector", "is required");
    } else if (isObject(spec.selector)) {
      const empty =
        !Object.keys(spec.selector.matchLabels ?? {}).length &&
        !(spec.selector.matchExpressions ?? []).length;
      if (empty)
        add("error", "spec.selector", "must not be empty (it would select every pod in the namespace)");
      else {
        const problem = selectorProblem(
          spec.selector,
          isObject(labels) ? (labels as Record<string, string>) : {},
        );
        if (problem) add("error", "spec.selector", problem);
      }
    }
  }
  if (
    typeof spec.progressDeadlineSeconds === "number" &&
    typeof spec.minReadySeconds === "number" &&
    spec.progressDeadlineSeconds <= spec.minReadySeconds
  ) {
    add(
      "error",
      "spec.progressDeadlineSeconds",
      `must be greater than spec.minReadySeconds (${spec.minReadySeconds})`,
    );
  }

  const canary = strategy && isObject(strategy.canary) ? strategy.canary : undefined;
  if (canary) {
    const routing = isObject(canary.trafficRouting) ? canary.trafficRouting : undefined;
    if (routing) {
      if (!canary.canaryService)
        add("error", "spec.strategy.canary.canaryService", "is required with trafficRouting");
      if (!canary.stableService)
        add("error", "spec.strategy.canary.stableService", "is required with trafficRouting");
      const routers = (["gatewayAPI", "istio", "nginx"] as const).filter((k) => routing[k] !== undefined);
      const plugins = isObject(routing.plugins) ? Object.keys(routing.plugins) : [];
      for (const p of plugins) {
        if (p !== "argoproj-labs/gatewayAPI")
          add(
            "error",
            `spec.strategy.canary.trafficRouting.plugins[${JSON.stringify(p)}]`,
            "is not a router slipway drives (it drives argoproj-labs/gatewayAPI, gatewayAPI, istio and nginx)",
          );
      }
      if (routers.length === 0 && !plugins.includes("argoproj-labs/gatewayAPI")) {
        add(
          "error",
          "spec.strategy.canary.trafficRouting",
          "must configure a router: gatewayAPI, istio or nginx",
        );
      }
      if (
        isObject(routing.istio) &&
        !routing.istio.virtualService &&
        !(routing.istio.virtualServices ?? []).length
      ) {
        add("error", "spec.strategy.canary.trafficRouting.istio.virtualService", "is required");
      }
      const dr = isObject(routing.istio) ? routing.istio.destinationRule : undefined;
      if (isObject(dr) && dr.canarySubsetName && dr.canarySubsetName === dr.stableSubsetName) {
        add(
          "error",
          "spec.strategy.canary.trafficRouting.istio.destinationRule.canarySubsetName",
          `must differ from stableSubsetName ("${dr.stableSubsetName}")`,
        );
      }
      if (
        isObject(routing.nginx) &&
        !routing.nginx.stableIngress &&
        !(routing.nginx.stableIngresses ?? []).length
      ) {
        add("error", "spec.strategy.canary.trafficRouting.nginx.stableIngress", "is required");
      }
      const names = (routing.managedRoutes ?? []).map((r) => (isObject(r) ? r.name : undefined));
      names.forEach((n, i) => {
        if (n !== undefined && names.indexOf(n) !== i)
          add(
            "error",
            `spec.strategy.canary.trafficRouting.managedRoutes[${i}].name`,
            `"${n}" is listed twice`,
          );
      });
    } else if (canary.dynamicStableScale) {
      add("error", "spec.strategy.canary.dynamicStableScale", "needs spec.strategy.canary.trafficRouting");
    }
    if (canary.canaryService && canary.canaryService === canary.stableService) {
      add(
        "error",
        "spec.strategy.canary.stableService",
        `must differ from canaryService ("${canary.canaryService}")`,
      );
    }
    for (const field of ["maxSurge", "maxUnavailable"] as const) {
      const problem = intOrPercentProblem(canary[field]);
      if (problem) add("error", `spec.strategy.canary.${field}`, problem);
    }
    if (isZero(canary.maxSurge) && isZero(canary.maxUnavailable)) {
      add(
        "error",
        "spec.strategy.canary.maxUnavailable",
        "must not be 0 when maxSurge is 0 (the rollout could never make progress)",
      );
    }
    const steps = Array.isArray(canary.steps) ? canary.steps : [];
    steps.forEach((step, i) => {
      checkStep(step, i, rollout, doc, templates, add);
    });
    if (isObject(canary.analysis)) {
      const start = canary.analysis.startingStep;
      if (typeof start === "number" && start > steps.length) {
        add(
          "error",
          "spec.strategy.canary.analysis.startingStep",
          `must be <= the number of steps (${steps.length})`,
        );
      }
      checkAnalysis(canary.analysis, "spec.strategy.canary.analysis", doc, templates, add);
    }
  }

  const blueGreen = strategy && isObject(strategy.blueGreen) ? strategy.blueGreen : undefined;
  if (blueGreen) {
    if (blueGreen.previewService && blueGreen.previewService === blueGreen.activeService) {
      add(
        "error",
        "spec.strategy.blueGreen.previewService",
        `must differ from activeService ("${blueGreen.activeService}")`,
      );
    }
    const problem = intOrPercentProblem(blueGreen.maxUnavailable);
    if (problem) add("error", "spec.strategy.blueGreen.maxUnavailable", problem);
    for (const field of ["prePromotionAnalysis", "postPromotionAnalysis"] as const) {
      if (blueGreen[field] !== undefined)
        checkAnalysis(blueGreen[field], `spec.strategy.blueGreen.${field}`, doc, templates, add);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Analysis templates

const PLACEHOLDER = /\{\{\s*args\.([^\s{}]+)\s*\}\}/g;

function placeholders(value: unknown, pointer: string, out: { pointer: string; name: string }[]): void {
  if (typeof value === "string")
    for (const m of value.matchAll(PLACEHOLDER)) out.push({ pointer, name: m[1]! });
  else if (Array.isArray(value))
    value.forEach((v, i) => {
      placeholders(v, `${pointer}/${i}`, out);
    });
  else if (isObject(value))
    for (const [k, v] of Object.entries(value)) placeholders(v, `${pointer}/${k}`, out);
}

function checkTemplate(spec: unknown, add: Add): void {
  if (!isObject(spec) || !Array.isArray(spec.metrics)) return;
  const metrics = spec.metrics as unknown[];
  const names = new Map<string, number>();
  metrics.forEach((metric, i) => {
    if (!isObject(metric)) return;
    const path = `spec.metrics[${i}]`;
    if (typeof metric.name === "string") {
      if (names.has(metric.name))
        add(
          "error",
          `${path}.name`,
          `"${metric.name}" is also the name of spec.metrics[${names.get(metric.name)}]`,
        );
      else names.set(metric.name, i);
    }
    try {
      validateTemplateSpec({ metrics: [metric] } as unknown as AnalysisTemplateSpec);
    } catch (err) {
      add("error", path, (err as Error).message.replace(/^metrics\[0\]( "[^"]*")?: /, ""));
    }
  });
  const declared = new Set(
    (Array.isArray(spec.args) ? spec.args : []).map((a) => (isObject(a) ? a.name : undefined)),
  );
  const used: { pointer: string; name: string }[] = [];
  placeholders(metrics, "/spec/metrics", used);
  for (const u of used) {
    if (!declared.has(u.name))
      add(
        "error",
        pointerToPath(u.pointer),
        `refers to {{args.${u.name}}}, which spec.args does not declare`,
      );
  }
}
