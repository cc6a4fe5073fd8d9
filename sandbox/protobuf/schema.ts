/**
 * The shape of the descriptor tables in ./tables: a compact, hand-written stand-in for the
 * Kubernetes generated.proto files. Each message maps its proto field names to
 * `[fieldNumber, type, flag?, jsonName?]`.
 *
 * - `type` is a proto scalar (`string`, `bool`, `int32`, `int64`, `bytes`, `double`), a message
 *   (`Container` within the same package, `meta.ObjectMeta` across packages) or a map
 *   (`map<string,resource.Quantity>`).
 * - The flag says how the field maps to the Go struct, which decides the JSON the API server
 *   would produce from it:
 *   - `R` repeated;
 *   - `K` keep zero values: the Go field is a pointer (`*int32 replicas`) or has no `omitempty`,
 *     so `0`, `""` and `false` are meaningful. Without it a zero scalar is dropped, because gogo
 *     writes every non-pointer field on the wire and Go's `omitempty` drops it again in JSON;
 *   - `I` inline: an embedded Go struct (`json:",inline"`) whose fields belong to the parent
 *     object in JSON (Volume.volumeSource, Probe.handler, ConfigMapKeySelector's reference...).
 * - `jsonName` is only needed where the proto name differs from the JSON one (`aPIGroup`).
 */

export const R = "r";
export const K = "k";
export const I = "i";

export type FieldFlag = typeof R | typeof K | typeof I;

export type FieldSpec = readonly [id: number, type: string, flag?: FieldFlag, jsonName?: string];

export type MessageTable = Readonly<Record<string, Readonly<Record<string, FieldSpec>>>>;
