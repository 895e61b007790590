import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from './snapshot.ts';
import * as f from './test-fixtures.ts';

function gw(listeners: Record<string, unknown>[], extra: Partial<Parameters<typeof f.snapshot>[0]> = {}, gatewayExtra: Record<string, unknown> = {}) {
  return f.run(f.snapshot({ gatewayClasses: [f.gatewayClass()], gateways: [f.gateway('gw', listeners, gatewayExtra)], ...extra }));
}

const https = (name: string, certificateRefs: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
  ({ name, port: 443, protocol: 'HTTPS', tls: { certificateRefs }, ...extra });

describe('listener conditions', () => {
  test('a plain HTTP listener is accepted, programmed, resolved and unconflicted, serving both route kinds', () => {
    const r = gw([f.httpListener('http')]);
    assert.deepEqual(['Accepted', 'Programmed', 'ResolvedRefs', 'Conflicted'].map((t) => f.listenerCond(r, 'gw', 'http', t)),
      ['True/Accepted', 'True/Programmed', 'True/ResolvedRefs', 'False/NoConflicts']);
    assert.deepEqual(f.listenerStatus(r, 'gw', 'http')!.supportedKinds, [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }, { group: 'gateway.networking.k8s.io', kind: 'GRPCRoute' }]);
  });

  test('TCP, TLS and UDP listeners → Accepted False UnsupportedProtocol, no supported kinds', () => {
    for (const protocol of ['TCP', 'TLS', 'UDP']) {
      const r = gw([{ name: 'l', port: 9000, protocol }, f.httpListener('http')]);
      assert.equal(f.listenerCond(r, 'gw', 'l', 'Accepted'), 'False/UnsupportedProtocol');
      assert.deepEqual(f.listenerStatus(r, 'gw', 'l')!.supportedKinds, []);
      assert.equal(f.cond(f.statusOf(r, 'Gateway', 'gw')!.conditions, 'Accepted')!.reason, 'ListenersNotValid');
      assert.equal(f.cond(f.statusOf(r, 'Gateway', 'gw')!.conditions, 'Accepted')!.status, 'True');
    }
  });

  test('a Gateway whose listeners are all invalid is not accepted (ListenersNotValid) and not in the table', () => {
    const r = gw([{ name: 'l', port: 9000, protocol: 'TCP' }]);
    const c = f.cond(f.statusOf(r, 'Gateway', 'gw')!.conditions, 'Accepted')!;
    assert.deepEqual([c.status, c.reason], ['False', 'ListenersNotValid']);
    assert.deepEqual(r.ir.gateways, []);
  });

  test('two listeners on one port with different protocols → both Conflicted ProtocolConflict', () => {
    const r = gw([f.httpListener('a', 8443), https('b', [{ name: 'cert' }], { port: 8443 })], { secrets: [f.tlsSecret('cert', 'infra')] });
    for (const l of ['a', 'b']) {
      assert.equal(f.listenerCond(r, 'gw', l, 'Conflicted'), 'True/ProtocolConflict');
      assert.equal(f.listenerCond(r, 'gw', l, 'Accepted'), 'False/Invalid');
      assert.equal(f.listenerCond(r, 'gw', l, 'Programmed'), 'False/Invalid');
    }
  });

  test('two listeners on one port with the same hostname → HostnameConflict; a third with another hostname is fine', () => {
    const r = gw([f.httpListener('a', 80, { hostname: 'x.example.com' }), f.httpListener('b', 80, { hostname: 'x.example.com' }), f.httpListener('c', 80)]);
    assert.equal(f.listenerCond(r, 'gw', 'a', 'Conflicted'), 'True/HostnameConflict');
    assert.equal(f.listenerCond(r, 'gw', 'b', 'Conflicted'), 'True/HostnameConflict');
    assert.equal(f.listenerCond(r, 'gw', 'c', 'Conflicted'), 'False/NoConflicts');
    assert.deepEqual(r.ir.gateways[0]!.ports[0]!.listeners.map((l) => l.listenerName), ['c']);
  });

  test('allowedRoutes.kinds with an unsupported kind → ResolvedRefs False InvalidRouteKinds, valid kinds kept', () => {
    const r = gw([f.httpListener('a', 80, { allowedRoutes: { kinds: [{ kind: 'HTTPRoute' }, { kind: 'TCPRoute' }] } }), f.httpListener('b', 81, { allowedRoutes: { kinds: [{ kind: 'TLSRoute' }] } })]);
    assert.equal(f.listenerCond(r, 'gw', 'a', 'ResolvedRefs'), 'False/InvalidRouteKinds');
    assert.deepEqual(f.listenerStatus(r, 'gw', 'a')!.supportedKinds, [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }]);
    assert.equal(f.listenerCond(r, 'gw', 'a', 'Programmed'), 'True/Programmed');
    assert.deepEqual(f.listenerStatus(r, 'gw', 'b')!.supportedKinds, []);
    assert.equal(f.listenerCond(r, 'gw', 'b', 'Programmed'), 'False/Invalid');
  });

  test('listeners on a port are ordered most specific hostname first', () => {
    const r = gw([f.httpListener('any'), f.httpListener('wild', 80, { hostname: '*.example.com' }), f.httpListener('exact', 80, { hostname: 'a.example.com' })]);
    assert.deepEqual(r.ir.gateways[0]!.ports[0]!.listeners.map((l) => l.listenerName), ['exact', 'wild', 'any']);
  });
});

describe('HTTPS certificates', () => {
  const cases: [string, Record<string, unknown>[], KubeObject[], string][] = [
    ['a valid kubernetes.io/tls Secret in the Gateway namespace', [{ name: 'cert' }], [f.tlsSecret('cert', 'infra')], 'True/ResolvedRefs'],
    ['a missing Secret', [{ name: 'nope' }], [], 'False/InvalidCertificateRef'],
    ['a Secret of the wrong type', [{ name: 'cert' }], [{ ...f.tlsSecret('cert', 'infra'), type: 'Opaque' }], 'False/InvalidCertificateRef'],
    ['a Secret whose tls.crt is not PEM', [{ name: 'cert' }], [{ ...f.tlsSecret('cert', 'infra'), data: { 'tls.crt': Buffer.from('garbage').toString('base64'), 'tls.key': f.tlsSecret('cert', 'infra').data!['tls.key']! } }], 'False/InvalidCertificateRef'],
    ['a Secret without tls.key', [{ name: 'cert' }], [{ ...f.tlsSecret('cert', 'infra'), data: { 'tls.crt': f.tlsSecret('cert', 'infra').data!['tls.crt']! } }], 'False/InvalidCertificateRef'],
    ['a ref to another kind', [{ name: 'cert', kind: 'ConfigMap' }], [f.tlsSecret('cert', 'infra')], 'False/InvalidCertificateRef'],
    ['a ref to another group', [{ name: 'cert', group: 'example.com' }], [f.tlsSecret('cert', 'infra')], 'False/InvalidCertificateRef'],
    ['a Secret in another namespace without a ReferenceGrant', [{ name: 'cert', namespace: 'certs' }], [f.tlsSecret('cert', 'certs')], 'False/RefNotPermitted'],
    ['no certificateRefs at all', [], [], 'False/InvalidCertificateRef'],
  ];
  for (const [name, refs, secrets, expected] of cases) {
    test(`${name} → ResolvedRefs ${expected}`, () => {
      const r = gw([https('https', refs)], { secrets });
      assert.equal(f.listenerCond(r, 'gw', 'https', 'ResolvedRefs'), expected);
      assert.equal(f.listenerCond(r, 'gw', 'https', 'Programmed'), expected.startsWith('True') ? 'True/Programmed' : 'False/Invalid');
    });
  }

  test('a ReferenceGrant in the Secret namespace allows the cross-namespace certificate', () => {
    const grant = f.referenceGrant('certs', { kind: 'Gateway', namespace: 'infra' }, { kind: 'Secret' });
    const r = gw([https('https', [{ name: 'cert', namespace: 'certs' }])], { secrets: [f.tlsSecret('cert', 'certs')], referenceGrants: [grant] });
    assert.equal(f.listenerCond(r, 'gw', 'https', 'ResolvedRefs'), 'True/ResolvedRefs');
    assert.deepEqual(r.ir.gateways[0]!.ports[0]!.listeners[0]!.certificates, ['secret/certs/cert']);
    assert.deepEqual(r.ir.secrets.map((s) => s.name), ['secret/certs/cert']);
    assert.ok(r.ir.secrets[0]!.certificateChain.startsWith('-----BEGIN CERTIFICATE-----'));
  });

  test('a ReferenceGrant naming another Secret does not allow this one', () => {
    const grant = f.referenceGrant('certs', { kind: 'Gateway', namespace: 'infra' }, { kind: 'Secret', name: 'other' });
    const r = gw([https('https', [{ name: 'cert', namespace: 'certs' }])], { secrets: [f.tlsSecret('cert', 'certs')], referenceGrants: [grant] });
    assert.equal(f.listenerCond(r, 'gw', 'https', 'ResolvedRefs'), 'False/RefNotPermitted');
  });

  test('an invalid HTTPS listener still counts attached routes but is not in the table', () => {
    const route = f.httpRoute('r', 'infra', { parentRefs: [{ name: 'gw' }], rules: [{}] });
    const r = gw([https('https', [{ name: 'nope' }]), f.httpListener('http')], { httpRoutes: [route] });
    assert.equal(f.listenerStatus(r, 'gw', 'https')!.attachedRoutes, 1);
    assert.deepEqual(r.ir.gateways[0]!.ports.map((p) => p.port), [80]);
  });
});

describe('Gateway conditions and addresses', () => {
  test('no address → Programmed False AddressNotAssigned', () => {
    const r = gw([f.httpListener('http')]);
    const c = f.cond(f.statusOf(r, 'Gateway', 'gw')!.conditions, 'Programmed')!;
    assert.deepEqual([c.status, c.reason], ['False', 'AddressNotAssigned']);
  });

  test('environment addresses → Programmed True and status.addresses', () => {
    const r = gw([f.httpListener('http')], { gatewayAddresses: { 'infra/gw': ['192.0.2.10'] } });
    const s = f.statusOf(r, 'Gateway', 'gw')!;
    assert.equal(f.cond(s.conditions, 'Programmed')!.status, 'True');
    assert.deepEqual(s.addresses, [{ type: 'IPAddress', value: '192.0.2.10' }]);
    assert.deepEqual(r.ir.gateways[0]!.addresses, ['192.0.2.10']);
  });

  test('spec.addresses of type IPAddress are used when the environment gives none', () => {
    const r = gw([f.httpListener('http')], {}, { addresses: [{ type: 'IPAddress', value: '198.51.100.7' }] });
    assert.deepEqual(f.statusOf(r, 'Gateway', 'gw')!.addresses, [{ type: 'IPAddress', value: '198.51.100.7' }]);
  });

  test('spec.addresses of another type → Accepted False UnsupportedAddress', () => {
    const r = gw([f.httpListener('http')], {}, { addresses: [{ type: 'Hostname', value: 'gw.example.com' }] });
    const c = f.cond(f.statusOf(r, 'Gateway', 'gw')!.conditions, 'Accepted')!;
    assert.deepEqual([c.status, c.reason], ['False', 'UnsupportedAddress']);
  });

  test('observedGeneration is the Gateway generation on gateway and listener conditions', () => {
    const r = gw([f.httpListener('http')]);
    assert.equal(f.cond(f.statusOf(r, 'Gateway', 'gw')!.conditions, 'Accepted')!.observedGeneration, 2);
    assert.equal(f.cond(f.listenerStatus(r, 'gw', 'http')!.conditions, 'Accepted')!.observedGeneration, 2);
  });

  test('a Gateway of a class meshlet does not own gets no status and no table entry', () => {
    const r = f.run(f.snapshot({ gatewayClasses: [f.gatewayClass('other', 'example.com/ctl')], gateways: [{ ...f.gateway('gw', [f.httpListener('a')]), spec: { gatewayClassName: 'other', listeners: [f.httpListener('a')] } }] }));
    assert.deepEqual(r.statuses, []);
    assert.deepEqual(r.ir.gateways, []);
  });
});

describe('listener values meshlet does not support are reported (Accepted False UnsupportedValue)', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['an IP address as hostname', f.httpListener('l', 80, { hostname: '10.0.0.1' })],
    ['allowedRoutes from an unknown value', f.httpListener('l', 80, { allowedRoutes: { namespaces: { from: 'Nowhere' } } })],
    ['from Selector without a selector', f.httpListener('l', 80, { allowedRoutes: { namespaces: { from: 'Selector' } } })],
    ['a selector with an unknown operator', f.httpListener('l', 80, { allowedRoutes: { namespaces: { from: 'Selector', selector: { matchExpressions: [{ key: 'a', operator: 'Like', values: ['b'] }] } } } })],
    ['TLS passthrough on HTTPS', https('l', [{ name: 'cert' }], { tls: { mode: 'Passthrough' } })],
    ['implementation-specific TLS options', https('l', [{ name: 'cert' }], { tls: { certificateRefs: [{ name: 'cert' }], options: { 'example.com/ciphers': 'x' } } })],
  ];
  for (const [name, listener] of cases) {
    test(name, () => {
      const r = gw([listener, f.httpListener('ok', 8080)], { secrets: [f.tlsSecret('cert', 'infra')] });
      assert.equal(f.listenerCond(r, 'gw', 'l', 'Accepted'), 'False/UnsupportedValue');
      assert.equal(f.listenerCond(r, 'gw', 'l', 'Programmed'), 'False/Invalid');
      assert.equal(f.listenerCond(r, 'gw', 'ok', 'Accepted'), 'True/Accepted');
    });
  }
});

describe('security settings meshlet cannot enforce fail closed', () => {
  test('Gateway spec.tls.frontend (client certificates): HTTPS listeners refused with a message, HTTP unaffected', () => {
    const frontend = { tls: { frontend: { default: { validation: { caCertificateRefs: [{ kind: 'ConfigMap', name: 'ca' }] } } } } };
    const r = gw([https('secure', [{ name: 'cert' }]), f.httpListener('plain')], { secrets: [f.tlsSecret('cert', 'infra')] }, frontend);
    assert.equal(f.listenerCond(r, 'gw', 'secure', 'Accepted'), 'False/UnsupportedValue');
    assert.match(f.cond(f.listenerStatus(r, 'gw', 'secure')!.conditions, 'Accepted')!.message, /spec\.tls\.frontend/);
    assert.equal(f.listenerCond(r, 'gw', 'plain', 'Accepted'), 'True/Accepted');
    assert.deepEqual(r.ir.gateways[0]!.ports.map((p) => p.protocol), ['HTTP']);
  });
});
