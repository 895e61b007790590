// Writes a head as one latin1 buffer (one write with the first body bytes, no per-field
// writes): the request line or status line, the end-to-end fields as received, fields the
// proxy adds, then the framing we chose (Content-Length or chunked), so framing on the wire
// always comes from the descriptor, never from the sender. Fields the proxy adds are checked:
// a name must be a token and a value free of CR, LF and NUL (RFC 9110 §5.5), or nothing is
// written (the received fields were checked by llhttp already).
import { MeshletError } from '../../../api/errors.ts';
import type { Framing } from './request-head.ts';
import type { ResponseFraming } from './response-head.ts';

/** A field name (RFC 9110 token). */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What a field value must never hold: it would split or end the head. */
export const BAD_VALUE = /[\r\n\0]/;

/** A field (or status line) the proxy was asked to write is not valid HTTP: code E_INVALID_FIELD. */
export class InvalidFieldError extends MeshletError {
  constructor(name: string) {
    super('E_INVALID_FIELD', `refusing to write header field ${JSON.stringify(name)}: invalid name or value`);
  }
}

function appendFields(out: string, fields: readonly string[]): string {
  for (let i = 0; i + 1 < fields.length; i += 2) out += `${fields[i]!}: ${fields[i + 1]!}\r\n`;
  return out;
}

function appendAdded(out: string, added: readonly string[]): string {
  for (let i = 0; i + 1 < added.length; i += 2) {
    const name = added[i]!;
    const value = added[i + 1]!;
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) throw new InvalidFieldError(name);
    out += `${name}: ${value}\r\n`;
  }
  return out;
}

function framingField(framing: Framing | ResponseFraming): string {
  if (framing.kind === 'length') return `content-length: ${framing.length}\r\n`;
  if (framing.kind === 'chunked') return 'transfer-encoding: chunked\r\n';
  return '';
}

export interface RequestLine { method: string; target: string; host: string; framing: Framing; fields: readonly string[] }

/** `METHOD target HTTP/1.1`, Host first, the fields, `added`, the framing. */
export function writeRequestHead(head: RequestLine, added: readonly string[] = []): Buffer {
  let out = `${head.method} ${head.target} HTTP/1.1\r\nhost: ${head.host}\r\n`;
  out = appendFields(out, head.fields);
  out = appendAdded(out, added);
  return Buffer.from(`${out}${framingField(head.framing)}\r\n`, 'latin1');
}

export interface StatusLine { status: number; reason: string; fields: readonly string[] }

/**
 * `HTTP/1.1 status reason`, the fields, `added`, the framing towards the client (a body read
 * until close goes out chunked), and `connection: close` when the client connection ends after it.
 */
export function writeResponseHead(head: StatusLine, framing: Framing | ResponseFraming, close: boolean, added: readonly string[] = []): Buffer {
  if (!Number.isInteger(head.status) || head.status < 100 || head.status > 999 || BAD_VALUE.test(head.reason)) throw new InvalidFieldError(':status');
  let out = `HTTP/1.1 ${head.status} ${head.reason}\r\n`;
  out = appendFields(out, head.fields);
  out = appendAdded(out, added);
  out += framing.kind === 'until-close' ? 'transfer-encoding: chunked\r\n' : framingField(framing);
  if (close) out += 'connection: close\r\n';
  return Buffer.from(`${out}\r\n`, 'latin1');
}

/**
 * A request head exactly as llhttp reported it (method, target, version, every field in order,
 * values without the surrounding whitespace llhttp trimmed): what the general path is handed,
 * unshifted in front of the rest of the read, when a request falls back after its head was parsed.
 */
export function writeReceivedHead(major: number, minor: number, method: string, target: string, raw: readonly string[]): Buffer {
  return Buffer.from(`${appendFields(`${method} ${target} HTTP/${major}.${minor}\r\n`, raw)}\r\n`, 'latin1');
}
