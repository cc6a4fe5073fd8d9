/**
 * /openapi/v2 as a gnostic `openapi.v2.Document` protobuf: the bytes decode back to the JSON
 * document the sandbox serves, the wire layout follows OpenAPIv2.proto's field numbers, and the
 * Accept negotiation and per-generation cache behave.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { SandboxCore } from "../../sandbox/core/api.js";
import type { KubeObject } from "../../sandbox/core/types.js";
import {
  decodeOpenApiV2,
  encodeOpenApiV2,
  prefersOpenApiV2Protobuf,
} from "../../sandbox/protobuf/openapi-v2.js";
import { openApiV2, openApiV2Protobuf } from "../../sandbox/server/openapi.js";

type Obj = Record<string, unknown>;

function widgetCrd(group: string, kind = "Widget"): KubeObject {
  const plural = `${kind.toLowerCase()}s`;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: {
                  type: "object",
                  required: ["size"],
                  properties: {
                    size: { type: "integer", format: "int32", description: "How big." },
                    mode: { type: "string", default: "yes" },
                    tags: { type: "array", items: { type: "string" }, "x-kubernetes-list-type": "set" },
                    labels: { type: "object", additionalProperties: { type: "string" } },
                    extra: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                  },
                },
              },
            },
          },
        },
      ],
    },
  } as KubeObject;
}

let core: SandboxCore;
let doc: Obj;
let decoded: Obj;

beforeAll(() => {
  core = new SandboxCore(() => new Date("2025-01-01T00:00:00Z"));
  core.bootstrap([widgetCrd("demo.example.com")]);
  doc = openApiV2(core.registry);
  decoded = decodeOpenApiV2(openApiV2Protobuf(core.registry).bytes);
});

function definition(d: Obj, name: string): Obj {
  return (d.definitions as Record<string, Obj>)[name]!;
}

function pathItem(d: Obj, name: string): Obj {
  return (d.paths as Record<string, Obj>)[name]!;
}

describe("the served document as protobuf", () => {
  it("decodes back to the JSON document, whole", () => {
    expect(decoded).toEqual(doc);
    expect(Object.keys(decoded.definitions as Obj)).toEqual(Object.keys(doc.definitions as Obj));
    expect(Object.keys(decoded.paths as Obj)).toEqual(Object.keys(doc.paths as Obj));
  });

  it("keeps a built-in kind: Deployment with its GVK, refs and patch extensions", () => {
    const deployment = definition(decoded, "io.k8s.api.apps.v1.Deployment");
    expect(deployment).toEqual(definition(doc, "io.k8s.api.apps.v1.Deployment"));
    expect(deployment["x-kubernetes-group-version-kind"]).toEqual([
      { group: "apps", version: "v1", kind: "Deployment" },
    ]);
    expect((deployment.properties as Obj).spec).toEqual({
      $ref: "#/definitions/io.k8s.api.apps.v1.DeploymentSpec",
    });
    const podSpec = definition(decoded, "io.k8s.api.core.v1.PodSpec");
    expect(podSpec).toEqual(definition(doc, "io.k8s.api.core.v1.PodSpec"));
    expect((podSpec.properties as Record<string, Obj>).containers).toMatchObject({
      type: "array",
      items: { $ref: "#/definitions/io.k8s.api.core.v1.Container" },
      "x-kubernetes-patch-merge-key": "name",
      "x-kubernetes-patch-strategy": "merge",
    });
  });

  it("keeps a custom resource's schema: required, defaults, maps, sets, open objects", () => {
    const widget = definition(decoded, "com.example.demo.v1.Widget");
    expect(widget).toEqual(definition(doc, "com.example.demo.v1.Widget"));
    expect(widget["x-kubernetes-group-version-kind"]).toEqual([
      { group: "demo.example.com", version: "v1", kind: "Widget" },
    ]);
    const spec = (widget.properties as Record<string, Obj>).spec!;
    expect(spec.required).toEqual(["size"]);
    const props = spec.properties as Record<string, Obj>;
    expect(props.size).toEqual({ type: "integer", format: "int32", description: "How big." });
    // "yes" is a boolean to YAML 1.1 readers (kube-openapi's): it must come back as the string.
    expect(props.mode).toEqual({ type: "string", default: "yes" });
    expect(props.tags).toEqual({ type: "array", items: { type: "string" }, "x-kubernetes-list-type": "set" });
    expect(props.labels).toEqual({ type: "object", additionalProperties: { type: "string" } });
    expect(props.extra).toEqual({ type: "object", "x-kubernetes-preserve-unknown-fields": true });
    expect(definition(decoded, "com.example.demo.v1.WidgetList")).toEqual(
      definition(doc, "com.example.demo.v1.WidgetList"),
    );
  });

  it("keeps paths: path-level and operation parameters, body parameters, responses, the operation GVK", () => {
    const name = "/apis/demo.example.com/v1/namespaces/{namespace}/widgets/{name}";
    const item = pathItem(decoded, name);
    expect(item).toEqual(pathItem(doc, name));
    expect(item.parameters).toContainEqual({
      name: "namespace",
      in: "path",
      description: "object name and auth scope, such as for teams and projects",
      required: true,
      type: "string",
      uniqueItems: true,
    });
    const patch = item.patch as Obj;
    expect(patch["x-kubernetes-group-version-kind"]).toEqual({
      group: "demo.example.com",
      version: "v1",
      kind: "Widget",
    });
    expect(patch.consumes).toEqual([
      "application/apply-patch+yaml",
      "application/json-patch+json",
      "application/merge-patch+json",
    ]);
    expect((patch.parameters as Obj[])[0]).toEqual({
      name: "body",
      in: "body",
      required: true,
      schema: { $ref: "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch" },
    });
    expect((patch.responses as Obj)["200"]).toEqual({
      description: "OK",
      schema: { $ref: "#/definitions/com.example.demo.v1.Widget" },
    });
    const deployments = "/apis/apps/v1/namespaces/{namespace}/deployments";
    expect(pathItem(decoded, deployments)).toEqual(pathItem(doc, deployments));
    expect(pathItem(decoded, `${name}/status`)).toEqual(pathItem(doc, `${name}/status`));
  });

  it("carries vendor extensions as YAML text, as gnostic does", () => {
    const bytes = Buffer.from(openApiV2Protobuf(core.registry).bytes);
    expect(bytes.includes("- group: apps\n  version: v1\n  kind: Deployment\n")).toBe(true);
    expect(bytes.includes("x-kubernetes-group-version-kind")).toBe(true);
    expect(bytes.includes('"yes"\n')).toBe(true);
  });
});

// The wire format, written by hand from OpenAPIv2.proto's field numbers.
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
function bytesField(field: number, payload: Uint8Array): Uint8Array {
  return Uint8Array.from([...varint((field << 3) | 2), ...varint(payload.length), ...payload]);
}
const str = (field: number, s: string) => bytesField(field, new TextEncoder().encode(s));
const msg = (field: number, ...parts: Uint8Array[]) => bytesField(field, Buffer.concat(parts));
const bool = (field: number) => Uint8Array.from([...varint(field << 3), 1]);

describe("the wire layout", () => {
  it("numbers Document, Info, Paths, PathItem, the parameter oneofs and Schema as OpenAPIv2.proto does", () => {
    const bytes = encodeOpenApiV2({
      swagger: "2.0",
      info: { title: "T", version: "v" },
      paths: {
        "/p/{name}": {
          parameters: [{ name: "name", in: "path", required: true, type: "string" }],
          get: {
            parameters: [{ name: "watch", in: "query", type: "boolean", uniqueItems: true }],
            responses: { "200": { description: "OK", schema: { $ref: "#/definitions/A" } } },
          },
        },
      },
      definitions: {
        A: {
          type: "object",
          properties: { m: { type: "object", additionalProperties: false } },
          "x-k": "v",
        },
      },
    });
    const expected = Buffer.concat([
      str(1, "2.0"),
      msg(2, str(1, "T"), str(2, "v")),
      msg(
        8,
        msg(
          2, // Paths.path
          str(1, "/p/{name}"),
          msg(
            2,
            msg(
              2, // PathItem.get
              msg(
                8, // Operation.parameters → ParametersItem.parameter → Parameter.non_body_parameter
                msg(1, msg(2, msg(3, str(2, "query"), str(4, "watch"), str(6, "boolean"), bool(20)))),
              ),
              msg(
                9, // Operation.responses → Responses.response_code → ResponseValue.response
                msg(
                  1,
                  str(1, "200"),
                  msg(2, msg(1, str(1, "OK"), msg(2, msg(1, str(1, "#/definitions/A"))))),
                ),
              ),
            ),
            msg(9, msg(1, msg(2, msg(4, bool(1), str(2, "path"), str(4, "name"), str(5, "string"))))),
          ),
        ),
      ),
      msg(
        9, // Document.definitions → NamedSchema
        msg(
          1,
          str(1, "A"),
          msg(
            2,
            msg(22, str(1, "object")), // Schema.type → TypeItem.value
            msg(
              25, // Schema.properties → NamedSchema
              msg(
                1,
                str(1, "m"),
                msg(
                  2,
                  Uint8Array.from([...varint((21 << 3) | 2), 2, ...varint(2 << 3), 0]),
                  msg(22, str(1, "object")),
                ),
              ),
            ),
            msg(31, str(1, "x-k"), msg(2, str(2, "v\n"))), // vendor_extension → NamedAny{Any.yaml}
          ),
        ),
      ),
    ]);
    expect(Buffer.from(bytes).toString("hex")).toBe(expected.toString("hex"));
  });

  it("round-trips what the sandbox does not produce itself: $ref parameters, tuple items, type lists, enums", () => {
    const document = {
      swagger: "2.0",
      info: { title: "T", version: "v" },
      basePath: "/",
      paths: {
        "/x": {
          get: {
            operationId: "x",
            parameters: [
              { $ref: "#/parameters/p" },
              { name: "h", in: "header", type: "string", enum: ["a", "b"] },
            ],
            responses: { default: { $ref: "#/responses/r" }, "x-r": { any: [1, null] } },
          },
        },
        "x-p": true,
      },
      parameters: { p: { name: "p", in: "query", type: "integer", maximum: 10, minimum: 1.5 } },
      responses: { r: { description: "R" } },
      definitions: {
        T: {
          type: ["string", "null"],
          items: [{ type: "string" }, { type: "integer", maxLength: 3 }],
          allOf: [{ $ref: "#/definitions/U" }],
          default: { nested: ["on", 1.1, "1.10"] },
          enum: ["on", "off"],
          additionalProperties: { type: "string" },
        },
        U: {
          type: "object",
          additionalProperties: true,
          properties: { "x-not-an-extension": { type: "string" } },
        },
      },
      securityDefinitions: {
        b: { type: "basic" },
        o: { type: "oauth2", flow: "implicit", scopes: { read: "r" } },
      },
      security: [{ b: [] }],
      tags: [{ name: "t" }],
    };
    expect(decodeOpenApiV2(encodeOpenApiV2(document))).toEqual(document);
  });

  it("refuses values that do not fit the message", () => {
    expect(() => encodeOpenApiV2({ swagger: 2 })).toThrow("#/swagger: expected string");
    expect(() => encodeOpenApiV2({ definitions: { A: { type: "object", required: "x" } } })).toThrow(
      "#/definitions/A/required: expected an array",
    );
    expect(() => encodeOpenApiV2({ paths: { "/a": { parameters: [{ name: "n", in: "cookie" }] } } })).toThrow(
      "no NonBodyParameter alternative",
    );
  });
});

describe("Accept negotiation", () => {
  it.each([
    ["application/com.github.proto-openapi.spec.v2@v1.0+protobuf", true],
    ["application/com.github.proto-openapi.spec.v2.v1.0+protobuf", true],
    ["application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json", true],
    ["application/json, application/com.github.proto-openapi.spec.v2@v1.0+protobuf", false],
    ["application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf", true],
    ["application/com.github.proto-openapi.spec.v2@v1.0+protobuf;q=0.5, */*", false],
    ["application/com.github.proto-openapi.spec.v2@v1.0+protobuf;q=0", false],
    ["application/json, */*", false],
    ["*/*", false],
    [undefined, false],
  ])("%s → protobuf: %s", (accept, expected) => {
    expect(prefersOpenApiV2Protobuf(accept)).toBe(expected);
  });
});

describe("the cache", () => {
  it("keeps the bytes and ETag for a registry generation, and rebuilds when a CRD arrives", () => {
    const local = new SandboxCore(() => new Date("2025-01-01T00:00:00Z"));
    local.bootstrap();
    const first = openApiV2Protobuf(local.registry);
    expect(openApiV2Protobuf(local.registry)).toBe(first);
    expect(first.etag).toMatch(/^"[0-9A-F]{128}"$/);
    expect(decodeOpenApiV2(first.bytes).definitions).not.toHaveProperty("com.example.gadgets.v1.Gadget");

    local.bootstrap([widgetCrd("gadgets.example.com", "Gadget")]);
    const second = openApiV2Protobuf(local.registry);
    expect(second).not.toBe(first);
    expect(second.etag).not.toBe(first.etag);
    expect(decodeOpenApiV2(second.bytes).definitions).toHaveProperty("com.example.gadgets.v1.Gadget");
  });
});
