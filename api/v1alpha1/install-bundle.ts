/**
 * What `install.yaml` holds: `installManifests()` (CRDs, namespace, service account, RBAC, default
 * AppProject) plus the controller's Deployment and Service. `charts/slipway` renders the same
 * objects with its default values; test/unit/install-bundle.test.ts checks `install.yaml` is
 * current and that the chart's templates name every object the bundle has.
 */
import { stringify } from "yaml";
import { CONTROLLER_NAME, DEFAULT_NAMESPACE, installManifests, type KubeObject } from "./crds.js";

/** The image the bundle runs (the chart's default `image.repository` and `image.tag`). */
export const DEFAULT_IMAGE = "ghcr.io/slipway-dev/slipway:0.1.0";
/** Port of the controller's HTTP server: /metrics, /healthz, /readyz and /api/webhook. */
export const HTTP_PORT = 8080;
/** Where the repository cache lives in the container (an emptyDir; the root filesystem is read-only). */
export const CACHE_DIR = "/var/cache/slipway";

const SELECTOR = { "app.kubernetes.io/name": CONTROLLER_NAME };
const LABELS = {
  ...SELECTOR,
  "app.kubernetes.io/part-of": "slipway",
  "app.kubernetes.io/component": "controller",
};

export interface ControllerDeploymentOptions {
  namespace?: string;
  image?: string;
  appResync?: string;
  workers?: number;
}

/** The controller's arguments after the image's `node /app/dist/cli/main.js` entrypoint. */
export function controllerArgs(options: ControllerDeploymentOptions = {}): string[] {
  return [
    "controller",
    "--http-addr",
    `0.0.0.0:${HTTP_PORT}`,
    "--app-resync",
    options.appResync ?? "180s",
    "--workers",
    String(options.workers ?? 4),
    "--repo-cache-dir",
    `${CACHE_DIR}/repos`,
    "--namespace",
    options.namespace ?? DEFAULT_NAMESPACE,
  ];
}

/**
 * One replica: more than one only makes sense with a shared Redis queue (the chart enforces it);
 * the Lease keeps a second process idle anyway. Non-root, read-only root filesystem, no
 * capabilities; the Git cache and $HOME/tmp are emptyDirs.
 */
export function controllerDeployment(options: ControllerDeploymentOptions = {}): KubeObject {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const probe = (path: string, initialDelaySeconds: number) => ({
    httpGet: { path, port: "http" },
    initialDelaySeconds,
    periodSeconds: 10,
    timeoutSeconds: 5,
    failureThreshold: 3,
  });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: CONTROLLER_NAME, namespace, labels: { ...LABELS } },
    spec: {
      replicas: 1,
      // Never two leaders-in-waiting fighting over the Lease during a rollout of the controller itself.
      strategy: { type: "Recreate" },
      selector: { matchLabels: { ...SELECTOR } },
      template: {
        metadata: { labels: { ...LABELS } },
        spec: {
          serviceAccountName: CONTROLLER_NAME,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            runAsGroup: 10001,
            fsGroup: 10001,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "controller",
              image: options.image ?? DEFAULT_IMAGE,
              imagePullPolicy: "IfNotPresent",
              args: controllerArgs(options),
              env: [
                { name: "HOME", value: "/tmp" },
                { name: "SLIPWAY_HOME", value: CACHE_DIR },
                { name: "XDG_CACHE_HOME", value: CACHE_DIR },
              ],
              ports: [{ name: "http", containerPort: HTTP_PORT, protocol: "TCP" }],
              livenessProbe: probe("/healthz", 10),
              readinessProbe: probe("/readyz", 5),
              resources: {
                requests: { cpu: "100m", memory: "256Mi" },
                limits: { memory: "1Gi" },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [
                { name: "cache", mountPath: CACHE_DIR },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            { name: "cache", emptyDir: {} },
            { name: "tmp", emptyDir: {} },
          ],
        },
      },
    },
  };
}

/** /metrics and /api/webhook (one port: the controller serves both on its HTTP server). */
export function controllerService(namespace: string = DEFAULT_NAMESPACE): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: CONTROLLER_NAME, namespace, labels: { ...LABELS } },
    spec: {
      type: "ClusterIP",
      selector: { ...SELECTOR },
      ports: [{ name: "http", port: HTTP_PORT, targetPort: "http", protocol: "TCP" }],
    },
  };
}

/** Every object of install.yaml, in apply order (CRDs first, so the AppProject can be validated). */
export function installBundle(options: ControllerDeploymentOptions = {}): KubeObject[] {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  return [...installManifests(namespace), controllerService(namespace), controllerDeployment(options)];
}

/** install.yaml's text: a multi-document YAML stream with a header; the same input always gives the same bytes. */
export function renderInstallYaml(options: ControllerDeploymentOptions = {}): string {
  const header = [
    "# slipway: everything to run the controller in a cluster without Helm.",
    "# Generated by `node dist/api/v1alpha1/gen-install.js` from api/v1alpha1/install-bundle.ts; do not edit.",
    "# Same objects as charts/slipway with its default values (plus the namespace).",
    "#   kubectl apply --server-side -f install.yaml",
    "",
  ].join("\n");
  const docs = installBundle(options).map((o) => stringify(o, { sortMapEntries: true, lineWidth: 0 }));
  return `${header}---\n${docs.join("---\n")}`;
}
