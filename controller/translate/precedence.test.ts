import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TranslateResult } from './snapshot.ts';
import * as f from './test-fixtures.ts';

/** Rule names of the single listener of gateway `gw`, per virtual host, in table order. */
function order(r: TranslateResult): Record<string, string[]> {
  const listener = r.ir.gateways[0]!.ports[0]!.listeners[0]!;
  return Object.fromEntries(listener.virtualHosts.map((vh) => [vh.hostname, vh.rules.map((x) => x.name.replace(/^httproute\/app\/|^grpcroute\/app\//, ''))]));
}

function withRoutes(httpRoutes = [] as ReturnType<typeof f.httpRoute>[], grpcRoutes = [] as ReturnType<typeof f.httpRoute>[]) {
  return f.run(f.snapshot({
    gatewayClasses: [f.gatewayClass()],
    gateways: [f.gateway('gw', [f.httpListener('http')])],
    services: [f.service('svc', 'app')],
    httpRoutes,
    grpcRoutes,
  }));
}

const parent = [{ name: 'gw', namespace: 'infra' }];
const backend = [{ name: 'svc', port: 80 }];
const rule = (matches: unknown[]) => ({ matches, backendRefs: backend });
const path = (type: string, value: string) => ({ path: { type, value } });

describe('HTTPRoute precedence within a virtual host', () => {
  test('Exact path beats any prefix, and longer prefixes beat shorter ones', () => {
    const r = withRoutes([f.httpRoute('a', 'app', { parentRefs: parent, rules: [rule([path('PathPrefix', '/'), path('PathPrefix', '/foo/bar'), path('Exact', '/foo'), path('PathPrefix', '/foo')])] })]);
    assert.deepEqual(order(r)['*'], ['a/rule/0/match/2', 'a/rule/0/match/1', 'a/rule/0/match/3', 'a/rule/0/match/0']);
  });

  test('regular expressions rank between Exact and PathPrefix (implementation-specific)', () => {
    const r = withRoutes([f.httpRoute('a', 'app', { parentRefs: parent, rules: [rule([path('PathPrefix', '/x'), path('RegularExpression', '/x/[0-9]+'), path('Exact', '/x')])] })]);
    assert.deepEqual(order(r)['*'], ['a/rule/0/match/2', 'a/rule/0/match/1', 'a/rule/0/match/0']);
  });

  test('with equal paths: a method match, then more headers, then more query params win', () => {
    const r = withRoutes([f.httpRoute('a', 'app', {
      parentRefs: parent,
      rules: [rule([
        { path: { type: 'PathPrefix', value: '/' } },
        { queryParams: [{ name: 'q', value: '1' }] },
        { headers: [{ name: 'x', value: '1' }] },
        { headers: [{ name: 'x', value: '1' }, { name: 'y', value: '2' }] },
        { method: 'GET' },
      ])],
    })]);
    assert.deepEqual(order(r)['*'], ['a/rule/0/match/4', 'a/rule/0/match/3', 'a/rule/0/match/2', 'a/rule/0/match/1', 'a/rule/0/match/0']);
  });

  test('ties across routes: the older route wins, then namespace/name alphabetically', () => {
    const r = withRoutes([
      f.httpRoute('b-newer', 'app', { parentRefs: parent, rules: [rule([path('PathPrefix', '/')])] }, '2026-03-01T00:00:00Z'),
      f.httpRoute('c-older', 'app', { parentRefs: parent, rules: [rule([path('PathPrefix', '/')])] }, '2026-01-01T00:00:00Z'),
      f.httpRoute('a-newer', 'app', { parentRefs: parent, rules: [rule([path('PathPrefix', '/')])] }, '2026-03-01T00:00:00Z'),
    ]);
    assert.deepEqual(order(r)['*'], ['c-older/rule/0/match/0', 'a-newer/rule/0/match/0', 'b-newer/rule/0/match/0']);
  });

  test('ties within a route: rule order, then match order', () => {
    const r = withRoutes([f.httpRoute('a', 'app', { parentRefs: parent, rules: [rule([path('PathPrefix', '/'), path('PathPrefix', '/')]), rule([path('PathPrefix', '/')])] })]);
    assert.deepEqual(order(r)['*'], ['a/rule/0/match/0', 'a/rule/0/match/1', 'a/rule/1/match/0']);
  });

  test('a longer path in a newer route still beats a shorter one in an older route', () => {
    const r = withRoutes([
      f.httpRoute('old', 'app', { parentRefs: parent, rules: [rule([path('PathPrefix', '/')])] }, '2025-01-01T00:00:00Z'),
      f.httpRoute('new', 'app', { parentRefs: parent, rules: [rule([path('PathPrefix', '/api')])] }, '2026-01-01T00:00:00Z'),
    ]);
    assert.deepEqual(order(r)['*'], ['new/rule/0/match/0', 'old/rule/0/match/0']);
  });

  test('hostname specificity is expressed by virtual hosts, most specific first', () => {
    const r = withRoutes([
      f.httpRoute('any', 'app', { parentRefs: parent, rules: [rule([path('PathPrefix', '/')])] }),
      f.httpRoute('wild', 'app', { parentRefs: parent, hostnames: ['*.example.com'], rules: [rule([path('PathPrefix', '/')])] }),
      f.httpRoute('exact', 'app', { parentRefs: parent, hostnames: ['foo.example.com'], rules: [rule([path('PathPrefix', '/')])] }),
    ]);
    assert.deepEqual(Object.keys(order(r)), ['foo.example.com', '*.example.com', '*']);
  });

  test('an absent match is PathPrefix /', () => {
    const r = withRoutes([f.httpRoute('a', 'app', { parentRefs: parent, rules: [{ backendRefs: backend }] })]);
    assert.deepEqual(r.ir.gateways[0]!.ports[0]!.listeners[0]!.virtualHosts[0]!.rules[0]!.match, { path: { type: 'PathPrefix', value: '/' }, method: null, headers: [], queryParams: [] });
  });
});

describe('GRPCRoute precedence within a virtual host', () => {
  const grpc = (name: string, matches: unknown[], ts?: string) => f.route('GRPCRoute', name, 'app', { parentRefs: parent, rules: [{ matches, backendRefs: backend }] }, ts);
  test('more characters in the service first, then in the method, then more headers', () => {
    const r = withRoutes([], [grpc('g', [
      { method: { service: 'a.B' } },
      { method: { service: 'a.B', method: 'Get' } },
      { method: { service: 'a.Bcd' } },
      { method: { service: 'a.B', method: 'Get' }, headers: [{ name: 'x', value: '1' }] },
      {},
    ])]);
    assert.deepEqual(order(r)['*'], ['g/rule/0/match/2', 'g/rule/0/match/3', 'g/rule/0/match/1', 'g/rule/0/match/0', 'g/rule/0/match/4']);
  });

  test('gRPC methods become HTTP/2 paths', () => {
    const r = withRoutes([], [grpc('g', [{ method: { service: 'pkg.Svc', method: 'Get' } }, { method: { service: 'pkg.Svc' } }, { method: { method: 'Get' } }, { method: { type: 'RegularExpression', service: 'pkg\\..*' } }])]);
    const paths = r.ir.gateways[0]!.ports[0]!.listeners[0]!.virtualHosts[0]!.rules.map((x) => `${x.source.match}:${x.match.path.type}:${x.match.path.value}`);
    assert.deepEqual(paths.sort(), ['0:Exact:/pkg.Svc/Get', '1:PathPrefix:/pkg.Svc', '2:RegularExpression:/[^/]+/Get', '3:RegularExpression:/(?:pkg\\..*)/(?:[^/]+)']);
  });
});
