/**
 * The sandbox's API semantics: admission, storage, subresources, finalizers, garbage collection
 * and namespace lifecycle. The HTTP server and the simulated controllers both call this class,
 * so every write, whoever makes it, is treated the same way a real API server would treat it.
 */

import { randomUUID } from "node:crypto";
import { cloneJson } from "../../api/json.js";
import { DNS_LABEL_KINDS, GENERATION_KINDS } from "./builtin-resources.js";
import { admitCustomObject, crdStatus, servedResourcesOf, validateCrd } from "./crd.js";
import { allocateClusterIP, applyBuiltinDefaults } from "./defaults.js";
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  notFound,
  type StatusCause,
} from "./errors.js";
import * as patching from "./patching.js";
import { ResourceRegistry, type ServedResource } from "./registry.js";
import { formatLabelSelector, parseFieldSelector, parseLabelSelector } from "./selectors.js";
import { collectionKey, type LoggedEvent, ObjectStore } from "./store.js";
import type {
  DeleteOptions,
  GroupVersionResource,
  KubeObject,
  ListOptions,
  PatchOptions,
  PatchType,
  ResourceType,
  SandboxApi,
  WatchEvent,
  WriteOptions,
} from "./types.js";

/** Per-request settings that come from query parameters and headers. */
export interface RequestContext {
  fieldManager?: string;
  dryRun?: boolean;
  fieldValidation?: "Strict" | "Warn" | "Ignore";
  force?: boolean;
  /** Warnings to return in `Warning` headers. */
  warnings?: string[];
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GENERATE_CHARS = "bcdfghjklmnpqrstvwxz2456789";
const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Compares JSON values structurally (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}

/** Everything but metadata and status: what a generation bump is about. */
function specPart(object: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = object;
  return rest;
}

function getPath(object: unknown, path: string): unknown {
  let current = object;
  for (const part of path.replace(/^\./, "").split(".")) {
    if (!isObj(current)) return undefined;
    current = current[part];
  }
  return current;
}

function setPath(object: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.replace(/^\./, "").split(".");
  let current = object;
  for (const part of parts.slice(0, -1)) {
    if (!isObj(current[part])) current[part] = {};
    current = current[part] as Record<string, unknown>;
  }
  current[parts[parts.length - 1]!] = value;
}

export class SandboxCore implements SandboxApi {
  readonly store: ObjectStore;
  readonly registry = new ResourceRegistry();
  private readonly namespaceSweeps = new Set<string>();

  constructor(
    private readonly now: () => Date = () => new Date(),
    store?: ObjectStore,
  ) {
    this.store = store ?? new ObjectStore();
    // Re-register CRDs that came back from a snapshot.
    for (const crd of this.store.list(collectionKey("apiextensions.k8s.io", "customresourcedefinitions"))) {
      for (const r of servedResourcesOf(crd)) this.registry.add(r);
    }
  }

  /** Creates the namespaces every cluster starts with, and the CRDs given (skipping ones already there). */
  bootstrap(crds: KubeObject[] = []): void {
    const crdResource = this.served({
      group: "apiextensions.k8s.io",
      version: "v1",
      resource: "customresourcedefinitions",
    });
    for (const crd of crds) {
      if (
        !this.store.get(
          collectionKey("apiextensions.k8s.io", "customresourcedefinitions"),
          undefined,
          crd.metadata.name!,
        )
      ) {
        this.createIn(crdResource, undefined, cloneJson(crd), { fieldManager: "sandbox" });
      }
    }
    const ns = this.served({ group: "", version: "v1", resource: "namespaces" });
    for (const name of SYSTEM_NAMESPACES) {
      if (!this.store.get(collectionKey("", "namespaces"), undefined, name)) {
        this.createIn(
          ns,
          undefined,
          { apiVersion: "v1", kind: "Namespace", metadata: { name } },
          {
            fieldManager: "sandbox",
          },
        );
      }
    }
  }

  private timestamp(): string {
    return `${this.now().toISOString().slice(0, 19)}Z`;
  }

  // ---- lookup -------------------------------------------------------------------------------

  resolve(group: string, version: string, name: string): ResourceType | undefined {
    return this.registry.resolve(group, version, name);
  }

  served(gvr: GroupVersionResource): ServedResource {
    const r = this.registry.get(gvr);
    if (!r) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    return r;
  }

  /** The object as served at the requested version (CRDs may serve several versions of one storage). */
  present(resource: ServedResource, object: KubeObject): KubeObject {
    const apiVersion = resource.group ? `${resource.group}/${resource.version}` : resource.version;
    return object.apiVersion === apiVersion ? object : { ...object, apiVersion };
  }

  getRaw(resource: ServedResource, namespace: string | undefined, name: string): KubeObject {
    const object = this.store.get(
      collectionKey(resource.group, resource.plural),
      resource.namespaced ? namespace : undefined,
      name,
    );
    if (!object) throw notFound(resource.group, resource.plural, name);
    return object;
  }

  get(gvr: GroupVersionResource, namespace: string | undefined, name: string): KubeObject | undefined {
    const resource = this.served(gvr);
    const object = this.store.get(
      collectionKey(resource.group, resource.plural),
      resource.namespaced ? namespace : undefined,
      name,
    );
    return object ? cloneJson(this.present(resource, object)) : undefined;
  }

  /** Lists stored objects (not cloned: callers must not mutate them). */
  listRaw(resource: ServedResource, options: ListOptions = {}): KubeObject[] {
    const labels = parseLabelSelector(options.labelSelector);
    const fields = parseFieldSelector(options.fieldSelector);
    const items = this.store.list(
      collectionKey(resource.group, resource.plural),
      resource.namespaced ? options.namespace || undefined : undefined,
    );
    if (!options.labelSelector && !options.fieldSelector) return items;
    return items.filter((o) => labels(o.metadata.labels) && fields(o));
  }

  list(gvr: GroupVersionResource, options: ListOptions = {}): KubeObject[] {
    const resource = this.served(gvr);
    return this.listRaw(resource, options).map((o) => cloneJson(this.present(resource, o)));
  }

  subscribe(
    gvr: GroupVersionResource | "*",
    listener: (event: WatchEvent, type: ResourceType) => void,
  ): () => void {
    const wanted = gvr === "*" ? undefined : collectionKey(gvr.group, this.served(gvr).plural);
    return this.store.subscribe((event: LoggedEvent) => {
      if (wanted && event.collection !== wanted) return;
      const [group, plural] = splitCollection(event.collection);
      const resource = this.resourceForCollection(group, plural);
      if (!resource) return;
      listener({ type: event.type, object: cloneJson(event.object) }, resource);
    });
  }

  /** The preferred served resource of a collection (for events, which are stored version-less). */
  resourceForCollection(group: string, plural: string): ServedResource | undefined {
    const candidates = this.registry.all().filter((r) => r.group === group && r.plural === plural);
    return candidates.find((r) => !r.storageVersion || r.storageVersion === r.version) ?? candidates[0];
  }

  // ---- SandboxApi writes ----------------------------------------------------------------------

  create(gvr: GroupVersionResource, object: KubeObject, options: WriteOptions = {}): KubeObject {
    const resource = this.served(gvr);
    return cloneJson(this.createIn(resource, object.metadata.namespace, cloneJson(object), options));
  }

  update(gvr: GroupVersionResource, object: KubeObject, options: WriteOptions = {}): KubeObject {
    const resource = this.served(gvr);
    const body = cloneJson(object);
    if (options.subresource === "scale") {
      return this.updateScale(resource, object.metadata.namespace, object.metadata.name!, body, options);
    }
    return cloneJson(
      this.updateIn(
        resource,
        object.metadata.namespace,
        object.metadata.name!,
        body,
        options,
        options.subresource,
      ),
    );
  }

  patch(
    gvr: GroupVersionResource,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    body: unknown,
    options: PatchOptions = {},
  ): KubeObject {
    const resource = this.served(gvr);
    return cloneJson(this.patchIn(resource, namespace, name, type, body, options, options.subresource));
  }

  delete(
    gvr: GroupVersionResource,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): KubeObject | undefined {
    const resource = this.served(gvr);
    const result = this.deleteIn(resource, namespace, name, options);
    return result ? cloneJson(result) : undefined;
  }

  recordEvent(involved: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void {
    const namespace = involved.metadata.namespace || "default";
    const events = this.served({ group: "", version: "v1", resource: "events" });
    const now = this.timestamp();
    const existing = this.listRaw(events, { namespace }).find(
      (e) =>
        e.involvedObject?.uid === involved.metadata.uid &&
        e.reason === reason &&
        e.message === message &&
        e.type === type,
    );
    try {
      if (existing) {
        this.updateIn(
          events,
          namespace,
          existing.metadata.name!,
          { ...existing, count: (existing.count ?? 1) + 1, lastTimestamp: now },
          { fieldManager: "sandbox" },
        );
        return;
      }
      this.createIn(
        events,
        namespace,
        {
          apiVersion: "v1",
          kind: "Event",
          metadata: { generateName: `${involved.metadata.name}.`, namespace },
          involvedObject: {
            apiVersion: involved.apiVersion,
            kind: involved.kind,
            name: involved.metadata.name,
            namespace: involved.metadata.namespace,
            uid: involved.metadata.uid,
            resourceVersion: involved.metadata.resourceVersion,
          },
          reason,
          message,
          type,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: "slipway-sandbox" },
          reportingComponent: "slipway-sandbox",
        },
        { fieldManager: "sandbox" },
      );
    } catch {
      // An event about an object in a namespace that is going away is not worth failing for.
    }
  }

  // ---- create ---------------------------------------------------------------------------------

  createIn(
    resource: ServedResource,
    urlNamespace: string | undefined,
    object: KubeObject,
    ctx: RequestContext & WriteOptions,
  ): KubeObject {
    this.checkTypeMeta(resource, object);
    if (!isObj(object.metadata)) object.metadata = {};
    const meta = object.metadata;
    const namespace = this.checkNamespace(resource, urlNamespace, meta.namespace, true);
    if (resource.namespaced) meta.namespace = namespace;
    else delete meta.namespace;
    if (!meta.name) {
      if (!meta.generateName) {
        throw invalid(resource.group, resource.kind, "", [
          {
            reason: "FieldValueRequired",
            field: "metadata.name",
            message: "Required value: name or generateName is required",
          },
        ]);
      }
      meta.name = this.generateName(resource, namespace, meta.generateName);
    }
    this.validateName(resource, meta.name);
    const collection = collectionKey(resource.group, resource.plural);
    if (this.store.get(collection, namespace, meta.name))
      throw alreadyExists(resource.group, resource.plural, meta.name);

    // Fields the server owns are never taken from the client.
    delete meta.uid;
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.generation;
    if (resource.subresources.status && !(resource.group === "" && resource.kind === "Namespace"))
      delete object.status;
    this.admit(resource, object, undefined, ctx);

    meta.uid = randomUUID();
    meta.creationTimestamp = this.timestamp();
    if (this.tracksGeneration(resource)) meta.generation = 1;
    this.onCreate(resource, object);
    const manager = ctx.fieldManager ?? "unknown";
    if (!meta.managedFields?.length || !ctx.fieldManager?.startsWith("__apply:")) {
      meta.managedFields = patching.trackUpdate(resource, undefined, object, manager, this.timestamp());
    }
    if (ctx.dryRun) {
      meta.resourceVersion = String(this.store.currentRevision);
      return this.present(resource, object);
    }
    meta.resourceVersion = String(this.store.nextRevision());
    object.apiVersion = resource.group ? `${resource.group}/${resource.version}` : resource.version;
    this.store.put(collection, object, "ADDED");
    this.afterWrite(resource, undefined, object);
    return this.present(resource, object);
  }

  private generateName(resource: ServedResource, namespace: string | undefined, prefix: string): string {
    const collection = collectionKey(resource.group, resource.plural);
    for (let attempt = 0; attempt < 100; attempt++) {
      let suffix = "";
      for (let i = 0; i < 5; i++) suffix += GENERATE_CHARS[Math.floor(Math.random() * GENERATE_CHARS.length)];
      const name = `${prefix.slice(0, 58)}${suffix}`;
      if (!this.store.get(collection, namespace, name)) return name;
    }
    throw new ApiError(500, "InternalError", "could not generate a unique name");
  }

  private validateName(resource: ServedResource, name: string): void {
    const label = DNS_LABEL_KINDS.has(`${resource.group}/${resource.kind}`);
    const ok = label
      ? name.length <= 63 && DNS_LABEL.test(name)
      : name.length <= 253 && DNS_SUBDOMAIN.test(name);
    // Events and a few kinds allow other characters; RBAC names allow ':' (system:...).
    const relaxed = resource.kind === "Event" || resource.group === "rbac.authorization.k8s.io";
    if (ok || (relaxed && name.length <= 253 && !name.includes("/") && name !== "." && name !== "..")) return;
    const what = label
      ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
      : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    throw invalid(resource.group, resource.kind, name, [
      { reason: "FieldValueInvalid", field: "metadata.name", message: `Invalid value: "${name}": ${what}` },
    ]);
  }

  private checkTypeMeta(resource: ServedResource, object: KubeObject): void {
    if (!isObj(object)) throw badRequest("the body of the request was in an unknown format");
    const apiVersion = resource.group ? `${resource.group}/${resource.version}` : resource.version;
    if (object.kind === undefined && object.apiVersion === undefined) {
      object.kind = resource.kind;
      object.apiVersion = apiVersion;
      return;
    }
    if (object.kind !== resource.kind || object.apiVersion !== apiVersion) {
      const ok =
        object.kind === resource.kind &&
        typeof object.apiVersion === "string" &&
        this.registry.forKind(resource.group, object.apiVersion.split("/").pop()!, resource.kind) !==
          undefined &&
        (object.apiVersion.includes("/")
          ? object.apiVersion.split("/")[0] === resource.group
          : resource.group === "");
      if (!ok) {
        throw badRequest(
          `the API version in the data (${object.apiVersion}) does not match the expected API version (${apiVersion})`,
        );
      }
    }
  }

  /** Resolves and checks the namespace of a write: required for namespaced kinds, must exist and be active. */
  private checkNamespace(
    resource: ServedResource,
    urlNamespace: string | undefined,
    bodyNamespace: string | undefined,
    creating: boolean,
  ): string | undefined {
    if (!resource.namespaced) return undefined;
    if (urlNamespace && bodyNamespace && urlNamespace !== bodyNamespace) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    const namespace = urlNamespace || bodyNamespace;
    if (!namespace) throw badRequest("an empty namespace may not be set during creation");
    if (creating) {
      const ns = this.store.get(collectionKey("", "namespaces"), undefined, namespace);
      if (!ns) throw notFound("", "namespaces", namespace);
      if (ns.metadata.deletionTimestamp) {
        throw new ApiError(
          403,
          "Forbidden",
          `${resource.plural} "${"name"}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
          {
            name: namespace,
            kind: "namespaces",
            causes: [
              {
                reason: "NamespaceTerminating",
                message: `namespace ${namespace} is being terminated`,
                field: "metadata.namespace",
              },
            ],
          },
        );
      }
    }
    return namespace;
  }

  private tracksGeneration(resource: ServedResource): boolean {
    return resource.fromCrd !== undefined || GENERATION_KINDS.has(`${resource.group}/${resource.kind}`);
  }

  /** Validation and defaulting: CRD schemas for custom resources, known defaults for built-ins. */
  private admit(
    resource: ServedResource,
    object: KubeObject,
    _old: KubeObject | undefined,
    ctx: RequestContext,
  ): void {
    const meta = object.metadata;
    for (const [field, map] of [
      ["metadata.labels", meta.labels],
      ["metadata.annotations", meta.annotations],
    ] as const) {
      if (map === undefined || map === null) continue;
      if (!isObj(map)) throw badRequest(`${field} must be a map of strings`);
      for (const [k, v] of Object.entries(map)) {
        if (typeof v !== "string") {
          throw badRequest(
            `json: cannot unmarshal ${typeof v} into Go struct field ObjectMeta.${field} of type string (key "${k}")`,
          );
        }
        if (
          field === "metadata.labels" &&
          (v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v))
        ) {
          throw invalid(resource.group, resource.kind, meta.name ?? "", [
            {
              reason: "FieldValueInvalid",
              field: `metadata.labels`,
              message: `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
            },
          ]);
        }
      }
    }
    let unknown: string[];
    if (resource.fromCrd) {
      unknown = admitCustomObject(resource, object);
    } else {
      unknown = patching.unknownFields(resource, object);
      applyBuiltinDefaults(resource.group, object);
      this.validateBuiltin(resource, object);
    }
    if (unknown.length > 0) {
      if (ctx.fieldValidation === "Strict") {
        const message = unknown.map((f) => `unknown field "${f}"`).join(", ");
        throw badRequest(
          resource.fromCrd
            ? `.${unknown[0]}: field not declared in schema`
            : `${resource.kind} in version "${resource.version}" cannot be handled as a ${resource.kind}: strict decoding error: ${message}`,
        );
      }
      if (ctx.fieldValidation === "Warn" || ctx.fieldValidation === undefined) {
        ctx.warnings?.push(...unknown.map((f) => `unknown field "${f}"`));
      }
    }
  }

  private validateBuiltin(resource: ServedResource, object: KubeObject): void {
    const causes: StatusCause[] = [];
    const key = `${resource.group}/${resource.kind}`;
    const spec = object.spec;
    const templated = [
      "apps/Deployment",
      "apps/ReplicaSet",
      "apps/StatefulSet",
      "apps/DaemonSet",
      "batch/Job",
    ];
    if (templated.includes(key)) {
      if (typeof spec !== "object" || spec === null) {
        causes.push({ reason: "FieldValueRequired", field: "spec", message: "Required value" });
      } else {
        const containers = spec.template?.spec?.containers;
        if (!Array.isArray(containers) || containers.length === 0) {
          causes.push({
            reason: "FieldValueRequired",
            field: "spec.template.spec.containers",
            message: "Required value",
          });
        }
        if (key !== "batch/Job") {
          if (typeof spec.selector !== "object" || spec.selector === null) {
            causes.push({ reason: "FieldValueRequired", field: "spec.selector", message: "Required value" });
          } else {
            const labels = spec.template?.metadata?.labels;
            const matches = parseLabelSelector(formatLabelSelector(spec.selector))(labels);
            if (!matches || Object.keys(spec.selector).length === 0) {
              causes.push({
                reason: "FieldValueInvalid",
                field: "spec.template.metadata.labels",
                message: `Invalid value: ${JSON.stringify(labels ?? {})}: \`selector\` does not match template \`labels\``,
              });
            }
          }
          if (typeof spec.replicas === "number" && spec.replicas < 0) {
            causes.push({
              reason: "FieldValueInvalid",
              field: "spec.replicas",
              message: `Invalid value: ${spec.replicas}: must be greater than or equal to 0`,
            });
          }
        }
      }
    }
    if (key === "/Pod") {
      if (!Array.isArray(spec?.containers) || spec.containers.length === 0) {
        causes.push({ reason: "FieldValueRequired", field: "spec.containers", message: "Required value" });
      }
    }
    for (const [path, containers] of [
      ["spec.containers", key === "/Pod" ? spec?.containers : undefined],
      [
        "spec.template.spec.containers",
        templated.includes(key) ? spec?.template?.spec?.containers : undefined,
      ],
    ] as const) {
      if (!Array.isArray(containers)) continue;
      containers.forEach((c: Record<string, unknown>, i: number) => {
        if (!c?.name)
          causes.push({
            reason: "FieldValueRequired",
            field: `${path}[${i}].name`,
            message: "Required value",
          });
        if (!c?.image)
          causes.push({
            reason: "FieldValueRequired",
            field: `${path}[${i}].image`,
            message: "Required value",
          });
      });
    }
    if (key === "/Service" && isObj(spec) && Array.isArray(spec.ports)) {
      spec.ports.forEach((p: Record<string, unknown>, i: number) => {
        if (typeof p?.port !== "number" || p.port < 1 || p.port > 65535) {
          causes.push({
            reason: "FieldValueInvalid",
            field: `spec.ports[${i}].port`,
            message: `Invalid value: ${JSON.stringify(p?.port)}: must be between 1 and 65535, inclusive`,
          });
        }
      });
    }
    if (key === "/ConfigMap" || key === "/Secret") {
      for (const field of ["data", "stringData", "binaryData"]) {
        const data = object[field];
        if (data === undefined || data === null) continue;
        if (!isObj(data)) {
          throw badRequest(
            `json: cannot unmarshal ${Array.isArray(data) ? "array" : typeof data} into Go struct field ${object.kind}.${field} of type map[string]string`,
          );
        }
        for (const [k, v] of Object.entries(data)) {
          if (typeof v !== "string") {
            throw badRequest(
              `json: cannot unmarshal ${typeof v} into Go struct field ${object.kind}.${field} of type string`,
            );
          }
          if (!/^[-._a-zA-Z0-9]+$/.test(k)) {
            causes.push({
              reason: "FieldValueInvalid",
              field: `${field}`,
              message: `Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
            });
          }
        }
      }
      if (key === "/Secret" && isObj(object.stringData)) {
        // stringData is write-only: merged into data base64-encoded, as the API server does.
        object.data = { ...(object.data ?? {}) };
        for (const [k, v] of Object.entries(object.stringData))
          object.data[k] = Buffer.from(String(v)).toString("base64");
        delete object.stringData;
      }
    }
    if (key === "apiextensions.k8s.io/CustomResourceDefinition") causes.push(...validateCrd(object));
    if (causes.length > 0) throw invalid(resource.group, resource.kind, object.metadata.name ?? "", causes);
  }

  /** Server-side effects of creating an object of some kinds (IP allocation, CRD status, ...). */
  private onCreate(resource: ServedResource, object: KubeObject): void {
    const key = `${resource.group}/${resource.kind}`;
    if (key === "/Namespace") {
      object.status = { phase: "Active" };
    } else if (key === "/Service" && isObj(object.spec)) {
      const spec = object.spec;
      if (spec.type !== "ExternalName" && spec.clusterIP === undefined) {
        const taken = new Set(
          this.store.list(collectionKey("", "services")).map((s) => s.spec?.clusterIP as string),
        );
        spec.clusterIP = allocateClusterIP(object.metadata.namespace!, object.metadata.name!, taken);
        spec.clusterIPs = [spec.clusterIP];
      }
      object.status = { loadBalancer: {} };
    } else if (key === "/Pod") {
      object.status = { phase: "Pending", qosClass: "BestEffort" };
    } else if (key === "apiextensions.k8s.io/CustomResourceDefinition") {
      object.status = crdStatus(object, this.timestamp());
    } else if (
      resource.subresources.status &&
      object.status === undefined &&
      resource.fromCrd === undefined
    ) {
      object.status = {};
    }
  }

  /** Keeps derived server state in step with a write (CRD registrations). */
  private afterWrite(resource: ServedResource, _before: KubeObject | undefined, after: KubeObject): void {
    if (resource.group === "apiextensions.k8s.io" && resource.kind === "CustomResourceDefinition") {
      this.registry.removeCrd(after.metadata.name!);
      for (const r of servedResourcesOf(after)) this.registry.add(r);
    }
  }

  // ---- update ---------------------------------------------------------------------------------

  updateIn(
    resource: ServedResource,
    urlNamespace: string | undefined,
    name: string,
    object: KubeObject,
    ctx: RequestContext & WriteOptions,
    subresource?: "status" | "scale",
    forceRevision = false,
  ): KubeObject {
    this.checkTypeMeta(resource, object);
    if (!isObj(object.metadata)) object.metadata = {};
    const namespace = this.checkNamespace(resource, urlNamespace, object.metadata.namespace, false);
    if (object.metadata.name && object.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${object.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const existing = this.getRaw(resource, namespace, name);
    const wantedRv = object.metadata.resourceVersion;
    if (wantedRv && wantedRv !== existing.metadata.resourceVersion) {
      throw conflict(
        resource.group,
        resource.plural,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    }
    if (object.metadata.uid && object.metadata.uid !== existing.metadata.uid) {
      throw conflict(
        resource.group,
        resource.plural,
        name,
        `Precondition failed: UID in precondition: ${object.metadata.uid}, UID in object meta: ${existing.metadata.uid}`,
      );
    }

    let next: KubeObject;
    if (subresource === "status") {
      // A status write changes status only (and finalizers never).
      next = { ...cloneJson(existing), status: object.status };
    } else {
      next = object;
      next.metadata = {
        ...object.metadata,
        name,
        uid: existing.metadata.uid,
        creationTimestamp: existing.metadata.creationTimestamp,
        ...(resource.namespaced ? { namespace } : {}),
      };
      if (!resource.namespaced) delete next.metadata.namespace;
      delete next.metadata.generation;
      if (existing.metadata.deletionTimestamp) {
        next.metadata.deletionTimestamp = existing.metadata.deletionTimestamp;
        next.metadata.deletionGracePeriodSeconds = existing.metadata.deletionGracePeriodSeconds;
        const added = (next.metadata.finalizers ?? []).filter(
          (f) => !(existing.metadata.finalizers ?? []).includes(f),
        );
        if (added.length > 0) {
          throw invalid(resource.group, resource.kind, name, [
            {
              reason: "FieldValueForbidden",
              field: "metadata.finalizers",
              message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
            },
          ]);
        }
      } else {
        delete next.metadata.deletionTimestamp;
        delete next.metadata.deletionGracePeriodSeconds;
      }
      if (resource.subresources.status) next.status = cloneJson(existing.status);
      else if (next.status === undefined && existing.status !== undefined && resource.kind === "Namespace")
        next.status = existing.status;
      if (resource.kind === "Service" && resource.group === "" && isObj(next.spec) && isObj(existing.spec)) {
        if (next.spec.clusterIP === undefined) next.spec.clusterIP = existing.spec.clusterIP;
        if (next.spec.clusterIPs === undefined) next.spec.clusterIPs = existing.spec.clusterIPs;
      }
      this.admit(resource, next, existing, ctx);
      if (resource.kind === "CustomResourceDefinition") {
        next.status = crdStatus(
          next,
          this.timestamp(),
          existing.status as Record<string, unknown> | undefined,
        );
      }
    }
    next.apiVersion = existing.apiVersion;
    if (this.tracksGeneration(resource)) {
      const bumped = !jsonEqual(specPart(existing), specPart(next));
      next.metadata.generation = (existing.metadata.generation ?? 1) + (bumped ? 1 : 0);
    }
    if (!ctx.fieldManager?.startsWith("__apply:")) {
      next.metadata.managedFields = patching.trackUpdate(
        resource,
        existing,
        next,
        ctx.fieldManager ?? "unknown",
        this.timestamp(),
        subresource,
      );
    }

    // A write that changes nothing (ownership timestamps aside) does not bump the resourceVersion
    // or notify watchers, as the API server skips no-op updates.
    const withoutTimes = (o: KubeObject) => ({
      ...o,
      metadata: {
        ...o.metadata,
        resourceVersion: undefined,
        managedFields: o.metadata.managedFields?.map((m) => ({ ...m, time: undefined })),
      },
    });
    const unchanged = !forceRevision && jsonEqual(withoutTimes(next), withoutTimes(existing));
    if (unchanged) return this.present(resource, existing);
    if (ctx.dryRun) {
      next.metadata.resourceVersion = existing.metadata.resourceVersion;
      return this.present(resource, next);
    }
    next.metadata.resourceVersion = String(this.store.nextRevision());
    const collection = collectionKey(resource.group, resource.plural);
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      this.store.remove(collection, next);
      this.afterDelete(resource, next);
      return this.present(resource, next);
    }
    this.store.put(collection, next, "MODIFIED");
    this.afterWrite(resource, existing, next);
    return this.present(resource, next);
  }

  // ---- patch ----------------------------------------------------------------------------------

  patchIn(
    resource: ServedResource,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    body: unknown,
    ctx: RequestContext & PatchOptions,
    subresource?: "status" | "scale",
  ): KubeObject {
    if (subresource === "scale") {
      const scale = this.getScale(resource, namespace, name);
      const patched = this.applyPatchBody(resource, scale as KubeObject, type, body, true);
      return this.updateScale(resource, namespace, name, patched, ctx);
    }
    const ns = resource.namespaced ? namespace : undefined;
    const collection = collectionKey(resource.group, resource.plural);
    const existing = this.store.get(collection, ns, name);
    if (type === "apply") {
      if (!isObj(body)) throw badRequest("the body of the request was in an unknown format");
      const applied = body as KubeObject;
      this.checkTypeMeta(resource, applied);
      if (applied.metadata?.name && applied.metadata.name !== name) {
        throw badRequest(
          `the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`,
        );
      }
      if (!ctx.fieldManager) {
        throw badRequest("PATCH, application/apply-patch+yaml requires fieldManager to be specified");
      }
      const { object } = patching.apply(resource, {
        live: existing,
        applied: {
          ...applied,
          metadata: { ...(applied.metadata ?? {}), name, ...(ns ? { namespace: ns } : {}) },
        },
        manager: ctx.fieldManager,
        force: ctx.force ?? false,
        now: this.timestamp(),
        ...(subresource ? { subresource } : {}),
      });
      const internal = { ...ctx, fieldManager: `__apply:${ctx.fieldManager}` };
      if (!existing) return this.createIn(resource, ns, object, internal);
      object.metadata.resourceVersion = existing.metadata.resourceVersion;
      return this.updateIn(resource, ns, name, object, internal, subresource);
    }
    if (!existing) throw notFound(resource.group, resource.plural, name);
    const patched = this.applyPatchBody(resource, existing, type, body, false);
    // A patch only carries a resourceVersion precondition when the patch body itself sets one.
    const bodyRv = isObj(body) && isObj(body.metadata) ? body.metadata.resourceVersion : undefined;
    patched.metadata = {
      ...patched.metadata,
      resourceVersion: typeof bodyRv === "string" ? bodyRv : undefined,
    };
    return this.updateIn(resource, ns, name, patched, ctx, subresource);
  }

  private applyPatchBody(
    resource: ServedResource,
    target: KubeObject,
    type: PatchType,
    body: unknown,
    isScale: boolean,
  ): KubeObject {
    const base = cloneJson(target);
    switch (type) {
      case "json":
        if (!Array.isArray(body)) throw badRequest("json patch must be a JSON array of operations");
        return patching.jsonPatch(resource, base, body);
      case "merge":
        if (!isObj(body)) throw badRequest("merge patch must be a JSON object");
        return patching.mergePatch(resource, base, body);
      case "strategic":
        if (!isObj(body)) throw badRequest("strategic merge patch must be a JSON object");
        if (resource.fromCrd && !isScale) {
          throw new ApiError(
            415,
            "UnsupportedMediaType",
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
          );
        }
        return patching.strategicPatch(resource, base, body, isScale);
      default:
        throw new ApiError(415, "UnsupportedMediaType", `unsupported patch type ${type}`);
    }
  }

  // ---- scale subresource ----------------------------------------------------------------------

  getScale(resource: ServedResource, namespace: string | undefined, name: string): Record<string, unknown> {
    const scale = resource.subresources.scale;
    if (!scale) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    const object = this.getRaw(resource, namespace, name);
    const selector = getPath(object, scale.labelSelectorPath ?? "");
    return {
      kind: "Scale",
      apiVersion: "autoscaling/v1",
      metadata: {
        name,
        namespace: object.metadata.namespace,
        uid: object.metadata.uid,
        resourceVersion: object.metadata.resourceVersion,
        creationTimestamp: object.metadata.creationTimestamp,
      },
      spec: { replicas: (getPath(object, scale.specReplicasPath) as number | undefined) ?? 0 },
      status: {
        replicas: (getPath(object, scale.statusReplicasPath) as number | undefined) ?? 0,
        ...(selector
          ? {
              selector:
                typeof selector === "string"
                  ? selector
                  : formatLabelSelector(selector as Record<string, never>),
            }
          : {}),
      },
    };
  }

  updateScale(
    resource: ServedResource,
    namespace: string | undefined,
    name: string,
    scale: Record<string, unknown>,
    ctx: RequestContext & WriteOptions,
  ): KubeObject {
    const sub = resource.subresources.scale;
    if (!sub) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    const existing = this.getRaw(resource, namespace, name);
    const replicas = isObj(scale.spec) ? scale.spec.replicas : undefined;
    if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid("autoscaling", "Scale", name, [
        {
          reason: "FieldValueInvalid",
          field: "spec.replicas",
          message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        },
      ]);
    }
    const meta = isObj(scale.metadata) ? scale.metadata : {};
    if (
      typeof meta.resourceVersion === "string" &&
      meta.resourceVersion !== existing.metadata.resourceVersion
    ) {
      throw conflict(
        resource.group,
        resource.plural,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    }
    const next = cloneJson(existing);
    setPath(next, sub.specReplicasPath, replicas);
    delete next.metadata.resourceVersion;
    this.updateIn(resource, namespace, name, next, ctx);
    return this.getScale(resource, namespace, name) as KubeObject;
  }

  // ---- delete and garbage collection ----------------------------------------------------------

  deleteIn(
    resource: ServedResource,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions & { fieldManager?: string },
  ): KubeObject | undefined {
    const ns = resource.namespaced ? namespace : undefined;
    const existing = this.getRaw(resource, ns, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== existing.metadata.uid) {
      throw conflict(
        resource.group,
        resource.plural,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion) {
      throw conflict(
        resource.group,
        resource.plural,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion}`,
      );
    }
    if (options.dryRun) return this.present(resource, existing);
    const collection = collectionKey(resource.group, resource.plural);
    const isNamespace = resource.group === "" && resource.kind === "Namespace";
    const policy = options.propagationPolicy ?? "Background";
    const finalizers = [...(existing.metadata.finalizers ?? [])];
    if (!isNamespace) {
      if (policy === "Foreground" && !finalizers.includes("foregroundDeletion"))
        finalizers.push("foregroundDeletion");
      if (policy === "Orphan" && !finalizers.includes("orphan")) finalizers.push("orphan");
    }
    const holds = finalizers.length > 0 || isNamespace;
    if (holds) {
      if (existing.metadata.deletionTimestamp) {
        return this.present(resource, existing);
      }
      const next = cloneJson(existing);
      next.metadata.deletionTimestamp = this.timestamp();
      next.metadata.deletionGracePeriodSeconds = 0;
      next.metadata.finalizers = finalizers;
      if (isNamespace) next.status = { ...(next.status ?? {}), phase: "Terminating" };
      next.metadata.resourceVersion = String(this.store.nextRevision());
      this.store.put(collection, next, "MODIFIED");
      if (isNamespace) this.scheduleNamespaceSweep(name);
      else this.processFinalizers(resource, next);
      return this.present(resource, this.store.get(collection, ns, name) ?? next);
    }
    const gone = {
      ...existing,
      metadata: { ...existing.metadata, resourceVersion: String(this.store.nextRevision()) },
    };
    this.store.remove(collection, gone);
    this.afterDelete(resource, gone);
    return undefined;
  }

  /** Handles the garbage collector's own finalizers (foregroundDeletion, orphan) on an object being deleted. */
  private processFinalizers(resource: ServedResource, object: KubeObject): void {
    const uid = object.metadata.uid!;
    const finalizers = object.metadata.finalizers ?? [];
    const collection = collectionKey(resource.group, resource.plural);
    if (finalizers.includes("orphan")) {
      for (const dep of this.store.dependentsOf(uid)) {
        const depResource = this.resourceForCollection(...splitCollection(dep.collection));
        if (!depResource) continue;
        const refs = (dep.object.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        const next = cloneJson(dep.object);
        next.metadata.ownerReferences = refs.length > 0 ? refs : undefined;
        delete next.metadata.resourceVersion;
        this.updateIn(depResource, next.metadata.namespace, next.metadata.name!, next, {
          fieldManager: "garbage-collector",
        });
      }
      this.removeFinalizer(resource, collection, object, "orphan");
      return;
    }
    if (finalizers.includes("foregroundDeletion")) {
      for (const dep of this.store.dependentsOf(uid)) {
        const depResource = this.resourceForCollection(...splitCollection(dep.collection));
        if (!depResource || dep.object.metadata.deletionTimestamp) continue;
        this.deleteIn(depResource, dep.object.metadata.namespace, dep.object.metadata.name!, {
          propagationPolicy: "Foreground",
        });
      }
      if (this.store.dependentsOf(uid).length === 0) {
        this.removeFinalizer(resource, collection, object, "foregroundDeletion");
      }
    }
  }

  private removeFinalizer(
    resource: ServedResource,
    collection: string,
    object: KubeObject,
    finalizer: string,
  ): void {
    const current = this.store.get(collection, object.metadata.namespace, object.metadata.name!);
    if (!current || current.metadata.uid !== object.metadata.uid) return;
    const next = cloneJson(current);
    next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    if (next.metadata.finalizers.length === 0) delete next.metadata.finalizers;
    delete next.metadata.resourceVersion;
    this.updateIn(resource, next.metadata.namespace, next.metadata.name!, next, {
      fieldManager: "garbage-collector",
    });
  }

  /** After an object is gone: cascade to dependents, unblock foreground owners, drop CRD collections. */
  private afterDelete(resource: ServedResource, object: KubeObject): void {
    const uid = object.metadata.uid!;
    for (const dep of this.store.dependentsOf(uid)) {
      const depResource = this.resourceForCollection(...splitCollection(dep.collection));
      if (!depResource) continue;
      const remaining = (dep.object.metadata.ownerReferences ?? []).filter(
        (r) =>
          r.uid !== uid &&
          this.ownerExists(r.uid, r.apiVersion, r.kind, dep.object.metadata.namespace, r.name),
      );
      if (remaining.length > 0) continue;
      try {
        this.deleteIn(depResource, dep.object.metadata.namespace, dep.object.metadata.name!, {
          propagationPolicy: "Background",
        });
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 404)) throw error;
      }
    }
    // An owner waiting in foreground deletion may now be free to go.
    for (const ref of object.metadata.ownerReferences ?? []) {
      const owner = this.findByUid(ref.uid, ref.apiVersion, ref.kind, object.metadata.namespace, ref.name);
      if (
        owner?.object.metadata.deletionTimestamp &&
        owner.object.metadata.finalizers?.includes("foregroundDeletion")
      ) {
        this.processFinalizers(owner.resource, owner.object);
      }
    }
    if (resource.group === "apiextensions.k8s.io" && resource.kind === "CustomResourceDefinition") {
      const spec = object.spec as { group: string; names: { plural: string } };
      const crdCollection = collectionKey(spec.group, spec.names.plural);
      for (const o of this.store.list(crdCollection)) {
        this.store.remove(crdCollection, {
          ...o,
          metadata: { ...o.metadata, resourceVersion: String(this.store.nextRevision()) },
        });
      }
      this.store.dropCollection(crdCollection);
      this.registry.removeCrd(object.metadata.name!);
    }
    if (object.metadata.namespace) {
      const ns = this.store.get(collectionKey("", "namespaces"), undefined, object.metadata.namespace);
      if (ns?.metadata.deletionTimestamp) this.scheduleNamespaceSweep(object.metadata.namespace);
    }
  }

  private ownerExists(
    uid: string,
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): boolean {
    return this.findByUid(uid, apiVersion, kind, namespace, name) !== undefined;
  }

  private findByUid(
    uid: string,
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): { resource: ServedResource; object: KubeObject } | undefined {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const resource = this.registry.forKind(group!, version!, kind);
    if (!resource) return undefined;
    const object = this.store.get(
      collectionKey(resource.group, resource.plural),
      resource.namespaced ? namespace : undefined,
      name,
    );
    return object?.metadata.uid === uid ? { resource, object } : undefined;
  }

  /** Namespace deletion empties the namespace, then removes it once nothing is left (finalizers may hold objects). */
  private scheduleNamespaceSweep(namespace: string): void {
    if (this.namespaceSweeps.has(namespace)) return;
    this.namespaceSweeps.add(namespace);
    setImmediate(() => {
      this.namespaceSweeps.delete(namespace);
      this.sweepNamespace(namespace);
    });
  }

  private sweepNamespace(namespace: string): void {
    const nsCollection = collectionKey("", "namespaces");
    const ns = this.store.get(nsCollection, undefined, namespace);
    if (!ns?.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (const resource of this.registry.all()) {
      if (!resource.namespaced || (resource.storageVersion && resource.storageVersion !== resource.version))
        continue;
      for (const object of this.store.list(collectionKey(resource.group, resource.plural), namespace)) {
        remaining++;
        if (object.metadata.deletionTimestamp) continue;
        try {
          this.deleteIn(resource, namespace, object.metadata.name!, { propagationPolicy: "Background" });
        } catch (error) {
          if (!(error instanceof ApiError && error.code === 404)) throw error;
        }
      }
    }
    const left = this.registry
      .all()
      .filter((r) => r.namespaced)
      .some((r) => this.store.list(collectionKey(r.group, r.plural), namespace).length > 0);
    if (left) {
      // Objects held by finalizers keep the namespace; look again when something changes.
      if (remaining > 0) setTimeout(() => this.scheduleNamespaceSweep(namespace), 200).unref();
      return;
    }
    const gone = {
      ...ns,
      metadata: { ...ns.metadata, resourceVersion: String(this.store.nextRevision()) },
      spec: { finalizers: [] },
    };
    this.store.remove(nsCollection, gone);
  }

  /** Deletes every object of a collection that matches the selectors (DELETE on a collection). */
  deleteCollection(resource: ServedResource, options: ListOptions & DeleteOptions): KubeObject[] {
    const deleted: KubeObject[] = [];
    for (const object of this.listRaw(resource, options)) {
      try {
        this.deleteIn(resource, object.metadata.namespace, object.metadata.name!, options);
        deleted.push(object);
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 404)) throw error;
      }
    }
    return deleted;
  }
}

export function splitCollection(collection: string): [string, string] {
  const i = collection.lastIndexOf("/");
  return [collection.slice(0, i), collection.slice(i + 1)];
}
