// Writes a head as one latin1 buffer (one write with the first body bytes, no per-field
// writes): the request line or status line, the end-to-end fields as received, fields the
// proxy adds, then the framing we chose (Content-Length or chunked), so framing on the wire
// always comes from the descriptor, never from the sender. Fields the proxy adds are checked:
// a name must be a token and a value free of CR, LF and NUL (RFC 9110 §5.5), or nothing is
// written (the received fields were checked by llhttp already).
import { MeshletError } from '../../../api/errors.ts';
import type { Framing } from './request-head.ts';
import type { RawFields, ResponseFraming } from './response-head.ts';

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

/** A field record (lower-case names, repeated values as arrays), as the engine's plan carries it. */
export type FieldRecord = Readonly<Record<string, string | readonly string[]>>;

/**
 * writeRequestHead from a field record, without the [name, value, …] list in between (one
 * array and a pass per request): `headers` must hold neither Host nor TE (the caller's
 * upstream copy leaves them out); its framing fields are skipped, the framing is the descriptor's.
 * `body`: Content-Length body pieces written after the head, in the same buffer (the first
 * attempt's gathered body: one write, one allocation).
 */
export function writeRequestHeadFrom(head: Omit<RequestLine, 'fields'>, headers: FieldRecord, body: readonly Buffer[] = NO_BODY): Buffer {
  let out = `${head.method} ${head.target} HTTP/1.1\r\nhost: ${head.host}\r\n`;
  for (const name in headers) {
    if (name === 'content-length' || name === 'transfer-encoding') continue;
    const v = headers[name]!;
    if (typeof v === 'string') out += `${name}: ${v}\r\n`;
    else for (const x of v) out += `${name}: ${x}\r\n`;
  }
  out += `${framingField(head.framing)}\r\n`;
  if (body.length === 0) return Buffer.from(out, 'latin1');
  // the head and the body pieces in one allocation: the head's latin1 bytes are written straight
  // into it (one byte per character), not made a buffer of their own and copied again by concat
  let size = out.length;
  for (let i = 0; i < body.length; i++) size += body[i]!.length;
  const buf = Buffer.allocUnsafe(size);
  let at = buf.write(out, 0, 'latin1');
  for (let i = 0; i < body.length; i++) {
    buf.set(body[i]!, at);
    at += body[i]!.length;
  }
  return buf;
}

const NO_BODY: readonly Buffer[] = [];

export interface StatusLine { status: number; reason: string; fields: readonly string[] }

/**
 * The fields announcing a kept-alive connection, as node:http writes them on the general path
 * (`Connection: keep-alive`, then `Keep-Alive: timeout=<whole seconds>` unless the timeout is
 * 0): a pool reading the hint (undici, the fast path's own,
 * upstream-keep-alive.ts) keeps its idle connection to us until a second before we would close
 * it, instead of its own shorter default. Built once per connection, not per answer.
 */
export function keepAliveFields(timeoutMs: number): string {
  const s = Math.floor(timeoutMs / 1000);
  return timeoutMs > 0 ? `connection: keep-alive\r\nkeep-alive: timeout=${s}\r\n` : 'connection: keep-alive\r\n';
}

// A proxy's answers repeat a few status lines and lengths: the last of each, checked and built,
// is kept, so a repeat costs a comparison instead of a regex test, a number's text and a concatenation.
let lastStatus = 0;
let lastReason = '';
let lastStatusLine = '';
let lastLength = -1;
let lastLengthLine = '';

function statusLine(status: number, reason: string): string {
  if (status === lastStatus && reason === lastReason) return lastStatusLine;
  if (!Number.isInteger(status) || status < 100 || status > 999 || BAD_VALUE.test(reason)) throw new InvalidFieldError(':status');
  lastStatus = status;
  lastReason = reason;
  lastStatusLine = `HTTP/1.1 ${status} ${reason}\r\n`;
  return lastStatusLine;
}

function responseFraming(framing: Framing | ResponseFraming): string {
  if (framing.kind === 'length') {
    if (framing.length !== lastLength) {
      lastLength = framing.length;
      lastLengthLine = `content-length: ${framing.length}\r\n`;
    }
    return lastLengthLine;
  }
  return framing.kind === 'chunked' || framing.kind === 'until-close' ? 'transfer-encoding: chunked\r\n' : '';
}

/**
 * `HTTP/1.1 status reason`, the fields, `added`, the framing towards the client (a body read
 * until close goes out chunked), and `connection: close` when the client connection ends after
 * it, else `keepAlive` (keepAliveFields' line, or '' to announce nothing: a 1xx). `date`: a Date
 * value of ours (http-date.ts, never the sender's) written after `added`, unchecked.
 */
export function writeResponseHead(head: StatusLine, framing: Framing | ResponseFraming, close: boolean, added: readonly string[] = NO_FIELDS, keepAlive = '', date = ''): Buffer {
  let out = statusLine(head.status, head.reason);
  const fields = head.fields;
  for (let i = 0; i + 1 < fields.length; i += 2) out += `${fields[i]!}: ${fields[i + 1]!}\r\n`;
  if (added.length > 0) out = appendAdded(out, added);
  if (date !== '') out += `date: ${date}\r\n`;
  out += responseFraming(framing);
  out += close ? 'connection: close\r\n\r\n' : `${keepAlive}\r\n`;
  return Buffer.from(out, 'latin1');
}

const NO_FIELDS: readonly string[] = [];

// What follows the fields (our Date, the framing, the connection's line, the blank line) is the
// same for most answers of a second: the last one is kept, as latin1 bytes.
let lastTailDate = '';
let lastTailFraming = '';
let lastTailClose = false;
let lastTailKeepAlive = '';
let lastTail = Buffer.from('\r\n', 'latin1');

function headTail(date: string, framingLine: string, close: boolean, keepAlive: string): Buffer {
  if (date === lastTailDate && framingLine === lastTailFraming && close === lastTailClose && keepAlive === lastTailKeepAlive) return lastTail;
  lastTailDate = date;
  lastTailFraming = framingLine;
  lastTailClose = close;
  lastTailKeepAlive = keepAlive;
  lastTail = Buffer.from(`${date !== '' ? `date: ${date}\r\n` : ''}${framingLine}${close ? 'connection: close\r\n\r\n' : `${keepAlive}\r\n`}`, 'latin1');
  return lastTail;
}

// the last status line's bytes (statusLine keeps its string)
let lastLineText = '';
let lastLine = Buffer.alloc(0);

/**
 * writeResponseHead's bytes (no `added`) with the fields copied from the upstream's read
 * (ResponseHead.raw: lines already `name: value`, hop-by-hop lines left out) and the status
 * line and tail from kept bytes: three copies into one buffer. Writing the same head from
 * strings cost ~4.3 k instructions, over half of it Buffer.from flattening the concatenated
 * head; writing strings into a buffer costs ~0.7 k per call into Buffer's C++ (issue 16, ADR 0017).
 */
export function writeResponseHeadRaw(status: number, reason: string, raw: RawFields, framing: Framing | ResponseFraming, close: boolean, keepAlive = '', date = ''): Buffer {
  const text = statusLine(status, reason);
  if (text !== lastLineText) {
    lastLineText = text;
    lastLine = Buffer.from(text, 'latin1');
  }
  const line = lastLine;
  const tail = headTail(date, responseFraming(framing), close, keepAlive);
  const runs = raw.runs;
  const end = raw.count * 2;
  let size = line.length + tail.length;
  for (let i = 0; i < end; i += 2) size += runs[i + 1]! - runs[i]!;
  const buf = Buffer.allocUnsafe(size);
  buf.set(line, 0);
  let at = line.length;
  const src = raw.src;
  for (let i = 0; i < end; i += 2) {
    const n = runs[i + 1]! - runs[i]!;
    buf.set(new Uint8Array(src.buffer, src.byteOffset + runs[i]!, n), at);
    at += n;
  }
  buf.set(tail, at);
  return buf;
}

/**
 * A request head exactly as llhttp reported it (method, target, version, every field in order,
 * values without the surrounding whitespace llhttp trimmed): what the general path is handed,
 * unshifted in front of the rest of the read, when a request falls back after its head was parsed.
 */
export function writeReceivedHead(major: number, minor: number, method: string, target: string, raw: readonly string[]): Buffer {
  return Buffer.from(`${appendFields(`${method} ${target} HTTP/${major}.${minor}\r\n`, raw)}\r\n`, 'latin1');
}
