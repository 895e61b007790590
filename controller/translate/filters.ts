// Route filters → FilterIR / RedirectIR. Parsed once per rule (or backendRef), then bound to each
// match: ReplacePrefixMatch carries the matched PathPrefix, which only the match knows. Filters
// meshlet does not implement (CORS, ExtensionRef, ExternalAuth, anything unknown) reject the
// route with UnsupportedValue naming the filter, rather than being silently skipped.
import type { FilterIR, HeaderModifierIR, PathModifierIR, RedirectIR, RedirectStatus } from '../../api/routing-table.ts';
import { resolveBackendRef, type RefContext } from './backends.ts';
import { isValidHostname } from './hostnames.ts';
import { incompatible, unsupported } from './errors.ts';
import { record, recordList, optString } from './shape.ts';
import { int, isRec, list, rec, str } from './util.ts';

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REDIRECT_CODES = new Set<number>([301, 302, 303, 307, 308]);

export interface RefProblem {
  reason: string;
  message: string;
}

export interface ParsedFilters {
  /** In spec order, redirects excluded; ReplacePrefixMatch prefixes are bound per match. */
  filters: FilterIR[];
  redirect: RedirectIR | null;
  needsPrefix: boolean;
  /** backendRefs of RequestMirror filters that did not resolve (their mirror is dropped). */
  refProblems: RefProblem[];
}

export type FilterLevel = 'rule' | 'backendRef';

const ALLOWED: Record<'HTTPRoute' | 'GRPCRoute', Record<FilterLevel, string[]>> = {
  HTTPRoute: {
    rule: ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'RequestMirror'],
    backendRef: ['RequestHeaderModifier', 'ResponseHeaderModifier', 'URLRewrite', 'RequestMirror'],
  },
  GRPCRoute: {
    rule: ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror'],
    backendRef: ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror'],
  },
};

/**
 * Headers that frame the message or manage the connection: a route must not set, add or remove
 * them, or a response could say `content-length: 0` and carry a body, desynchronising the
 * client's connection (and, behind a shared front proxy, other users' responses).
 */
export const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection']);

function headerModifier(v: unknown, field: string): HeaderModifierIR {
  const m = record(v, field);
  const pairs = (key: 'set' | 'add') => recordList(m[key], `${field}.${key}`).map((h, i) => {
    const name = optString(h.name, `${field}.${key}[${i}].name`);
    const value = optString(h.value, `${field}.${key}[${i}].value`) ?? '';
    if (name === undefined || !HEADER_NAME.test(name)) throw unsupported(`${field}.${key}[${i}].name: invalid header name ${JSON.stringify(name ?? null)}`);
    if (FRAMING_HEADERS.has(name.toLowerCase())) throw unsupported(`${field}.${key}[${i}].name: ${name} frames the message and cannot be modified by a route`);
    if (/[\r\n\0]/.test(value)) throw unsupported(`${field}.${key}[${i}].value: contains CR, LF or NUL`);
    return { name, value };
  });
  const remove = list(m.remove).map((n, i) => {
    if (typeof n !== 'string' || !HEADER_NAME.test(n)) throw unsupported(`${field}.remove[${i}]: invalid header name ${JSON.stringify(n)}`);
    if (FRAMING_HEADERS.has(n.toLowerCase())) throw unsupported(`${field}.remove[${i}]: ${n} frames the message and cannot be modified by a route`);
    return n.toLowerCase();
  });
  return { set: pairs('set'), add: pairs('add'), remove };
}

function pathModifier(v: unknown, field: string): PathModifierIR | null {
  if (v === undefined || v === null) return null;
  const p = rec(v);
  const type = str(p.type);
  if (type === 'ReplaceFullPath') {
    const value = str(p.replaceFullPath) ?? '/';
    if (!value.startsWith('/')) throw unsupported(`${field}.replaceFullPath: must start with '/'`);
    return { type, value };
  }
  if (type === 'ReplacePrefixMatch') {
    // '' is valid: the spec's own example replaces prefix /foo in /foo/bar with '' → /bar.
    const value = str(p.replacePrefixMatch) ?? '/';
    if (value !== '' && !value.startsWith('/')) throw unsupported(`${field}.replacePrefixMatch: must be empty or start with '/'`);
    return { type, value, prefix: '' };
  }
  throw unsupported(`${field}.type: path modifier ${JSON.stringify(type ?? null)} is not supported`);
}

function hostname(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  const h = str(v)?.toLowerCase();
  if (h === undefined || h.startsWith('*.') || !isValidHostname(h)) throw unsupported(`${field}: invalid hostname ${JSON.stringify(v)}`);
  return h;
}

function redirect(v: unknown, field: string): RedirectIR {
  const r = rec(v);
  let scheme: RedirectIR['scheme'] = null;
  if (r.scheme !== undefined && r.scheme !== null) {
    if (r.scheme !== 'http' && r.scheme !== 'https') throw unsupported(`${field}.scheme: ${JSON.stringify(r.scheme)} is not supported (http or https)`);
    scheme = r.scheme;
  }
  let port: number | null = null;
  if (r.port !== undefined && r.port !== null) {
    const p = int(r.port);
    if (p === undefined || p < 1 || p > 65535) throw unsupported(`${field}.port: ${JSON.stringify(r.port)} is not a port`);
    port = p;
  }
  const code = r.statusCode === undefined || r.statusCode === null ? 302 : int(r.statusCode);
  if (code === undefined || !REDIRECT_CODES.has(code)) throw unsupported(`${field}.statusCode: ${JSON.stringify(r.statusCode)} is not supported (301, 302, 303, 307, 308)`);
  return { scheme, hostname: hostname(r.hostname, `${field}.hostname`), port, path: pathModifier(r.path, `${field}.path`), statusCode: code as RedirectStatus };
}

function mirrorPercent(f: Rec, field: string): number {
  if (f.percent !== undefined && f.percent !== null && f.fraction !== undefined && f.fraction !== null) throw unsupported(`${field}: percent and fraction are mutually exclusive`);
  if (f.percent !== undefined && f.percent !== null) {
    const p = int(f.percent);
    if (p === undefined || p < 0 || p > 100) throw unsupported(`${field}.percent: must be an integer within 0..100`);
    return p;
  }
  if (isRec(f.fraction)) {
    const num = int(f.fraction.numerator);
    const den = f.fraction.denominator === undefined ? 100 : int(f.fraction.denominator);
    if (num === undefined || den === undefined || num < 0 || den <= 0 || num > den) throw unsupported(`${field}.fraction: numerator must be within 0..denominator and denominator > 0`);
    return (num / den) * 100;
  }
  return 100;
}

type Rec = Record<string, unknown>;

export function parseFilters(v: unknown, field: string, ctx: RefContext, level: FilterLevel): ParsedFilters {
  const out: ParsedFilters = { filters: [], redirect: null, needsPrefix: false, refProblems: [] };
  let rewrite = false;
  recordList(v, field).forEach((f, i) => {
    const at = `${field}[${i}]`;
    const type = optString(f.type, `${at}.type`) ?? '';
    if (!ALLOWED[ctx.routeKind][level].includes(type)) {
      throw unsupported(`${at}.type: filter ${JSON.stringify(type)} is not supported by meshlet${level === 'backendRef' ? ' on a backendRef' : ''}`);
    }
    switch (type) {
      case 'RequestHeaderModifier':
        out.filters.push({ type, modifier: headerModifier(f.requestHeaderModifier, `${at}.requestHeaderModifier`) });
        break;
      case 'ResponseHeaderModifier':
        out.filters.push({ type, modifier: headerModifier(f.responseHeaderModifier, `${at}.responseHeaderModifier`) });
        break;
      case 'RequestRedirect':
        if (out.redirect) throw incompatible(`${at}: only one RequestRedirect filter is allowed per rule`);
        out.redirect = redirect(f.requestRedirect, `${at}.requestRedirect`);
        if (out.redirect.path?.type === 'ReplacePrefixMatch') out.needsPrefix = true;
        break;
      case 'URLRewrite': {
        if (rewrite) throw incompatible(`${at}: only one URLRewrite filter is allowed`);
        rewrite = true;
        const u = rec(f.urlRewrite);
        const path = pathModifier(u.path, `${at}.urlRewrite.path`);
        if (path?.type === 'ReplacePrefixMatch') out.needsPrefix = true;
        out.filters.push({ type, hostname: hostname(u.hostname, `${at}.urlRewrite.hostname`), path });
        break;
      }
      case 'RequestMirror': {
        const m = rec(f.requestMirror);
        const percent = mirrorPercent(m, `${at}.requestMirror`);
        const res = resolveBackendRef(rec(m.backendRef), ctx, `${at}.requestMirror.backendRef`);
        if (res.ok) out.filters.push({ type, backend: res.backend, percent });
        else out.refProblems.push({ reason: res.reason, message: res.message });
        break;
      }
    }
  });
  if (out.redirect && rewrite) throw incompatible(`${field}: RequestRedirect and URLRewrite cannot be used in the same rule`);
  return out;
}

/** Copies the parsed filters for one match, filling ReplacePrefixMatch with its PathPrefix. */
export function bindToMatch(p: ParsedFilters, prefix: string | null, field: string): { filters: FilterIR[]; redirect: RedirectIR | null } {
  if (p.needsPrefix && prefix === null) throw unsupported(`${field}: ReplacePrefixMatch requires a PathPrefix match`);
  const bind = (m: PathModifierIR | null): PathModifierIR | null => (m?.type === 'ReplacePrefixMatch' ? { ...m, prefix: prefix! } : m);
  const filters = p.filters.map((f): FilterIR => (f.type === 'URLRewrite' ? { ...f, path: bind(f.path) } : f));
  const redirect = p.redirect ? { ...p.redirect, path: bind(p.redirect.path) } : null;
  return { filters, redirect };
}
