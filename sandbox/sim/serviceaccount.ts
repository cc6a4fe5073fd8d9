/**
 * The ServiceAccounts controller: a `default` ServiceAccount in every active namespace, recreated
 * if deleted — pods and kubectl users expect it.
 * https://github.com/kubernetes/kubernetes/blob/v1.32.0/pkg/controller/serviceaccount/serviceaccounts_controller.go
 */

import { ApiError } from "../core/errors.js";
import type { GroupVersionResource, SandboxApi, WatchEvent } from "../core/types.js";
import { CONTROLLER_MANAGER, Controller, type ControllerOptions, GVR } from "./common.js";

export const DEFAULT_SERVICE_ACCOUNT = "default";

export class ServiceAccountController extends Controller {
  constructor(api: SandboxApi, options: ControllerOptions = {}) {
    super(api, "serviceaccount-controller", options);
  }

  protected watches(): [GroupVersionResource, (e: WatchEvent) => Iterable<string>][] {
    return [
      [GVR.namespaces, (e) => (e.type === "DELETED" ? [] : [e.object.metadata.name!])],
      [
        GVR.serviceAccounts,
        (e) =>
          e.type === "DELETED" && e.object.metadata.name === DEFAULT_SERVICE_ACCOUNT
            ? [e.object.metadata.namespace!]
            : [],
      ],
    ];
  }

  protected initialKeys(): Iterable<string> {
    return this.api.list(GVR.namespaces).map((ns) => ns.metadata.name!);
  }

  /** Keys are namespace names. */
  protected reconcile(namespace: string): void {
    const ns = this.api.get(GVR.namespaces, undefined, namespace);
    if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === "Terminating") return;
    if (this.api.get(GVR.serviceAccounts, namespace, DEFAULT_SERVICE_ACCOUNT)) return;
    try {
      this.api.create(
        GVR.serviceAccounts,
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace } },
        { fieldManager: CONTROLLER_MANAGER },
      );
    } catch (error) {
      // Created meanwhile, or the namespace started terminating: nothing to do.
      if (error instanceof ApiError && (error.code === 409 || error.code === 403)) return;
      throw error;
    }
  }
}
