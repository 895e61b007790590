// Error classes shared by every process. One class per stable code: callers branch on `code`
// (or instanceof), never on message text, so messages can improve without breaking anyone.

export class MeshletError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export interface ValidationIssue {
  /** JSON path of the offending value, e.g. `gateways[0].ports[1].port`. */
  path: string;
  message: string;
}

/** A routing table (or wire message) that an agent must refuse: it keeps its last good one. */
export class RoutingTableInvalidError extends MeshletError {
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[]) {
    const head = issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`).join('; ');
    const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
    super('E_ROUTING_TABLE_INVALID', `invalid routing table: ${head}${more}`);
    this.issues = issues;
  }
}
