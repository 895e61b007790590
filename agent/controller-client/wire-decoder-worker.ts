// The controller connection's decoding worker (issue 15): every frame the controller sends is
// parsed and checked here, and every routing table (a whole update, or a patch applied to the
// table this worker decoded last) is validated here, so none of it runs on the thread that
// serves requests: for 10 000 routes that was ~0.25 s of JSON.parse and ~0.75 s of validate()
// per update or patch, twice over. A worker started again after being let go gets the table in
// force first ('base'), so patches still apply. Tables go back as JSON text in slices (TableParts) that the
// serving thread parses one at a time between requests. Messages: DecoderRequest in,
// DecoderResult out, in frame order.
import { parentPort } from 'node:worker_threads';
import { RoutingTableInvalidError } from '../../api/errors.ts';
import type { RoutingTable } from '../../api/routing-table.ts';
import { validate } from '../../api/validate.ts';
import { applyPatch, parseMessage, type ControllerMessage } from '../../api/wire.ts';
import type { DecoderRequest, DecoderResult, TableParts } from './wire-decoder-types.ts';

const PART_ITEMS = 500;

function slices<T>(items: readonly T[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < items.length; i += PART_ITEMS) out.push(JSON.stringify(items.slice(i, i + PART_ITEMS)));
  return out;
}

function parts(table: RoutingTable): TableParts {
  return { head: JSON.stringify({ ...table, services: [], backends: [] }), services: slices(table.services), backends: slices(table.backends) };
}

const port = parentPort!;
const post = (r: DecoderResult): void => port.postMessage(r);
/** The last table validated here: what the serving thread runs once it has assembled it. */
let current: RoutingTable | null = null;

function decodeTable(conn: number, type: 'update' | 'patch', table: RoutingTable): void {
  try {
    validate(table);
  } catch (err) {
    // Only a content hash mismatch can be the patch's fault; anything else is the table's.
    const issues = err instanceof RoutingTableInvalidError ? err.issues : [];
    post({ kind: 'refused', conn, type, version: table.version, reason: (err as Error).message, resend: issues.length > 0 && issues.every((i) => i.path === 'version') });
    return;
  }
  current = table;
  post({ kind: 'table', conn, type, version: table.version, parts: parts(table) });
}

port.on('message', (req: DecoderRequest) => {
  if (req.kind === 'base') {
    const table = JSON.parse(req.parts.head) as RoutingTable;
    for (const slice of req.parts.services) table.services.push(...(JSON.parse(slice) as RoutingTable['services']));
    for (const slice of req.parts.backends) table.backends.push(...(JSON.parse(slice) as RoutingTable['backends']));
    current = table;
    return;
  }
  let msg: ControllerMessage;
  try {
    msg = parseMessage(Buffer.from(req.frame.buffer, req.frame.byteOffset, req.frame.byteLength), 'controller') as ControllerMessage;
  } catch (err) {
    post({ kind: 'invalid', conn: req.conn, message: (err as Error).message });
    return;
  }
  if (msg.type === 'update') decodeTable(req.conn, 'update', msg.table);
  else if (msg.type === 'patch') {
    if (current?.version !== msg.base) {
      post({ kind: 'refused', conn: req.conn, type: 'patch', version: msg.version, reason: `patch base ${msg.base} is not the table in force (${current?.version ?? 'none'})`, resend: true });
      return;
    }
    decodeTable(req.conn, 'patch', applyPatch(current, msg));
  } else post({ kind: 'message', conn: req.conn, msg });
});
