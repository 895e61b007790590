// What crosses between the controller client and its decoding worker (wire-decoder-worker.ts).
import type { ControllerMessage } from '../../api/wire.ts';

/**
 * One frame as received, tagged with the connection it came on; or, first thing for a worker
 * started again after it was let go, the table in force (the base of the next patch).
 */
export type DecoderRequest =
  | { kind: 'frame'; conn: number; frame: Uint8Array }
  | { kind: 'base'; parts: TableParts };

/**
 * A table as JSON text in slices: `head` is the table without its services and backends, which
 * follow in parts of at most 500 each, so the serving thread parses one at a time.
 */
export interface TableParts {
  head: string;
  services: string[];
  backends: string[];
}

export type DecoderResult =
  /** Any message but an update or a patch, parsed and checked. */
  | { kind: 'message'; conn: number; msg: ControllerMessage }
  /** A validated table (an update, or a patch applied to the previous table). */
  | { kind: 'table'; conn: number; type: 'update' | 'patch'; version: string; parts: TableParts }
  /** A table that did not validate, or a patch on another base: to be nacked. */
  | { kind: 'refused'; conn: number; type: 'update' | 'patch'; version: string; reason: string; resend: boolean }
  /** A frame that does not parse as a controller message: the connection is dropped. */
  | { kind: 'invalid'; conn: number; message: string };
