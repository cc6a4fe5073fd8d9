/**
 * Which resources are served, at which versions, and what is known about each (schema, printer
 * columns). Built-in resources are fixed; CRDs add and remove entries while the server runs.
 */
import { BUILTIN_RESOURCES } from "./builtin-resources.js";
import type { GroupVersionResource, ResourceType } from "./types.js";

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

export interface ServedResource extends ResourceType {
  /** The CRD's openAPIV3Schema for this version, if the resource comes from a CRD. */
  crdSchema?: Record<string, unknown>;
  printerColumns?: PrinterColumn[];
  fromCrd?: string;
}

const gvrKey = (group: string, version: string, plural: string) => `${group}/${version}/${plural}`;

export class ResourceRegistry {
  private readonly resources = new Map<string, ServedResource>();
  /** Bumped on every change, so discovery documents can be cached and given an ETag. */
  generation = 0;

  constructor() {
    for (const r of BUILTIN_RESOURCES) this.add(r);
  }

  add(resource: ServedResource): void {
    this.resources.set(gvrKey(resource.group, resource.version, resource.plural), resource);
    this.generation++;
  }

  removeCrd(crdName: string): void {
    for (const [key, r] of this.resources) if (r.fromCrd === crdName) this.resources.delete(key);
    this.generation++;
  }

  get(gvr: GroupVersionResource): ServedResource | undefined {
    return this.resources.get(gvrKey(gvr.group, gvr.version, gvr.resource));
  }

  /** Resolves a plural, singular, kind or short name within a group/version, as kubectl would type it. */
  resolve(group: string, version: string, name: string): ServedResource | undefined {
    const direct = this.resources.get(gvrKey(group, version, name));
    if (direct) return direct;
    const lower = name.toLowerCase();
    for (const r of this.resources.values()) {
      if (r.group !== group || r.version !== version) continue;
      if (r.singular === lower || r.kind.toLowerCase() === lower || r.shortNames.includes(lower)) return r;
    }
    return undefined;
  }

  /** The served resource for a kind at a group/version (used for apiVersion/kind in bodies). */
  forKind(group: string, version: string, kind: string): ServedResource | undefined {
    for (const r of this.resources.values()) {
      if (r.group === group && r.version === version && r.kind === kind) return r;
    }
    return undefined;
  }

  all(): ServedResource[] {
    return [...this.resources.values()];
  }

  /** group → versions, in the order discovery lists them (core first, then by name). */
  groupVersions(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const sorted = this.all().sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
    for (const r of sorted) {
      const versions = out.get(r.group) ?? [];
      if (!versions.includes(r.version)) versions.push(r.version);
      out.set(r.group, versions);
    }
    for (const [g, versions] of out) out.set(g, sortVersions(versions));
    return out;
  }

  inGroupVersion(group: string, version: string): ServedResource[] {
    return this.all().filter((r) => r.group === group && r.version === version);
  }
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first (v1 > v1beta2 > v1beta1 > v1alpha1). */
export function sortVersions(versions: string[]): string[] {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0];
    const stability = m[2] === undefined ? 3 : m[2] === "beta" ? 2 : 1;
    return [stability, Number(m[1]), Number(m[3] ?? 0)];
  };
  return [...versions].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return rb[i]! - ra[i]!;
    return a < b ? -1 : 1;
  });
}
