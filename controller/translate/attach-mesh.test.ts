import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MESH_CONTROLLER_NAME } from '../../api/names.ts';
import type { ServiceFrontendIR } from '../../api/routing-table.ts';
import type { KubeObject, TranslateResult } from './snapshot.ts';
import * as f from './test-fixtures.ts';

const twoPorts = [{ name: 'http', port: 80 }, { name: 'admin', port: 9090 }];

function mesh(httpRoutes: KubeObject[], extra: Partial<Parameters<typeof f.snapshot>[0]> = {}) {
  return f.run(f.snapshot({
    services: [f.service('echo', 'app', twoPorts, '10.0.0.10'), f.service('echo-v2', 'app', twoPorts, '10.0.0.11'), f.service('other', 'client', [{ port: 80 }], '10.0.0.12')],
    httpRoutes,
    ...extra,
  }));
}

const svcRef = (extra: Record<string, unknown> = {}) => ({ group: '', kind: 'Service', name: 'echo', ...extra });
const toV2 = [{ backendRefs: [{ name: 'echo-v2', namespace: 'app', port: 80 }] }];
const frontend = (r: TranslateResult, name: string): ServiceFrontendIR => r.ir.services.find((s) => s.name === name)!;

describe('GAMMA: Service frontends', () => {
  test('every Service with a ClusterIP gets a frontend whose default backend is itself, routes or not', () => {
    const r = mesh([]);
    assert.deepEqual(r.ir.services.map((s) => s.name), ['service/app/echo', 'service/app/echo-v2', 'service/client/other']);
    const p = frontend(r, 'service/app/echo').ports;
    assert.deepEqual(p.map((x) => [x.port, x.portName, x.defaultBackend, x.producer]), [[80, 'http', 'service/app/echo/80', null], [9090, 'admin', 'service/app/echo/9090', null]]);
    assert.equal(frontend(r, 'service/client/other').ports[0]!.portName, null);
  });

  test('headless Services get no frontend and cannot be parents (NoMatchingParent)', () => {
    const r = mesh([f.httpRoute('r', 'app', { parentRefs: [svcRef({ name: 'headless' })], rules: toV2 })], { services: [f.service('headless', 'app', [{ port: 80 }], 'None'), f.service('echo-v2', 'app')] });
    assert.deepEqual(r.ir.services.map((s) => s.name), ['service/app/echo-v2']);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'False/NoMatchingParent');
  });

  test('a missing Service → NoMatchingParent under the mesh controller name', () => {
    const r = mesh([f.httpRoute('r', 'app', { parentRefs: [svcRef({ name: 'ghost' })], rules: toV2 })]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'False/NoMatchingParent');
    assert.equal(f.parents(r, 'HTTPRoute', 'r', 'app')[0]!.controllerName, MESH_CONTROLLER_NAME);
  });

  test('endpoints come from EndpointSlices by port name, with the target port, and identity from the meshed Pod', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'echo-1', namespace: 'app', labels: { 'meshlet.dev/mesh': 'meshlet' } }, spec: { serviceAccountName: 'echo-sa' } };
    const r = mesh([], {
      endpointSlices: [f.endpointSlice('echo', 'app', ['10.1.0.2', '10.1.0.1'], [{ name: 'http', port: 8080 }, { name: 'admin', port: 9901 }], 'echo-1')],
      pods: [pod],
      trustDomain: 'mesh.local',
    });
    const b80 = r.ir.backends.find((b) => b.name === 'service/app/echo/80')!;
    const b9090 = r.ir.backends.find((b) => b.name === 'service/app/echo/9090')!;
    assert.deepEqual(b80.endpoints.map((e) => `${e.address}:${e.port}`), ['10.1.0.1:8080', '10.1.0.2:8080']);
    assert.deepEqual(b9090.endpoints.map((e) => e.port), [9901, 9901]);
    assert.equal(b80.endpoints[0]!.identity, 'spiffe://mesh.local/ns/app/sa/echo-sa');
    assert.equal(b80.endpoints[0]!.podName, 'echo-1');
  });

  test('a Pod without the injector\'s label has no sidecar: its endpoints stay plaintext (no identity)', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'echo-1', namespace: 'app' }, spec: { serviceAccountName: 'echo-sa' } };
    const r = mesh([], {
      endpointSlices: [f.endpointSlice('echo', 'app', ['10.1.0.1'], [{ name: 'http', port: 8080 }], 'echo-1')],
      pods: [pod],
    });
    assert.equal(r.ir.backends.find((b) => b.name === 'service/app/echo/80')!.endpoints[0]!.identity, null);
  });
});

describe('GAMMA: producer and consumer routes', () => {
  test('a route in the Service namespace is a producer route on every port when no port is given', () => {
    const r = mesh([f.httpRoute('r', 'app', { parentRefs: [svcRef()], rules: toV2 })]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'True/Accepted');
    assert.equal(f.parents(r, 'HTTPRoute', 'r', 'app')[0]!.controllerName, MESH_CONTROLLER_NAME);
    const ports = frontend(r, 'service/app/echo').ports;
    assert.deepEqual(ports.map((p) => p.producer?.virtualHosts[0]!.rules[0]!.name), ['httproute/app/r/rule/0/match/0', 'httproute/app/r/rule/0/match/0']);
    assert.deepEqual(ports.map((p) => p.consumers), [[], []]);
  });

  test('parentRef port restricts the route to that port', () => {
    const r = mesh([f.httpRoute('r', 'app', { parentRefs: [svcRef({ port: 9090 })], rules: toV2 })]);
    assert.deepEqual(frontend(r, 'service/app/echo').ports.map((p) => p.producer !== null), [false, true]);
  });

  test('sectionName names a Service port', () => {
    const r = mesh([f.httpRoute('r', 'app', { parentRefs: [svcRef({ sectionName: 'http' })], rules: toV2 })]);
    assert.deepEqual(frontend(r, 'service/app/echo').ports.map((p) => p.producer !== null), [true, false]);
  });

  test('a port the Service does not have → NoMatchingParent', () => {
    const r = mesh([f.httpRoute('r', 'app', { parentRefs: [svcRef({ port: 1234 })], rules: toV2 })]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'False/NoMatchingParent');
  });

  test('a route from another namespace is a consumer route for that namespace only', () => {
    const consumer = f.httpRoute('mine', 'client', { parentRefs: [svcRef({ namespace: 'app' })], rules: toV2 });
    const producer = f.httpRoute('theirs', 'app', { parentRefs: [svcRef()], rules: [{ backendRefs: [{ name: 'echo', port: 80 }] }] });
    const r = mesh([consumer, producer]);
    const p80 = frontend(r, 'service/app/echo').ports[0]!;
    assert.equal(p80.producer!.virtualHosts[0]!.rules[0]!.name, 'httproute/app/theirs/rule/0/match/0');
    assert.deepEqual(p80.consumers.map((c) => [c.namespace, c.routes.virtualHosts[0]!.rules[0]!.name]), [['client', 'httproute/client/mine/rule/0/match/0']]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'mine', 'client', 'Accepted'), 'True/Accepted');
  });

  test('mesh routes reach backends in other namespaces without a ReferenceGrant', () => {
    const consumer = f.httpRoute('mine', 'client', { parentRefs: [svcRef({ namespace: 'app' })], rules: toV2 });
    const r = mesh([consumer]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'mine', 'client', 'ResolvedRefs'), 'True/ResolvedRefs');
  });

  test('mesh route hostnames are ignored: the only virtual host is *', () => {
    const r = mesh([f.httpRoute('r', 'app', { parentRefs: [svcRef()], hostnames: ['echo-v1.example.com'], rules: toV2 })]);
    assert.deepEqual(frontend(r, 'service/app/echo').ports[0]!.producer!.virtualHosts.map((v) => v.hostname), ['*']);
  });

  test('GRPCRoute wins over HTTPRoute on the same Service port; the HTTPRoute is Conflicted', () => {
    const grpc = f.route('GRPCRoute', 'g', 'app', { parentRefs: [svcRef({ port: 80 })], rules: toV2 }, '2027-01-01T00:00:00Z');
    const http = f.httpRoute('h', 'app', { parentRefs: [svcRef({ port: 80 })], rules: toV2 }, '2020-01-01T00:00:00Z');
    const r = mesh([http], { grpcRoutes: [grpc] });
    assert.equal(f.routeCond(r, 'HTTPRoute', 'h', 'app', 'Accepted'), 'False/Conflicted');
    assert.equal(f.routeCond(r, 'GRPCRoute', 'g', 'app', 'Accepted'), 'True/Accepted');
    assert.equal(frontend(r, 'service/app/echo').ports[0]!.producer!.kind, 'GRPCRoute');
  });

  test('HTTPRoute and GRPCRoute on different ports of one Service coexist', () => {
    const grpc = f.route('GRPCRoute', 'g', 'app', { parentRefs: [svcRef({ port: 9090 })], rules: toV2 });
    const http = f.httpRoute('h', 'app', { parentRefs: [svcRef({ port: 80 })], rules: toV2 });
    const r = mesh([http], { grpcRoutes: [grpc] });
    assert.deepEqual(frontend(r, 'service/app/echo').ports.map((p) => p.producer!.kind), ['HTTPRoute', 'GRPCRoute']);
  });

  test('a route may have a Gateway parent and a Service parent at once, each with its controller name', () => {
    const r = f.run(f.snapshot({
      gatewayClasses: [f.gatewayClass()],
      gateways: [f.gateway('gw', [f.httpListener('http')])],
      services: [f.service('echo', 'app', twoPorts), f.service('echo-v2', 'app', twoPorts, '10.0.0.11')],
      httpRoutes: [f.httpRoute('r', 'app', { parentRefs: [{ name: 'gw', namespace: 'infra' }, svcRef()], rules: toV2 })],
    }));
    assert.deepEqual(f.parents(r, 'HTTPRoute', 'r', 'app').map((p) => p.controllerName), ['meshlet.dev/gateway-controller', MESH_CONTROLLER_NAME]);
  });
});

describe('GAMMA: parentRef group', () => {
  test('kind Service with the group omitted (manifest files, no API-server defaulting) is the core Service', () => {
    const r = mesh([f.httpRoute('r', 'app', { parentRefs: [{ kind: 'Service', name: 'echo' }], rules: toV2 })]);
    assert.equal(f.routeCond(r, 'HTTPRoute', 'r', 'app', 'Accepted'), 'True/Accepted');
  });

  test('kind Service in the Gateway API group is not a mesh parent and gets no entry', () => {
    const r = mesh([f.httpRoute('r', 'app', { parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Service', name: 'echo' }], rules: toV2 })]);
    assert.equal(f.statusOf(r, 'HTTPRoute', 'r', 'app'), undefined);
  });
});

describe('GAMMA: endpoints edge cases', () => {
  test('FQDN EndpointSlices are skipped; conditions default to ready and serving', () => {
    const fqdn = { ...f.endpointSlice('echo', 'app', ['db.example.com']), addressType: 'FQDN' };
    const plain = { ...f.endpointSlice('echo', 'app', ['10.1.0.9']), metadata: { name: 'echo-2', namespace: 'app', labels: { 'kubernetes.io/service-name': 'echo' } }, endpoints: [{ addresses: ['10.1.0.9'] }] };
    const r = mesh([], { endpointSlices: [fqdn, plain] });
    const eps = r.ir.backends.find((b) => b.name === 'service/app/echo/80')!.endpoints;
    assert.deepEqual(eps.map((e) => [e.address, e.ready, e.serving, e.terminating, e.identity]), [['10.1.0.9', true, true, false, null]]);
  });
});
