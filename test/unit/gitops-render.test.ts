/**
 * render() against the fixture repository in test/fixtures/repos (its root plays the checkout).
 * Kustomize runs for real through `kubectl kustomize` (or `kustomize` when installed); Helm and
 * Jsonnet render for real when their binaries are on PATH and are skipped with a message
 * otherwise, while their missing-tool errors are always tested by disabling the tool.
 */
import { chmod, cp, mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { ApplicationSource } from "../../api/v1alpha1/application.js";
import {
  DuplicateResourceError,
  findTool,
  PathEscapeError,
  parseImageOverride,
  RenderError,
  type RenderOptions,
  render,
  ToolFailedError,
  ToolMissingError,
} from "../../controller/gitops/render/index.js";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "../fixtures/repos");
const temps: string[] = [];

afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

async function tempRepo(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "slipway-render-"));
  temps.push(dir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

function src(path: string, extra: Partial<ApplicationSource> = {}): ApplicationSource {
  return { repoURL: "https://git.example/repo.git", path, ...extra };
}

async function renderError(
  source: ApplicationSource,
  dir = REPO,
  options: RenderOptions = {},
): Promise<RenderError> {
  const error = await render(source, dir, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RenderError);
  return error as RenderError;
}

const names = (objects: { metadata: { name?: string } }[]) => objects.map((o) => o.metadata.name);

/** Probes once; logs why a real-tool test is skipped so a green run never hides a silent skip. */
async function toolOrSkip(tool: "helm" | "jsonnet"): Promise<boolean> {
  const found = await findTool(tool, undefined);
  if (!found) process.stderr.write(`skipping the real ${tool} render: ${tool} is not on PATH\n`);
  return Boolean(found);
}
const hasHelm = await toolOrSkip("helm");
const hasKustomize = Boolean(
  (await findTool("kustomize", undefined)) ?? (await findTool("kubectl", undefined)),
);
if (!hasKustomize)
  process.stderr.write("skipping real kustomize builds: neither kustomize nor kubectl is on PATH\n");
const hasJsonnet = await toolOrSkip("jsonnet");

const cm = (name: string, extra = "") =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}`;

describe("directory sources", () => {
  it("reads .yaml, .yml and .json at the top level, multi-document, skipping empty documents", async () => {
    const result = await render(src("directory"), REPO);
    expect(result.type).toBe("Directory");
    expect(result.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "ConfigMap/a",
      "Service/a",
      "Secret/b",
      "ConfigMap/c",
      "ConfigMap/list-1",
      "ConfigMap/list-2",
    ]);
    expect(result.files).toEqual([
      "directory/a.yaml",
      "directory/b.yml",
      "directory/c.json",
      "directory/list.yaml",
    ]);
    expect(result.origins[1]).toEqual({ file: "directory/a.yaml", document: 4 });
    expect(result.origins[5]).toEqual({ file: "directory/list.yaml", document: 1, item: 2 });
    expect(result.objects[0]!.data).toEqual({ mode: "0644", enabled: "yes" });
    expect(result.warnings).toEqual([]);
  });

  it("recurses when asked, reading YAML as kubectl does (0644 is octal)", async () => {
    const result = await render(src("directory", { directory: { recurse: true } }), REPO);
    expect(names(result.objects)).toEqual([
      "a",
      "a",
      "b",
      "c",
      "list-1",
      "list-2",
      "skipped",
      "deep",
      "nested",
    ]);
    const deployment = result.objects.find((o) => o.kind === "Deployment")!;
    const spec = deployment.spec as {
      template: { spec: { volumes: { configMap: { defaultMode: number } }[] } };
    };
    expect(spec.template.spec.volumes[0]!.configMap.defaultMode).toBe(0o644);
  });

  it("matches include globs like Argo CD: * crosses directories, {a,b} lists alternatives", async () => {
    const yamlOnly = await render(
      src("directory", { directory: { recurse: true, include: "*.yaml" } }),
      REPO,
    );
    expect(names(yamlOnly.objects)).toEqual(["a", "a", "list-1", "list-2", "skipped", "deep", "nested"]);
    const listed = await render(
      src("directory", { directory: { recurse: true, include: "{c.json,sub/*.yaml}" } }),
      REPO,
    );
    expect(names(listed.objects)).toEqual(["c", "deep", "nested"]);
  });

  it("lets exclude win over include", async () => {
    const result = await render(
      src("directory", {
        directory: { recurse: true, include: "*.yaml", exclude: "{skip/*,sub/deeper/*,list.yaml}" },
      }),
      REPO,
    );
    expect(names(result.objects)).toEqual(["a", "a", "nested"]);
  });

  it("warns when the directory holds no manifests, and returns no objects", async () => {
    const dir = await tempRepo({ "app/README.md": "# nothing\n" });
    const result = await render(src("app"), dir);
    expect(result.objects).toEqual([]);
    expect(result.warnings).toEqual(["no manifest files (.yaml, .yml, .json, .jsonnet) in app"]);
  });

  it("renders the repository root for an empty path", async () => {
    const dir = await tempRepo({ "cm.yaml": cm("root") });
    expect(names((await render(src(""), dir)).objects)).toEqual(["root"]);
    expect(names((await render({ repoURL: "x" }, dir)).objects)).toEqual(["root"]);
  });
});

describe("bad manifests name the file and document", () => {
  it("a manifest without kind", async () => {
    const error = await renderError(src("invalid/no-kind"));
    expect(error.reason).toBe("InvalidManifest");
    expect(error.file).toBe("invalid/no-kind/broken.yaml");
    expect(error.message).toBe("invalid/no-kind/broken.yaml (document 2): object has no kind");
  });

  it("a JSON manifest without apiVersion", async () => {
    const error = await renderError(src("invalid/no-apiversion-json"));
    expect(error.message).toBe("invalid/no-apiversion-json/x.json (document 1): object has no apiVersion");
  });

  it("a List item without kind", async () => {
    const error = await renderError(src("invalid/list-item-no-kind"));
    expect(error.message).toBe(
      "invalid/list-item-no-kind/list.yaml (document 1, item 2): object has no kind",
    );
  });

  it("a document that is not a mapping", async () => {
    const error = await renderError(src("invalid/scalar"));
    expect(error.message).toBe(
      "invalid/scalar/scalar.yaml (document 1): expected a Kubernetes object (a mapping), got string",
    );
  });

  it("invalid YAML, with the line", async () => {
    const error = await renderError(src("invalid/bad-yaml"));
    expect(error.file).toBe("invalid/bad-yaml/bad.yaml");
    expect(error.message).toMatch(/^invalid\/bad-yaml\/bad\.yaml \(document 1\): invalid YAML: .*line \d+/);
  });

  it("duplicate resources, naming both files (the API version does not matter)", async () => {
    const error = await renderError(src("invalid/duplicate", { directory: { recurse: true } }));
    expect(error).toBeInstanceOf(DuplicateResourceError);
    expect(error.message).toBe(
      "duplicate resource apps/Deployment shop/web: defined in invalid/duplicate/more/two.yaml (document 2) " +
        "and in invalid/duplicate/one.yaml (document 1)",
    );
    expect((error as DuplicateResourceError).files).toEqual([
      "invalid/duplicate/more/two.yaml",
      "invalid/duplicate/one.yaml",
    ]);
  });

  it("duplicates through the destination namespace, but not across namespaces or kinds", async () => {
    const dir = await tempRepo({
      "app/a.yaml": cm("x"),
      "app/b.yaml": cm("x", "  namespace: dest\n"),
      "app/c.yaml": cm("x", "  namespace: other\n"),
      "app/d.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n",
    });
    expect((await render(src("app"), dir)).objects).toHaveLength(4);
    const error = await renderError(src("app"), dir, { namespace: "dest" });
    expect(error.message).toBe(
      "duplicate resource ConfigMap dest/x: defined in app/a.yaml (document 1) and in app/b.yaml (document 1)",
    );
  });

  it("a YAML alias bomb, quickly", async () => {
    const started = Date.now();
    const error = await renderError(src("invalid/alias-bomb"));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error.file).toBe("invalid/alias-bomb/bomb.yaml");
    expect(error.message).toMatch(
      /^invalid\/alias-bomb\/bomb\.yaml \(document 1\): too many YAML alias expansions/,
    );
  });

  it("files and directories over the size caps", async () => {
    const dir = await tempRepo({
      "app/a.yaml": cm("a", `data:\n  v: "${"x".repeat(2000)}"\n`),
      "app/b.yaml": cm("b"),
    });
    const big = await renderError(src("app"), dir, { maxFileBytes: 1000 });
    expect(big.reason).toBe("TooLarge");
    expect(big.message).toMatch(/^app\/a\.yaml is \d+ bytes, over the 1000-byte limit per file$/);
    const sizeOfA = (await stat(join(dir, "app/a.yaml"))).size;
    const total = await renderError(src("app"), dir, { maxTotalBytes: sizeOfA + 10 });
    expect(total.message).toBe(
      `the manifests under app exceed ${sizeOfA + 10} bytes in total (at app/b.yaml)`,
    );
  });
});

describe("paths never leave the repository", () => {
  it("refuses .. segments and absolute paths", async () => {
    for (const path of ["..", "../repos", "directory/../directory", "a/../../b"]) {
      const error = await renderError(src(path));
      expect(error).toBeInstanceOf(PathEscapeError);
      expect(error.message).toBe(`source.path "${path}" must not contain ".." segments`);
    }
    const abs = await renderError(src("/etc"));
    expect(abs).toBeInstanceOf(PathEscapeError);
    expect(abs.message).toBe('source.path "/etc" must be relative to the repository root, not absolute');
  });

  it("reports a path that does not exist", async () => {
    const error = await renderError(src("nope/app"));
    expect(error.reason).toBe("InvalidPath");
    expect(error.message).toBe('source.path "nope/app" does not exist in the repository');
  });

  it("refuses a symlinked file that points outside, anywhere in the checkout", async () => {
    const dir = await tempRepo({ "app/cm.yaml": cm("a"), "other/readme.md": "x" });
    await symlink("/etc/hostname", join(dir, "other/leak.yaml"));
    const error = await renderError(src("app"), dir);
    expect(error).toBeInstanceOf(PathEscapeError);
    expect(error.file).toBe("other/leak.yaml");
    expect(error.message).toBe("symlink other/leak.yaml points outside the repository");
  });

  it("refuses a dangling symlink that would point outside, and a directory symlink used as path", async () => {
    const dangling = await tempRepo({ "app/cm.yaml": cm("a") });
    await symlink("../../../nowhere/secret.yaml", join(dangling, "app/later.yaml"));
    expect((await renderError(src("app"), dangling)).message).toBe(
      "symlink app/later.yaml points outside the repository",
    );

    const dirLink = await tempRepo({ "app/cm.yaml": cm("a") });
    await symlink("/etc", join(dirLink, "etc"));
    expect((await renderError(src("etc"), dirLink)).message).toBe(
      'source.path "etc" leads outside the repository through a symlink',
    );
  });

  it("follows symlinks that stay inside", async () => {
    const dir = await tempRepo({ "shared/cm.yaml": cm("shared") });
    await mkdir(join(dir, "app"));
    await symlink("../shared/cm.yaml", join(dir, "app/cm.yaml"));
    expect(names((await render(src("app"), dir)).objects)).toEqual(["shared"]);
  });
});

describe("kustomize", () => {
  it.runIf(hasKustomize)(
    "builds an overlay (through kubectl kustomize when kustomize is absent)",
    async () => {
      const result = await render(src("kustomize/overlays/prod"), REPO);
      expect(result.type).toBe("Kustomize");
      const settings = result.objects.find((o) => o.kind === "ConfigMap")!;
      expect(settings.metadata.name).toMatch(/^settings-[a-z0-9]+$/);
      expect(result.objects.every((o) => o.metadata.namespace === "prod")).toBe(true);
      expect(result.files).toEqual(
        expect.arrayContaining([
          "kustomize/overlays/prod/kustomization.yaml",
          "kustomize/base/kustomization.yaml",
          "kustomize/base/deployment.yaml",
        ]),
      );
    },
  );

  it.runIf(hasKustomize)(
    "applies namePrefix, images, labels, replicas, patches and components from the Application",
    async () => {
      const result = await render(
        src("kustomize/base", {
          kustomize: {
            namePrefix: "shop-",
            nameSuffix: "-v2",
            images: ["nginx=registry.example/nginx:1.27"],
            commonLabels: { team: "payments" },
            commonAnnotations: { owner: "sre" },
            namespace: "shop",
            replicas: [{ name: "web", count: "4" }],
            patches: [
              {
                target: { kind: "Service", name: "web" },
                patch: '[{"op": "add", "path": "/spec/type", "value": "NodePort"}]',
              },
            ],
            components: ["../components/team"],
          },
        }),
        REPO,
      );
      const deployment = result.objects.find((o) => o.kind === "Deployment")!;
      const configMap = result.objects.find((o) => o.kind === "ConfigMap")!;
      const service = result.objects.find((o) => o.kind === "Service")!;
      expect(deployment.metadata.name).toBe("shop-web-v2");
      expect(deployment.metadata.namespace).toBe("shop");
      expect(deployment.metadata.labels).toEqual({ team: "payments" });
      expect(deployment.metadata.annotations).toEqual({ owner: "sre", team: "payments" });
      const spec = deployment.spec as {
        replicas: number;
        selector: { matchLabels: Record<string, string> };
        template: {
          spec: { containers: { image: string; envFrom: { configMapRef: { name: string } }[] }[] };
        };
      };
      expect(spec.replicas).toBe(4);
      expect(spec.selector.matchLabels).toEqual({ app: "web", team: "payments" });
      expect(spec.template.spec.containers[0]!.image).toBe("registry.example/nginx:1.27");
      // Name references follow the prefix, as with `kustomize edit set nameprefix`.
      expect(configMap.metadata.name).toMatch(/^shop-settings-v2-[a-z0-9]+$/);
      expect(spec.template.spec.containers[0]!.envFrom[0]!.configMapRef.name).toBe(configMap.metadata.name);
      expect((service.spec as { type: string }).type).toBe("NodePort");
      expect(result.warnings).toEqual([]);
    },
  );

  it.runIf(hasKustomize)("reads patch files from the app directory", async () => {
    const result = await render(
      src("kustomize/overlays/prod", {
        kustomize: { patches: [{ path: "replicas-patch.yaml" }] },
      }),
      REPO,
    );
    const deployment = result.objects.find((o) => o.kind === "Deployment")!;
    expect((deployment.spec as { replicas: number }).replicas).toBe(5);
    expect(result.files).toContain("kustomize/overlays/prod/replicas-patch.yaml");
  });

  it.runIf(hasKustomize)(
    "warns when a namePrefix override stacks on the repository's own prefix",
    async () => {
      const dir = await tempRepo({
        "app/kustomization.yaml": "namePrefix: inner-\nresources: [cm.yaml]\n",
        "app/cm.yaml": cm("x"),
      });
      const result = await render(src("app", { kustomize: { namePrefix: "outer-" } }), dir);
      expect(names(result.objects)).toEqual(["outer-inner-x"]);
      expect(result.warnings[0]).toMatch(
        /kustomize.namePrefix "outer-" is applied on top of the repository's own/,
      );
    },
  );

  it("refuses a kustomization that reaches outside the checkout", async () => {
    const error = await renderError(src("kustomize/escape"));
    expect(error).toBeInstanceOf(PathEscapeError);
    expect(error.message).toBe(
      '"../../../../unit/fixtures" points outside the repository (referenced from kustomize/escape/kustomization.yaml)',
    );
    const dir = await tempRepo({ "app/kustomization.yaml": "resources:\n  - /etc/kubernetes\n" });
    expect((await renderError(src("app"), dir)).message).toMatch(
      /"\/etc\/kubernetes" points outside the repository/,
    );
  });

  it.runIf(hasKustomize)("puts the tool's stderr into the error when the build fails", async () => {
    const dir = await tempRepo({ "app/kustomization.yaml": "resources:\n  - missing.yaml\n" });
    const error = await renderError(src("app"), dir);
    expect(error).toBeInstanceOf(ToolFailedError);
    expect(error.file).toBe("app/kustomization.yaml");
    expect(error.message).toMatch(
      /^(kubectl kustomize|kustomize build) exited with code 1: .*missing\.yaml/s,
    );
  });

  it("says so when neither kustomize nor kubectl is installed", async () => {
    const error = await renderError(src("kustomize/base"), REPO, {
      tools: { kustomize: null, kubectl: null },
    });
    expect(error).toBeInstanceOf(ToolMissingError);
    expect((error as ToolMissingError).tool).toBe("kustomize");
    expect(error.message).toMatch(/^neither kustomize nor kubectl is installed on the controller's PATH/);
  });

  it("parses image overrides in Argo CD's syntax", () => {
    expect(parseImageOverride("nginx:1.27")).toEqual({ name: "nginx", newTag: "1.27" });
    expect(parseImageOverride("nginx=registry:5000/team/nginx:1.27")).toEqual({
      name: "nginx",
      newName: "registry:5000/team/nginx",
      newTag: "1.27",
    });
    expect(parseImageOverride("nginx=nginx@sha256:abc")).toEqual({ name: "nginx", digest: "sha256:abc" });
    expect(parseImageOverride("registry:5000/nginx")).toEqual({ name: "registry:5000/nginx" });
  });
});

describe("source type detection", () => {
  it.runIf(hasKustomize)(
    "prefers a kustomization over a Chart.yaml next to it, as Argo CD does",
    async () => {
      const result = await render(src("detect/kustomize-and-chart"), REPO);
      expect(result.type).toBe("Kustomize");
      expect(names(result.objects)).toEqual(["from-kustomize"]);
    },
  );

  it("lets an explicit field decide, and refuses two", async () => {
    const result = await render(
      src("detect/kustomize-and-chart", { directory: { exclude: "{kustomization.yaml,Chart.yaml}" } }),
      REPO,
    );
    expect(result.type).toBe("Directory");
    const error = await renderError(
      src("detect/kustomize-and-chart", { helm: { releaseName: "x" }, kustomize: { namePrefix: "y-" } }),
    );
    expect(error.reason).toBe("InvalidSource");
    expect(error.message).toMatch(/^multiple source types are set \(Helm, Kustomize\)/);
  });
});

describe("helm", () => {
  it("says helm is missing, naming the chart", async () => {
    const error = await renderError(src("helm/guestbook"), REPO, { tools: { helm: null } });
    expect(error).toBeInstanceOf(ToolMissingError);
    expect(error.message).toBe(
      "helm is not installed on the controller's PATH; install it or render the chart to plain YAML",
    );
    expect(error.file).toBe("helm/guestbook/Chart.yaml");
  });

  it("refuses value files outside the repository even without helm", async () => {
    const error = await renderError(
      src("helm/guestbook", { helm: { valueFiles: ["../../../../../etc/passwd"] } }),
      REPO,
      { tools: { helm: null } },
    );
    expect(error).toBeInstanceOf(PathEscapeError);
    expect(error.message).toBe('value file "../../../../../etc/passwd" points outside the repository');
  });

  /** A stand-in helm that prints its arguments (and the last --values file) as a ConfigMap. */
  async function argsEchoHelm(extra = ""): Promise<string> {
    const dir = await tempRepo();
    const path = join(dir, "helm");
    await writeFile(
      path,
      `#!/bin/sh
echo "# Source: guestbook/templates/args.yaml"
printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: args\\ndata:\\n'
i=0; prev=""; last=""
for a in "$@"; do
  i=$((i+1))
  printf "  a%02d: '%s'\\n" "$i" "$(printf %s "$a" | sed "s/'/''/g")"
  if [ "$prev" = "--values" ]; then last="$a"; fi
  prev="$a"
done
printf "  lastValues: '%s'\\n" "$(tr '\\n' ';' < "$last")"
${extra}
`,
    );
    await chmod(path, 0o755);
    return path;
  }

  it("maps the Application's helm fields to helm template arguments as Argo CD does", async () => {
    const helm = await argsEchoHelm();
    const result = await render(
      src("helm/guestbook", {
        helm: {
          valueFiles: ["values-prod.yaml", "/helm/guestbook/values.yaml"],
          values: "ignored: because valuesObject wins\n",
          valuesObject: { greeting: "from-object" },
          parameters: [
            { name: "replicas", value: "7" },
            { name: "hosts", value: "a,b" },
            { name: "list", value: "{a,b}" },
            { name: "tag", value: "1.0", forceString: true },
          ],
          skipTests: true,
          kubeVersion: "1.32.0",
          apiVersions: ["monitoring.coreos.com/v1"],
        },
      }),
      REPO,
      { tools: { helm }, appName: "guestbook-prod", namespace: "web" },
    );
    expect(result.type).toBe("Helm");
    const data = result.objects[0]!.data as Record<string, string>;
    const args = Object.keys(data)
      .filter((k) => k.startsWith("a"))
      .sort()
      .map((k) => data[k]!);
    const prodValues = join(REPO, "helm/guestbook/values-prod.yaml");
    const baseValues = join(REPO, "helm/guestbook/values.yaml");
    expect(args.slice(0, 15)).toEqual([
      "template",
      "guestbook-prod",
      ".",
      "--include-crds",
      "--namespace",
      "web",
      "--skip-tests",
      "--kube-version",
      "1.32.0",
      "--api-versions",
      "monitoring.coreos.com/v1",
      "--values",
      prodValues,
      "--values",
      baseValues,
    ]);
    expect(args[15]).toBe("--values");
    expect(args[16]).toMatch(/slipway-helm-.*\/values\.yaml$/);
    expect(args.slice(17)).toEqual([
      "--set",
      "replicas=7",
      "--set",
      "hosts=a\\,b",
      "--set",
      "list={a,b}",
      "--set-string",
      "tag=1.0",
    ]);
    expect(data.lastValues).toBe("greeting: from-object;");
    expect(result.files).toEqual([
      "helm/guestbook/Chart.yaml",
      "helm/guestbook/values-prod.yaml",
      "helm/guestbook/values.yaml",
    ]);
  });

  it("names the template a bad object came from", async () => {
    const helm = await argsEchoHelm(
      'echo "---"; echo "# Source: guestbook/templates/broken.yaml"; echo "apiVersion: v1"',
    );
    const error = await renderError(src("helm/guestbook"), REPO, { tools: { helm } });
    expect(error.file).toBe("helm/guestbook/Chart.yaml");
    expect(error.message).toBe(
      "helm/guestbook/Chart.yaml: guestbook/templates/broken.yaml (document 2): object has no kind",
    );
  });

  it("refuses a missing value file unless ignoreMissingValueFiles", async () => {
    const helm = await argsEchoHelm();
    const error = await renderError(src("helm/guestbook", { helm: { valueFiles: ["nope.yaml"] } }), REPO, {
      tools: { helm },
    });
    expect(error.message).toBe('value file "nope.yaml" does not exist in the repository');
    const result = await render(
      src("helm/guestbook", { helm: { valueFiles: ["nope.yaml"], ignoreMissingValueFiles: true } }),
      REPO,
      { tools: { helm } },
    );
    expect(result.warnings).toEqual([
      'value file "nope.yaml" does not exist; ignored (ignoreMissingValueFiles)',
    ]);
  });

  it.runIf(hasHelm)("renders a chart with release name, value files, values and parameters", async () => {
    const result = await render(
      src("helm/guestbook", {
        helm: {
          releaseName: "gb",
          valueFiles: ["values-prod.yaml"],
          valuesObject: { greeting: "from-object" },
          parameters: [{ name: "replicas", value: "7" }],
        },
      }),
      REPO,
      { namespace: "web" },
    );
    expect(result.type).toBe("Helm");
    expect(result.objects).toHaveLength(1);
    expect(result.objects[0]!.metadata).toMatchObject({ name: "gb-config", namespace: "web" });
    expect(result.objects[0]!.data).toEqual({ greeting: "from-object", replicas: "7" });
  });
});

describe("jsonnet", () => {
  const jsonnetSource = src("jsonnet/app", {
    directory: {
      jsonnet: {
        libs: ["jsonnet/lib"],
        extVars: [
          { name: "env", value: "prod" },
          { name: "greeting", value: "hi" },
        ],
      },
    },
  });

  it("says jsonnet is missing, naming the file", async () => {
    const error = await renderError(jsonnetSource, REPO, { tools: { jsonnet: null } });
    expect(error).toBeInstanceOf(ToolMissingError);
    expect(error.file).toBe("jsonnet/app/main.jsonnet");
    expect(error.message).toBe(
      "jsonnet is not installed on the controller's PATH; install it or render jsonnet/app/main.jsonnet to plain YAML/JSON",
    );
  });

  it("refuses imports outside the repository even without jsonnet", async () => {
    const error = await renderError(src("jsonnet/escape"), REPO, { tools: { jsonnet: null } });
    expect(error).toBeInstanceOf(PathEscapeError);
    expect(error.message).toBe(
      'jsonnet import "/etc/hostname" points outside the repository (referenced from jsonnet/escape/main.jsonnet)',
    );
  });

  it("refuses relative imports that climb out of the repository", async () => {
    const dir = await tempRepo({ "app/main.jsonnet": "local x = import '../../../outside.libsonnet';\nx\n" });
    const error = await renderError(src("app"), dir, { tools: { jsonnet: null } });
    expect(error).toBeInstanceOf(PathEscapeError);
    expect(error.file).toBe("app/main.jsonnet");
    expect(error.message).toBe(
      'jsonnet import "../../../outside.libsonnet" points outside the repository (referenced from app/main.jsonnet)',
    );
  });

  it.runIf(hasJsonnet)("evaluates .jsonnet next to YAML, with libs and extVars", async () => {
    const result = await render(jsonnetSource, REPO);
    expect(names(result.objects)).toEqual(["jsonnet-prod", "plain-next-to-jsonnet"]);
    expect(result.objects[0]!.data).toEqual({ greeting: "hi" });
    expect(result.files).toEqual(
      expect.arrayContaining([
        "jsonnet/app/main.jsonnet",
        "jsonnet/lib/helpers.libsonnet",
        "jsonnet/app/plain.yaml",
      ]),
    );
  });
});

describe("tool execution", () => {
  async function fakeTool(body: string): Promise<string> {
    const dir = await tempRepo();
    const path = join(dir, "fake-kustomize");
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  }

  async function kustomizeApp(): Promise<string> {
    const dir = await tempRepo({});
    await cp(join(REPO, "kustomize/base"), join(dir, "app"), { recursive: true });
    return dir;
  }

  it("kills a tool that runs past the deadline", async () => {
    const tool = await fakeTool("sleep 30");
    const started = Date.now();
    const error = await renderError(src("app"), await kustomizeApp(), {
      tools: { kustomize: tool },
      timeoutMs: 300,
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(ToolFailedError);
    expect(error.message).toBe("kustomize build timed out after 300 ms");
  });

  it("refuses output beyond the cap", async () => {
    const tool = await fakeTool("yes 'a: b' | head -c 1000000");
    const error = await renderError(src("app"), await kustomizeApp(), {
      tools: { kustomize: tool },
      maxOutputBytes: 10_000,
    });
    expect(error.reason).toBe("TooLarge");
    expect(error.message).toBe(
      "kustomize build printed more than 10000 bytes of manifests; refusing the output",
    );
  });

  it("runs in the app directory with a scrubbed environment", async () => {
    process.env.SLIPWAY_TEST_SECRET = "do-not-leak";
    try {
      const tool = await fakeTool(
        'printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: env\\ndata:\\n  secret: \\"%s\\"\\n  cwd: \\"%s\\"\\n" "$SLIPWAY_TEST_SECRET" "$(basename "$PWD")"',
      );
      const result = await render(src("app"), await kustomizeApp(), { tools: { kustomize: tool } });
      expect(result.objects[0]!.data).toEqual({ secret: "", cwd: "app" });
    } finally {
      delete process.env.SLIPWAY_TEST_SECRET;
    }
  });

  it("reports the exit code and stderr", async () => {
    const tool = await fakeTool("echo 'error: accumulating resources: boom' >&2; exit 3");
    const error = await renderError(src("app"), await kustomizeApp(), { tools: { kustomize: tool } });
    expect(error.message).toBe("kustomize build exited with code 3: error: accumulating resources: boom");
    expect((error as ToolFailedError).exitCode).toBe(3);
  });
});
