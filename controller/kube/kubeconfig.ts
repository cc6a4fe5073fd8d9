/**
 * Loading the kubeconfig the way kubectl does: --kubeconfig, else $KUBECONFIG, else
 * ~/.kube/config, else the in-cluster service account; --context picks a context.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

export interface KubeconfigOptions {
  kubeconfig?: string;
  context?: string;
}

export class KubeconfigError extends Error {
  override readonly name = "KubeconfigError";
}

export function loadKubeConfig(options: KubeconfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  const file = options.kubeconfig;
  if (file) {
    if (!existsSync(file)) throw new KubeconfigError(`kubeconfig ${file} does not exist`);
    kc.loadFromFile(file);
  } else if (process.env.KUBECONFIG || existsSync(join(homedir(), ".kube", "config"))) {
    kc.loadFromDefault();
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
  } else {
    throw new KubeconfigError(
      'no kubeconfig found: pass --kubeconfig FILE, set $KUBECONFIG, or start a sandbox with "slipway sandbox up"',
    );
  }
  if (options.context) {
    if (!kc.getContexts().some((c) => c.name === options.context)) {
      throw new KubeconfigError(`context "${options.context}" not found in the kubeconfig`);
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster())
    throw new KubeconfigError("the kubeconfig has no current cluster; pass --context");
  return kc;
}
