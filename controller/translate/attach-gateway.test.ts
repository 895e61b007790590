import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GATEWAY_CONTROLLER_NAME } from '../../api/names.ts';
import type { KubeObject } from './snapshot.ts';
import * as f from './test-fixtures.ts';

const backend = [{ name: 'svc', port: 80 }];

function world(listeners: Record<string, unknown>[], routes: KubeObject[], extra: Partial<Parameters<typeof f.snapshot>[0]> = {}) {
  return f.run(f.snapshot({
    gatewayClasses: [f.gatewayClass(), f.gatewayClass('other', 'example.com/other')],
    gateways: [f.gateway('gw', listeners)],
    services: [f.service('svc', 'app'), f.service('svc', 'infra')],
    httpRoutes: routes,
    ...extra,
  }));
}

const route = (parentRef: Record<string, unknown>, extra: Record<string, unknown> = {}, ns = 'app') =>
  f.httpRoute('r', ns, { parentRefs: [{ name: 'gw', namespace: 'infra', ...parentRef }], rules: [{ backendRefs: backend }], ...extra });

describe('route attachment to Gateways: reasons', () => {
  test('attaches to every listener that allows it; entry uses the gateway controller name', () => {
    const r = world([f.httpListener('a', 80), f.httpListener('b', 8080)], [route({})]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'True/Accepted');
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'ResolvedRefs'), 'True/ResolvedRefs');
    assert.equal(f.parents(r, 'HTTPRoute', 'r', 'app')[0]!.controllerName, GATEWAY_CONTROLLER_NAME);
    assert.deepEqual(f.parents(r, 'HTTPRoute', 'r', 'app')[0]!.parentRef, { name: 'gw', namespace: 'infra' });
    assert.equal(f.listenerStatus(r, 'gw', 'a')!.attachedRoutes, 1);
    assert.equal(f.listenerStatus(r, 'gw', 'b')!.attachedRoutes, 1);
  });

  test('sectionName selects one listener', () => {
    const r = world([f.httpListener('a', 80), f.httpListener('b', 8080)], [route({ sectionName: 'b' })]);
    assert.equal(f.listenerStatus(r, 'gw', 'a')!.attachedRoutes, 0);
    assert.equal(f.listenerStatus(r, 'gw', 'b')!.attachedRoutes, 1);
  });

  test('port selects the listeners on that port', () => {
    const r = world([f.httpListener('a', 80), f.httpListener('b', 8080)], [route({ port: 8080 })]);
    assert.deepEqual([f.listenerStatus(r, 'gw', 'a')!.attachedRoutes, f.listenerStatus(r, 'gw', 'b')!.attachedRoutes], [0, 1]);
  });

  test('unknown sectionName → NoMatchingParent', () => {
    const r = world([f.httpListener('a')], [route({ sectionName: 'nope' })]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'False/NoMatchingParent');
  });

  test('port with no listener → NoMatchingParent', () => {
    const r = world([f.httpListener('a', 80)], [route({ port: 81 })]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'False/NoMatchingParent');
  });

  test('allowedRoutes from Same rejects other namespaces → NotAllowedByListeners', () => {
    const r = world([{ name: 'a', port: 80, protocol: 'HTTP' }], [route({})]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'False/NotAllowedByListeners');
    assert.equal(f.listenerStatus(r, 'gw', 'a')!.attachedRoutes, 0);
  });

  test('allowedRoutes from Same accepts the Gateway namespace', () => {
    const r = world([{ name: 'a', port: 80, protocol: 'HTTP' }], [route({}, {}, 'infra')]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'infra', 'Accepted'), 'True/Accepted');
  });

  test('allowedRoutes Selector matches Namespace labels', () => {
    const listeners = [f.httpListener('a', 80, { allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { team: 'web' } } } } })];
    const labelled = (labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app', labels } });
    assert.equal(f.routeCond(world(listeners, [route({})], { namespaces: [labelled({ team: 'web' })] }), 'HTTPRoute', 'r', 'app', 'Accepted'), 'True/Accepted');
    assert.equal(f.routeCond(world(listeners, [route({})], { namespaces: [labelled({ team: 'db' })] }), 'HTTPRoute', 'r', 'app', 'Accepted'), 'False/NotAllowedByListeners');
  });

  test('selector matchExpressions, including the implicit kubernetes.io/metadata.name label', () => {
    const listeners = [f.httpListener('a', 80, { allowedRoutes: { namespaces: { from: 'Selector', selector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['app'] }] } } } })];
    assert.equal(f.routeCond(world(listeners, [route({})]), 'HTTPRoute', 'r', 'app', 'Accepted'), 'True/Accepted');
  });

  test('allowedRoutes kinds without HTTPRoute → NotAllowedByListeners', () => {
    const listeners = [f.httpListener('a', 80, { allowedRoutes: { namespaces: { from: 'All' }, kinds: [{ kind: 'GRPCRoute' }] } })];
    assert.equal(f.routeCond(world(listeners, [route({})]), 'HTTPRoute', 'r', 'app', 'Accepted'), 'False/NotAllowedByListeners');
  });

  test('no hostname in common with the listener → NoMatchingListenerHostname', () => {
    const r = world([f.httpListener('a', 80, { hostname: 'foo.example.com' })], [route({}, { hostnames: ['bar.example.com'] })]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'False/NoMatchingListenerHostname');
    assert.equal(r.ir.gateways[0]!.ports[0]!.listeners[0]!.virtualHosts.length, 0);
  });

  test('intersected hostnames become the virtual hosts of the listener', () => {
    const r = world([f.httpListener('a', 80, { hostname: '*.example.com' })], [route({}, { hostnames: ['foo.example.com', 'foo.example.net'] })]);
    assert.deepEqual(r.ir.gateways[0]!.ports[0]!.listeners[0]!.virtualHosts.map((v) => v.hostname), ['foo.example.com']);
  });

  test('a parentRef to a Gateway of another class (or none) gets no entry from us', () => {
    const foreign = { ...f.gateway('theirs', [f.httpListener('a')]), spec: { gatewayClassName: 'other', listeners: [f.httpListener('a')] } };
    const r = world([f.httpListener('a')], [f.httpRoute('r', 'app', { parentRefs: [{ name: 'theirs', namespace: 'infra' }, { name: 'missing', namespace: 'infra' }], rules: [{ backendRefs: backend }] })], { gateways: [f.gateway('gw', [f.httpListener('a')]), foreign] });
    assert.equal(f.statusOf(r, 'HTTPRoute', 'r', 'app'), undefined);
    assert.equal(f.statusOf(r, 'Gateway', 'theirs', 'infra'), undefined);
  });

  test('one invalid route does not disturb a valid one on the same listener', () => {
    const bad = f.httpRoute('bad', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [{ matches: [{ path: { type: 'RegularExpression', value: '(' } }], backendRefs: backend }] });
    const r = world([f.httpListener('a')], [route({}), bad]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'bad', 'app', 'Accepted'), 'False/UnsupportedValue');
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'True/Accepted');
    assert.deepEqual(r.ir.gateways[0]!.ports[0]!.listeners[0]!.virtualHosts[0]!.rules.map((x) => x.name), ['httproute/app/r/rule/0/match/0']);
  });

  test('HTTPRoute and GRPCRoute on the same listener hostname: the older one wins, the other is Conflicted', () => {
    const grpc = f.route('GRPCRoute', 'g', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [{ backendRefs: backend }] }, '2025-01-01T00:00:00Z');
    const http = f.httpRoute('h', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [{ backendRefs: backend }] }, '2026-01-01T00:00:00Z');
    const r = world([f.httpListener('a')], [http], { grpcRoutes: [grpc] });
    assert.equal(f.routeCond(r, 'GRPCRoute', 'g', 'app', 'Accepted'), 'True/Accepted');
    assert.equal(f.routeCond(r, 'HTTPRoute', 'h', 'app', 'Accepted'), 'False/Conflicted');
    assert.deepEqual(r.ir.gateways[0]!.ports[0]!.listeners[0]!.virtualHosts[0]!.rules.map((x) => x.source.kind), ['GRPCRoute']);
  });

  test('HTTPRoute and GRPCRoute with disjoint hostnames share a listener', () => {
    const grpc = f.route('GRPCRoute', 'g', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], hostnames: ['grpc.example.com'], rules: [{ backendRefs: backend }] });
    const http = f.httpRoute('h', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }], hostnames: ['web.example.com'], rules: [{ backendRefs: backend }] });
    const r = world([f.httpListener('a')], [http], { grpcRoutes: [grpc] });
    assert.equal(f.routeCond(r, 'HTTPRoute', 'h', 'app', 'Accepted'), 'True/Accepted');
    assert.equal(f.routeCond(r, 'GRPCRoute', 'g', 'app', 'Accepted'), 'True/Accepted');
  });
});
