import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from './snapshot.ts';
import { translate } from './index.ts';
import * as f from './test-fixtures.ts';

const good = () => f.httpRoute('good', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [{ backendRefs: [{ name: 'svc', port: 80 }] }] });

function world(extra: Partial<Parameters<typeof f.snapshot>[0]>) {
  return f.run(f.snapshot({
    gatewayClasses: [f.gatewayClass()],
    gateways: [f.gateway('gw', [f.httpListener('http')])],
    services: [f.service('svc', 'app')],
    ...extra,
    httpRoutes: [good(), ...(extra.httpRoutes ?? [])],
  }));
}

describe('malformed and unexpected input never stops translation', () => {
  const badRoutes: [string, KubeObject][] = [
    ['rules is a string', f.httpRoute('bad', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: 'all of them' })],
    ['a rule is a number', f.httpRoute('bad', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [42] })],
    ['matches with wrong types', f.httpRoute('bad', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [{ matches: [{ path: { type: 7, value: [] } }] }] })],
    ['hostnames with a number', f.httpRoute('bad', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], hostnames: [1] })],
    ['backendRef weight as a string', f.httpRoute('bad', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [{ backendRefs: [{ name: 'svc', port: 80, weight: '5' }] }] })],
    ['filters of null type', f.httpRoute('bad', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [{ filters: [{ type: null }] }] })],
  ];
  for (const [name, bad] of badRoutes) {
    test(`a route whose ${name} is reported, and the valid route still works`, () => {
      const r = world({ httpRoutes: [bad] });
      assert.equal(f.routeCond(r, 'HTTPRoute', 'bad', 'app', 'Accepted'), 'False/UnsupportedValue');
      assert.equal(f.routeCond(r, 'HTTPRoute', 'good', 'app', 'Accepted'), 'True/Accepted');
      assert.ok(r.ir.gateways[0]!.ports[0]!.listeners[0]!.virtualHosts[0]!.rules.some((x) => x.source.name === 'good'));
    });
  }

  test('the message names the malformed field', () => {
    const r = world({ httpRoutes: [badRoutes[2]![1]] });
    assert.match(f.cond(f.parents(r, 'HTTPRoute', 'bad', 'app')[0]!.conditions, 'Accepted')!.message, /spec\.rules\[0\]\.matches\[0\]\.path\.type/);
  });

  test('objects without names, specs or with junk everywhere are skipped or tolerated', () => {
    const junk = [
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: {} } as unknown as KubeObject,
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'nospec', namespace: 'app' } } as KubeObject,
    ];
    const r = world({
      httpRoutes: junk,
      gateways: [f.gateway('gw', [f.httpListener('http')]), { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'weird', namespace: 'infra' }, spec: { gatewayClassName: 'meshlet', listeners: 'none' } }],
      services: [f.service('svc', 'app'), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'odd', namespace: 'app' }, spec: { clusterIP: '10.0.0.9', ports: [{ port: 'eighty' }, null] } }],
      endpointSlices: [{ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'e', namespace: 'app', labels: { 'kubernetes.io/service-name': 'svc' } }, endpoints: [null, { addresses: 'x' }], ports: [{ port: 'x' }] }],
      secrets: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'infra' } }],
    });
    assert.equal(f.routeCond(r, 'HTTPRoute', 'good', 'app', 'Accepted'), 'True/Accepted');
    assert.equal(f.cond(f.statusOf(r, 'Gateway', 'weird')!.conditions, 'Accepted')!.reason, 'ListenersNotValid');
  });

  test('unknown fields and newer API versions are tolerated', () => {
    const future = { ...good(), apiVersion: 'gateway.networking.k8s.io/v2', metadata: { ...good().metadata, name: 'future' }, spec: { ...good().spec, someNewField: { x: 1 }, rules: [{ backendRefs: [{ name: 'svc', port: 80 }], futureKnob: true }] } };
    const r = world({ httpRoutes: [future] });
    assert.equal(f.routeCond(r, 'HTTPRoute', 'future', 'app', 'Accepted'), 'True/Accepted');
  });

  test('translation is deterministic: same input, same table version and statuses', () => {
    const a = world({});
    const b = world({});
    assert.equal(a.ir.version, b.ir.version);
    assert.deepEqual(a.statuses, b.statuses);
  });

  test('input order does not change the table or the statuses', () => {
    const routes = [good(), f.httpRoute('second', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [{ matches: [{ path: { type: 'Exact', value: '/x' } }], backendRefs: [{ name: 'svc', port: 80 }] }] })];
    const snap = f.snapshot({ gatewayClasses: [f.gatewayClass()], gateways: [f.gateway('gw', [f.httpListener('http')])], services: [f.service('svc', 'app'), f.service('svc2', 'app', undefined, '10.0.0.2')], httpRoutes: routes });
    const reversed = { ...snap, httpRoutes: [...routes].reverse(), services: [...snap.services].reverse() };
    assert.equal(translate(snap).ir.version, translate(reversed).ir.version);
    assert.deepEqual(translate(snap).statuses, translate(reversed).statuses);
  });

  test('an empty snapshot yields an empty, valid table', () => {
    const r = f.run(f.snapshot({}));
    assert.deepEqual([r.ir.gateways, r.ir.services, r.ir.backends, r.ir.secrets, r.statuses], [[], [], [], [], []]);
  });
});
