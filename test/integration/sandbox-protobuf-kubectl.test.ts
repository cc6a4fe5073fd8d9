/**
 * The real kubectl against the sandbox: its typed clients POST Kubernetes protobuf, and the stored
 * objects must come out exactly as kubectl meant them (data values, replicas, images, ports,
 * labels), without the zero values gogo puts on the wire for every non-pointer field.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeKubeconfig } from "../../sandbox/kubeconfig.js";
import { encodeKubernetesProtobuf } from "../../sandbox/protobuf/index.js";
import { Sandbox } from "../../sandbox/sandbox.js";
import { commandWorks, serviceAvailable } from "../helpers/services.js";

const run = promisify(execFile);

const hasKubectl = serviceAvailable(
  "kubectl",
  () => commandWorks("kubectl", ["version", "--client"]),
  "install kubectl 1.32",
);

type Obj = Record<string, unknown>;

/** The value at a dotted path ("spec.template.spec.containers.0"), or undefined. */
function at(value: unknown, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>((v, key) => (v && typeof v === "object" ? (v as Obj)[key] : undefined), value);
}

let sandbox: Sandbox;
let dir: string;
let kubeconfig: string;

async function kubectl(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run("kubectl", ["--kubeconfig", kubeconfig, "--cache-dir", join(dir, "cache"), ...args]);
}

/** Runs a kubectl command that writes an object, and checks the write went out as protobuf. */
async function kubectlWrite(...args: string[]): Promise<string> {
  const { stdout, stderr } = await kubectl(...args, "-v=8");
  expect(stderr, `kubectl ${args.join(" ")} should send protobuf`).toMatch(
    /Content-Type: application\/vnd\.kubernetes\.protobuf/,
  );
  return stdout.trim();
}

async function get(resource: string): Promise<Obj> {
  const { stdout } = await kubectl("get", resource, "-o", "json");
  return JSON.parse(stdout) as Obj;
}

/** Paths of "" values: gogo writes every empty string, the JSON must not show them. */
function emptyStrings(value: unknown, path = ""): string[] {
  if (value === "") return [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => emptyStrings(v, `${path}[${i}]`));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => emptyStrings(v, `${path}.${k}`));
  }
  return [];
}

/** POSTs raw bytes to the sandbox, returning the status code and the decoded Status body. */
async function post(path: string, body: Buffer, contentType: string): Promise<{ code: number; body: Obj }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${sandbox.url}${path}`,
      {
        method: "POST",
        ca: sandbox.caPem,
        headers: {
          Authorization: `Bearer ${sandbox.token}`,
          "Content-Type": contentType,
          Accept: "application/json",
          "Content-Length": body.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ code: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as Obj }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

beforeAll(async () => {
  if (!hasKubectl) return;
  dir = mkdtempSync(join(tmpdir(), "slipway-protobuf-"));
  kubeconfig = join(dir, "kubeconfig");
  sandbox = new Sandbox({});
  await sandbox.start();
  writeKubeconfig(kubeconfig, sandbox.url, sandbox.caPem, sandbox.token);
});

afterAll(async () => {
  await sandbox?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasKubectl)("kubectl's protobuf writes", () => {
  it("create configmap", async () => {
    expect(await kubectlWrite("create", "configmap", "c", "--from-literal=a=b")).toBe("configmap/c created");
    const cm = await get("configmap/c");
    expect(at(cm, "data")).toEqual({ a: "b" });
    expect(at(cm, "binaryData")).toBeUndefined();
    expect(at(cm, "immutable")).toBeUndefined();
    expect(at(cm, "metadata")).toMatchObject({ name: "c", namespace: "default" });
    expect(emptyStrings(cm)).toEqual([]);
  });

  it("create secret generic", async () => {
    await kubectlWrite("create", "secret", "generic", "s", "--from-literal=p=q");
    const secret = await get("secret/s");
    expect(at(secret, "data")).toEqual({ p: Buffer.from("q").toString("base64") });
    expect(at(secret, "type")).toBe("Opaque");
    expect(emptyStrings(secret)).toEqual([]);
  });

  it("create namespace", async () => {
    await kubectlWrite("create", "namespace", "n");
    const ns = await get("namespace/n");
    expect(at(ns, "metadata.name")).toBe("n");
    expect(at(ns, "status.phase")).toBe("Active");
  });

  it("create deployment", async () => {
    await kubectlWrite("create", "deployment", "d", "--image=nginx:1.25", "--replicas=2", "--port=80");
    const d = await get("deployment/d");
    expect(at(d, "metadata.labels")).toEqual({ app: "d" });
    expect(at(d, "spec.replicas")).toBe(2);
    expect(at(d, "spec.selector")).toEqual({ matchLabels: { app: "d" } });
    expect(at(d, "spec.template.metadata.labels")).toEqual({ app: "d" });
    const containers = at(d, "spec.template.spec.containers") as Obj[];
    expect(containers).toHaveLength(1);
    expect(containers[0]).toMatchObject({ name: "nginx", image: "nginx:1.25", resources: {} });
    expect(at(containers, "0.ports")).toEqual([{ containerPort: 80, protocol: "TCP" }]);
    // Zero values gogo wrote for non-pointer fields stay out of the stored object.
    for (const field of ["stdin", "stdinOnce", "tty", "workingDir"])
      expect(at(containers, `0.${field}`)).toBeUndefined();
    expect(at(d, "spec.paused")).toBeUndefined();
    expect(at(d, "spec.template.spec.hostNetwork")).toBeUndefined();
    expect(emptyStrings(d)).toEqual([]);
  });

  it("create deployment --replicas=0 keeps the explicit zero", async () => {
    await kubectlWrite("create", "deployment", "zero", "--image=nginx", "--replicas=0");
    expect(at(await get("deployment/zero"), "spec.replicas")).toBe(0);
  });

  it("create service clusterip", async () => {
    await kubectlWrite("create", "service", "clusterip", "svc", "--tcp=80:8080");
    const svc = await get("service/svc");
    expect(at(svc, "spec.type")).toBe("ClusterIP");
    expect(at(svc, "spec.selector")).toEqual({ app: "svc" });
    expect(at(svc, "spec.ports")).toEqual([{ name: "80-8080", port: 80, protocol: "TCP", targetPort: 8080 }]);
    expect(at(svc, "metadata.labels")).toEqual({ app: "svc" });
  });

  it("create job", async () => {
    await kubectlWrite("create", "job", "j", "--image=busybox");
    const job = await get("job/j");
    expect(at(job, "spec.template.spec.restartPolicy")).toBe("Never");
    expect(at(job, "spec.template.spec.containers")).toHaveLength(1);
    expect(at(job, "spec.template.spec.containers.0")).toMatchObject({ name: "j", image: "busybox" });
    expect(emptyStrings(job)).toEqual([]);
  });

  it("create serviceaccount, role and rolebinding", async () => {
    await kubectlWrite("create", "serviceaccount", "sa");
    expect(at(await get("serviceaccount/sa"), "metadata.name")).toBe("sa");

    await kubectlWrite("create", "role", "r", "--verb=get", "--resource=pods");
    expect((await get("role/r")).rules).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }]);

    await kubectlWrite("create", "rolebinding", "rb", "--role=r", "--serviceaccount=default:sa");
    const rb = await get("rolebinding/rb");
    expect(at(rb, "roleRef")).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "r" });
    expect(at(rb, "subjects")).toEqual([{ kind: "ServiceAccount", name: "sa", namespace: "default" }]);
  });

  it("run (sent as JSON: run and expose go through kubectl's generic resource helper)", async () => {
    await kubectl("run", "p", "--image=nginx");
    const pod = await get("pod/p");
    expect(at(pod, "metadata.labels")).toEqual({ run: "p" });
    expect(at(pod, "spec.containers")).toHaveLength(1);
    expect(at(pod, "spec.containers.0")).toMatchObject({ name: "p", image: "nginx" });
    expect(emptyStrings(pod)).toEqual([]);
  });

  it("set image (a strategic merge patch on the protobuf-created deployment)", async () => {
    // `kubectl create deployment` names the container after the image, so it is "nginx".
    await kubectl("set", "image", "deployment/d", "nginx=nginx:1.26");
    const d = await get("deployment/d");
    expect(at(d, "spec.template.spec.containers.0.image")).toBe("nginx:1.26");
    expect(at(d, "spec.template.spec.containers.0.ports")).toEqual([{ containerPort: 80, protocol: "TCP" }]);
  });

  it("create cronjob, clusterrole, clusterrolebinding, ingress, poddisruptionbudget; expose (JSON)", async () => {
    await kubectlWrite("create", "cronjob", "cj", "--image=busybox", "--schedule=*/5 * * * *");
    const cj = await get("cronjob/cj");
    expect(at(cj, "spec.schedule")).toBe("*/5 * * * *");
    expect(at(cj, "spec.jobTemplate.spec.template.spec.containers.0")).toMatchObject({
      name: "cj",
      image: "busybox",
    });

    await kubectlWrite("create", "clusterrole", "cr", "--verb=get,list", "--resource=deployments.apps");
    expect((await get("clusterrole/cr")).rules).toEqual([
      { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list"] },
    ]);
    await kubectlWrite("create", "clusterrolebinding", "crb", "--clusterrole=cr", "--user=alice");
    expect((await get("clusterrolebinding/crb")).subjects).toEqual([
      { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" },
    ]);

    await kubectlWrite("create", "ingress", "ing", "--rule=shop.example/api*=svc:80");
    expect(at(await get("ingress/ing"), "spec.rules")).toEqual([
      {
        host: "shop.example",
        http: {
          paths: [
            { path: "/api", pathType: "Prefix", backend: { service: { name: "svc", port: { number: 80 } } } },
          ],
        },
      },
    ]);

    await kubectlWrite("create", "poddisruptionbudget", "pdb", "--selector=app=d", "--min-available=50%");
    expect((await get("pdb/pdb")).spec).toEqual({
      minAvailable: "50%",
      selector: { matchLabels: { app: "d" } },
    });

    await kubectl("expose", "deployment", "d", "--name=dsvc", "--port=81", "--target-port=80");
    const dsvc = await get("service/dsvc");
    expect(at(dsvc, "spec.ports")).toEqual([{ port: 81, protocol: "TCP", targetPort: 80 }]);
    expect(at(dsvc, "spec.selector")).toEqual({ app: "d" });
  });
});

describe.skipIf(!hasKubectl)("protobuf bodies the sandbox cannot take", () => {
  const protobufType = "application/vnd.kubernetes.protobuf";

  it("answers 415 naming a kind without a descriptor", async () => {
    // A valid envelope for a kind the tables do not cover: encode a ConfigMap, then rename the
    // kind in place (same length, so every length prefix still holds).
    const body = encodeKubernetesProtobuf({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } });
    const renamed = Buffer.from(body.toString("binary").replace("ConfigMap", "PodPreset"), "binary");
    const res = await post("/api/v1/namespaces/default/configmaps", renamed, protobufType);
    expect(res.code).toBe(415);
    expect(res.body).toMatchObject({ kind: "Status", reason: "UnsupportedMediaType", code: 415 });
    expect(res.body.message).toContain("PodPreset (v1)");
  });

  it("answers 400 for bytes that are not a Kubernetes protobuf payload", async () => {
    const res = await post(
      "/api/v1/namespaces/default/configmaps",
      Buffer.from("not protobuf"),
      protobufType,
    );
    expect(res.code).toBe(400);
    expect(res.body.reason).toBe("BadRequest");
    expect(res.body.message).toMatch(/^the object provided is unrecognized or malformed/);
  });
});
