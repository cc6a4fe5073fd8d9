/** The structural schema of each served resource, built once and cached. */
import { builtinSchema, type SchemaNode, schemaFromOpenAPIV3 } from "../schema/index.js";
import type { ServedResource } from "./registry.js";

const schemas = new WeakMap<ServedResource, SchemaNode>();
/** The structural schema of a served resource (CRD schema or built-in model). */
export function schemaOf(resource: ServedResource): SchemaNode | undefined {
  let schema = schemas.get(resource);
  if (!schema) {
    schema = resource.crdSchema
      ? schemaFromOpenAPIV3(resource.crdSchema)
      : builtinSchema(resource.group, resource.version, resource.kind);
    if (schema) schemas.set(resource, schema);
  }
  return schema;
}
