/**
 * Server-side defaults of built-in kinds, as the real API server fills them in. They matter because
 * GitOps diffs must not mistake them for drift, so the sandbox has to produce them like a cluster.
 * Only fields a user omits are filled; nothing the user set is changed.
 */
import type { KubeObject } from "./types.js";

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function setDefault(target: Obj, key: string, value: unknown): void {
  if (target[key] === undefined) target[key] = value;
}

function child(target: Obj, key: string): Obj {
  if (!isObj(target[key])) target[key] = {};
  return target[key] as Obj;
}

function defaultContainer(c: Obj): void {
  const image = typeof c.image === "string" ? c.image : "";
  const tag = image.includes("@") ? "digest" : (image.split("/").pop() ?? "").split(":")[1];
  setDefault(c, "imagePullPolicy", tag === undefined || tag === "latest" ? "Always" : "IfNotPresent");
  setDefault(c, "terminationMessagePath", "/dev/termination-log");
  setDefault(c, "terminationMessagePolicy", "File");
  setDefault(c, "resources", {});
  if (Array.isArray(c.ports)) for (const p of c.ports) if (isObj(p)) setDefault(p, "protocol", "TCP");
}

export function defaultPodSpec(spec: Obj): void {
  setDefault(spec, "restartPolicy", "Always");
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "securityContext", {});
  setDefault(spec, "schedulerName", "default-scheduler");
  for (const list of ["containers", "initContainers"]) {
    const cs = spec[list];
    if (Array.isArray(cs)) for (const c of cs) if (isObj(c)) defaultContainer(c);
  }
}

function defaultTemplate(spec: Obj): void {
  const template = child(spec, "template");
  const podSpec = child(template, "spec");
  defaultPodSpec(podSpec);
  const meta = child(template, "metadata");
  setDefault(meta, "creationTimestamp", null);
}

function defaultDeployment(spec: Obj): void {
  setDefault(spec, "replicas", 1);
  setDefault(spec, "revisionHistoryLimit", 10);
  setDefault(spec, "progressDeadlineSeconds", 600);
  const strategy = child(spec, "strategy");
  setDefault(strategy, "type", "RollingUpdate");
  if (strategy.type === "RollingUpdate") {
    const ru = child(strategy, "rollingUpdate");
    setDefault(ru, "maxSurge", "25%");
    setDefault(ru, "maxUnavailable", "25%");
  }
  defaultTemplate(spec);
}

function defaultService(spec: Obj): void {
  setDefault(spec, "type", "ClusterIP");
  setDefault(spec, "sessionAffinity", "None");
  setDefault(spec, "internalTrafficPolicy", "Cluster");
  setDefault(spec, "ipFamilyPolicy", "SingleStack");
  setDefault(spec, "ipFamilies", ["IPv4"]);
  if (Array.isArray(spec.ports)) {
    for (const p of spec.ports) {
      if (!isObj(p)) continue;
      setDefault(p, "protocol", "TCP");
      setDefault(p, "targetPort", p.port);
    }
  }
}

function defaultJob(spec: Obj): void {
  setDefault(spec, "parallelism", 1);
  setDefault(spec, "completions", 1);
  setDefault(spec, "backoffLimit", 6);
  setDefault(spec, "completionMode", "NonIndexed");
  setDefault(spec, "suspend", false);
  setDefault(spec, "manualSelector", false);
  setDefault(spec, "podReplacementPolicy", "TerminatingOrFailed");
  const template = child(spec, "template");
  const podSpec = child(template, "spec");
  setDefault(podSpec, "restartPolicy", "Never");
  defaultTemplate(spec);
}

/** Fills in the defaults of a built-in object in place. */
export function applyBuiltinDefaults(group: string, object: KubeObject): void {
  const spec = isObj(object.spec) ? object.spec : undefined;
  switch (`${group}/${object.kind}`) {
    case "/Pod":
      if (spec) defaultPodSpec(spec);
      break;
    case "/Service":
      if (spec) defaultService(spec);
      break;
    case "/Secret":
      setDefault(object, "type", "Opaque");
      break;
    case "/Namespace":
      setDefault(object, "spec", { finalizers: ["kubernetes"] });
      break;
    case "apps/Deployment":
      if (spec) defaultDeployment(spec);
      break;
    case "apps/ReplicaSet":
      if (spec) {
        setDefault(spec, "replicas", 1);
        defaultTemplate(spec);
      }
      break;
    case "apps/StatefulSet":
      if (spec) {
        setDefault(spec, "replicas", 1);
        setDefault(spec, "podManagementPolicy", "OrderedReady");
        setDefault(spec, "revisionHistoryLimit", 10);
        const strategy = child(spec, "updateStrategy");
        setDefault(strategy, "type", "RollingUpdate");
        if (strategy.type === "RollingUpdate") setDefault(child(strategy, "rollingUpdate"), "partition", 0);
        defaultTemplate(spec);
      }
      break;
    case "apps/DaemonSet":
      if (spec) {
        setDefault(spec, "revisionHistoryLimit", 10);
        const strategy = child(spec, "updateStrategy");
        setDefault(strategy, "type", "RollingUpdate");
        if (strategy.type === "RollingUpdate") {
          const ru = child(strategy, "rollingUpdate");
          setDefault(ru, "maxUnavailable", 1);
          setDefault(ru, "maxSurge", 0);
        }
        defaultTemplate(spec);
      }
      break;
    case "batch/Job":
      if (spec) defaultJob(spec);
      break;
    case "batch/CronJob":
      if (spec) {
        setDefault(spec, "concurrencyPolicy", "Allow");
        setDefault(spec, "suspend", false);
        setDefault(spec, "successfulJobsHistoryLimit", 3);
        setDefault(spec, "failedJobsHistoryLimit", 1);
      }
      break;
    case "networking.k8s.io/Ingress":
      if (spec && Array.isArray(spec.rules)) {
        for (const rule of spec.rules) {
          const paths =
            isObj(rule) && isObj(rule.http) && Array.isArray(rule.http.paths) ? rule.http.paths : [];
          for (const p of paths) if (isObj(p)) setDefault(p, "pathType", "ImplementationSpecific");
        }
      }
      break;
    default:
      break;
  }
}

/** A deterministic ClusterIP from the service's namespace/name, in 10.96.0.0/12 like kubeadm's default. */
export function allocateClusterIP(namespace: string, name: string, taken: Set<string>): string {
  let h = 2166136261;
  for (const ch of `${namespace}/${name}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  for (let i = 0; i < 1 << 20; i++) {
    const n = (h + i) % (1 << 20);
    const ip = `10.${96 + ((n >> 16) & 0xf)}.${(n >> 8) & 0xff}.${n & 0xff}`;
    if (n & 0xff && !taken.has(ip)) return ip;
  }
  throw new Error("service IP range exhausted");
}
