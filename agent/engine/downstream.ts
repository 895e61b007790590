// A downstream request as the matcher sees it (the RequestDescriptor), with the checks that
// turn a malformed request into a 400 before any routing.
import { MeshletError } from '../../api/errors.ts';
import type { RequestDescriptor } from '../route/types.ts';
import { isH2, type DownstreamRequest } from '../listener/downstream.ts';
import { stripHopByHop } from './hop-by-hop.ts';

export type { DownstreamRequest, DownstreamResponse } from '../listener/downstream.ts';
export { isH2 };

export function isGrpc(req: DownstreamRequest): boolean {
  const ct = req.headers['content-type'];
  return typeof ct === 'string' && ct.startsWith('application/grpc');
}

/** Splits an origin-form or absolute-form target; absolute-form also yields its authority. */
export function parseTarget(url: string): { authority: string | null; path: string; query: string } {
  let rest = url;
  let authority: string | null = null;
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(url);
  if (abs) {
    authority = abs[1]!.replace(/^[^@]*@/, '');
    rest = url.slice(abs[0].length) || '/';
    if (rest.startsWith('?')) rest = `/${rest}`;
  }
  const q = rest.indexOf('?');
  return q < 0 ? { authority, path: rest, query: '' } : { authority, path: rest.slice(0, q), query: rest.slice(q + 1) };
}

export function downstreamAuthority(req: DownstreamRequest): string {
  const h = req.headers as Record<string, string | string[] | undefined>;
  const a = h[':authority'] ?? h.host;
  return typeof a === 'string' ? a : '';
}

// Headers Node keeps only once (it discards later duplicates in req.headers), per its http docs.
const FIRST_ONLY = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host',
  'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards',
  'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent',
]);

/** Names compared one by one below this many fields, in a set above (n² compares stay bounded). */
const LIST_MAX = 32;
/** The lower-case names seen so far in one call (reused; cleared after it, not shrunk). */
const seenNames: string[] = [];

// The last head's field names by position, as received and as interned lower-case keys: a client
// sends the same fields in the same order request after request, and a record stored with a
// fresh string key costs ~0.8 k instructions (V8's megamorphic keyed store interns it), with an
// interned one ~0.1 k. A name compared with the last one at its place costs a string comparison.
const rawAt: string[] = [];
const lowerAt: string[] = [];

/** `s` as an interned string (what V8 keeps property keys as): the key of a one-field literal. */
function interned(s: string): string {
  return Object.keys({ [s]: 0 })[0]!;
}

function lowerName(k: number, raw: string): string {
  if (k >= LIST_MAX) return raw.toLowerCase();
  if (rawAt[k] === raw) return lowerAt[k]!;
  const lower = interned(raw.toLowerCase());
  rawAt[k] = raw;
  lowerAt[k] = lower;
  return lower;
}

/**
 * The request's header lines with repeated names kept as separate values. req.headers joins
 * repeated lines with ", ", which changes what the next hop sees (a header added by a route on
 * the first hop arrives merged into the original one on the second). Cookies are joined with
 * "; " (RFC 9113 §8.2.3: HTTP/2 may split them, HTTP/1.1 needs one line). Whether a name came
 * before is found among the names seen, not by reading the record: a read with a fresh string key
 * costs ~0.7 k instructions (V8 internalizes it; issue 16), and it found Object.prototype's
 * members (a `Constructor` field became [Object, value], a `__proto__` field the record's prototype).
 */
export function distinctHeaders(raw: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const many = raw.length > LIST_MAX * 2 ? new Set<string>() : null;
  let seen = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = lowerName(i >> 1, raw[i]!);
    const value = raw[i + 1]!;
    let again = false;
    if (many !== null) {
      again = many.has(name);
      if (!again) many.add(name);
    } else {
      for (let j = 0; j < seen; j++) {
        if (seenNames[j] === name) {
          again = true;
          break;
        }
      }
      if (!again) seenNames[seen++] = name;
    }
    if (!again) {
      // an own field even for `__proto__` (assigning it would set the record's prototype)
      if (name === '__proto__') Object.defineProperty(out, name, { value, writable: true, enumerable: true, configurable: true });
      else out[name] = value;
      continue;
    }
    const prev = out[name]!;
    if (name === 'cookie') out[name] = `${String(prev)}; ${value}`;
    else if (!FIRST_ONLY.has(name)) out[name] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  for (let j = 0; j < seen; j++) seenNames[j] = '';
  return out;
}

/** A request whose framing or authority is ambiguous (duplicate Host, h2 host vs :authority): 400. */
export class BadRequestError extends MeshletError {
  constructor(message: string) {
    super('E_BAD_REQUEST', message);
  }
}

function hostLines(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'host') out.push(raw[i + 1]!);
  return out;
}

/**
 * The authority the request is routed on, which is also the one the upstream must see: what
 * routing checked and what the backend serves may never differ. HTTP/1.1: an absolute-form
 * target's authority wins over Host (RFC 9112 §3.2.2), and more than one Host line is a 400
 * (RFC 9112 §3.2). HTTP/2: :authority, and a `host` that disagrees with it is malformed
 * (RFC 9113 §8.3.1).
 */
function routedAuthority(req: DownstreamRequest, absolute: string | null): string {
  const hosts = hostLines(req.rawHeaders);
  if (hosts.length > 1) throw new BadRequestError('more than one Host header');
  if (isH2(req)) {
    const a = (req.headers as Record<string, string | string[] | undefined>)[':authority'];
    if (typeof a === 'string' && a !== '') {
      if (hosts.length === 1 && hosts[0]!.toLowerCase() !== a.toLowerCase()) throw new BadRequestError('host header disagrees with :authority');
      return a;
    }
  }
  return absolute ?? downstreamAuthority(req);
}

/**
 * The request as the matcher sees it, with hop-by-hop headers already removed and `host` set
 * to the routed authority. Throws BadRequestError for an ambiguous authority.
 */
export function describe(req: DownstreamRequest, scheme: 'http' | 'https'): RequestDescriptor {
  const target = parseTarget(req.url ?? '/');
  const authority = routedAuthority(req, target.authority);
  const headers = stripHopByHop(distinctHeaders(req.rawHeaders), { keepTeTrailers: true });
  if (authority !== '') headers.host = authority;
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    scheme,
    authority,
    path: target.path,
    query: target.query,
    headers,
  };
}
