/**
 * `slipway appset list|get` as a user runs them: the built CLI against a sandbox with slipway
 * installed, ApplicationSets created with kubectl.
 *
 * No ApplicationSet controller runs here: the test plays its part (a SIMULATED CONTROLLER) by
 * writing each set's status through the status subresource with `kubectl patch
 * --subresource=status`, in the shape controller/appset/controller.ts writes it (conditions,
 * resources, resourcesCount, applicationStatus). What is checked is the CLI's reading and drawing
 * of that status; test/e2e/appset-controller.test.ts checks that the controller writes it.
 *
 * Needs dist/ (run `npm run build` first).
 */

import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { startTestSandbox, type TestSandbox } from "../helpers/sandbox.js";

const CLI = join(process.cwd(), "dist/cli/main.js");
const NS = "slipway-system";
const REPO = "https://git.example.com/apps.git";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let sb: TestSandbox;
let dir: string;

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((done) => {
    execFile(
      command,
      args,
      { env: { ...process.env, SLIPWAY_APP_NAMESPACE: "", ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

const slipway = (args: string[]) => run(process.execPath, [CLI, ...args, "--kubeconfig", sb.kubeconfig]);

async function ok(args: string[]): Promise<string> {
  const r = await slipway(args);
  if (r.code !== 0) throw new Error(`slipway ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  expect(r.stderr).toBe("");
  return r.stdout;
}

/** Exit 1 with one line on stderr and nothing on stdout. */
async function fails(args: string[]): Promise<string> {
  const r = await slipway(args);
  expect(r.code, `slipway ${args.join(" ")} should fail`).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  return r.stderr.trim();
}

/**
 * AGE depends on when the test ran: the cell (under 100 s here, so at most 3 characters wide, as
 * wide as its header) becomes `<age>`, padding kept, so the rest of a table compares exactly.
 */
function maskAges(table: string): string {
  return table.replace(/(?<= {3})\d{1,2}s( +|$)/gm, (m) =>
    m.endsWith(" ") ? "<age>".padEnd(m.length) : "<age>",
  );
}

const FLEET = `apiVersion: slipway.dev/v1alpha1
kind: ApplicationSet
metadata: { name: fleet, namespace: ${NS}, labels: { team: web } }
spec:
  generators:
    - clusters: { selector: { matchLabels: { tier: target } } }
  template:
    metadata: { name: "{{name}}-guestbook" }
    spec:
      project: default
      source: { repoURL: "${REPO}", path: guestbook, targetRevision: HEAD }
      destination: { server: "{{server}}", namespace: guestbook }
      syncPolicy: { automated: { prune: true } }
`;

const WAVES = `apiVersion: slipway.dev/v1alpha1
kind: ApplicationSet
metadata: { name: waves, namespace: ${NS} }
spec:
  generators:
    - matrix:
        generators:
          - clusters: {}
          - list: { elements: [{ env: dev }, { env: qa }, { env: prod }] }
      selector: { matchExpressions: [{ key: env, operator: NotIn, values: [qa] }] }
  syncPolicy: { applicationsSync: create-update }
  strategy:
    type: RollingSync
    rollingSync:
      steps:
        - matchExpressions: [{ key: env, operator: In, values: [dev] }]
        - matchExpressions: [{ key: env, operator: In, values: [prod] }]
          maxUpdate: 1
  template:
    metadata: { name: "{{name}}-{{env}}", labels: { env: "{{env}}" } }
    spec:
      project: team-a
      source: { repoURL: "${REPO}", path: "envs/{{env}}", targetRevision: main }
      destination: { name: "{{name}}", namespace: "shop-{{env}}" }
`;

const BROKEN = `apiVersion: slipway.dev/v1alpha1
kind: ApplicationSet
metadata: { name: broken, namespace: ${NS} }
spec:
  generators:
    - git: { repoURL: "${REPO}", revision: main, directories: [{ path: "apps/*" }, { path: apps/old, exclude: true }] }
    - merge:
        mergeKeys: [server]
        generators:
          - clusters: { selector: { matchExpressions: [{ key: env, operator: Exists }] } }
          - list: { elementsYaml: "- server: x" }
  template:
    metadata: { name: "{{path.basename}}" }
    spec:
      project: default
      source: { repoURL: "${REPO}", path: "{{path}}" }
      destination: { server: https://kubernetes.default.svc, namespace: "{{path.basename}}" }
`;

const FRESH = `apiVersion: slipway.dev/v1alpha1
kind: ApplicationSet
metadata: { name: fresh, namespace: ${NS} }
spec:
  generators: [{ list: { elements: [] } }]
  template:
    metadata: { name: fresh }
    spec:
      project: default
      source: { repoURL: "${REPO}", path: fresh }
      destination: { server: https://kubernetes.default.svc, namespace: fresh }
`;

const T1 = "2026-11-25T10:00:00Z";
const T2 = "2026-11-25T10:05:00Z";

const upToDate = [
  {
    type: "ErrorOccurred",
    status: "False",
    reason: "ApplicationSetUpToDate",
    message: "Successfully generated parameters for all Applications",
    lastTransitionTime: T1,
  },
  {
    type: "ParametersGenerated",
    status: "True",
    reason: "ParametersGenerated",
    message: "Successfully generated parameters for all Applications",
    lastTransitionTime: T1,
  },
  {
    type: "ResourcesUpToDate",
    status: "True",
    reason: "ApplicationSetUpToDate",
    message: "All applications have been generated successfully",
    lastTransitionTime: T1,
  },
];

const app = (name: string, sync?: string, health?: string) => ({
  group: "slipway.dev",
  kind: "Application",
  name,
  namespace: NS,
  version: "v1alpha1",
  ...(sync ? { status: sync } : {}),
  ...(health ? { health: { status: health } } : {}),
});

/** Writes the status as the ApplicationSet controller would (status subresource, merge patch). */
const writeStatus = (name: string, status: unknown) =>
  sb.kubectlOk([
    "patch",
    "applicationsets",
    name,
    "-n",
    NS,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status }),
  ]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "slipway-cli-appset-"));
  sb = await startTestSandbox({ simulation: false });
  await ok(["install"]);
}, 60_000);

afterAll(async () => {
  await sb?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("slipway appset (SIMULATED controller: status written with kubectl)", () => {
  it("says so on stderr when there are no ApplicationSets", async () => {
    const r = await slipway(["appset", "list"]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: `No applicationsets found in namespace "${NS}".\n` });
  });

  it("lists ApplicationSets with project, sync policy, true problem conditions and app counts", async () => {
    await sb.kubectlOk(["apply", "-f", "-"], { input: [FLEET, WAVES, BROKEN, FRESH].join("---\n") });
    await writeStatus("fleet", {
      conditions: upToDate,
      resources: [
        app("east-guestbook", "Synced", "Healthy"),
        app("west-guestbook", "OutOfSync", "Progressing"),
      ],
      resourcesCount: 2,
    });
    await writeStatus("waves", {
      conditions: [
        ...upToDate,
        {
          type: "RolloutProgressing",
          status: "True",
          reason: "ApplicationSetModified",
          message: "ApplicationSet Rollout is progressing",
          lastTransitionTime: T2,
        },
      ],
      applicationStatus: [
        {
          application: "east-dev",
          status: "Healthy",
          step: "1",
          message: "Application resource became Healthy",
        },
        {
          application: "east-prod",
          status: "Progressing",
          step: "2",
          message: "Application resource is syncing",
        },
        {
          application: "west-prod",
          status: "Waiting",
          step: "2",
          message: "Application is waiting for its step",
        },
      ],
      resources: [app("east-dev", "Synced", "Healthy"), app("east-prod", "OutOfSync", "Progressing")],
      resourcesCount: 2,
    });
    await writeStatus("broken", {
      conditions: [
        {
          type: "ErrorOccurred",
          status: "True",
          reason: "ApplicationGenerationFromParamsError",
          message: "git: repository\n  not found",
          lastTransitionTime: T2,
        },
        {
          type: "ParametersGenerated",
          status: "False",
          reason: "ApplicationGenerationFromParamsError",
          message: "git: repository not found",
          lastTransitionTime: T2,
        },
        {
          type: "ResourcesUpToDate",
          status: "False",
          reason: "ApplicationGenerationFromParamsError",
          message: "git: repository not found",
          lastTransitionTime: T2,
        },
      ],
      resources: [],
      resourcesCount: 0,
    });

    expect(maskAges(await ok(["appset", "list"]))).toBe(
      [
        "NAME                    PROJECT   SYNCPOLICY                    CONDITIONS           APPLICATIONS   AGE",
        `${NS}/broken   default   sync                          ErrorOccurred        0              <age>`,
        `${NS}/fleet    default   sync                          <none>               2              <age>`,
        `${NS}/fresh    default   sync                          <none>               -              <age>`,
        `${NS}/waves    team-a    create-update (RollingSync)   RolloutProgressing   2              <age>`,
        "",
      ].join("\n"),
    );
  });

  it("-o wide adds the template's source, -o name prints namespace/name, -p and -l filter", async () => {
    const [wide, names, project, label, none] = await Promise.all([
      ok(["appset", "list", "-o", "wide"]),
      ok(["appset", "list", "-o", "name"]),
      ok(["appset", "list", "-p", "team-a"]),
      ok(["appset", "list", "-l", "team=web", "-o", "name"]),
      slipway(["appset", "list", "-p", "nobody"]),
    ]);
    expect(maskAges(wide)).toBe(
      [
        "NAME                    PROJECT   SYNCPOLICY                    CONDITIONS           APPLICATIONS   AGE   REPO                               PATH           TARGET",
        `${NS}/broken   default   sync                          ErrorOccurred        0              <age> ${REPO}   {{path}}`,
        `${NS}/fleet    default   sync                          <none>               2              <age> ${REPO}   guestbook      HEAD`,
        `${NS}/fresh    default   sync                          <none>               -              <age> ${REPO}   fresh`,
        `${NS}/waves    team-a    create-update (RollingSync)   RolloutProgressing   2              <age> ${REPO}   envs/{{env}}   main`,
        "",
      ].join("\n"),
    );
    expect(names).toBe(`${NS}/broken\n${NS}/fleet\n${NS}/fresh\n${NS}/waves\n`);
    expect(maskAges(project)).toBe(
      [
        "NAME                   PROJECT   SYNCPOLICY                    CONDITIONS           APPLICATIONS   AGE",
        `${NS}/waves   team-a    create-update (RollingSync)   RolloutProgressing   2              <age>`,
        "",
      ].join("\n"),
    );
    expect(label).toBe(`${NS}/fleet\n`);
    expect(none).toEqual({ code: 0, stdout: "", stderr: `No applicationsets found in namespace "${NS}".\n` });
  });

  it("-o json|yaml print the list as the API returns it, with the objects kubectl sees", async () => {
    const [json, yaml, kube] = await Promise.all([
      ok(["appset", "list", "-o", "json"]),
      ok(["appset", "list", "-o", "yaml"]),
      sb.kubectlJson(["get", "applicationsets", "-n", NS, "--show-managed-fields"]),
    ]);
    const byName = (list: { items: { metadata: { name: string } }[] }) =>
      Object.fromEntries(list.items.map((i) => [i.metadata.name, i]));
    for (const printed of [JSON.parse(json), parse(yaml)]) {
      expect(printed.kind).toBe("ApplicationSetList");
      expect(printed.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual([
        "broken",
        "fleet",
        "fresh",
        "waves",
      ]);
      expect(byName(printed)).toEqual(byName(kube as never));
    }
  });

  it("get shows generators, template, sync policy and conditions, then the generated apps", async () => {
    const [fleet, qualified] = await Promise.all([
      ok(["appset", "get", "fleet"]),
      ok(["appset", "get", `${NS}/fleet`]),
    ]);
    expect(fleet).toBe(`Name:               ${NS}/fleet
Project:            default
Generators:         clusters(selector tier=target)
Server:             {{server}}
Namespace:          guestbook
Repo:               ${REPO}
Target:             HEAD
Path:               guestbook
Sync Policy:        Automated (Prune)
Applications Sync:  sync
Strategy:           AllAtOnce

CONDITION             STATUS   REASON                   MESSAGE                                                  LAST TRANSITION
ErrorOccurred         False    ApplicationSetUpToDate   Successfully generated parameters for all Applications   ${T1}
ParametersGenerated   True     ParametersGenerated      Successfully generated parameters for all Applications   ${T1}
ResourcesUpToDate     True     ApplicationSetUpToDate   All applications have been generated successfully        ${T1}

NAME             SYNC        HEALTH
east-guestbook   Synced      Healthy
west-guestbook   OutOfSync   Progressing
`);
    expect(qualified).toBe(fleet);
  });

  it("get shows RollingSync steps and each app's step and rollout status", async () => {
    expect(await ok(["appset", "get", "waves"])).toBe(`Name:               ${NS}/waves
Project:            team-a
Generators:         matrix(clusters, list[3]) | selector env notin (qa)
Server:             {{name}}
Namespace:          shop-{{env}}
Repo:               ${REPO}
Target:             main
Path:               envs/{{env}}
Sync Policy:        Manual
Applications Sync:  create-update
Strategy:           RollingSync
  Step 1:           env in (dev), maxUpdate 100%
  Step 2:           env in (prod), maxUpdate 1

CONDITION             STATUS   REASON                   MESSAGE                                                  LAST TRANSITION
ErrorOccurred         False    ApplicationSetUpToDate   Successfully generated parameters for all Applications   ${T1}
ParametersGenerated   True     ParametersGenerated      Successfully generated parameters for all Applications   ${T1}
ResourcesUpToDate     True     ApplicationSetUpToDate   All applications have been generated successfully        ${T1}
RolloutProgressing    True     ApplicationSetModified   ApplicationSet Rollout is progressing                    ${T2}

NAME        SYNC        HEALTH        STEP   STATUS
east-dev    Synced      Healthy       1      Healthy
east-prod   OutOfSync   Progressing   2      Progressing
west-prod   -           -             2      Waiting
`);
  });

  it("get shows a failing set's error on one line, and says when no status was written yet", async () => {
    const [broken, fresh] = await Promise.all([
      ok(["appset", "get", "broken"]),
      ok(["appset", "get", "fresh"]),
    ]);
    expect(broken).toBe(`Name:               ${NS}/broken
Project:            default
Generators:         git(${REPO}, main, directories apps/*,!apps/old)
                    merge(keys server: clusters(selector env), list(elementsYaml))
Server:             https://kubernetes.default.svc
Namespace:          {{path.basename}}
Repo:               ${REPO}
Target:
Path:               {{path}}
Sync Policy:        Manual
Applications Sync:  sync
Strategy:           AllAtOnce

CONDITION             STATUS   REASON                                 MESSAGE                     LAST TRANSITION
ErrorOccurred         True     ApplicationGenerationFromParamsError   git: repository not found   ${T2}
ParametersGenerated   False    ApplicationGenerationFromParamsError   git: repository not found   ${T2}
ResourcesUpToDate     False    ApplicationGenerationFromParamsError   git: repository not found   ${T2}

No Applications generated.
`);
    expect(fresh).toBe(`Name:               ${NS}/fresh
Project:            default
Generators:         list[0]
Server:             https://kubernetes.default.svc
Namespace:          fresh
Repo:               ${REPO}
Target:
Path:               fresh
Sync Policy:        Manual
Applications Sync:  sync
Strategy:           AllAtOnce

No status yet: the ApplicationSet controller has not reconciled this set.
`);
  });

  it("get -o json|yaml print the object as kubectl reads it", async () => {
    const [json, yaml, kube] = await Promise.all([
      ok(["appset", "get", "waves", "-o", "json"]),
      ok(["appset", "get", "waves", "-o", "yaml"]),
      sb.kubectlJson(["get", "applicationset", "waves", "-n", NS, "--show-managed-fields"]),
    ]);
    expect(JSON.parse(json)).toEqual(kube);
    expect(parse(yaml)).toEqual(kube);
    expect(kube.status.applicationStatus).toHaveLength(3);
  });

  it("fails with one line: a missing set, another namespace, a bad name, -o name on get", async () => {
    const [missing, elsewhere, bad, name] = await Promise.all([
      fails(["appset", "get", "nope"]),
      fails(["appset", "get", "fleet", "-N", "team-a"]),
      fails(["appset", "get", "a/b/c"]),
      fails(["appset", "get", "fleet", "-o", "name"]),
    ]);
    expect(missing).toBe(
      `error: applicationset "nope" not found in namespace "${NS}" (list them with "slipway appset list")`,
    );
    expect(elsewhere).toBe(
      'error: applicationset "fleet" not found in namespace "team-a" (list them with "slipway appset list -N team-a")',
    );
    expect(bad).toBe('error: "a/b/c" is not an ApplicationSet name (NAME or NAMESPACE/NAME)');
    expect(name).toBe('error: -o name is not supported by "appset get" (only by: appset list)');
  });

  it("works as a kubectl plugin: kubectl slipway appset ...", async () => {
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    const plugin = join(bin, "kubectl-slipway");
    // Named like the installed bin, so the CLI knows it runs as `kubectl slipway`.
    writeFileSync(plugin, `#!${process.execPath}\nimport(${JSON.stringify(CLI)});\n`);
    chmodSync(plugin, 0o755);
    const env = { PATH: `${bin}:${process.env.PATH ?? ""}` };
    const [list, help] = await Promise.all([
      run("kubectl", ["slipway", "appset", "list", "-o", "name", "--kubeconfig", sb.kubeconfig], env),
      run("kubectl", ["slipway", "appset", "get", "--help"], env),
    ]);
    expect(list).toEqual({
      code: 0,
      stdout: `${NS}/broken\n${NS}/fleet\n${NS}/fresh\n${NS}/waves\n`,
      stderr: "",
    });
    expect(help.stdout).toMatch(/^Usage: kubectl slipway appset get \[options\] <name>\n/);
  });
});
