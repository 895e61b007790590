// One pass over a response head from the upstream (parsed by llhttp in response mode): the
// end-to-end fields and the framing of the body as received, which decides how it is framed
// to the client. No body for HEAD, 1xx, 204 and 304 (RFC 9112 §6.3); without Content-Length or
// chunked, the body runs until the upstream closes (re-framed as chunked for an HTTP/1.1 client).

import type { Framing } from './request-head.ts';

export type ResponseFraming = Framing | { kind: 'until-close' };

export interface ResponseHead {
  status: number;
  reason: string;
  framing: ResponseFraming;
  /** The upstream connection may be reused after this response. */
  keepAlive: boolean;
  /** End-to-end fields [name, value, …]: no hop-by-hop and no framing fields. */
  fields: string[];
  /**
   * The same fields as bytes of the upstream's read, when the quick scan read the head and every
   * line is `name: value` (what the head writer would write for it): copied through instead of
   * written from the strings. Valid only during the sink's onResponseHead (the read's buffer is reused).
   */
  raw: RawFields | null;
}

/** Kept field lines of a read: `runs` holds [start, end, …] (`count` pairs), each run whole lines with their CRLF. */
export interface RawFields { src: Buffer; runs: Int32Array; count: number }

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization', 'transfer-encoding', 'content-length']);
/** The lengths of those names: a field of another length (Date, Server, Content-Type, …) is not lower-cased to be looked at. */
const HOP_LENGTH = new Uint8Array(32);
for (const name of HOP) HOP_LENGTH[name.length] = 1;

/** A Connection field that names no other field: what nearly every upstream sends. */
const PLAIN_CONNECTION = /^[ \t]*(?:keep-alive|close)[ \t]*$/i;

function withoutNamed(fields: string[], connection: string): string[] {
  // the common `Connection: keep-alive` costs one test, not a split and a set per response
  if (PLAIN_CONNECTION.test(connection)) return fields;
  const named = new Set<string>();
  for (const t of connection.split(',')) {
    const name = t.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive') named.add(name);
  }
  if (named.size === 0) return fields;
  const out: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) if (!named.has(fields[i]!.toLowerCase())) out.push(fields[i]!, fields[i + 1]!);
  return out;
}

export function describeResponse(status: number, reason: string, raw: readonly string[], keepAlive: boolean, requestMethod: string): ResponseHead {
  let length: string | undefined;
  let chunked = false;
  let connection = '';
  let fields: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length >= HOP_LENGTH.length || HOP_LENGTH[name.length] !== 1) {
      fields.push(name, raw[i + 1]!);
      continue;
    }
    const lower = name.toLowerCase();
    if (lower === 'content-length') length = raw[i + 1]!.trim();
    else if (lower === 'transfer-encoding') chunked = true;
    else if (lower === 'connection') connection = connection === '' ? raw[i + 1]! : `${connection},${raw[i + 1]!}`;
    if (!HOP.has(lower)) fields.push(name, raw[i + 1]!);
  }
  // fields the Connection field names are hop-by-hop too (RFC 9110 §7.6.1), as stripHopByHop drops them on the general path
  if (connection !== '') fields = withoutNamed(fields, connection);
  let framing: ResponseFraming;
  if (requestMethod === 'HEAD' || status < 200 || status === 204 || status === 304) framing = { kind: 'none' };
  else if (chunked) framing = { kind: 'chunked' }; // llhttp decodes; a Content-Length beside it is ignored (RFC 9112 §6.3 ¶3)
  else if (length !== undefined) framing = { kind: 'length', length: Number(length) };
  else framing = { kind: 'until-close' };
  // HEAD and 304: Content-Length describes the representation, not this message; kept as sent
  if ((requestMethod === 'HEAD' || status === 304) && length !== undefined) fields.push('content-length', length);
  return { status, reason, framing, keepAlive: keepAlive && framing.kind !== 'until-close', fields, raw: null };
}
