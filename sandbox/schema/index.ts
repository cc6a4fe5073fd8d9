export {
  BUILTIN_KINDS,
  type BuiltinKind,
  builtinPackage,
  builtinSchema,
  definitionNameOf,
  modelNode,
  objectMetaSchema,
} from "./builtin.js";
export { schemaFromOpenAPIV3 } from "./crd.js";
export {
  definitionName,
  normalizeGroupVersion,
  type OpenApiEntry,
  openApiDocumentHash,
  openApiV2Document,
  openApiV3Document,
  openApiV3Root,
} from "./openapi.js";
export { isAtomicObject, isMapNode, patchStrategies, type SchemaNode } from "./types.js";
