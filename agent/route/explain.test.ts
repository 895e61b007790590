import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTable, explain, route, shadowedRules } from './index.ts';
import { matchCovers } from './explain.ts';
import { GATEWAY, SERVICE_IP, gatewayTable, listener, meshTable, request, rule, servicePort, vhost } from './test-support.ts';
import type { MatchIR } from '../../api/index.ts';

const GW = { kind: 'gateway' as const, gateway: GATEWAY, port: 80 };

describe('explain()', () => {
  const table = gatewayTable([listener('l', null, [vhost('*', [
    rule('exact', { path: { type: 'Exact', value: '/a' } }),
    rule('get-only', { path: { type: 'PathPrefix', value: '/b' }, method: 'GET' }),
    rule('header', { path: { type: 'PathPrefix', value: '/b' }, headers: [{ type: 'Exact', name: 'x-env', value: 'canary' }] }),
    rule('fallback', { path: { type: 'PathPrefix', value: '/b' }, backend: 'b' }),
    rule('last', {}),
  ])])]);
  const compiled = compileTable(table);

  test('lists every rule in order with why it did or did not match, and the decision route() gives', () => {
    const req = request('/b/1', { method: 'POST', headers: { 'x-env': 'prod' } });
    const e = explain(compiled, GW, req);
    assert.deepEqual(e.decision, route(compiled, GW, req));
    assert.equal(e.routes, 'gateway/ns/gw/listener/l');
    assert.equal(e.virtualHost, '*');
    assert.deepEqual(e.rules.map((r) => [r.rule.split('/')[2], r.outcome, r.reason]), [
      ['exact', 'no-match', 'path /b/1 does not match Exact /a'],
      ['get-only', 'no-match', 'method POST is not GET'],
      ['header', 'no-match', 'header x-env value does not match'],
      ['fallback', 'matched', null],
      ['last', 'not-reached', null],
    ]);
  });

  test('a request answered before rules are considered has no rule verdicts', () => {
    const e = explain(compiled, GW, request('/%zz'));
    assert.equal(e.decision.type === 'respond' && e.decision.status, 400);
    assert.deepEqual(e.rules, []);
    const mesh = explain(compileTable(meshTable([servicePort()])), { kind: 'mesh', address: SERVICE_IP, port: 80, clientNamespace: 'x' }, request('/'));
    assert.equal(mesh.routes, 'service/ns/echo/80');
    assert.equal(mesh.decision.type, 'forward');
  });
});

describe('shadowedRules()', () => {
  const m = (path: MatchIR['path'], extra: Partial<MatchIR> = {}): MatchIR => ({ path, method: null, headers: [], queryParams: [], ...extra });
  const prefix = (value: string): MatchIR['path'] => ({ type: 'PathPrefix', value });
  const exact = (value: string): MatchIR['path'] => ({ type: 'Exact', value });

  test('coverage: broader path with a subset of conditions covers; anything narrower does not', () => {
    assert.ok(matchCovers(m(prefix('/')), m(exact('/x'), { method: 'GET' })));
    assert.ok(matchCovers(m(prefix('/api')), m(prefix('/api/v1'))));
    assert.ok(matchCovers(m(prefix('/api/')), m(exact('/api'))));
    assert.ok(!matchCovers(m(prefix('/api')), m(prefix('/apix'))));
    assert.ok(!matchCovers(m(prefix('/api/v1')), m(prefix('/api'))));
    assert.ok(matchCovers(m(exact('/a')), m(exact('/a'), { headers: [{ type: 'Exact', name: 'h', value: '1' }] })));
    assert.ok(!matchCovers(m(exact('/a'), { headers: [{ type: 'Exact', name: 'h', value: '1' }] }), m(exact('/a'))));
    assert.ok(!matchCovers(m(prefix('/'), { method: 'GET' }), m(prefix('/'), { method: 'HEAD' })));
    assert.ok(matchCovers(m({ type: 'RegularExpression', value: '/v[0-9]' }), m(exact('/v1'))));
    assert.ok(!matchCovers(m({ type: 'RegularExpression', value: '/v[0-9]' }), m(prefix('/v1'))));
    assert.ok(matchCovers(
      m(prefix('/'), { headers: [{ type: 'RegularExpression', name: 'x', value: 'a.*' }] }),
      m(prefix('/'), { headers: [{ type: 'Exact', name: 'x', value: 'abc' }] }),
    ));
    assert.ok(!matchCovers(m(prefix('/'), { queryParams: [{ type: 'Exact', name: 'q', value: '1' }] }), m(prefix('/'))));
  });

  test('reports each shadowed rule with the earlier rule that takes its requests, per virtual host', () => {
    const table = gatewayTable([listener('l', null, [
      vhost('a.example.com', [
        rule('catch-all'),
        rule('never', { path: { type: 'Exact', value: '/x' } }),
      ]),
      vhost('*', [
        rule('api', { path: { type: 'PathPrefix', value: '/api' } }),
        rule('api-v1', { path: { type: 'PathPrefix', value: '/api/v1' }, method: 'GET' }),
        rule('other', { path: { type: 'PathPrefix', value: '/other' } }),
        rule('root', {}),
      ]),
    ])]);
    assert.deepEqual(shadowedRules(table).map((s) => [s.virtualHost, s.rule.split('/')[2], s.shadowedBy.split('/')[2]]), [
      ['a.example.com', 'never', 'catch-all'],
      ['*', 'api-v1', 'api'],
    ]);
  });

  test('mesh route sets are checked too, consumer sets named by namespace', () => {
    const routes = { kind: 'HTTPRoute' as const, virtualHosts: [vhost('*', [rule('all'), rule('dup')])] };
    const table = meshTable([servicePort({ producer: routes, consumers: [{ namespace: 'c', routes }] })]);
    assert.deepEqual(shadowedRules(table).map((s) => s.where), ['service/ns/echo/80', 'service/ns/echo/80/consumer/c']);
  });
});
