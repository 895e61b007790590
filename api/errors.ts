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

/**
 * A proxy could not bind a port it must serve (in use, no permission). The process exits non-zero
 * rather than run half-started (issue 15): `meshlet` prints the message and exits 2.
 */
export class ListenFailedError extends MeshletError {
  readonly port: number;
  constructor(what: string, host: string, port: number, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const why = code === 'EADDRINUSE' ? 'the address is already in use (another process holds it)'
      : code === 'EACCES' ? 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)'
        : code === 'EADDRNOTAVAIL' ? 'the address is not one of this host\'s'
          : (cause as Error | undefined)?.message ?? String(cause);
    const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    super('E_LISTEN_FAILED', `cannot listen on the ${what} (${where}): ${why}`, { cause });
    this.port = port;
  }
}
