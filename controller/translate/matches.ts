// Route matches → MatchIR, plus the precedence facts the sorter needs. HTTPRoute matches map
// one to one; GRPCRoute service/method matches become paths, since gRPC calls are HTTP/2 POSTs
// to `/<service>/<method>`. Every regular expression must compile with RE2 (re2js), the engine
// the data plane uses; a pattern that does not is reported, never passed on.
import { RE2JS } from 're2js';
import type { MatchIR, StringMatchType } from '../../api/routing-table.ts';
import { unsupported } from './errors.ts';
import { optString, record, recordList } from './shape.ts';
import { rec, str } from './util.ts';

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const GRPC_SERVICE = /^\.?[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*$/;
const GRPC_METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;

/** What precedence looks at, per kind (see precedence.ts). */
export type MatchRank =
  | { kind: 'HTTPRoute'; pathType: MatchIR['path']['type']; pathLength: number; method: boolean; headers: number; queryParams: number }
  | { kind: 'GRPCRoute'; service: number; method: number; headers: number };

export interface CompiledMatch {
  ir: MatchIR;
  rank: MatchRank;
}

function compiles(pattern: string, field: string): void {
  try {
    RE2JS.compile(pattern);
  } catch (err) {
    throw unsupported(`${field}: regular expression ${JSON.stringify(pattern)} is not supported (RE2 syntax): ${(err as Error).message}`);
  }
}

function stringMatchType(v: unknown, field: string): StringMatchType {
  const t = str(v) ?? 'Exact';
  if (t !== 'Exact' && t !== 'RegularExpression') throw unsupported(`${field}.type: match type ${JSON.stringify(t)} is not supported`);
  return t;
}

function headerMatches(list: unknown, field: string): MatchIR['headers'] {
  const out: MatchIR['headers'] = [];
  const seen = new Set<string>();
  recordList(list, field).forEach((h, i) => {
    const at = `${field}[${i}]`;
    const name = optString(h.name, `${at}.name`);
    const value = optString(h.value, `${at}.value`);
    if (name === undefined || !HEADER_NAME.test(name)) throw unsupported(`${at}.name: invalid header name ${JSON.stringify(name ?? null)}`);
    if (value === undefined) throw unsupported(`${at}.value: missing`);
    const type = stringMatchType(h.type, at);
    if (type === 'RegularExpression') compiles(value, `${at}.value`);
    const lower = name.toLowerCase();
    // The spec: among equivalent (case-insensitive) names only the first entry counts.
    if (seen.has(lower)) return;
    seen.add(lower);
    out.push({ type, name: lower, value });
  });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function queryMatches(list: unknown, field: string): MatchIR['queryParams'] {
  const out: MatchIR['queryParams'] = [];
  const seen = new Set<string>();
  recordList(list, field).forEach((q, i) => {
    const at = `${field}[${i}]`;
    const name = optString(q.name, `${at}.name`);
    const value = optString(q.value, `${at}.value`);
    if (name === undefined || name === '') throw unsupported(`${at}.name: missing`);
    if (value === undefined) throw unsupported(`${at}.value: missing`);
    const type = stringMatchType(q.type, at);
    if (type === 'RegularExpression') compiles(value, `${at}.value`);
    if (seen.has(name)) return;
    seen.add(name);
    out.push({ type, name, value });
  });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** An HTTPRouteMatch; `undefined` (a rule without matches) means PathPrefix `/`. */
export function compileHttpMatch(match: unknown, field: string): CompiledMatch {
  const m = rec(match);
  const p = record(m.path, `${field}.path`);
  const type = optString(p.type, `${field}.path.type`) ?? 'PathPrefix';
  const value = optString(p.value, `${field}.path.value`) ?? '/';
  if (type !== 'Exact' && type !== 'PathPrefix' && type !== 'RegularExpression') throw unsupported(`${field}.path.type: path match type ${JSON.stringify(type)} is not supported`);
  if (type === 'RegularExpression') compiles(value, `${field}.path.value`);
  else if (!value.startsWith('/')) throw unsupported(`${field}.path.value: ${JSON.stringify(value)} must start with '/'`);
  let method: string | null = null;
  if (m.method !== undefined && m.method !== null) {
    const raw = str(m.method);
    if (raw === undefined || !METHODS.has(raw.toUpperCase())) throw unsupported(`${field}.method: ${JSON.stringify(m.method)} is not an HTTP method`);
    method = raw.toUpperCase();
  }
  const headers = headerMatches(m.headers, `${field}.headers`);
  const queryParams = queryMatches(m.queryParams, `${field}.queryParams`);
  return {
    ir: { path: { type, value }, method, headers, queryParams },
    rank: { kind: 'HTTPRoute', pathType: type, pathLength: value.length, method: method !== null, headers: headers.length, queryParams: queryParams.length },
  };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A GRPCRouteMatch; `undefined` matches every call. */
export function compileGrpcMatch(match: unknown, field: string): CompiledMatch {
  const m = rec(match);
  const mm = m.method === undefined || m.method === null ? null : record(m.method, `${field}.method`);
  const type = mm ? stringMatchType(mm.type, `${field}.method`) : 'Exact';
  const service = mm ? optString(mm.service, `${field}.method.service`) ?? '' : '';
  const method = mm ? optString(mm.method, `${field}.method.method`) ?? '' : '';
  let path: MatchIR['path'];
  if (service === '' && method === '') {
    if (mm) throw unsupported(`${field}.method: one or both of service and method must be set`);
    path = { type: 'PathPrefix', value: '/' };
  } else if (type === 'Exact') {
    if (service !== '' && !GRPC_SERVICE.test(service)) throw unsupported(`${field}.method.service: invalid service name ${JSON.stringify(service)}`);
    if (method !== '' && !GRPC_METHOD.test(method)) throw unsupported(`${field}.method.method: invalid method name ${JSON.stringify(method)}`);
    if (service !== '' && method !== '') path = { type: 'Exact', value: `/${service}/${method}` };
    else if (service !== '') path = { type: 'PathPrefix', value: `/${service}` };
    else path = { type: 'RegularExpression', value: `/[^/]+/${escapeRegex(method)}` };
  } else {
    if (service !== '') compiles(service, `${field}.method.service`);
    if (method !== '') compiles(method, `${field}.method.method`);
    path = { type: 'RegularExpression', value: `/(?:${service || '[^/]+'})/(?:${method || '[^/]+'})` };
  }
  const headers = headerMatches(m.headers, `${field}.headers`);
  return {
    ir: { path, method: null, headers, queryParams: [] },
    rank: { kind: 'GRPCRoute', service: service.length, method: method.length, headers: headers.length },
  };
}
