/**
 * The `POST /api/webhook` handler: verifies and parses a push (webhook.ts), forgets the pushed
 * repository's cached refs, and enqueues the Applications the push concerns — same repository
 * (URLs compared normalised: scheme, credentials, case and `.git` do not matter), a target
 * revision the pushed ref moves, and, when the payload lists changed files, a `source.path` (or
 * `manifest-generate-paths` annotation) that covers one of them.
 */
import type { Logger } from "pino";
import type { Application } from "../../api/v1alpha1/application.js";
import type { WebhookHandler, WebhookRequest, WebhookResponse } from "../server/http-server.js";
import {
  parseWebhook,
  pathsTouched,
  revisionMatches,
  sameRepo,
  type WebhookSecrets,
  watchedPaths,
} from "./webhook.js";

export const MANIFEST_GENERATE_PATHS = "slipway.dev/manifest-generate-paths";
export const ARGO_MANIFEST_GENERATE_PATHS = "argocd.argoproj.io/manifest-generate-paths";

export interface WebhookHandlerDeps {
  /** The configured secrets, read per request (so a rotated Secret applies at once). */
  secrets(): WebhookSecrets;
  apps(): readonly Application[];
  /** Forget cached refs of a repository. */
  invalidate(repoURL: string): void;
  enqueue(app: Application): void;
  log?: Logger;
}

export function createWebhookHandler(deps: WebhookHandlerDeps): WebhookHandler {
  return async (request: WebhookRequest): Promise<WebhookResponse> => {
    const parsed = parseWebhook(request.headers, request.body, deps.secrets());
    if (parsed.kind === "unauthorized") {
      deps.log?.warn({ provider: parsed.provider, reason: parsed.reason }, "webhook refused");
      return { status: 401, message: `webhook signature verification failed: ${parsed.reason}` };
    }
    if (parsed.kind === "invalid") return { status: 400, message: `invalid webhook: ${parsed.reason}` };
    if (parsed.kind === "ignored") return { status: 200, message: `ignored: ${parsed.reason}` };

    const event = parsed.event;
    const sameRepository = deps.apps().filter((app) => {
      const source = app.spec.source ?? app.spec.sources?.[0];
      return source !== undefined && event.repoURLs.some((url) => sameRepo(url, source.repoURL));
    });
    const invalidated = new Set<string>();
    for (const app of sameRepository) {
      const url = (app.spec.source ?? app.spec.sources?.[0])!.repoURL;
      if (!invalidated.has(url)) deps.invalidate(url);
      invalidated.add(url);
    }
    for (const url of event.repoURLs) if (!invalidated.has(url)) deps.invalidate(url);

    const refreshed = sameRepository.filter((app) => {
      const source = (app.spec.source ?? app.spec.sources?.[0])!;
      if (!revisionMatches(event, source.targetRevision)) return false;
      const annotations = app.metadata.annotations ?? {};
      const paths = watchedPaths(
        source.path,
        annotations[MANIFEST_GENERATE_PATHS] ?? annotations[ARGO_MANIFEST_GENERATE_PATHS],
      );
      return pathsTouched(paths, event.changedFiles);
    });
    for (const app of refreshed) deps.enqueue(app);
    deps.log?.info(
      {
        provider: event.provider,
        repo: event.repoURLs[0],
        ref: event.ref,
        matched: sameRepository.length,
        refreshed: refreshed.map((a) => a.metadata.name),
      },
      "webhook push",
    );
    return {
      status: 200,
      message: `refreshing ${refreshed.length} application(s)${refreshed.length > 0 ? `: ${refreshed.map((a) => a.metadata.name).join(", ")}` : ""}`,
    };
  };
}
