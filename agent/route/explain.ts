// Explanations for `meshlet explain`: why a request got its decision, and which rules can never
// match. explain() reruns the same selection route() uses and then walks the chosen virtual
// host's rules linearly, recording for each why it did or did not match — the decision itself
// always comes from route(), so the printout cannot drift from what the proxy does.
// shadowedRules() is static: a rule is shadowed when an earlier rule in the same virtual host
// matches every request it matches (a broader or equal path with a subset of the conditions).
import type { MatchIR, RouteRuleIR, RoutingTable, VirtualHostIR } from '../../api/routing-table.ts';
import type { RE2JS } from 're2js';
import { compileRegex } from '../../api/validate.ts';
import type { CompiledTable } from './compile.ts';
import { findVirtualHost } from './host-match.ts';
import { mismatch } from './match.ts';
import { hasPathPrefix, trimPrefix } from './path-modifier.ts';
import { normalizeRequest } from './request.ts';
import { route, select } from './route.ts';
import { candidateLists, compileVirtualHost, type CompiledVirtualHost } from './rule-index.ts';
import type { Decision, RequestDescriptor, RouteTarget } from './types.ts';

export interface RuleVerdict {
  /** RouteRuleIR.name */
  rule: string;
  /** Precedence position in its virtual host. */
  index: number;
  outcome: 'matched' | 'no-match' | 'not-reached';
  /** Why it did not match; null when it matched or was not reached. */
  reason: string | null;
}

export interface Explanation {
  decision: Decision;
  /** The listener or Service port whose routes applied; null if none was selected. */
  routes: string | null;
  /** The virtual host chosen; null if none was. */
  virtualHost: string | null;
  /** Every rule of that virtual host in precedence order. */
  rules: RuleVerdict[];
}

export function explain(compiled: CompiledTable, target: RouteTarget, request: RequestDescriptor): Explanation {
  const decision = route(compiled, target, request);
  const out: Explanation = { decision, routes: null, virtualHost: null, rules: [] };
  const req = normalizeRequest(request);
  if (!req.ok) return out;
  const sel = select(compiled, target, req);
  if (sel.kind === 'decided') return out;
  out.routes = sel.where;
  if (sel.kind === 'default') return out;
  const vh = findVirtualHost(sel.vhosts, req.host);
  if (!vh) return out;
  out.virtualHost = vh.vhost.hostname;
  let matched = false;
  for (const c of vh.rules) {
    if (matched) {
      out.rules.push({ rule: c.rule.name, index: c.index, outcome: 'not-reached', reason: null });
      continue;
    }
    const why = mismatch(c, req);
    matched = why === null;
    out.rules.push({ rule: c.rule.name, index: c.index, outcome: matched ? 'matched' : 'no-match', reason: why });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

export interface ShadowedRule {
  /** Listener name or `service/<ns>/<name>/<port>[/consumer/<ns>]`. */
  where: string;
  virtualHost: string;
  rule: string;
  shadowedBy: string;
}

const regexCache = new Map<string, RE2JS | null>();

function regexFullMatch(pattern: string, value: string): boolean {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    try {
      re = compileRegex(pattern);
    } catch {
      re = null;
    }
    // Bounded: the cache only serves one CLI invocation's worth of patterns.
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re !== null && re.matches(value);
}

function pathCovers(a: MatchIR['path'], b: MatchIR['path']): boolean {
  if (a.type === 'PathPrefix') {
    if (b.type === 'Exact') return hasPathPrefix(b.value, a.value);
    if (b.type === 'PathPrefix') return hasPathPrefix(trimPrefix(b.value) || '/', a.value);
    return trimPrefix(a.value) === ''; // `/` covers every path, even a regex's
  }
  if (a.type === 'Exact') return b.type === 'Exact' && b.value === a.value;
  if (b.type === 'Exact') return regexFullMatch(a.value, b.value);
  return b.type === 'RegularExpression' && b.value === a.value;
}

type Condition = MatchIR['headers'][number];

/** Every condition of `a` is implied by some condition of `b` on the same name. */
function conditionsCover(a: Condition[], b: Condition[], caseInsensitive: boolean): boolean {
  const norm = (n: string): string => (caseInsensitive ? n.toLowerCase() : n);
  return a.every((ca) => b.some((cb) => {
    if (norm(ca.name) !== norm(cb.name)) return false;
    if (ca.type === cb.type && ca.value === cb.value) return true;
    return ca.type === 'RegularExpression' && cb.type === 'Exact' && regexFullMatch(ca.value, cb.value);
  }));
}

/** True when every request that `b` matches is also matched by `a`. */
export function matchCovers(a: MatchIR, b: MatchIR): boolean {
  return pathCovers(a.path, b.path)
    && (a.method === null || a.method === b.method)
    && conditionsCover(a.headers, b.headers, true)
    && conditionsCover(a.queryParams, b.queryParams, false);
}

/**
 * Earlier rules that could cover `rule`: the index's candidates for its path value (a rule
 * whose path does not match that value as a request path cannot cover it), plus, for a regex
 * rule, the `/` prefix rules and the other regex rules. Keeps this near-linear on big tables.
 */
function coverCandidates(vh: CompiledVirtualHost, rule: RouteRuleIR): number[] {
  const path = rule.match.path;
  if (path.type === 'RegularExpression') return [...vh.prefixes.rules, ...vh.regex];
  const value = path.type === 'PathPrefix' ? trimPrefix(path.value) || '/' : path.value;
  return candidateLists(vh, value).flat();
}

function shadowedIn(where: string, vhosts: VirtualHostIR[], out: ShadowedRule[]): void {
  for (const vh of vhosts) {
    let compiled: CompiledVirtualHost | null = null;
    try {
      compiled = compileVirtualHost(vh);
    } catch {
      // A regex that does not compile (an unvalidated table): compare against every earlier rule.
    }
    vh.rules.forEach((rule, j) => {
      const earlier = compiled ? coverCandidates(compiled, rule).filter((i) => i < j).sort((x, y) => x - y) : vh.rules.keys();
      for (const i of earlier) {
        if (i >= j) break;
        const by = vh.rules[i]!;
        if (matchCovers(by.match, rule.match)) {
          out.push({ where, virtualHost: vh.hostname, rule: rule.name, shadowedBy: by.name });
          break;
        }
      }
    });
  }
}

/** Rules that can never match, each with the earlier rule that takes all their requests. */
export function shadowedRules(table: RoutingTable): ShadowedRule[] {
  const out: ShadowedRule[] = [];
  for (const g of table.gateways) {
    for (const p of g.ports) for (const l of p.listeners) shadowedIn(l.name, l.virtualHosts, out);
  }
  for (const s of table.services) {
    for (const p of s.ports) {
      const base = `${s.name}/${p.port}`;
      if (p.producer) shadowedIn(base, p.producer.virtualHosts, out);
      for (const c of p.consumers) shadowedIn(`${base}/consumer/${c.namespace}`, c.routes.virtualHosts, out);
    }
  }
  return out;
}
