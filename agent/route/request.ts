// The request as the matcher sees it: the wire values of a RequestDescriptor checked and
// normalized once, so that every rule compares against the same canonical strings and the path
// we match is the path we forward (matching one spelling and sending another would let
// `/public/../admin` slip past a `/public` rule).
//
// Malformed input never throws: normalizeRequest() returns a MalformedRequest that route()
// answers with 400. What counts as malformed:
// - a method that is not an RFC 9110 token;
// - a path that does not start with `/` (asterisk-form, absolute-form left unparsed), contains a
//   control character or space, or has a `%` not followed by two hex digits;
// - an authority with characters no host can contain.
// A missing authority is not malformed: it is the empty host, which only a hostname-less
// listener or the `*` virtual host serves (HTTP/1.0 clients send no Host).
import type { RequestDescriptor } from './types.ts';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Registered names, IPv4, and bracketed IPv6 literals, with an optional port.
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+(?:%[0-9A-Za-z._~-]+)?\]|[0-9A-Za-z._~!$&'()*+,;=%-]*)(?::[0-9]*)?$/;
const UNRESERVED = /[A-Za-z0-9\-._~]/;

export interface NormalizedRequest {
  ok: true;
  method: string;
  scheme: 'http' | 'https';
  /** Lower-case host without port or trailing dot; '' when absent. IPv6 keeps its brackets. */
  host: string;
  /** Normalized path (see normalizePath). */
  path: string;
  /** Raw query string, without '?'. */
  query: string;
  headers: Record<string, string | string[]>;
  /** First value of each query parameter, decoded; built on first use. */
  queryParams(): Map<string, string>;
  /** A header's value as one string (repeated values joined), or undefined when absent. */
  header(name: string): string | undefined;
}

export interface MalformedRequest {
  ok: false;
  status: 400;
  reason: string;
}

// A connection's requests carry the same authority one after another: the last one checked and
// its host are kept, so a repeat costs a string comparison instead of a match and two copies.
let lastAuthority = '';
let lastHost: string | null = '';

/** Splits `host[:port]`, lower-cases the host and drops one trailing dot. Null if malformed. */
export function hostOf(authority: string): string | null {
  if (authority === lastAuthority) return lastHost;
  const host = parseHost(authority);
  lastAuthority = authority;
  lastHost = host;
  return host;
}

function parseHost(authority: string): string | null {
  if (!AUTHORITY.test(authority)) return null;
  let host = authority;
  if (host.startsWith('[')) {
    host = host.slice(0, host.indexOf(']') + 1);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) host = host.slice(0, colon);
  }
  host = host.toLowerCase();
  if (host.endsWith('.') && host.length > 1) host = host.slice(0, -1);
  return host;
}

/**
 * RFC 3986 normalization of an origin-form path: percent-encoded unreserved characters are
 * decoded, other escapes get upper-case hex, dot segments are removed. Slashes are not merged
 * and `%2F` stays encoded: both change which resource a backend serves. Null if malformed.
 */
export function normalizePath(raw: string): string | null {
  if (!raw.startsWith('/')) return null;
  // Fast path: most paths have no escapes, so they are checked once and returned as they are.
  let escaped = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return null;
    if (c === 0x25 /* % */) {
      escaped = true;
      break;
    }
  }
  let out = raw;
  if (escaped) {
    out = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      if (c <= 0x20 || c === 0x7f) return null;
      if (c === 0x25 /* % */) {
        const hex = raw.slice(i + 1, i + 3);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
        const ch = String.fromCharCode(parseInt(hex, 16));
        out += UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
        i += 2;
      } else {
        out += raw[i];
      }
    }
  }
  return out.includes('/.') ? removeDotSegments(out) : out;
}

function removeDotSegments(path: string): string {
  const segments = path.split('/').slice(1);
  const kept: string[] = [];
  segments.forEach((s, i) => {
    const last = i === segments.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..') kept.pop();
      // `/a/b/..` names the directory `/a/`: keep the trailing slash.
      if (last) kept.push('');
    } else {
      kept.push(s);
    }
  });
  return `/${kept.join('/')}`;
}

function decodeComponent(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a param we cannot decode is compared as sent
  }
}

/** First value per name, as the spec recommends for repeated parameters. */
export function parseQuery(query: string): Map<string, string> {
  const params = new Map<string, string>();
  if (query === '') return params;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeComponent(eq < 0 ? part : part.slice(0, eq));
    if (!params.has(name)) params.set(name, eq < 0 ? '' : decodeComponent(part.slice(eq + 1)));
  }
  return params;
}

/**
 * A repeated header is matched as its values joined the way RFC 9110 §5.3 combines field lines
 * (with `,`), except Cookie, which HTTP/2 splits and RFC 9113 §8.2.3 rejoins with `; `.
 */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  return v.join(name === 'cookie' ? '; ' : ',');
}

/** A NormalizedRequest whose two accessors are methods (no two closures per request). */
class Normalized implements NormalizedRequest {
  readonly ok = true;
  readonly method: string;
  readonly scheme: 'http' | 'https';
  readonly host: string;
  readonly path: string;
  readonly query: string;
  readonly headers: Record<string, string | string[]>;
  #params: Map<string, string> | null = null;

  constructor(method: string, scheme: 'http' | 'https', host: string, path: string, query: string, headers: Record<string, string | string[]>) {
    this.method = method;
    this.scheme = scheme;
    this.host = host;
    this.path = path;
    this.query = query;
    this.headers = headers;
  }

  queryParams(): Map<string, string> {
    return (this.#params ??= parseQuery(this.query));
  }

  header(name: string): string | undefined {
    return headerValue(this.headers, name);
  }
}

/**
 * The request as normalizeRequest would make it, for a request whose method, authority and path
 * equal those of one it already normalized to `host` and `path` (match-cache.ts): nothing checked again.
 */
export function normalizedAs(req: RequestDescriptor, host: string, path: string): NormalizedRequest {
  const headers = req.headers && typeof req.headers === 'object' ? req.headers : {};
  return new Normalized(req.method, req.scheme === 'https' ? 'https' : 'http', host, path, typeof req.query === 'string' ? req.query : '', headers);
}

// A method llhttp or node:http already parsed is one of a few strings: those seen valid are kept.
const validMethods = new Set<string>();

export function normalizeRequest(req: RequestDescriptor): NormalizedRequest | MalformedRequest {
  const method = typeof req.method === 'string' ? req.method : '';
  if (!validMethods.has(method)) {
    if (!TOKEN.test(method)) return { ok: false, status: 400, reason: `malformed method '${method}'` };
    if (validMethods.size < 64) validMethods.add(method);
  }
  const host = hostOf(typeof req.authority === 'string' ? req.authority : '');
  if (host === null) return { ok: false, status: 400, reason: 'malformed authority' };
  const path = normalizePath(typeof req.path === 'string' ? req.path : '');
  if (path === null) return { ok: false, status: 400, reason: 'malformed path' };
  const query = typeof req.query === 'string' ? req.query : '';
  const headers = req.headers && typeof req.headers === 'object' ? req.headers : {};
  return new Normalized(method, req.scheme === 'https' ? 'https' : 'http', host, path, query, headers);
}
