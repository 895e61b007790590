// agent/route: the pure request matcher and filters. Given a compiled routing table, where a
// connection was headed (a Gateway listener port or a Service ClusterIP:port) and a request, it
// decides what happens — forward (with the request as it must go upstream, the weighted
// backends, mirrors and response header changes), answer directly (redirect, 404, 400, 500) or
// pass through — without I/O, clocks or randomness, so the proxy, `meshlet explain` and the
// golden tests share one implementation. Picking a backend by weight is agent/balance's job.
export { compileTable } from './compile.ts';
export type { CompiledTable } from './compile.ts';
export { route } from './route.ts';
export { applyBackendFilters } from './filters.ts';
export { applyHeaderModifier } from './header-modifier.ts';
export { explain, shadowedRules } from './explain.ts';
export type { Explanation, RuleVerdict, ShadowedRule } from './explain.ts';
export type * from './types.ts';
