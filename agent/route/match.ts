// One rule's match, compiled: regexes built once per table (RE2 via re2js, linear time), and a
// matcher that says whether a normalized request satisfies every condition. Regular
// expressions must match the whole value, as Envoy's safe_regex does (the behaviour most
// Gateway API implementations share); write `.*foo.*` to search.
import type { RE2JS } from 're2js';
import { compileRegex } from '../../api/validate.ts';
import { RoutingTableInvalidError } from '../../api/errors.ts';
import type { MatchIR, RouteRuleIR } from '../../api/routing-table.ts';
import { hasPathPrefix } from './path-modifier.ts';
import type { NormalizedRequest } from './request.ts';

export interface CompiledCondition {
  name: string;
  exact: string | null;
  regex: RE2JS | null;
}

export interface CompiledRule {
  rule: RouteRuleIR;
  /** Position in the virtual host's precedence order. */
  index: number;
  pathRegex: RE2JS | null;
  headers: CompiledCondition[];
  queryParams: CompiledCondition[];
}

function regexOrThrow(pattern: string, where: string): RE2JS {
  try {
    return compileRegex(pattern);
  } catch (err) {
    // validate() refuses such tables; reaching here means a caller skipped it.
    throw new RoutingTableInvalidError([{ path: where, message: `regular expression does not compile: ${(err as Error).message}` }]);
  }
}

function condition(c: MatchIR['headers'][number], where: string): CompiledCondition {
  return c.type === 'RegularExpression'
    ? { name: c.name, exact: null, regex: regexOrThrow(c.value, where) }
    : { name: c.name, exact: c.value, regex: null };
}

export function compileRule(rule: RouteRuleIR, index: number): CompiledRule {
  const m = rule.match;
  return {
    rule,
    index,
    pathRegex: m.path.type === 'RegularExpression' ? regexOrThrow(m.path.value, `${rule.name}.match.path`) : null,
    headers: m.headers.map((h) => condition({ ...h, name: h.name.toLowerCase() }, `${rule.name}.match.headers`)),
    queryParams: m.queryParams.map((q) => condition(q, `${rule.name}.match.queryParams`)),
  };
}

function valueMatches(c: CompiledCondition, value: string | undefined): boolean {
  if (value === undefined) return false;
  return c.regex ? c.regex.matches(value) : value === c.exact;
}

function pathMatches(c: CompiledRule, path: string): boolean {
  const p = c.rule.match.path;
  if (p.type === 'Exact') return path === p.value;
  if (p.type === 'PathPrefix') return hasPathPrefix(path, p.value);
  return c.pathRegex !== null && c.pathRegex.matches(path);
}

/** The hot path: no allocation beyond the lazily parsed query. */
export function matches(c: CompiledRule, req: NormalizedRequest): boolean {
  if (!pathMatches(c, req.path)) return false;
  const method = c.rule.match.method;
  if (method !== null && method !== req.method) return false;
  for (const h of c.headers) if (!valueMatches(h, req.header(h.name))) return false;
  if (c.queryParams.length > 0) {
    const params = req.queryParams();
    for (const q of c.queryParams) if (!valueMatches(q, params.get(q.name))) return false;
  }
  return true;
}

/** Why a rule did not match, or null when it did (for `meshlet explain`). */
export function mismatch(c: CompiledRule, req: NormalizedRequest): string | null {
  const m = c.rule.match;
  if (!pathMatches(c, req.path)) return `path ${req.path} does not match ${m.path.type} ${m.path.value}`;
  if (m.method !== null && m.method !== req.method) return `method ${req.method} is not ${m.method}`;
  for (const h of c.headers) {
    const v = req.header(h.name);
    if (!valueMatches(h, v)) return v === undefined ? `header ${h.name} is absent` : `header ${h.name} value does not match`;
  }
  const params = req.queryParams();
  for (const q of c.queryParams) {
    const v = params.get(q.name);
    if (!valueMatches(q, v)) return v === undefined ? `query parameter ${q.name} is absent` : `query parameter ${q.name} value does not match`;
  }
  return null;
}
