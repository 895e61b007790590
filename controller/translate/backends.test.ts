import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteRuleIR } from '../../api/routing-table.ts';
import type { TranslateResult } from './snapshot.ts';
import * as f from './test-fixtures.ts';

function onGateway(backendRefs: unknown[] | undefined, extra: Partial<Parameters<typeof f.snapshot>[0]> = {}, ruleExtra: Record<string, unknown> = {}) {
  const rule = backendRefs === undefined ? { ...ruleExtra } : { backendRefs, ...ruleExtra };
  return f.run(f.snapshot({
    gatewayClasses: [f.gatewayClass()],
    gateways: [f.gateway('gw', [f.httpListener('http')])],
    services: [f.service('a', 'app'), f.service('b', 'app'), f.service('c', 'other'), { ...f.service('ext', 'app'), spec: { type: 'ExternalName', externalName: 'example.com', ports: [{ port: 80 }] } }],
    httpRoutes: [f.httpRoute('r', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [rule] })],
    ...extra,
  }));
}

const firstRule = (r: TranslateResult): RouteRuleIR => r.ir.gateways[0]!.ports[0]!.listeners[0]!.virtualHosts[0]!.rules[0]!;

describe('backendRefs', () => {
  test('weights are kept, including 0, and default to 1', () => {
    const r = onGateway([{ name: 'a', port: 80, weight: 0 }, { name: 'b', port: 80 }]);
    const a = firstRule(r).action;
    assert.equal(a.type, 'Forward');
    assert.deepEqual(a.type === 'Forward' && a.backends.map((b) => [b.backend, b.weight]), [['service/app/a/80', 0], ['service/app/b/80', 1]]);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['an unknown kind', { kind: 'Bucket', group: 'storage.example.com', name: 'a', port: 80 }, 'InvalidKind'],
    ['a core kind other than Service', { kind: 'ConfigMap', name: 'a', port: 80 }, 'InvalidKind'],
    ['a missing Service', { name: 'ghost', port: 80 }, 'BackendNotFound'],
    ['a port the Service lacks', { name: 'a', port: 81 }, 'BackendNotFound'],
    ['an ExternalName Service', { name: 'ext', port: 80 }, 'BackendNotFound'],
    ['another namespace without a ReferenceGrant', { name: 'c', namespace: 'other', port: 80 }, 'RefNotPermitted'],
  ];
  for (const [name, ref, reason] of invalid) {
    test(`${name} → ResolvedRefs False ${reason}; its share is kept as backend null`, () => {
      const r = onGateway([ref, { name: 'b', port: 80, weight: 3 }]);
      assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'ResolvedRefs'), `False/${reason}`);
      assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'True/Accepted');
      const a = firstRule(r).action;
      assert.deepEqual(a.type === 'Forward' && a.backends.map((b) => [b.backend, b.weight, b.invalidReason]), [[null, 1, reason], ['service/app/b/80', 3, null]]);
    });
  }

  test('a ReferenceGrant from HTTPRoutes in the route namespace allows the cross-namespace Service', () => {
    const grant = f.referenceGrant('other', { kind: 'HTTPRoute', namespace: 'app' }, { kind: 'Service' });
    const r = onGateway([{ name: 'c', namespace: 'other', port: 80 }], { referenceGrants: [grant] });
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'ResolvedRefs'), 'True/ResolvedRefs');
  });

  test('a ReferenceGrant for GRPCRoutes does not cover HTTPRoutes', () => {
    const grant = f.referenceGrant('other', { kind: 'GRPCRoute', namespace: 'app' }, { kind: 'Service' });
    const r = onGateway([{ name: 'c', namespace: 'other', port: 80 }], { referenceGrants: [grant] });
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'ResolvedRefs'), 'False/RefNotPermitted');
  });

  test('a rule without backendRefs and without a redirect answers 500', () => {
    const r = onGateway(undefined);
    assert.deepEqual(firstRule(r).action, { type: 'Respond', status: 500, reason: 'rule has no backendRefs' });
  });

  test('a route with no rules gets the CRD default: one catch-all rule answering 500', () => {
    const route = f.httpRoute('r', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }] });
    const r = onGateway([], { httpRoutes: [route] });
    assert.equal(firstRule(r).match.path.value, '/');
    assert.equal(firstRule(r).action.type, 'Respond');
  });

  test('only referenced backends reach the table (headless Services have no frontend default)', () => {
    const services = [f.service('used', 'app', [{ port: 80 }], 'None'), f.service('unused', 'app', [{ port: 80 }], 'None')];
    const r = onGateway([{ name: 'used', port: 80 }], { services });
    assert.deepEqual(r.ir.backends.map((b) => b.name), ['service/app/used/80']);
  });
});

describe('weights out of range', () => {
  test('a negative weight rejects the route with UnsupportedValue', () => {
    const r = onGateway([{ name: 'a', port: 80, weight: -1 }]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'False/UnsupportedValue');
    assert.deepEqual(r.ir.gateways[0]!.ports[0]!.listeners[0]!.virtualHosts, []);
  });
});

