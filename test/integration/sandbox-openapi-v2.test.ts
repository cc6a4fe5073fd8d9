/**
 * The real kubectl reads /openapi/v2 only as a gnostic protobuf (client-side validation, `kind:
 * List`, `kubectl explain --output=plaintext-openapiv2`). Before the sandbox served it, all of
 * these ended in "the server was unable to respond with a content type that the client supports".
 */
import https from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeOpenApiV2 } from "../../sandbox/protobuf/openapi-v2.js";
import { startTestSandbox, type TestSandbox } from "../helpers/sandbox.js";
import { commandWorks, serviceAvailable } from "../helpers/services.js";

const hasKubectl = serviceAvailable(
  "kubectl",
  () => commandWorks("kubectl", ["version", "--client"]),
  "install kubectl 1.32",
);

const PROTOBUF_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
const PROTOBUF_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

let sb: TestSandbox;

beforeAll(async () => {
  if (hasKubectl) sb = await startTestSandbox({ simulation: false });
});

afterAll(async () => {
  await sb?.stop();
});

/** GET /openapi/v2 with the given request headers, as raw bytes. */
function getOpenApiV2(
  headers: Record<string, string>,
): Promise<{ code: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${sb.url}/openapi/v2`,
      { ca: sb.sandbox.caPem, headers: { Authorization: `Bearer ${sb.sandbox.token}`, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ code: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const DEPLOYMENT_WITH_UNKNOWN_FIELD = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: strict
spec:
  bogus: 1
  selector:
    matchLabels: {app: strict}
  template:
    metadata:
      labels: {app: strict}
    spec:
      containers:
      - name: c
        image: nginx
`;

const GADGET_CRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.nope.example.com
spec:
  group: nope.example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, listKind: GadgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, description: How many sprockets.}
`;

const GADGET = `
apiVersion: nope.example.com/v1
kind: Gadget
metadata:
  name: g
spec:
  size: 3
`;

describe.skipIf(!hasKubectl)("kubectl with the protobuf /openapi/v2", () => {
  it("reports an unknown kind the way a real cluster does", async () => {
    const result = await sb.kubectl(["apply", "-f", "-"], { input: GADGET });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('no matches for kind "Gadget" in version "nope.example.com/v1"');
    expect(result.stderr).toContain("ensure CRDs are installed first");
    expect(result.stderr).not.toContain("content type");
  });

  it("applies a kind: List of two ConfigMaps", async () => {
    const list = `
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: listed-a}
  data: {k: a}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: listed-b}
  data: {k: b}
`;
    const out = await sb.kubectlOk(["apply", "-f", "-"], { input: list });
    expect(out).toContain("configmap/listed-a created");
    expect(out).toContain("configmap/listed-b created");
    expect((await sb.kubectlJson(["get", "configmap", "listed-a"])).data).toEqual({ k: "a" });
    expect((await sb.kubectlJson(["get", "configmap", "listed-b"])).data).toEqual({ k: "b" });
  });

  it("explains a built-in kind from the v2 document, fetched as protobuf", async () => {
    const result = await sb.kubectl(["explain", "deployment.spec", "--output=plaintext-openapiv2", "-v=8"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/KIND:\s+Deployment/);
    expect(result.stdout).toMatch(/VERSION:\s+apps\/v1/);
    for (const field of ["replicas", "selector", "strategy", "template"]) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${field}\\s+<`, "m"));
    }
    expect(result.stderr).toContain(`Accept: ${PROTOBUF_ACCEPT}`);
    expect(result.stderr).toContain(`Content-Type: ${PROTOBUF_TYPE}`);
  });

  it("explains a custom resource", async () => {
    const out = await sb.kubectlOk(["explain", "virtualservices.spec", "--output=plaintext-openapiv2"]);
    expect(out).toMatch(/KIND:\s+VirtualService/);
    expect(out).toMatch(/^\s+hosts\s+<\[\]string>/m);
  });

  it("still gets the server's strict field validation for a built-in", async () => {
    const result = await sb.kubectl(["apply", "--validate=strict", "-f", "-"], {
      input: DEPLOYMENT_WITH_UNKNOWN_FIELD,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("Error from server (BadRequest)");
    expect(result.stderr).toContain('strict decoding error: unknown field "spec.bogus"');
  });

  it("sees a new CRD's kind once it is installed (the document follows the registry)", async () => {
    await sb.kubectlOk(["apply", "-f", "-"], { input: GADGET_CRD });
    expect(await sb.kubectlOk(["apply", "-f", "-"], { input: GADGET })).toContain(
      "gadget.nope.example.com/g created",
    );
    const out = await sb.kubectlOk(["explain", "gadgets.spec", "--output=plaintext-openapiv2"]);
    expect(out).toMatch(/KIND:\s+Gadget/);
    expect(out).toMatch(/^\s+size\s+<integer>/m);
  });

  it("serves JSON to kubectl get --raw", async () => {
    const out = await sb.kubectlOk(["get", "--raw", "/openapi/v2"]);
    expect(out.slice(0, 100)).toMatch(/^\{"swagger":"2\.0","info":\{"title":"Kubernetes"/);
    expect(JSON.parse(out)).toHaveProperty("definitions.io\\.k8s\\.api\\.apps\\.v1\\.Deployment");
  });
});

describe.skipIf(!hasKubectl)("GET /openapi/v2 over HTTP", () => {
  it("answers protobuf with an ETag, and 304 when it still matches", async () => {
    const first = await getOpenApiV2({ Accept: PROTOBUF_ACCEPT });
    expect(first.code).toBe(200);
    expect(first.headers["content-type"]).toBe(PROTOBUF_TYPE);
    expect(first.headers.vary).toBe("Accept");
    const etag = first.headers.etag;
    expect(etag).toMatch(/^"[0-9A-F]+"$/);
    const decoded = decodeOpenApiV2(first.body);
    expect(decoded.swagger).toBe("2.0");
    expect(decoded).toHaveProperty(
      ["definitions", "io.k8s.api.apps.v1.Deployment", "x-kubernetes-group-version-kind"],
      [{ group: "apps", version: "v1", kind: "Deployment" }],
    );

    const again = await getOpenApiV2({ Accept: PROTOBUF_ACCEPT, "If-None-Match": String(etag) });
    expect(again.code).toBe(304);
    expect(again.body.length).toBe(0);
    const stale = await getOpenApiV2({ Accept: PROTOBUF_ACCEPT, "If-None-Match": '"OLD"' });
    expect(stale.code).toBe(200);
    expect(stale.body.equals(first.body)).toBe(true);
  });

  it("keeps JSON for application/json and refuses what it cannot produce", async () => {
    const json = await getOpenApiV2({ Accept: "application/json" });
    expect(json.code).toBe(200);
    expect(json.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(json.body.toString("utf8")).swagger).toBe("2.0");
    const yaml = await getOpenApiV2({ Accept: "application/yaml" });
    expect(yaml.code).toBe(406);
  });
});
