// One pass over a request head that llhttp accepted: the descriptor the fast path carries to the
// upstream write (method, target, Host, framing, keep-alive, the end-to-end fields in order), or
// the reason the request must take the general path, or a 400. llhttp has already refused
// malformed bytes (bare LF or CR, obs-fold, NUL and other controls, spaces before the colon,
// bad Content-Length, CL together with TE, duplicate CL, TE not ending in chunked); the checks
// on framing here repeat the ones that matter for smuggling, so this code stays safe even if
// llhttp's flags ever change. Anything uncommon goes to the general path rather than being
// handled twice: the fast path only takes what it can forward byte-exactly with framing we write.

export type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };

export interface RequestHead {
  method: string;
  /** origin-form only ("/path?query"). */
  target: string;
  versionMinor: number;
  host: string;
  framing: Framing;
  /** The Content-Length field as received (trimmed), '' when absent: routing matches on it as the general path does. */
  lengthField: string;
  keepAlive: boolean;
  /** End-to-end fields [name, value, …] in arrival order: no hop-by-hop, no framing, no Host. */
  fields: string[];
}

export type FallbackReason = 'version' | 'upgrade' | 'connect' | 'expect' | 'transfer-coding' | 'target-form' | 'trailers';

export type RequestDecision =
  | { kind: 'fast'; head: RequestHead }
  | { kind: 'fallback'; reason: FallbackReason }
  | { kind: 'reject'; status: 400; reason: string };

const DIGITS = /^[0-9]+$/;

/** The value of a string of ASCII digits, or -1 (empty, or another character); Number() above 15 digits (past 2^53 it rounds as Number does). */
function decimal(s: string): number {
  if (s.length === 0) return -1;
  if (s.length > 15) return DIGITS.test(s) ? Number(s) : -1;
  let n = 0;
  for (let k = 0; k < s.length; k++) {
    const d = s.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

// The fields describeRequest reads or drops, found by length and then compared ignoring ASCII
// case, instead of a lower-case copy of every name (~0.27 k instructions a field; issue 16).
// Field names are tokens (llhttp refuses others), so ASCII folding is what toLowerCase does to them.
const OTHER = 0;
const HOST = 1;
const CONTENT_LENGTH = 2;
const TRANSFER_ENCODING = 3;
const CONNECTION = 4;
const EXPECT = 5;
const TRAILER = 6;
const TE = 7;
const UPGRADE = 8;
/** Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, HTTP2-Settings: dropped. */
const OTHER_HOP = 9;

/** `name` is `lower` (lower-case ASCII) once its A–Z are lower-cased. */
function isNamed(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let k = 0; k < lower.length; k++) {
    const c = name.charCodeAt(k);
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(k)) return false;
  }
  return true;
}

function hopField(name: string): number {
  switch (name.length) {
    case 2: return isNamed(name, 'te') ? TE : OTHER;
    case 4: return isNamed(name, 'host') ? HOST : OTHER;
    case 6: return isNamed(name, 'expect') ? EXPECT : OTHER;
    case 7: return isNamed(name, 'trailer') ? TRAILER : isNamed(name, 'upgrade') ? UPGRADE : OTHER;
    case 10: return isNamed(name, 'connection') ? CONNECTION : isNamed(name, 'keep-alive') ? OTHER_HOP : OTHER;
    case 14: return isNamed(name, 'content-length') ? CONTENT_LENGTH : isNamed(name, 'http2-settings') ? OTHER_HOP : OTHER;
    case 16: return isNamed(name, 'proxy-connection') ? OTHER_HOP : OTHER;
    case 17: return isNamed(name, 'transfer-encoding') ? TRANSFER_ENCODING : OTHER;
    case 18: return isNamed(name, 'proxy-authenticate') ? OTHER_HOP : OTHER;
    case 19: return isNamed(name, 'proxy-authorization') ? OTHER_HOP : OTHER;
    default: return OTHER;
  }
}

function reject(reason: string): RequestDecision {
  return { kind: 'reject', status: 400, reason };
}

/** Decides from llhttp's view of a request head (major/minor, raw fields, method, target, upgrade, keep-alive). */
export function describeRequest(major: number, minor: number, raw: readonly string[], method: string, target: string, upgrade: boolean, keepAlive: boolean): RequestDecision {
  if (major !== 1 || (minor !== 0 && minor !== 1)) return { kind: 'fallback', reason: 'version' };
  if (method === 'CONNECT') return { kind: 'fallback', reason: 'connect' };
  if (upgrade) return { kind: 'fallback', reason: 'upgrade' };
  let host: string | undefined;
  let hosts = 0;
  let length: string | undefined;
  let lengths = 0;
  let te: string | undefined;
  let connection = '';
  let expect = false;
  let trailers = false;
  let upgradeField = false;
  const fields: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    switch (hopField(name)) {
      case HOST: hosts++; host = value; continue;
      case CONTENT_LENGTH: lengths++; length = value; continue;
      case TRANSFER_ENCODING: te = te === undefined ? value : `${te}, ${value}`; continue;
      case CONNECTION: connection = connection === '' ? value : `${connection}, ${value}`; continue;
      case EXPECT: expect = true; continue;
      case TRAILER: trailers = true; continue;
      case TE: if (/(^|,)\s*trailers\s*(;|,|$)/i.test(value)) trailers = true; continue;
      case UPGRADE: upgradeField = true; continue;
      case OTHER_HOP: continue;
      default:
        fields.push(name, value);
    }
  }
  // llhttp refuses these too; repeated so framing never rests on one layer
  if (te !== undefined && length !== undefined) return reject('both Transfer-Encoding and Content-Length');
  if (lengths > 1) return reject('more than one Content-Length');
  if (hosts > 1) return reject('more than one Host');
  if (hosts === 0 && minor === 1) return reject('missing Host');
  if (upgradeField) return { kind: 'fallback', reason: 'upgrade' };
  if (expect) return { kind: 'fallback', reason: 'expect' };
  if (trailers) return { kind: 'fallback', reason: 'trailers' };
  if (target.charCodeAt(0) !== 0x2f /* "/" */) return { kind: 'fallback', reason: 'target-form' };
  let framing: Framing = { kind: 'none' };
  if (te !== undefined) {
    // only "chunked" alone: other codings (and any coding in HTTP/1.0, RFC 9112 §6.1) go general
    if (minor === 0 || te.trim().toLowerCase() !== 'chunked') return { kind: 'fallback', reason: 'transfer-coding' };
    framing = { kind: 'chunked' };
  } else if (length !== undefined) {
    length = length.trim();
    const n = decimal(length);
    if (n < 0) return reject('invalid Content-Length');
    if (!Number.isSafeInteger(n)) return reject('Content-Length too large');
    if (n > 0) framing = { kind: 'length', length: n };
  }
  const named = connectionNamed(connection);
  return {
    kind: 'fast',
    head: { method, target, versionMinor: minor, host: host ?? '', framing, lengthField: length ?? '', keepAlive, fields: named === null ? fields : fields.filter((_, i) => !named.has(fields[i - (i % 2)]!.toLowerCase())) },
  };
}

/** Field names the Connection field lists (beyond close / keep-alive), or null when none. */
function connectionNamed(connection: string): Set<string> | null {
  if (connection === '') return null;
  let out: Set<string> | null = null;
  for (const t of connection.split(',')) {
    const name = t.trim().toLowerCase();
    if (name === '' || name === 'close' || name === 'keep-alive') continue;
    (out ??= new Set()).add(name);
  }
  return out;
}
