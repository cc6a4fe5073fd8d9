/**
 * The gnostic `openapi.v2` messages (github.com/google/gnostic-models, openapiv2/OpenAPIv2.proto,
 * proto3) that carry a Swagger 2.0 document: what the API server sends for /openapi/v2 when the
 * client asks for `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`.
 *
 * Each message maps its proto field names to `[fieldNumber, type, flag?]`: `type` is a proto
 * scalar or a message of this package (`google.protobuf.Any` aside); the flag is `r` for a
 * repeated field or `o` for a member of the message's oneof (every oneof here is named `oneof`).
 *
 * How a message corresponds to Swagger JSON is a convention of the generator (see ./openapi-v2.ts):
 * the JSON key is the field name in lowerCamelCase (`_ref` is `$ref`), `vendor_extension` collects
 * the object's `x-` keys, a repeated `Named*` field holds the entries of a JSON object, and `Any`
 * holds a JSON value as YAML text.
 */

export const REPEATED = "r";
export const ONEOF = "o";

export type OpenApiFieldSpec = readonly [id: number, type: string, flag?: typeof REPEATED | typeof ONEOF];

export type OpenApiMessageTable = Readonly<Record<string, Readonly<Record<string, OpenApiFieldSpec>>>>;

const r = REPEATED;
const o = ONEOF;

/** `vendor_extension` with its field number. */
const ext = (id: number): OpenApiFieldSpec => [id, "NamedAny", r];

/** The layout shared by the form-data and query parameter sub-schemas. */
// biome-ignore format: fields in number order, a few a line, keep the table checkable against the .proto
const FORM_OR_QUERY: Readonly<Record<string, OpenApiFieldSpec>> = {
  required: [1, "bool"], in: [2, "string"], description: [3, "string"], name: [4, "string"], allow_empty_value: [5, "bool"],
  type: [6, "string"], format: [7, "string"], items: [8, "PrimitivesItems"], collection_format: [9, "string"], default: [10, "Any"],
  maximum: [11, "double"], exclusive_maximum: [12, "bool"], minimum: [13, "double"], exclusive_minimum: [14, "bool"],
  max_length: [15, "int64"], min_length: [16, "int64"], pattern: [17, "string"], max_items: [18, "int64"], min_items: [19, "int64"],
  unique_items: [20, "bool"], enum: [21, "Any", r], multiple_of: [22, "double"], vendor_extension: ext(23),
};

/** The layout shared by the header and path parameter sub-schemas. */
// biome-ignore format: fields in number order, a few a line, keep the table checkable against the .proto
const HEADER_OR_PATH: Readonly<Record<string, OpenApiFieldSpec>> = {
  required: [1, "bool"], in: [2, "string"], description: [3, "string"], name: [4, "string"],
  type: [5, "string"], format: [6, "string"], items: [7, "PrimitivesItems"], collection_format: [8, "string"], default: [9, "Any"],
  maximum: [10, "double"], exclusive_maximum: [11, "bool"], minimum: [12, "double"], exclusive_minimum: [13, "bool"],
  max_length: [14, "int64"], min_length: [15, "int64"], pattern: [16, "string"], max_items: [17, "int64"], min_items: [18, "int64"],
  unique_items: [19, "bool"], enum: [20, "Any", r], multiple_of: [21, "double"], vendor_extension: ext(22),
};

// biome-ignore format: one message per line keeps the table reviewable against the .proto file
export const OPENAPI_V2: OpenApiMessageTable = {
  AdditionalPropertiesItem: { schema: [1, "Schema", o], boolean: [2, "bool", o] },
  Any: { value: [1, "google.protobuf.Any"], yaml: [2, "string"] },
  ApiKeySecurity: { type: [1, "string"], name: [2, "string"], in: [3, "string"], description: [4, "string"], vendor_extension: ext(5) },
  BasicAuthenticationSecurity: { type: [1, "string"], description: [2, "string"], vendor_extension: ext(3) },
  BodyParameter: { description: [1, "string"], name: [2, "string"], in: [3, "string"], required: [4, "bool"], schema: [5, "Schema"], vendor_extension: ext(6) },
  Contact: { name: [1, "string"], url: [2, "string"], email: [3, "string"], vendor_extension: ext(4) },
  Default: { additional_properties: [1, "NamedAny", r] },
  Definitions: { additional_properties: [1, "NamedSchema", r] },
  Document: {
    swagger: [1, "string"], info: [2, "Info"], host: [3, "string"], base_path: [4, "string"], schemes: [5, "string", r], consumes: [6, "string", r],
    produces: [7, "string", r], paths: [8, "Paths"], definitions: [9, "Definitions"], parameters: [10, "ParameterDefinitions"],
    responses: [11, "ResponseDefinitions"], security: [12, "SecurityRequirement", r], security_definitions: [13, "SecurityDefinitions"],
    tags: [14, "Tag", r], external_docs: [15, "ExternalDocs"], vendor_extension: ext(16),
  },
  Examples: { additional_properties: [1, "NamedAny", r] },
  ExternalDocs: { description: [1, "string"], url: [2, "string"], vendor_extension: ext(3) },
  FileSchema: {
    format: [1, "string"], title: [2, "string"], description: [3, "string"], default: [4, "Any"], required: [5, "string", r], type: [6, "string"],
    read_only: [7, "bool"], external_docs: [8, "ExternalDocs"], example: [9, "Any"], vendor_extension: ext(10),
  },
  FormDataParameterSubSchema: FORM_OR_QUERY,
  Header: {
    type: [1, "string"], format: [2, "string"], items: [3, "PrimitivesItems"], collection_format: [4, "string"], default: [5, "Any"],
    maximum: [6, "double"], exclusive_maximum: [7, "bool"], minimum: [8, "double"], exclusive_minimum: [9, "bool"], max_length: [10, "int64"],
    min_length: [11, "int64"], pattern: [12, "string"], max_items: [13, "int64"], min_items: [14, "int64"], unique_items: [15, "bool"],
    enum: [16, "Any", r], multiple_of: [17, "double"], description: [18, "string"], vendor_extension: ext(19),
  },
  HeaderParameterSubSchema: HEADER_OR_PATH,
  Headers: { additional_properties: [1, "NamedHeader", r] },
  Info: {
    title: [1, "string"], version: [2, "string"], description: [3, "string"], terms_of_service: [4, "string"], contact: [5, "Contact"],
    license: [6, "License"], vendor_extension: ext(7),
  },
  ItemsItem: { schema: [1, "Schema", r] },
  JsonReference: { _ref: [1, "string"], description: [2, "string"] },
  License: { name: [1, "string"], url: [2, "string"], vendor_extension: ext(3) },
  NamedAny: { name: [1, "string"], value: [2, "Any"] },
  NamedHeader: { name: [1, "string"], value: [2, "Header"] },
  NamedParameter: { name: [1, "string"], value: [2, "Parameter"] },
  NamedPathItem: { name: [1, "string"], value: [2, "PathItem"] },
  NamedResponse: { name: [1, "string"], value: [2, "Response"] },
  NamedResponseValue: { name: [1, "string"], value: [2, "ResponseValue"] },
  NamedSchema: { name: [1, "string"], value: [2, "Schema"] },
  NamedSecurityDefinitionsItem: { name: [1, "string"], value: [2, "SecurityDefinitionsItem"] },
  NamedString: { name: [1, "string"], value: [2, "string"] },
  NamedStringArray: { name: [1, "string"], value: [2, "StringArray"] },
  NonBodyParameter: {
    header_parameter_sub_schema: [1, "HeaderParameterSubSchema", o], form_data_parameter_sub_schema: [2, "FormDataParameterSubSchema", o],
    query_parameter_sub_schema: [3, "QueryParameterSubSchema", o], path_parameter_sub_schema: [4, "PathParameterSubSchema", o],
  },
  Oauth2AccessCodeSecurity: {
    type: [1, "string"], flow: [2, "string"], scopes: [3, "Oauth2Scopes"], authorization_url: [4, "string"], token_url: [5, "string"],
    description: [6, "string"], vendor_extension: ext(7),
  },
  Oauth2ApplicationSecurity: { type: [1, "string"], flow: [2, "string"], scopes: [3, "Oauth2Scopes"], token_url: [4, "string"], description: [5, "string"], vendor_extension: ext(6) },
  Oauth2ImplicitSecurity: { type: [1, "string"], flow: [2, "string"], scopes: [3, "Oauth2Scopes"], authorization_url: [4, "string"], description: [5, "string"], vendor_extension: ext(6) },
  Oauth2PasswordSecurity: { type: [1, "string"], flow: [2, "string"], scopes: [3, "Oauth2Scopes"], token_url: [4, "string"], description: [5, "string"], vendor_extension: ext(6) },
  Oauth2Scopes: { additional_properties: [1, "NamedString", r] },
  Operation: {
    tags: [1, "string", r], summary: [2, "string"], description: [3, "string"], external_docs: [4, "ExternalDocs"], operation_id: [5, "string"],
    produces: [6, "string", r], consumes: [7, "string", r], parameters: [8, "ParametersItem", r], responses: [9, "Responses"],
    schemes: [10, "string", r], deprecated: [11, "bool"], security: [12, "SecurityRequirement", r], vendor_extension: ext(13),
  },
  Parameter: { body_parameter: [1, "BodyParameter", o], non_body_parameter: [2, "NonBodyParameter", o] },
  ParameterDefinitions: { additional_properties: [1, "NamedParameter", r] },
  ParametersItem: { parameter: [1, "Parameter", o], json_reference: [2, "JsonReference", o] },
  PathItem: {
    _ref: [1, "string"], get: [2, "Operation"], put: [3, "Operation"], post: [4, "Operation"], delete: [5, "Operation"], options: [6, "Operation"],
    head: [7, "Operation"], patch: [8, "Operation"], parameters: [9, "ParametersItem", r], vendor_extension: ext(10),
  },
  PathParameterSubSchema: HEADER_OR_PATH,
  Paths: { vendor_extension: ext(1), path: [2, "NamedPathItem", r] },
  PrimitivesItems: {
    type: [1, "string"], format: [2, "string"], items: [3, "PrimitivesItems"], collection_format: [4, "string"], default: [5, "Any"],
    maximum: [6, "double"], exclusive_maximum: [7, "bool"], minimum: [8, "double"], exclusive_minimum: [9, "bool"], max_length: [10, "int64"],
    min_length: [11, "int64"], pattern: [12, "string"], max_items: [13, "int64"], min_items: [14, "int64"], unique_items: [15, "bool"],
    enum: [16, "Any", r], multiple_of: [17, "double"], vendor_extension: ext(18),
  },
  Properties: { additional_properties: [1, "NamedSchema", r] },
  QueryParameterSubSchema: FORM_OR_QUERY,
  Response: { description: [1, "string"], schema: [2, "SchemaItem"], headers: [3, "Headers"], examples: [4, "Examples"], vendor_extension: ext(5) },
  ResponseDefinitions: { additional_properties: [1, "NamedResponse", r] },
  ResponseValue: { response: [1, "Response", o], json_reference: [2, "JsonReference", o] },
  Responses: { response_code: [1, "NamedResponseValue", r], vendor_extension: ext(2) },
  Schema: {
    _ref: [1, "string"], format: [2, "string"], title: [3, "string"], description: [4, "string"], default: [5, "Any"], multiple_of: [6, "double"],
    maximum: [7, "double"], exclusive_maximum: [8, "bool"], minimum: [9, "double"], exclusive_minimum: [10, "bool"], max_length: [11, "int64"],
    min_length: [12, "int64"], pattern: [13, "string"], max_items: [14, "int64"], min_items: [15, "int64"], unique_items: [16, "bool"],
    max_properties: [17, "int64"], min_properties: [18, "int64"], required: [19, "string", r], enum: [20, "Any", r],
    additional_properties: [21, "AdditionalPropertiesItem"], type: [22, "TypeItem"], items: [23, "ItemsItem"], all_of: [24, "Schema", r],
    properties: [25, "Properties"], discriminator: [26, "string"], read_only: [27, "bool"], xml: [28, "Xml"], external_docs: [29, "ExternalDocs"],
    example: [30, "Any"], vendor_extension: ext(31),
  },
  SchemaItem: { schema: [1, "Schema", o], file_schema: [2, "FileSchema", o] },
  SecurityDefinitions: { additional_properties: [1, "NamedSecurityDefinitionsItem", r] },
  SecurityDefinitionsItem: {
    basic_authentication_security: [1, "BasicAuthenticationSecurity", o], api_key_security: [2, "ApiKeySecurity", o],
    oauth2_implicit_security: [3, "Oauth2ImplicitSecurity", o], oauth2_password_security: [4, "Oauth2PasswordSecurity", o],
    oauth2_application_security: [5, "Oauth2ApplicationSecurity", o], oauth2_access_code_security: [6, "Oauth2AccessCodeSecurity", o],
  },
  SecurityRequirement: { additional_properties: [1, "NamedStringArray", r] },
  StringArray: { value: [1, "string", r] },
  Tag: { name: [1, "string"], description: [2, "string"], external_docs: [3, "ExternalDocs"], vendor_extension: ext(4) },
  TypeItem: { value: [1, "string", r] },
  VendorExtension: { additional_properties: [1, "NamedAny", r] },
  Xml: { name: [1, "string"], namespace: [2, "string"], prefix: [3, "string"], attribute: [4, "bool"], wrapped: [5, "bool"], vendor_extension: ext(6) },
};

/** google/protobuf/any.proto, referenced by `Any.value` (never set by the sandbox). */
export const GOOGLE_PROTOBUF: OpenApiMessageTable = {
  Any: { type_url: [1, "string"], value: [2, "bytes"] },
};
