/**
 * install.yaml and charts/slipway/crds/ are generated (`node dist/api/v1alpha1/gen-install.js`)
 * and must be current. Helm is not available here, so the chart cannot be rendered: instead a
 * cheap consistency check makes sure its templates name every object kind and name the bundle
 * has, and that the Deployment's settings the bundle relies on appear in the chart.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderCrdFiles } from "../../api/v1alpha1/crds.js";
import {
  CACHE_DIR,
  controllerArgs,
  controllerDeployment,
  installBundle,
  renderInstallYaml,
} from "../../api/v1alpha1/install-bundle.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const chart = path.join(root, "charts/slipway");
const regen = "run `npm run build && node dist/api/v1alpha1/gen-install.js`";

function chartTemplates(): string {
  const dir = path.join(chart, "templates");
  if (!existsSync(dir)) return "";
  return readdirSync(dir)
    .sort()
    .map((f) => readFileSync(path.join(dir, f), "utf8"))
    .join("\n");
}

describe("install.yaml", () => {
  it("is current", () => {
    const committed = readFileSync(path.join(root, "install.yaml"), "utf8");
    expect(committed, `install.yaml is stale: ${regen}`).toBe(renderInstallYaml());
  });

  it("is the CRDs, then the rest in apply order, with one controller replica", () => {
    const kinds = installBundle().map((o) => o.kind);
    expect(kinds.lastIndexOf("CustomResourceDefinition")).toBeLessThan(kinds.indexOf("AppProject"));
    expect(kinds.indexOf("Namespace")).toBeLessThan(kinds.indexOf("ServiceAccount"));
    const dep = controllerDeployment() as unknown as { spec: { replicas: number } };
    expect(dep.spec.replicas).toBe(1);
    expect(controllerArgs({ namespace: "x" })).toContain("x");
  });
});

describe("charts/slipway", () => {
  it("has the generated CRDs in crds/", () => {
    const dir = path.join(chart, "crds");
    const files = renderCrdFiles();
    expect(readdirSync(dir).sort()).toEqual([...files.keys()].sort());
    for (const [name, text] of files)
      expect(readFileSync(path.join(dir, name), "utf8"), `${name} is stale: ${regen}`).toBe(text);
  });

  it("templates every object of install.yaml (helm is not available to render it)", () => {
    const templates = chartTemplates();
    for (const o of installBundle()) {
      // Helm does not create the release namespace (`helm install --create-namespace` does);
      // CRDs come from crds/, checked above.
      if (o.kind === "Namespace" || o.kind === "CustomResourceDefinition") continue;
      expect(templates, `no template for ${o.kind}`).toContain(`kind: ${o.kind}`);
      expect(templates, `no ${o.kind} named ${o.metadata.name}`).toMatch(
        new RegExp(`name: (${o.metadata.name}|\\{\\{ include "slipway.name" \\. \\}\\})`),
      );
    }
  });

  it("runs the controller like install.yaml does", () => {
    const templates = chartTemplates();
    for (const needle of [
      "/healthz",
      "/readyz",
      "readOnlyRootFilesystem: true",
      "runAsNonRoot: true",
      CACHE_DIR,
      "--http-addr",
      "0.0.0.0:8080",
      "--repo-cache-dir",
      "--app-resync",
      "--workers",
      "--namespace",
      "kind: ServiceMonitor",
      "fail",
    ])
      expect(templates, `templates lack ${needle}`).toContain(needle);
    const values = parse(readFileSync(path.join(chart, "values.yaml"), "utf8")) as Record<string, unknown>;
    expect(values.replicas).toBe(1);
    const args = controllerArgs();
    expect(values.appResync).toBe(args[args.indexOf("--app-resync") + 1]);
    expect(String(values.workers)).toBe(args[args.indexOf("--workers") + 1]);
    const chartYaml = parse(readFileSync(path.join(chart, "Chart.yaml"), "utf8")) as { appVersion: string };
    const image = (values.image ?? {}) as { repository: string; tag: string };
    const dep = controllerDeployment() as unknown as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(`${image.repository}:${image.tag || chartYaml.appVersion}`).toBe(
      dep.spec.template.spec.containers[0]!.image,
    );
  });
});
