import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Application } from "../../api/v1alpha1/application.js";
import {
  parseWebhook,
  pathsTouched,
  repoIdentity,
  revisionMatches,
  sameRepo,
  watchedPaths,
} from "../../controller/gitops/webhook.js";
import { createWebhookHandler } from "../../controller/gitops/webhook-handler.js";

const github = {
  ref: "refs/heads/main",
  repository: {
    html_url: "https://github.com/org/apps",
    clone_url: "https://github.com/org/apps.git",
    ssh_url: "git@github.com:org/apps.git",
    default_branch: "main",
  },
  commits: [
    { added: ["guestbook/new.yaml"], modified: ["guestbook/cm.yaml"], removed: [] },
    { added: [], modified: ["README.md"], removed: ["old/x.yaml"] },
  ],
};
const gitlab = {
  object_kind: "push",
  ref: "refs/heads/main",
  project: {
    web_url: "https://gitlab.com/org/apps",
    git_http_url: "https://gitlab.com/org/apps.git",
    git_ssh_url: "git@gitlab.com:org/apps.git",
    default_branch: "main",
  },
  commits: [{ added: [], modified: ["prod/values.yaml"], removed: [] }],
};

const body = (o: unknown) => Buffer.from(JSON.stringify(o));
const hmac = (secret: string, b: Buffer) => createHmac("sha256", secret).update(b).digest("hex");

describe("parseWebhook", () => {
  it("reads a GitHub push: URLs, ref, default branch, changed files", () => {
    const parsed = parseWebhook({ "x-github-event": "push" }, body(github), {});
    expect(parsed).toEqual({
      kind: "push",
      event: {
        provider: "github",
        repoURLs: [
          "https://github.com/org/apps",
          "https://github.com/org/apps.git",
          "git@github.com:org/apps.git",
        ],
        ref: "refs/heads/main",
        defaultBranch: "main",
        changedFiles: ["README.md", "guestbook/cm.yaml", "guestbook/new.yaml", "old/x.yaml"],
      },
    });
  });

  it("verifies GitHub's X-Hub-Signature-256 when a secret is configured", () => {
    const b = body(github);
    const secrets = { github: "s3cret" };
    expect(
      parseWebhook(
        { "x-github-event": "push", "x-hub-signature-256": `sha256=${hmac("s3cret", b)}` },
        b,
        secrets,
      ).kind,
    ).toBe("push");
    expect(
      parseWebhook(
        { "x-github-event": "push", "x-hub-signature-256": `sha256=${hmac("wrong", b)}` },
        b,
        secrets,
      ),
    ).toEqual({
      kind: "unauthorized",
      provider: "github",
      reason: "X-Hub-Signature-256 does not match",
    });
    expect(parseWebhook({ "x-github-event": "push" }, b, secrets)).toMatchObject({
      kind: "unauthorized",
      reason: "missing X-Hub-Signature-256 header",
    });
    // A tampered body fails the same signature.
    const sig = `sha256=${hmac("s3cret", b)}`;
    expect(
      parseWebhook({ "x-github-event": "push", "x-hub-signature-256": sig }, Buffer.from(`${b} `), secrets)
        .kind,
    ).toBe("unauthorized");
  });

  it("verifies GitLab's X-Gitlab-Token and Gitea's X-Gitea-Signature", () => {
    expect(
      parseWebhook({ "x-gitlab-event": "Push Hook", "x-gitlab-token": "tok" }, body(gitlab), {
        gitlab: "tok",
      }).kind,
    ).toBe("push");
    expect(
      parseWebhook({ "x-gitlab-event": "Push Hook", "x-gitlab-token": "nope" }, body(gitlab), {
        gitlab: "tok",
      }).kind,
    ).toBe("unauthorized");
    const b = body(github);
    // Gitea also sends X-GitHub-Event; its own header decides the provider and secret.
    const headers = { "x-gitea-event": "push", "x-github-event": "push", "x-gitea-signature": hmac("gt", b) };
    expect(parseWebhook(headers, b, { gitea: "gt", github: "other" })).toMatchObject({
      kind: "push",
      event: { provider: "gitea" },
    });
    expect(parseWebhook({ ...headers, "x-gitea-signature": hmac("x", b) }, b, { gitea: "gt" }).kind).toBe(
      "unauthorized",
    );
  });

  it("accepts unsigned events when no secret is configured; ignores other events", () => {
    expect(parseWebhook({ "x-gitlab-event": "Push Hook" }, body(gitlab), {}).kind).toBe("push");
    expect(parseWebhook({ "x-github-event": "ping" }, body({ zen: "x" }), {})).toMatchObject({
      kind: "ignored",
    });
    expect(parseWebhook({}, body(github), {})).toMatchObject({ kind: "ignored" });
    expect(parseWebhook({ "x-github-event": "push" }, Buffer.from("{not json"), {})).toMatchObject({
      kind: "invalid",
    });
    expect(parseWebhook({ "x-github-event": "push" }, body({ ref: "x" }), {})).toMatchObject({
      kind: "invalid",
      reason: "payload has no repository",
    });
  });
});

describe("matching", () => {
  it("compares repositories without scheme, credentials, case or .git", () => {
    expect(repoIdentity("https://user:pw@GitHub.com/Org/Apps.git/")).toBe("github.com/org/apps");
    expect(sameRepo("git@github.com:org/apps.git", "https://github.com/org/apps")).toBe(true);
    expect(sameRepo("https://github.com/org/apps", "https://github.com/org/apps-2")).toBe(false);
  });

  it("matches revisions as Argo CD does", () => {
    const push = { provider: "github" as const, repoURLs: [], ref: "refs/heads/main", defaultBranch: "main" };
    expect(revisionMatches(push, "main")).toBe(true);
    expect(revisionMatches(push, "HEAD")).toBe(true);
    expect(revisionMatches(push, "")).toBe(true);
    expect(revisionMatches(push, "release")).toBe(false);
    expect(revisionMatches({ ...push, ref: "refs/heads/dev" }, "HEAD")).toBe(false);
    expect(revisionMatches({ ...push, ref: "refs/tags/v1" }, "v1")).toBe(true);
    expect(revisionMatches(push, "0123456789abcdef0123456789abcdef01234567")).toBe(false);
  });

  it("covers paths from source.path or manifest-generate-paths", () => {
    expect(watchedPaths("guestbook", undefined)).toEqual(["guestbook"]);
    expect(watchedPaths("apps/guestbook", ".;../shared;/charts/common")).toEqual([
      "apps/guestbook",
      "apps/shared",
      "charts/common",
    ]);
    expect(pathsTouched(["guestbook"], ["guestbook/cm.yaml"])).toBe(true);
    expect(pathsTouched(["guestbook"], ["guestbook-old/cm.yaml"])).toBe(false);
    expect(pathsTouched([""], ["anything"])).toBe(true);
    expect(pathsTouched(["guestbook"], undefined)).toBe(true);
  });
});

describe("createWebhookHandler", () => {
  const app = (
    name: string,
    repoURL: string,
    path: string,
    targetRevision = "main",
    annotations?: Record<string, string>,
  ) =>
    ({
      apiVersion: "slipway.dev/v1alpha1",
      kind: "Application",
      metadata: { name, namespace: "slipway-system", ...(annotations ? { annotations } : {}) },
      spec: {
        project: "default",
        source: { repoURL, path, targetRevision },
        destination: { namespace: "x" },
      },
    }) as Application;
  const apps = [
    app("guestbook", "https://github.com/org/apps.git", "guestbook"),
    app("other-path", "https://github.com/org/apps", "billing"),
    app("watched", "https://github.com/org/apps", "billing", "main", {
      "argocd.argoproj.io/manifest-generate-paths": "/old",
    }),
    app("other-branch", "https://github.com/org/apps", "guestbook", "release"),
    app("other-repo", "https://github.com/org/infra", "guestbook"),
  ];

  it("refreshes only apps of the pushed repo, revision and paths, and forgets the repo's refs", async () => {
    const invalidated: string[] = [];
    const enqueued: string[] = [];
    const handler = createWebhookHandler({
      secrets: () => ({}),
      apps: () => apps,
      invalidate: (url) => invalidated.push(url),
      enqueue: (a) => enqueued.push(a.metadata.name!),
    });
    const res = await handler({ headers: { "x-github-event": "push" }, body: body(github) });
    expect(res).toEqual({ status: 200, message: "refreshing 2 application(s): guestbook, watched" });
    expect(enqueued).toEqual(["guestbook", "watched"]);
    expect(invalidated).toContain("https://github.com/org/apps.git");
    expect(invalidated).toContain("https://github.com/org/apps");
    expect(invalidated).not.toContain("https://github.com/org/infra");
  });

  it("answers 401 to a bad signature and refreshes nothing", async () => {
    const enqueued: string[] = [];
    const handler = createWebhookHandler({
      secrets: () => ({ github: "s" }),
      apps: () => apps,
      invalidate: () => undefined,
      enqueue: (a) => enqueued.push(a.metadata.name!),
    });
    const res = await handler({
      headers: { "x-github-event": "push", "x-hub-signature-256": "sha256=00" },
      body: body(github),
    });
    expect(res.status).toBe(401);
    expect(enqueued).toEqual([]);
  });
});
