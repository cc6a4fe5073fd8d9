import { describe, expect, it } from "vitest";
import type { AppProject, AppProjectSpec } from "../../api/v1alpha1/appproject.js";
import { globMatch, projectGlobMatch } from "../../controller/gitops/glob.js";
import {
  destinationViolation,
  groupKindViolation,
  normalizeGitURL,
  resourceViolations,
  sourceViolation,
} from "../../controller/gitops/project.js";

function project(spec: AppProjectSpec, name = "team"): AppProject {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "AppProject",
    metadata: { name, namespace: "slipway-system" },
    spec,
  };
}

describe("glob (gobwas semantics)", () => {
  const cases: [string, string, string, boolean][] = [
    ["*", "anything/at/all", "/", false],
    ["https://github.com/org/*", "https://github.com/org/repo", "/", true],
    ["https://github.com/org/*", "https://github.com/org/group/repo", "/", false],
    ["https://github.com/org/**", "https://github.com/org/group/repo", "/", true],
    ["team-?", "team-a", "", true],
    ["team-?", "team-ab", "", false],
    ["team-[ab]", "team-b", "", true],
    ["team-[!ab]", "team-b", "", false],
    ["{dev,prod}-*", "prod-eu", "", true],
    ["{dev,prod}-*", "qa-eu", "", false],
    ["a.b", "aXb", "", false],
    ["[unclosed", "[unclosed", "", false],
  ];
  for (const [pattern, value, sep, want] of cases) {
    it(`${pattern} ~ ${value} → ${want}`, () => expect(globMatch(pattern, value, sep)).toBe(want));
  }
  it("negation inverts, and a bare * matches across separators", () => {
    expect(projectGlobMatch("!kube-*", "kube-system")).toBe(false);
    expect(projectGlobMatch("!kube-*", "team-a")).toBe(true);
    expect(projectGlobMatch("*", "a/b/c", "/")).toBe(true);
  });
});

describe("normalizeGitURL", () => {
  it("lowercases and drops .git and trailing slashes; scp-style SSH becomes user@host/path", () => {
    expect(normalizeGitURL(" https://GitHub.com/Org/Repo.git/ ")).toBe("https://github.com/org/repo");
    expect(normalizeGitURL("git@github.com:org/repo.git")).toBe("git@github.com/org/repo");
    expect(normalizeGitURL("ssh://git@github.com/org/repo")).toBe("git@github.com/org/repo");
  });
});

describe("sourceRepos", () => {
  it("allows matching repositories, normalised", () => {
    const p = project({ sourceRepos: ["https://github.com/org/*"] });
    expect(sourceViolation(p, "https://github.com/ORG/app.git")).toBeUndefined();
    expect(sourceViolation(p, "https://gitlab.com/org/app")).toMatch(
      /repository https:\/\/gitlab.com\/org\/app is not permitted in project 'team': it matches none of sourceRepos \["https:\/\/github.com\/org\/\*"\]/,
    );
  });
  it("a ! entry denies what it matches and names itself", () => {
    const p = project({ sourceRepos: ["https://github.com/org/*", "!https://github.com/org/secret"] });
    expect(sourceViolation(p, "https://github.com/org/app")).toBeUndefined();
    expect(sourceViolation(p, "https://github.com/org/secret.git")).toContain(
      'denied by sourceRepos entry "!https://github.com/org/secret"',
    );
  });
  it("as in Argo CD, a lone deny entry allows everything else", () => {
    const p = project({ sourceRepos: ["!https://github.com/org/secret"] });
    expect(sourceViolation(p, "https://github.com/org/app")).toBeUndefined();
  });
  it("no sourceRepos allows nothing", () => {
    expect(sourceViolation(project({}), "https://github.com/org/app")).toContain("matches none");
  });
});

describe("destinations", () => {
  const inCluster = "https://kubernetes.default.svc";
  it("matches server or name with a namespace glob", () => {
    const p = project({
      destinations: [
        { server: inCluster, namespace: "team-*" },
        { name: "edge", namespace: "*" },
      ],
    });
    expect(destinationViolation(p, { server: inCluster, namespace: "team-a" })).toBeUndefined();
    expect(destinationViolation(p, { name: "edge", namespace: "x" })).toBeUndefined();
    expect(destinationViolation(p, { server: inCluster, namespace: "default" })).toMatch(
      /destination server https:\/\/kubernetes.default.svc, namespace "default" is not permitted in project 'team': it matches none of destinations/,
    );
  });
  it("a denying entry wins and is named", () => {
    const p = project({
      destinations: [
        { server: "*", namespace: "*" },
        { server: "*", namespace: "!kube-system" },
      ],
    });
    expect(destinationViolation(p, { server: inCluster, namespace: "apps" })).toBeUndefined();
    expect(destinationViolation(p, { server: inCluster, namespace: "kube-system" })).toContain(
      'denied by destinations entry {"server":"*","namespace":"!kube-system"}',
    );
  });
});

describe("resource kinds", () => {
  it("cluster-scoped kinds need the whitelist; an empty one allows none", () => {
    expect(groupKindViolation(project({}), "", "Namespace", false)).toContain(
      "not in clusterResourceWhitelist []",
    );
    const p = project({
      clusterResourceWhitelist: [{ group: "*", kind: "*" }],
      clusterResourceBlacklist: [{ group: "rbac.authorization.k8s.io", kind: "Cluster*" }],
    });
    expect(groupKindViolation(p, "", "Namespace", false)).toBeUndefined();
    expect(groupKindViolation(p, "rbac.authorization.k8s.io", "ClusterRole", false)).toContain(
      "denied by clusterResourceBlacklist entry",
    );
  });
  it("namespaced kinds: an absent whitelist allows all, a blacklist denies", () => {
    const p = project({ namespaceResourceBlacklist: [{ group: "", kind: "Secret" }] });
    expect(groupKindViolation(p, "apps", "Deployment", true)).toBeUndefined();
    expect(groupKindViolation(p, "", "Secret", true)).toBe(
      `namespaced kind Secret is not permitted in project 'team': denied by namespaceResourceBlacklist entry {"group":"","kind":"Secret"}`,
    );
    const only = project({ namespaceResourceWhitelist: [{ group: "", kind: "ConfigMap" }] });
    expect(groupKindViolation(only, "apps", "Deployment", true)).toContain(
      "not in namespaceResourceWhitelist",
    );
  });
  it("checks each resource's own namespace against the destinations", () => {
    const p = project({
      destinations: [{ server: "*", namespace: "team-*" }],
      clusterResourceWhitelist: [],
    });
    const problems = resourceViolations(
      p,
      { server: "https://kubernetes.default.svc", namespace: "team-a" },
      [
        { group: "", kind: "ConfigMap", name: "ok", namespace: "team-a", namespaced: true },
        { group: "", kind: "ConfigMap", name: "elsewhere", namespace: "kube-system", namespaced: true },
        { group: "", kind: "Namespace", name: "team-a", namespace: "", namespaced: false },
      ],
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain("ConfigMap kube-system/elsewhere");
    expect(problems[1]).toContain("cluster-scoped kind Namespace");
  });
});
