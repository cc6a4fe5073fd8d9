/** Git sources: resolve revisions, fetch once per repo+revision, and check out per-SHA trees. */
export * from "./errors.js";
export {
  type CredentialsProvider,
  normalizeRepoURL,
  type RemoteRefs,
  RepoCache,
  type RepoCacheOptions,
  type RepoCacheStats,
  type RepoCredentials,
  type ResolvedRevision,
} from "./repo-cache.js";
export { isSafeEntryName } from "./tree.js";
