/**
 * AppProject, with Argo CD's field names (docs/operator-manual/project.yaml): the guard rails
 * an Application must stay within. Globs follow Argo: `*` matches anything, a leading `!`
 * in sourceRepos / destinations negates.
 */
import { type Static, Type } from "@sinclair/typebox";
import { ApplicationDestination } from "./application.js";
import { API_VERSION, GroupKind, ObjectMeta, StringEnum } from "./common.js";

export const JWTToken = Type.Object({
  iat: Type.Integer({ description: "Issued at, Unix seconds" }),
  exp: Type.Optional(Type.Integer({ description: "Expires at, Unix seconds" })),
  id: Type.Optional(Type.String()),
});
export type JWTToken = Static<typeof JWTToken>;

/** Casbin-style policies, `p, proj:<project>:<role>, applications, sync, <project>/*, allow`. */
export const ProjectRole = Type.Object({
  name: Type.String(),
  description: Type.Optional(Type.String()),
  policies: Type.Optional(Type.Array(Type.String())),
  groups: Type.Optional(Type.Array(Type.String())),
  jwtTokens: Type.Optional(Type.Array(JWTToken)),
});
export type ProjectRole = Static<typeof ProjectRole>;

/** When syncs may run; a matching deny window beats any allow window. */
export const SyncWindow = Type.Object({
  kind: StringEnum(["allow", "deny"]),
  schedule: Type.String({ description: "Cron expression for when the window opens" }),
  duration: Type.String({ description: "How long it stays open, e.g. 1h" }),
  applications: Type.Optional(Type.Array(Type.String())),
  namespaces: Type.Optional(Type.Array(Type.String())),
  clusters: Type.Optional(Type.Array(Type.String())),
  manualSync: Type.Optional(Type.Boolean({ description: "Allow manual syncs while the window denies" })),
  timeZone: Type.Optional(Type.String()),
  syncOverrun: Type.Optional(Type.Boolean()),
  useAndOperator: Type.Optional(Type.Boolean()),
  description: Type.Optional(Type.String()),
});
export type SyncWindow = Static<typeof SyncWindow>;

export const OrphanedResourceKey = Type.Object({
  group: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
});
export type OrphanedResourceKey = Static<typeof OrphanedResourceKey>;

export const OrphanedResourcesMonitorSettings = Type.Object({
  warn: Type.Optional(Type.Boolean()),
  ignore: Type.Optional(Type.Array(OrphanedResourceKey)),
});
export type OrphanedResourcesMonitorSettings = Static<typeof OrphanedResourcesMonitorSettings>;

export const AppProjectSpec = Type.Object({
  description: Type.Optional(Type.String()),
  sourceRepos: Type.Optional(Type.Array(Type.String(), { description: "Repository URL globs apps may use" })),
  sourceNamespaces: Type.Optional(
    Type.Array(Type.String(), { description: "Namespaces, besides the controller's, whose apps may use it" }),
  ),
  destinations: Type.Optional(
    Type.Array(ApplicationDestination, { description: "server/name + namespace globs" }),
  ),
  clusterResourceWhitelist: Type.Optional(
    Type.Array(GroupKind, { description: "Empty: no cluster-scoped kinds" }),
  ),
  clusterResourceBlacklist: Type.Optional(Type.Array(GroupKind)),
  namespaceResourceWhitelist: Type.Optional(
    Type.Array(GroupKind, { description: "Absent: every namespaced kind" }),
  ),
  namespaceResourceBlacklist: Type.Optional(Type.Array(GroupKind)),
  orphanedResources: Type.Optional(OrphanedResourcesMonitorSettings),
  roles: Type.Optional(Type.Array(ProjectRole)),
  syncWindows: Type.Optional(Type.Array(SyncWindow)),
  permitOnlyProjectScopedClusters: Type.Optional(Type.Boolean()),
});
export type AppProjectSpec = Static<typeof AppProjectSpec>;

export const AppProjectStatus = Type.Object({
  jwtTokensByRole: Type.Optional(
    Type.Record(Type.String(), Type.Object({ items: Type.Optional(Type.Array(JWTToken)) })),
  ),
});
export type AppProjectStatus = Static<typeof AppProjectStatus>;

export const AppProject = Type.Object({
  apiVersion: Type.Literal(API_VERSION),
  kind: Type.Literal("AppProject"),
  metadata: ObjectMeta,
  spec: AppProjectSpec,
  status: Type.Optional(AppProjectStatus),
});
export type AppProject = Static<typeof AppProject>;
