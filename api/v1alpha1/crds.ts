/**
 * Turns the TypeBox kinds into apiextensions.k8s.io/v1 CRDs, and assembles what
 * `slipway install` applies. Kubernetes only accepts *structural* schemas
 * (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
 * every node typed, no `properties` next to `additionalProperties`, unions only in the
 * int-or-string shape. The conversion below enforces that and fails loudly on anything else,
 * so a schema construct Kubernetes cannot express never reaches a cluster.
 */
import type { TSchema } from "@sinclair/typebox";
import { stringify } from "yaml";
import type { AppProject } from "./appproject.js";
import { API_VERSION, GROUP, INT_OR_STRING, type ObjectMeta, PRESERVE_UNKNOWN, VERSION } from "./common.js";
import { hasStatus, KINDS, type KindInfo, type PrinterColumn, type ScaleSubresource } from "./kinds.js";

/** Where the controller, its Applications and AppProjects live unless told otherwise. */
export const DEFAULT_NAMESPACE = "slipway-system";
/** Name of the controller's ServiceAccount, ClusterRole and ClusterRoleBinding. */
export const CONTROLLER_NAME = "slipway-controller";

const PART_OF = { "app.kubernetes.io/part-of": "slipway" };

/** The subset of JSONSchemaProps that slipway's schemas use. */
export interface JSONSchemaProps {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  format?: string;
  enum?: (string | number | boolean)[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  additionalProperties?: JSONSchemaProps;
  items?: JSONSchemaProps;
  anyOf?: JSONSchemaProps[];
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

// A type alias rather than an interface so it is assignable to KubeObject's index signature.
export type CustomResourceDefinition = {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: "Namespaced" | "Cluster";
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JSONSchemaProps };
      subresources?: { status?: Record<string, never>; scale?: ScaleSubresource };
      additionalPrinterColumns: PrinterColumn[];
    }[];
  };
};

/** Any Kubernetes object in the install bundle. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** Keywords copied as they are; everything else TypeBox emits is handled explicitly or refused. */
const PASSTHROUGH = [
  "description",
  "format",
  "pattern",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
] as const;
/** TypeBox bookkeeping with no meaning to Kubernetes. */
const IGNORED = new Set(["$id", "$schema", "title"]);
const HANDLED = new Set<string>([
  ...PASSTHROUGH,
  "type",
  "const",
  "anyOf",
  "properties",
  "required",
  "items",
  "patternProperties",
  "additionalProperties",
  INT_OR_STRING,
  PRESERVE_UNKNOWN,
]);

type SchemaNode = Record<string, unknown>;

/** The key pattern of `Type.Record(Type.String(), ...)`. */
const ANY_KEY = "^(.*)$";

function isNode(value: unknown): value is SchemaNode {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `Type.Unknown()`: no constraint at all (symbol keys are TypeBox's and invisible here). */
function isEmpty(node: unknown): boolean {
  return isNode(node) && Object.keys(node).every((k) => IGNORED.has(k) || k === "description");
}

/** Converts one TypeBox schema node (and its children) into a structural JSONSchemaProps. */
export function toStructuralSchema(schema: TSchema, path = "$"): JSONSchemaProps {
  const node = schema as unknown as SchemaNode;
  for (const key of Object.keys(node)) {
    if (!HANDLED.has(key) && !IGNORED.has(key)) {
      throw new Error(`${path}: schema keyword "${key}" has no structural CRD equivalent`);
    }
  }
  const preserve = node[PRESERVE_UNKNOWN] === true;
  const out: JSONSchemaProps = {};

  if (Array.isArray(node.anyOf)) {
    const branches = node.anyOf as SchemaNode[];
    if (node[INT_OR_STRING] === true) {
      out.anyOf = [{ type: "integer" }, { type: "string" }];
      out[INT_OR_STRING] = true;
    } else if (branches.every((b) => typeof b.const === "string")) {
      out.type = "string";
      out.enum = branches.map((b) => b.const as string);
    } else {
      throw new Error(`${path}: only string enums and int-or-string unions fit a structural schema`);
    }
  } else if ("const" in node) {
    const value = node.const;
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
      throw new Error(`${path}: literal of type ${typeof value} is not supported`);
    }
    if (typeof value === "number") out.type = Number.isInteger(value) ? "integer" : "number";
    else out.type = typeof value === "string" ? "string" : "boolean";
    out.enum = [value];
  } else if (typeof node.type === "string") {
    out.type = node.type as JSONSchemaProps["type"];
  } else if (!preserve) {
    throw new Error(`${path}: every node needs a type (or ${PRESERVE_UNKNOWN})`);
  }

  for (const key of PASSTHROUGH) {
    if (node[key] !== undefined) (out as Record<string, unknown>)[key] = node[key];
  }

  if (isNode(node.properties)) {
    out.properties = {};
    for (const [name, child] of Object.entries(node.properties)) {
      out.properties[name] = toStructuralSchema(child as TSchema, `${path}.${name}`);
    }
    const required = Array.isArray(node.required) ? (node.required as string[]) : [];
    if (required.length > 0) out.required = [...required];
  }
  if (isNode(node.items)) {
    out.items = toStructuralSchema(node.items as TSchema, `${path}[]`);
  }

  // Records: TypeBox says patternProperties {"^(.*)$": X}, Kubernetes says additionalProperties X.
  let mapValue: unknown;
  if (isNode(node.patternProperties)) {
    const patterns = Object.keys(node.patternProperties);
    if (patterns.length !== 1 || patterns[0] !== ANY_KEY) {
      throw new Error(`${path}: record keys cannot be constrained in a structural schema`);
    }
    mapValue = node.patternProperties[ANY_KEY];
  } else if (isNode(node.additionalProperties)) {
    mapValue = node.additionalProperties;
  } else if (typeof node.additionalProperties === "boolean") {
    throw new Error(
      `${path}: additionalProperties: ${node.additionalProperties} is not allowed; use a schema`,
    );
  }
  if (mapValue !== undefined && !isEmpty(mapValue)) {
    if (out.properties) throw new Error(`${path}: properties and additionalProperties cannot be combined`);
    out.additionalProperties = toStructuralSchema(mapValue as TSchema, `${path}.*`);
  } else if (mapValue !== undefined && !preserve) {
    throw new Error(`${path}: a map of arbitrary values must set ${PRESERVE_UNKNOWN}`);
  }

  if (preserve) out[PRESERVE_UNKNOWN] = true;
  return out;
}

/** The CRD's root schema: the API server owns apiVersion, kind and metadata. */
function rootSchema(info: KindInfo): JSONSchemaProps {
  const schema = toStructuralSchema(info.schema, info.kind);
  const properties = schema.properties ?? {};
  properties.apiVersion = { type: "string" };
  properties.kind = { type: "string" };
  properties.metadata = { type: "object" };
  return {
    ...schema,
    required: (schema.required ?? []).filter((r) => r !== "apiVersion" && r !== "kind"),
    properties,
  };
}

/** One CRD for one kind of the registry. */
export function buildCrd(info: KindInfo): CustomResourceDefinition {
  const subresources: CustomResourceDefinition["spec"]["versions"][number]["subresources"] = {};
  if (hasStatus(info)) subresources.status = {};
  if (info.scale) subresources.scale = { ...info.scale };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${info.plural}.${GROUP}`, labels: { ...PART_OF } },
    spec: {
      group: GROUP,
      names: {
        kind: info.kind,
        listKind: info.listKind,
        plural: info.plural,
        singular: info.singular,
        shortNames: [...info.shortNames],
        categories: [...info.categories],
      },
      scope: info.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: rootSchema(info) },
          ...(Object.keys(subresources).length > 0 ? { subresources } : {}),
          additionalPrinterColumns: info.printerColumns.map((c) => ({ ...c })),
        },
      ],
    },
  };
}

/** Every slipway CRD, in registry order. */
export function buildCrds(): CustomResourceDefinition[] {
  return KINDS.map(buildCrd);
}

/**
 * The CRD files under crds/, keyed by file name. Keys are sorted at every level so the same
 * schema always renders to the same bytes.
 */
export function renderCrdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const crd of buildCrds()) {
    const body = stringify(crd, { sortMapEntries: true, lineWidth: 0 });
    files.set(
      `${crd.metadata.name}.yaml`,
      `# Generated from api/v1alpha1 by \`npm run gen:crds\`; do not edit.\n${body}`,
    );
  }
  return files;
}

/** Argo CD's `default` project: anything from anywhere to anywhere, the starting point for a trial. */
export function defaultAppProject(namespace: string = DEFAULT_NAMESPACE): AppProject {
  return {
    apiVersion: API_VERSION,
    kind: "AppProject",
    metadata: { name: "default", namespace, labels: { ...PART_OF } },
    spec: {
      description: "Default project: every source repository, destination and kind",
      sourceRepos: ["*"],
      destinations: [{ server: "*", namespace: "*" }],
      clusterResourceWhitelist: [{ group: "*", kind: "*" }],
    },
  };
}

/**
 * The controller's cluster permissions.
 *
 * A GitOps controller applies whatever its repositories contain, so it needs write access to
 * every resource type: sync creates and patches (server-side apply), prune deletes, and the
 * informers list and watch. The verbs are listed so `impersonate`, `deletecollection` and the
 * like are not granted by accident. Manifests commonly contain RBAC (Roles with `verbs: ["*"]`),
 * which Kubernetes lets a client create only if it already holds those rights or has `escalate`
 * / `bind` on roles; that makes this role, honestly, equivalent to cluster-admin. The real
 * limit on what an app may create is its AppProject (clusterResourceWhitelist and friends);
 * operators who need less should replace this ClusterRole with namespaced Roles.
 */
export function controllerClusterRole(): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: CONTROLLER_NAME, labels: { ...PART_OF } },
    rules: [
      {
        apiGroups: ["*"],
        resources: ["*"],
        verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
      },
      {
        apiGroups: ["rbac.authorization.k8s.io"],
        resources: ["clusterroles", "roles"],
        verbs: ["escalate", "bind"],
      },
    ],
  };
}

/**
 * Everything `slipway install` applies, in apply order: CRDs first (cluster-scoped, needed by
 * the AppProject), then the namespace, the controller's identity and RBAC, and the default project.
 */
export function installManifests(namespace: string = DEFAULT_NAMESPACE): KubeObject[] {
  return [
    ...buildCrds(),
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: { ...PART_OF } } },
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: CONTROLLER_NAME, namespace, labels: { ...PART_OF } },
    },
    controllerClusterRole(),
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: CONTROLLER_NAME, labels: { ...PART_OF } },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: CONTROLLER_NAME },
      subjects: [{ kind: "ServiceAccount", name: CONTROLLER_NAME, namespace }],
    },
    defaultAppProject(namespace),
  ];
}
