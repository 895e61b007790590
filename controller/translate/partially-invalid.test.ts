// Invalid rules are dropped one by one (the spec's PartiallyInvalid "drop rules" approach), and
// filters that could break HTTP framing are refused.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TranslateResult } from './snapshot.ts';
import * as f from './test-fixtures.ts';

const backend = { name: 'svc', port: 80 };
const cors = { type: 'CORS', cors: { allowOrigins: ['*'] } };

function gatewayRoute(rules: Record<string, unknown>[]): TranslateResult {
  return f.run(f.snapshot({
    gatewayClasses: [f.gatewayClass()],
    gateways: [f.gateway('gw', [f.httpListener('http')])],
    services: [f.service('svc', 'app')],
    httpRoutes: [f.httpRoute('r', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules })],
  }));
}

function meshRoute(rules: Record<string, unknown>[]): TranslateResult {
  return f.run(f.snapshot({
    services: [f.service('echo', 'app', [{ name: 'http', port: 80 }], '10.0.0.9'), f.service('svc', 'app')],
    httpRoutes: [f.httpRoute('r', 'app', { parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: 80 }], rules })],
  }));
}

const names = (r: TranslateResult): string[] => r.ir.gateways[0]!.ports[0]!.listeners[0]!.virtualHosts.flatMap((v) => v.rules.map((x) => x.name));

describe('PartiallyInvalid: invalid rules are dropped, the valid ones serve', () => {
  test('one unsupported rule among valid ones: Accepted, PartiallyInvalid naming the rule, only valid rules programmed', () => {
    const r = gatewayRoute([
      { matches: [{ path: { type: 'PathPrefix', value: '/bad' } }], filters: [cors], backendRefs: [backend] },
      { matches: [{ path: { type: 'PathPrefix', value: '/good' } }], backendRefs: [backend] },
    ]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'True/Accepted');
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'PartiallyInvalid'), 'True/UnsupportedValue');
    assert.match(f.cond(f.parents(r, 'HTTPRoute', 'r', 'app')[0]!.conditions, 'PartiallyInvalid')!.message, /spec\.rules\[0\]\.filters\[0\].*CORS/);
    assert.deepEqual(names(r), ['httproute/app/r/rule/1/match/0']);
  });

  test('every rule invalid: Accepted=False, and no PartiallyInvalid condition', () => {
    const r = gatewayRoute([{ filters: [cors], backendRefs: [backend] }]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'False/UnsupportedValue');
    assert.equal(f.cond(f.parents(r, 'HTTPRoute', 'r', 'app')[0]!.conditions, 'PartiallyInvalid'), undefined);
  });

  test('a fully valid route carries no PartiallyInvalid condition', () => {
    const r = gatewayRoute([{ backendRefs: [backend] }]);
    assert.equal(f.cond(f.parents(r, 'HTTPRoute', 'r', 'app')[0]!.conditions, 'PartiallyInvalid'), undefined);
  });

  test('on a Service, the surviving rules still form the route set (so unmatched requests get 404, not the default forward)', () => {
    const r = meshRoute([
      { matches: [{ path: { type: 'PathPrefix', value: '/bad' } }], filters: [cors], backendRefs: [backend] },
      { matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: [backend] },
    ]);
    const echo = r.ir.services.find((s) => s.serviceName === 'echo')!;
    const producer = echo.ports[0]!.producer;
    assert.ok(producer, 'the Service keeps a producer route set');
    assert.deepEqual(producer.virtualHosts.flatMap((v) => v.rules.map((x) => x.name)), ['httproute/app/r/rule/1/match/0']);
  });
});

describe('filters cannot touch message framing', () => {
  for (const [field, name] of [['set', 'Content-Length'], ['add', 'transfer-encoding'], ['set', 'connection']] as const) {
    test(`ResponseHeaderModifier ${field} ${name} is refused`, () => {
      const r = gatewayRoute([{ backendRefs: [backend], filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { [field]: [{ name, value: '0' }] } }] }]);
      assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'False/UnsupportedValue');
      assert.match(f.cond(f.parents(r, 'HTTPRoute', 'r', 'app')[0]!.conditions, 'Accepted')!.message, /frames the message/);
    });
  }
  test('RequestHeaderModifier remove content-length is refused too', () => {
    const r = gatewayRoute([{ backendRefs: [backend], filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { remove: ['Content-Length'] } }] }]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'False/UnsupportedValue');
  });
});

test('ReplacePrefixMatch with an empty replacement (the spec\'s /foo/bar → /bar example) is accepted and applied', () => {
  const r = gatewayRoute([{
    matches: [{ path: { type: 'PathPrefix', value: '/foo' } }],
    filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '' } } }],
    backendRefs: [backend],
  }]);
  assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'True/Accepted');
  // The matcher's table test covers applying it: /foo/bar with prefix /foo and '' → /bar.
  const rule = r.ir.gateways[0]!.ports[0]!.listeners[0]!.virtualHosts[0]!.rules[0]!;
  assert.deepEqual(rule.filters, [{ type: 'URLRewrite', hostname: null, path: { type: 'ReplacePrefixMatch', value: '', prefix: '/foo' } }]);
});
