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
    const lower = name.toLowerCase();
    switch (lower) {
      case 'host': hosts++; host = value; continue;
      case 'content-length': lengths++; length = value; continue;
      case 'transfer-encoding': te = te === undefined ? value : `${te}, ${value}`; continue;
      case 'connection': connection = connection === '' ? value : `${connection}, ${value}`; continue;
      case 'expect': expect = true; continue;
      case 'trailer': trailers = true; continue;
      case 'te': if (/(^|,)\s*trailers\s*(;|,|$)/i.test(value)) trailers = true; continue;
      case 'upgrade': upgradeField = true; continue;
      // the rest of the hop-by-hop fields, named here rather than looked up in a set: a set
      // lookup hashes each field's fresh lower-case name (~0.3 k instructions per field, issue 16)
      case 'keep-alive': case 'proxy-connection': case 'proxy-authenticate': case 'proxy-authorization': case 'http2-settings': continue;
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
    const digits = length.trim();
    if (!DIGITS.test(digits)) return reject('invalid Content-Length');
    const n = Number(digits);
    if (!Number.isSafeInteger(n)) return reject('Content-Length too large');
    if (n > 0) framing = { kind: 'length', length: n };
  }
  const named = connectionNamed(connection);
  return {
    kind: 'fast',
    head: { method, target, versionMinor: minor, host: host ?? '', framing, lengthField: length?.trim() ?? '', keepAlive, fields: named === null ? fields : fields.filter((_, i) => !named.has(fields[i - (i % 2)]!.toLowerCase())) },
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
