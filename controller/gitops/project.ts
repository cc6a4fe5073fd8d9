/**
 * AppProject enforcement, with Argo CD's matching rules (pkg/apis/application/v1alpha1
 * `AppProject.IsSourcePermitted`, `IsDestinationPermitted`, `IsGroupKindPermitted`):
 *
 * - `sourceRepos`: globs over the normalised repo URL, `/` as separator; a `!pattern` entry denies
 *   what it matches (and, as in Argo, counts as an allow for everything else).
 * - `destinations`: `server` or `name` glob plus `namespace` glob, no separators; `!` entries deny.
 * - `clusterResourceWhitelist` (empty = no cluster-scoped kinds) / `clusterResourceBlacklist`,
 *   `namespaceResourceWhitelist` (absent = every namespaced kind) / `namespaceResourceBlacklist`:
 *   group glob + kind glob.
 *
 * Pure functions; every refusal is a message naming the project, the rule and the offending value,
 * which the reconciler shows as an `InvalidSpecError` condition.
 */
import type { ApplicationDestination } from "../../api/v1alpha1/application.js";
import type { AppProject } from "../../api/v1alpha1/appproject.js";
import type { GroupKind } from "../../api/v1alpha1/common.js";
import { isDenyPattern, projectGlobMatch } from "./glob.js";

/** The controller's own cluster, as Argo CD names it. */
export const IN_CLUSTER_SERVER = "https://kubernetes.default.svc";
export const IN_CLUSTER_NAME = "in-cluster";

/** Argo CD's `git.NormalizeGitURL`: lowercased, trimmed, without `.git` or a trailing slash; scp-style SSH as `user@host/path`. */
export function normalizeGitURL(url: string): string {
  let repo = url.trim().toLowerCase();
  const scp = /^([\w.-]+@)?([\w.-]+):(?!\/\/)(.*)$/.exec(repo);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//.test(repo)) repo = `${scp[1] ?? ""}${scp[2]}/${scp[3]}`;
  repo = repo.replace(/^ssh:\/\//, "");
  while (repo.endsWith("/")) repo = repo.slice(0, -1);
  if (repo.endsWith(".git")) repo = repo.slice(0, -4);
  while (repo.endsWith("/")) repo = repo.slice(0, -1);
  return repo;
}

function list(values: readonly string[] | undefined): string {
  return `[${(values ?? []).map((v) => JSON.stringify(v)).join(", ")}]`;
}

/** Why `repoURL` may not be used under `project`, or undefined when it may. */
export function sourceViolation(project: AppProject, repoURL: string): string | undefined {
  const name = project.metadata.name;
  const src = normalizeGitURL(repoURL);
  const patterns = project.spec.sourceRepos ?? [];
  let matched = false;
  for (const entry of patterns) {
    const deny = isDenyPattern(entry);
    const normalized = deny ? `!${normalizeGitURL(entry.slice(1))}` : normalizeGitURL(entry);
    const pattern = entry === "*" ? "*" : normalized;
    if (projectGlobMatch(pattern, src, "/")) matched = true;
    else if (deny) {
      return `repository ${repoURL} is not permitted in project '${name}': denied by sourceRepos entry "${entry}"`;
    }
  }
  if (matched) return undefined;
  return `repository ${repoURL} is not permitted in project '${name}': it matches none of sourceRepos ${list(patterns)}`;
}

/** Why `destination` is not permitted under `project`, or undefined when it is. */
export function destinationViolation(
  project: AppProject,
  destination: ApplicationDestination,
): string | undefined {
  const name = project.metadata.name;
  const server = destination.server ?? "";
  const dstName = destination.name ?? "";
  const namespace = destination.namespace ?? "";
  let any = false;
  for (const item of project.spec.destinations ?? []) {
    const nameMatched = dstName !== "" && item.name !== undefined && projectGlobMatch(item.name, dstName);
    const serverMatched = server !== "" && item.server !== undefined && projectGlobMatch(item.server, server);
    const namespaceMatched = projectGlobMatch(item.namespace ?? "", namespace);
    if ((serverMatched || nameMatched) && namespaceMatched) {
      any = true;
      continue;
    }
    const denied =
      (!nameMatched && isDenyPattern(item.name)) ||
      (!serverMatched && isDenyPattern(item.server)) ||
      (!namespaceMatched && isDenyPattern(item.namespace));
    if (denied) {
      return `destination ${describeDestination(destination)} is not permitted in project '${name}': denied by destinations entry ${JSON.stringify(item)}`;
    }
  }
  if (any) return undefined;
  return `destination ${describeDestination(destination)} is not permitted in project '${name}': it matches none of destinations ${JSON.stringify(project.spec.destinations ?? [])}`;
}

export function describeDestination(d: ApplicationDestination): string {
  const cluster = d.server ? `server ${d.server}` : `cluster ${d.name ?? "<none>"}`;
  return `${cluster}, namespace ${JSON.stringify(d.namespace ?? "")}`;
}

function inList(group: string, kind: string, items: readonly GroupKind[]): GroupKind | undefined {
  return items.find(
    (item) => projectGlobMatch(item.kind, kind, "/") && projectGlobMatch(item.group, group, "/"),
  );
}

function describeGk(group: string, kind: string): string {
  return group ? `${group}/${kind}` : kind;
}

/** Why a resource of `group`/`kind` may not be managed under `project`, or undefined when it may. */
export function groupKindViolation(
  project: AppProject,
  group: string,
  kind: string,
  namespaced: boolean,
): string | undefined {
  const name = project.metadata.name;
  const gk = describeGk(group, kind);
  const spec = project.spec;
  if (namespaced) {
    const white = spec.namespaceResourceWhitelist;
    if (white !== undefined && !inList(group, kind, white)) {
      return `namespaced kind ${gk} is not permitted in project '${name}': not in namespaceResourceWhitelist ${JSON.stringify(white)}`;
    }
    const black = inList(group, kind, spec.namespaceResourceBlacklist ?? []);
    if (black) {
      return `namespaced kind ${gk} is not permitted in project '${name}': denied by namespaceResourceBlacklist entry ${JSON.stringify(black)}`;
    }
    return undefined;
  }
  const white = spec.clusterResourceWhitelist ?? [];
  if (!inList(group, kind, white)) {
    return `cluster-scoped kind ${gk} is not permitted in project '${name}': not in clusterResourceWhitelist ${JSON.stringify(white)}`;
  }
  const black = inList(group, kind, spec.clusterResourceBlacklist ?? []);
  if (black) {
    return `cluster-scoped kind ${gk} is not permitted in project '${name}': denied by clusterResourceBlacklist entry ${JSON.stringify(black)}`;
  }
  return undefined;
}

export interface ProjectResource {
  group: string;
  kind: string;
  name: string;
  namespace: string;
  namespaced: boolean;
}

/**
 * Every rule the desired resources break: kinds outside the project's lists, and namespaced
 * resources in a namespace that is not a permitted destination (Argo checks each resource's own
 * namespace, not only the app's). One message per distinct problem.
 */
export function resourceViolations(
  project: AppProject,
  destination: ApplicationDestination,
  resources: readonly ProjectResource[],
): string[] {
  const out = new Set<string>();
  const checkedNamespaces = new Map<string, string | undefined>();
  for (const r of resources) {
    const kindProblem = groupKindViolation(project, r.group, r.kind, r.namespaced);
    if (kindProblem) out.add(`${describeGk(r.group, r.kind)} ${r.name}: ${kindProblem}`);
    if (r.namespaced && r.namespace && r.namespace !== destination.namespace) {
      let problem = checkedNamespaces.get(r.namespace);
      if (!checkedNamespaces.has(r.namespace)) {
        problem = destinationViolation(project, { ...destination, namespace: r.namespace });
        checkedNamespaces.set(r.namespace, problem);
      }
      if (problem) out.add(`${describeGk(r.group, r.kind)} ${r.namespace}/${r.name}: ${problem}`);
    }
  }
  return [...out];
}
