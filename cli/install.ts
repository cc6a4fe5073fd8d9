/**
 * `slipway install`: CRDs, the slipway-system namespace, the controller's RBAC and the default
 * AppProject, applied server-side so running it again changes nothing.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Command } from "commander";

export function registerInstall(program: Command): void {
  program
    .command("install")
    .description("install slipway's CRDs, namespace, RBAC and default AppProject (idempotent)")
    .option("--install-namespace <ns>", "namespace for the controller and Applications", "slipway-system")
    .action(async (options: { installNamespace: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals() as { kubeconfig?: string; context?: string };
      const [{ installManifests }, { apiErrorMessage, applyObjects }, { loadKubeConfig }] = await Promise.all(
        [
          import("../api/v1alpha1/index.js"),
          import("../controller/kube/apply.js"),
          import("../controller/kube/kubeconfig.js"),
        ],
      );
      const kc = loadKubeConfig(globals);
      const objects = installManifests(options.installNamespace) as unknown as KubernetesObject[];
      try {
        const results = await applyObjects(kc, objects, { fieldManager: "slipway-install" });
        for (const r of results) {
          const group = r.object.apiVersion?.includes("/") ? `.${r.object.apiVersion.split("/")[0]}` : "";
          process.stdout.write(
            `${r.object.kind?.toLowerCase()}${group}/${r.object.metadata?.name} ${r.action}\n`,
          );
        }
      } catch (error) {
        throw new Error(`install failed: ${apiErrorMessage(error)}`);
      }
    });
}
