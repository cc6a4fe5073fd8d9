/**
 * Errors raised by the patch and server-side-apply functions. The HTTP layer maps them to
 * metav1.Status responses: PatchError → its `code` (422 Invalid by default, 400 BadRequest for
 * malformed patch documents); ConflictError → 409 with reason Conflict and one
 * `FieldManagerConflict` cause per conflicting field.
 */
export class PatchError extends Error {
  override readonly name = "PatchError";
  /** HTTP status: 422 when the patch cannot be applied to the object, 400 when the patch is malformed. */
  readonly code: 400 | 422;
  constructor(message: string, code: 400 | 422 = 422) {
    super(message);
    this.code = code;
  }
}

export interface FieldConflict {
  /** The conflicting manager's name (fieldManager), e.g. `kubectl-client-side-apply`. */
  manager: string;
  /** The manager as the API server prints it: `"kubectl"`, `"kubectl-client-side-apply" using apps/v1`. */
  description: string;
  /** Field path as the API server prints it: `.spec.replicas`, `.spec.containers[name="app"].image`. */
  field: string;
}

export class ConflictError extends Error {
  override readonly name = "ConflictError";
  readonly code = 409;
  readonly reason = "Conflict";
  readonly conflicts: FieldConflict[];
  constructor(conflicts: FieldConflict[]) {
    super(conflictMessage(conflicts));
    this.conflicts = conflicts;
  }

  /** The `details.causes` of the API server's 409 Status. */
  get causes(): { reason: "FieldManagerConflict"; message: string; field: string }[] {
    return this.conflicts.map((c) => ({
      reason: "FieldManagerConflict" as const,
      message: `conflict with ${c.description}`,
      field: c.field,
    }));
  }
}

function conflictMessage(conflicts: FieldConflict[]): string {
  if (conflicts.length === 1) {
    const c = conflicts[0];
    return `Apply failed with 1 conflict: conflict with ${c.description}: ${c.field}`;
  }
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) {
    const list = byManager.get(c.description) ?? [];
    list.push(c.field);
    byManager.set(c.description, list);
  }
  const lines: string[] = [];
  for (const manager of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${manager}:`);
    for (const field of byManager.get(manager)!) lines.push(`- ${field}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
}
