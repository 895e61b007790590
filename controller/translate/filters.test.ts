import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteRuleIR } from '../../api/routing-table.ts';
import type { TranslateResult } from './snapshot.ts';
import * as f from './test-fixtures.ts';

const backend = { name: 'svc', port: 80 };

function withRule(rule: Record<string, unknown>, kind: 'HTTPRoute' | 'GRPCRoute' = 'HTTPRoute'): TranslateResult {
  const route = f.route(kind, 'r', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [rule] });
  return f.run(f.snapshot({
    gatewayClasses: [f.gatewayClass()],
    gateways: [f.gateway('gw', [f.httpListener('http')])],
    services: [f.service('svc', 'app'), f.service('mirror', 'app'), f.service('mirror2', 'app')],
    ...(kind === 'HTTPRoute' ? { httpRoutes: [route] } : { grpcRoutes: [route] }),
  }));
}

const rules = (r: TranslateResult): RouteRuleIR[] => r.ir.gateways[0]!.ports[0]!.listeners[0]!.virtualHosts[0]?.rules ?? [];
const accepted = (r: TranslateResult, kind = 'HTTPRoute') => f.routeCond(r, kind, 'r', 'app', 'Accepted');
const message = (r: TranslateResult, kind = 'HTTPRoute') => f.cond(f.parents(r, kind, 'r', 'app')[0]!.conditions, 'Accepted')!.message;

describe('header modifier filters', () => {
  test('request and response modifiers keep spec order; removals are lower-cased', () => {
    const r = withRule({
      backendRefs: [backend],
      filters: [
        { type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'X-Resp', value: 'r' }] } },
        { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-Set', value: '1' }], add: [{ name: 'X-Add', value: '2' }], remove: ['X-Gone'] } },
      ],
    });
    assert.deepEqual(rules(r)[0]!.filters, [
      { type: 'ResponseHeaderModifier', modifier: { set: [{ name: 'X-Resp', value: 'r' }], add: [], remove: [] } },
      { type: 'RequestHeaderModifier', modifier: { set: [{ name: 'X-Set', value: '1' }], add: [{ name: 'X-Add', value: '2' }], remove: ['x-gone'] } },
    ]);
  });

  test('backendRef-level filters apply to that backend only', () => {
    const r = withRule({ backendRefs: [{ ...backend, filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'x-b', value: '1' }] } }] }] });
    const a = rules(r)[0]!.action;
    assert.deepEqual(a.type === 'Forward' && a.backends[0]!.filters.map((x) => x.type), ['RequestHeaderModifier']);
  });

  test('a header value with a newline is rejected', () => {
    const r = withRule({ backendRefs: [backend], filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x', value: 'a\r\nb' }] } }] });
    assert.equal(accepted(r), 'False/UnsupportedValue');
  });
});

describe('redirects and rewrites', () => {
  test('RequestRedirect becomes the action, with scheme, hostname, port, path and status code', () => {
    const r = withRule({ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', hostname: 'example.org', port: 8443, path: { type: 'ReplaceFullPath', replaceFullPath: '/new' }, statusCode: 301 } }] });
    assert.deepEqual(rules(r)[0]!.action, { type: 'Redirect', redirect: { scheme: 'https', hostname: 'example.org', port: 8443, path: { type: 'ReplaceFullPath', value: '/new' }, statusCode: 301 } });
    assert.deepEqual(rules(r)[0]!.filters, []);
  });

  test('redirect status defaults to 302, and 303/307/308 are accepted', () => {
    assert.deepEqual(rules(withRule({ filters: [{ type: 'RequestRedirect', requestRedirect: {} }] }))[0]!.action, { type: 'Redirect', redirect: { scheme: null, hostname: null, port: null, path: null, statusCode: 302 } });
    for (const code of [303, 307, 308]) assert.equal(accepted(withRule({ filters: [{ type: 'RequestRedirect', requestRedirect: { statusCode: code } }] })), 'True/Accepted');
  });

  test('an unsupported redirect status code is rejected', () => {
    assert.equal(accepted(withRule({ filters: [{ type: 'RequestRedirect', requestRedirect: { statusCode: 304 } }] })), 'False/UnsupportedValue');
  });

  test('ReplacePrefixMatch carries the prefix of each match it serves', () => {
    const r = withRule({
      matches: [{ path: { type: 'PathPrefix', value: '/api' } }, { path: { type: 'PathPrefix', value: '/v1/api' } }],
      filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'internal', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } }],
      backendRefs: [backend],
    });
    const byMatch = rules(r).map((x) => [x.source.match, x.filters[0]]);
    assert.deepEqual(byMatch.sort(), [
      [0, { type: 'URLRewrite', hostname: 'internal', path: { type: 'ReplacePrefixMatch', value: '/', prefix: '/api' } }],
      [1, { type: 'URLRewrite', hostname: 'internal', path: { type: 'ReplacePrefixMatch', value: '/', prefix: '/v1/api' } }],
    ]);
  });

  test('ReplacePrefixMatch with an Exact match is rejected', () => {
    const r = withRule({ matches: [{ path: { type: 'Exact', value: '/a' } }], filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/b' } } }], backendRefs: [backend] });
    assert.equal(accepted(r), 'False/UnsupportedValue');
    assert.match(message(r), /ReplacePrefixMatch requires a PathPrefix match/);
  });

  test('RequestRedirect and URLRewrite in one rule → IncompatibleFilters', () => {
    const r = withRule({ filters: [{ type: 'RequestRedirect', requestRedirect: {} }, { type: 'URLRewrite', urlRewrite: { hostname: 'x' } }] });
    assert.equal(accepted(r), 'False/IncompatibleFilters');
  });
});

describe('request mirrors', () => {
  test('several mirrors; percent, fraction (converted to percent) and the default of 100', () => {
    const r = withRule({
      backendRefs: [backend],
      filters: [
        { type: 'RequestMirror', requestMirror: { backendRef: { name: 'mirror', port: 80 }, percent: 25 } },
        { type: 'RequestMirror', requestMirror: { backendRef: { name: 'mirror2', port: 80 }, fraction: { numerator: 1, denominator: 8 } } },
        { type: 'RequestMirror', requestMirror: { backendRef: { name: 'mirror', port: 80 } } },
      ],
    });
    assert.deepEqual(rules(r)[0]!.filters, [
      { type: 'RequestMirror', backend: 'service/app/mirror/80', percent: 25 },
      { type: 'RequestMirror', backend: 'service/app/mirror2/80', percent: 12.5 },
      { type: 'RequestMirror', backend: 'service/app/mirror/80', percent: 100 },
    ]);
  });

  test('a mirror to a missing Service is dropped and reported as BackendNotFound', () => {
    const r = withRule({ backendRefs: [backend], filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'ghost', port: 80 } } }] });
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'ResolvedRefs'), 'False/BackendNotFound');
    assert.deepEqual(rules(r)[0]!.filters, []);
  });

  test('a fraction above 1 is rejected', () => {
    const r = withRule({ backendRefs: [backend], filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'mirror', port: 80 }, fraction: { numerator: 3, denominator: 2 } } }] });
    assert.equal(accepted(r), 'False/UnsupportedValue');
  });
});

describe('timeouts and retry reach the table', () => {
  test('rule timeouts and retry', () => {
    const r = withRule({ backendRefs: [backend], timeouts: { request: '10s', backendRequest: '1s' }, retry: { codes: [503], attempts: 2, backoff: '50ms' } });
    assert.deepEqual([rules(r)[0]!.timeouts, rules(r)[0]!.retry], [{ requestMs: 10_000, backendRequestMs: 1_000 }, { codes: [503], attempts: 2, backoffMs: 50 }]);
  });

  test('invalid timeouts reject the route, naming the field', () => {
    const r = withRule({ backendRefs: [backend], timeouts: { request: '1s', backendRequest: '2s' } });
    assert.equal(accepted(r), 'False/UnsupportedValue');
    assert.match(message(r), /spec\.rules\[0\]\.timeouts\.backendRequest/);
  });
});

describe('features meshlet does not implement are rejected, never ignored', () => {
  const cases: [string, Record<string, unknown>, RegExp, 'HTTPRoute' | 'GRPCRoute'][] = [
    ['CORS filter', { backendRefs: [backend], filters: [{ type: 'CORS', cors: { allowOrigins: ['*'] } }] }, /"CORS"/, 'HTTPRoute'],
    ['ExtensionRef filter', { backendRefs: [backend], filters: [{ type: 'ExtensionRef', extensionRef: { group: 'x', kind: 'Y', name: 'z' } }] }, /"ExtensionRef"/, 'HTTPRoute'],
    ['ExternalAuth filter', { backendRefs: [backend], filters: [{ type: 'ExternalAuth', externalAuth: {} }] }, /"ExternalAuth"/, 'HTTPRoute'],
    ['an unknown filter type', { backendRefs: [backend], filters: [{ type: 'Teleport' }] }, /"Teleport"/, 'HTTPRoute'],
    ['sessionPersistence', { backendRefs: [backend], sessionPersistence: { sessionName: 'x' } }, /sessionPersistence/, 'HTTPRoute'],
    ['a RequestRedirect on a backendRef', { backendRefs: [{ ...backend, filters: [{ type: 'RequestRedirect', requestRedirect: {} }] }] }, /on a backendRef/, 'HTTPRoute'],
    ['URLRewrite on a GRPCRoute', { backendRefs: [backend], filters: [{ type: 'URLRewrite', urlRewrite: {} }] }, /"URLRewrite"/, 'GRPCRoute'],
    ['an invalid path regular expression', { backendRefs: [backend], matches: [{ path: { type: 'RegularExpression', value: '/(a' } }] }, /matches\[0\]\.path\.value/, 'HTTPRoute'],
    ['a lookahead (not RE2)', { backendRefs: [backend], matches: [{ headers: [{ type: 'RegularExpression', name: 'x', value: '(?=a)' }] }] }, /headers\[0\]\.value/, 'HTTPRoute'],
    ['an invalid query regular expression', { backendRefs: [backend], matches: [{ queryParams: [{ type: 'RegularExpression', name: 'q', value: '[' }] }] }, /queryParams\[0\]\.value/, 'HTTPRoute'],
    ['an invalid gRPC method regular expression', { backendRefs: [backend], matches: [{ method: { type: 'RegularExpression', service: '(' } }] }, /method\.service/, 'GRPCRoute'],
    ['an unknown path match type', { backendRefs: [backend], matches: [{ path: { type: 'Glob', value: '/*' } }] }, /"Glob"/, 'HTTPRoute'],
    ['an unknown method', { backendRefs: [backend], matches: [{ method: 'BREW' }] }, /"BREW"/, 'HTTPRoute'],
  ];
  for (const [name, rule, pattern, kind] of cases) {
    test(`${name} → Accepted False UnsupportedValue with a message naming it`, () => {
      const r = withRule(rule, kind);
      assert.equal(accepted(r, kind), 'False/UnsupportedValue');
      assert.match(message(r, kind), pattern);
      assert.deepEqual(rules(r), []);
    });
  }
});
