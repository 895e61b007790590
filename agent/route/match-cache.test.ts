// A connection's requests share one target object, and route() keeps its last match per target
// (match-cache.ts). These tests route every request of a sequence through one compiled table and
// one target, as a kept-alive connection does, and check each decision against a fresh match:
// whatever a rule reads (method, path, host, a header, a query parameter) or a new table must
// change the decision when it changes the rule.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTable, route, type CompiledTable, type Decision, type RouteTarget } from './index.ts';
import { GATEWAY, gatewayTable, listener, request, rule, vhost } from './test-support.ts';
import { FULL_FIRST } from './route.ts';
import type { RequestDescriptor } from './types.ts';
import type { RoutingTable } from '../../api/index.ts';

function outcome(d: Decision): string {
  if (d.type === 'forward') return `${d.backends.map((b) => b.backend?.split('/')[2]).join('+')} ${d.request.pathAndQuery}`;
  if (d.type === 'respond') return String(d.status);
  return 'passthrough';
}

const TABLE: RoutingTable = gatewayTable([listener('http', null, [
  vhost('example.com', [
    rule('canary', { path: { type: 'PathPrefix', value: '/api' }, headers: [{ type: 'RegularExpression', name: 'x-env', value: 'canary|beta' }], backend: 'b' }),
    rule('query', { path: { type: 'PathPrefix', value: '/api' }, queryParams: [{ type: 'Exact', name: 'v', value: '2' }], backend: 'c' }),
    rule('post', { path: { type: 'PathPrefix', value: '/api' }, method: 'POST', backend: 'default' }),
    rule('api', { path: { type: 'PathPrefix', value: '/api' }, backend: 'a' }),
  ]),
  vhost('other.com', [rule('other', { backend: 'mirror' })]),
])]);

/** Routes `reqs` in order on one target (the kept match in play) and each alone on a fresh target (no kept match). */
function both(compiled: CompiledTable, reqs: RequestDescriptor[]): { kept: string[]; fresh: string[] } {
  const target: RouteTarget = { kind: 'gateway', gateway: GATEWAY, port: 80 };
  return {
    kept: reqs.map((r) => outcome(route(compiled, target, r))),
    fresh: reqs.map((r) => outcome(route(compiled, { kind: 'gateway', gateway: GATEWAY, port: 80 }, r))),
  };
}

describe('the kept match of a connection', () => {
  // the process's first FULL_FIRST requests are matched in full (route.ts): past them here
  before(() => {
    const compiled = compileTable(TABLE);
    for (let i = 0; i < FULL_FIRST; i++) route(compiled, { kind: 'gateway', gateway: GATEWAY, port: 80 }, request('/api/x'));
  });

  test('a header, query parameter, method, path or host that changes the rule changes the decision', () => {
    const reqs = [
      request('/api/x'),
      request('/api/x', { headers: { 'x-env': 'canary' } }),
      request('/api/x', { headers: { 'x-env': 'canary', 'x-other': '1' } }),
      request('/api/x', { headers: { 'x-env': 'prod' } }),
      request('/api/x', { headers: { 'x-env': ['canary', 'beta'] } }),
      request('/api/x?v=2'),
      request('/api/x?v=2&w=1'),
      request('/api/x?v=3'),
      request('/api/x?v=2', { method: 'POST' }),
      request('/api/x', { method: 'POST' }),
      request('/api/x'),
      request('/api/y'),
      request('/nothing'),
      request('/api/x', { authority: 'other.com' }),
      request('/api/x', { authority: 'other.com:80' }),
      request('/api/x', { authority: 'example.com' }),
      request('/api/../nothing'),
      request('/api/x', { headers: { 'X-Env': 'canary' } }),
    ];
    const { kept, fresh } = both(compileTable(TABLE), reqs);
    assert.deepEqual(kept, fresh);
    assert.deepEqual(kept, [
      'a /api/x', 'b /api/x', 'b /api/x', 'a /api/x', 'a /api/x', 'c /api/x?v=2', 'c /api/x?v=2&w=1', 'a /api/x?v=3',
      'c /api/x?v=2', 'default /api/x', 'a /api/x', 'a /api/y', '404', 'mirror /api/x', 'mirror /api/x', 'a /api/x', '404', 'a /api/x',
    ]);
  });

  test('a new table is matched afresh on the same target', () => {
    const target: RouteTarget = { kind: 'gateway', gateway: GATEWAY, port: 80 };
    assert.equal(outcome(route(compileTable(TABLE), target, request('/api/x'))), 'a /api/x');
    const moved = gatewayTable([listener('http', null, [vhost('example.com', [rule('moved', { backend: 'c' })])])]);
    assert.equal(outcome(route(compileTable(moved), target, request('/api/x'))), 'c /api/x');
  });

  test('a repeated request is not matched again: the rule\'s header regex runs once for two identical requests', () => {
    const compiled = compileTable(TABLE);
    // the compiled canary rule's header regex, counted (the rule index holds it once)
    const vh = compiled.gateways.get(GATEWAY)!.get(80)!.listeners[0]!.vhosts.exact.get('example.com')!;
    const regex = vh.rules[0]!.headers[0]!.regex!;
    let calls = 0;
    const matches = regex.matches.bind(regex);
    regex.matches = (s: string) => { calls++; return matches(s); };
    const target: RouteTarget = { kind: 'gateway', gateway: GATEWAY, port: 80 };
    for (let i = 0; i < 2; i++) assert.equal(outcome(route(compiled, target, request('/api/x', { headers: { 'x-env': 'canary' } }))), 'b /api/x');
    assert.equal(calls, 1);
    assert.equal(outcome(route(compiled, target, request('/api/x', { headers: { 'x-env': 'beta' } }))), 'b /api/x');
    assert.equal(calls, 2, 'another value of a header a rule reads: matched again');
  });
});
