// One HTTPRoute or GRPCRoute → its rules as RouteRuleIR, one per (rule, match) pair, together
// with what its status needs: whether it is acceptable at all and whether its references
// resolved. Compilation depends on the parent type only through backend resolution (mesh routes
// may cross namespaces without a ReferenceGrant), so it runs once per route and mode.
import type { RouteRuleIR, WeightedBackendIR } from '../../api/routing-table.ts';
import { resolveBackendRef, type RefContext } from './backends.ts';
import { RouteInvalidError, unsupported } from './errors.ts';
import { bindToMatch, parseFilters, type ParsedFilters, type RefProblem } from './filters.ts';
import { isValidHostname } from './hostnames.ts';
import { compileGrpcMatch, compileHttpMatch, type MatchRank } from './matches.ts';
import type { KubeObject } from './snapshot.ts';
import { parseRetry, parseTimeouts } from './timeouts.ts';
import { recordList } from './shape.ts';
import { int, list, namespaceOf, specOf, str } from './util.ts';

export type RouteKind = 'HTTPRoute' | 'GRPCRoute';

export interface RouteMeta {
  kind: RouteKind;
  namespace: string;
  name: string;
  /** '' when absent (sorts after every real timestamp). */
  creationTimestamp: string;
}

export interface RankedRule {
  ir: RouteRuleIR;
  rank: MatchRank;
  route: RouteMeta;
}

export interface CompiledRoute {
  meta: RouteMeta;
  hostnames: string[];
  rules: RankedRule[];
  /** Why the route must not be accepted (Accepted=False), or null. */
  invalid: RefProblem | null;
  /**
   * Some rules were invalid and dropped while the others serve (the spec's "drop rules" choice
   * for PartiallyInvalid: the route stays Accepted and says which rules are not programmed).
   */
  partiallyInvalid: RefProblem | null;
  /** The first unresolved reference (ResolvedRefs=False), or null. */
  unresolved: RefProblem | null;
}

/** Rule fields the spec defines that meshlet does not implement: reject rather than ignore. */
const UNSUPPORTED_RULE_FIELDS = ['sessionPersistence'];

/** The CRD's default when spec.rules is empty: one rule matching everything, with no backends. */
const DEFAULT_RULES = [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }] }];

export function routeMeta(obj: KubeObject, kind: RouteKind): RouteMeta {
  return { kind, namespace: namespaceOf(obj), name: obj.metadata.name, creationTimestamp: str(obj.metadata.creationTimestamp) ?? '' };
}

export function compileRoute(obj: KubeObject, kind: RouteKind, ctx: Omit<RefContext, 'routeKind' | 'routeNamespace'>): CompiledRoute {
  const meta = routeMeta(obj, kind);
  const route: CompiledRoute = { meta, hostnames: [], rules: [], invalid: null, partiallyInvalid: null, unresolved: null };
  const dropped: RouteInvalidError[] = [];
  const refCtx: RefContext = { ...ctx, routeKind: kind, routeNamespace: meta.namespace };
  const problems: RefProblem[] = [];
  try {
    const spec = specOf(obj);
    if (spec.hostnames !== undefined && spec.hostnames !== null && !Array.isArray(spec.hostnames)) throw unsupported('spec.hostnames: must be a list');
    route.hostnames = list(spec.hostnames).map((h, i) => {
      const host = typeof h === 'string' ? h.toLowerCase() : '';
      if (!isValidHostname(host)) throw unsupported(`spec.hostnames[${i}]: invalid hostname ${JSON.stringify(h)}`);
      return host;
    });
    const given = recordList(spec.rules, 'spec.rules');
    const rules = given.length > 0 ? given : DEFAULT_RULES;
    rules.forEach((rule, i) => {
      // Each rule compiles on its own: an invalid one is dropped (with its reference problems)
      // and the others still serve.
      const ruleProblems: RefProblem[] = [];
      const compiledRules: RankedRule[] = [];
      try {
        compileRule(rule, i, ruleProblems, compiledRules);
      } catch (err) {
        if (!(err instanceof RouteInvalidError)) throw err;
        dropped.push(err);
        return;
      }
      problems.push(...ruleProblems);
      route.rules.push(...compiledRules);
    });
    if (dropped.length > 0) {
      const message = dropped.map((e) => e.message).join('; ');
      if (route.rules.length === 0) throw new RouteInvalidError(dropped[0]!.reason, message);
      route.partiallyInvalid = { reason: 'UnsupportedValue', message: `rules not programmed: ${message}` };
    }
    function compileRule(rule: Record<string, unknown>, i: number, problems: RefProblem[], out: RankedRule[]): void {
      const at = `spec.rules[${i}]`;
      for (const f of UNSUPPORTED_RULE_FIELDS) {
        if (rule[f] !== undefined && rule[f] !== null) throw unsupported(`${at}.${f}: not supported by meshlet`);
      }
      const ruleFilters = parseFilters(rule.filters, `${at}.filters`, refCtx, 'rule');
      problems.push(...ruleFilters.refProblems);
      const backends = recordList(rule.backendRefs, `${at}.backendRefs`).map((ref, j) => {
        const bat = `${at}.backendRefs[${j}]`;
        const weight = ref.weight === undefined || ref.weight === null ? 1 : int(ref.weight);
        if (weight === undefined || weight < 0 || weight > 1_000_000) throw unsupported(`${bat}.weight: must be an integer within 0..1000000`);
        const filters = parseFilters(ref.filters, `${bat}.filters`, refCtx, 'backendRef');
        problems.push(...filters.refProblems);
        const res = resolveBackendRef(ref, refCtx, bat);
        if (!res.ok) problems.push({ reason: res.reason, message: res.message });
        return { res, weight, filters, field: bat };
      });
      const timeouts = kind === 'HTTPRoute' ? parseTimeouts(rule.timeouts, `${at}.timeouts`) : null;
      const retry = kind === 'HTTPRoute' ? parseRetry(rule.retry, `${at}.retry`) : null;
      const givenMatches = recordList(rule.matches, `${at}.matches`);
      const matches: unknown[] = givenMatches.length > 0 ? givenMatches : [undefined];
      matches.forEach((m, j) => {
        const mat = `${at}.matches[${j}]`;
        const compiled = kind === 'HTTPRoute' ? compileHttpMatch(m, mat) : compileGrpcMatch(m, mat);
        const prefix = compiled.ir.path.type === 'PathPrefix' ? compiled.ir.path.value : null;
        const bound = bindToMatch(ruleFilters, prefix, `${at}.filters`);
        const action: RouteRuleIR['action'] = bound.redirect
          ? { type: 'Redirect', redirect: bound.redirect }
          : backends.length === 0
            ? { type: 'Respond', status: 500, reason: 'rule has no backendRefs' }
            : { type: 'Forward', backends: backends.map((b) => weighted(b.res, b.weight, b.filters, prefix, b.field)) };
        out.push({
          ir: {
            name: `${kind.toLowerCase()}/${meta.namespace}/${meta.name}/rule/${i}/match/${j}`,
            source: { kind, namespace: meta.namespace, name: meta.name, rule: i, match: j, creationTimestamp: meta.creationTimestamp },
            match: compiled.ir,
            filters: bound.filters,
            action,
            timeouts,
            retry,
          },
          rank: compiled.rank,
          route: meta,
        });
      });
    }
  } catch (err) {
    // Anything else is a malformed object we failed to anticipate: report it on the route
    // rather than let one object stop the translation of all the others.
    route.invalid = err instanceof RouteInvalidError
      ? { reason: err.reason, message: err.message }
      : { reason: 'UnsupportedValue', message: `route could not be translated: ${err instanceof Error ? err.message : String(err)}` };
    route.rules = [];
  }
  const first = problems[0];
  route.unresolved = first ? { reason: first.reason, message: problems.map((p) => p.message).join('; ') } : null;
  return route;
}

function weighted(
  res: ReturnType<typeof resolveBackendRef>, weight: number, filters: ParsedFilters, prefix: string | null, field: string,
): WeightedBackendIR {
  const bound = bindToMatch(filters, prefix, `${field}.filters`);
  return res.ok
    ? { backend: res.backend, weight, filters: bound.filters, invalidReason: null }
    : { backend: null, weight, filters: bound.filters, invalidReason: res.reason };
}
