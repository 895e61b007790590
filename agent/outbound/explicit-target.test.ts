import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTING_TABLE_API_VERSION, withVersion } from '../../api/index.ts';
import { resolveExplicit, splitAuthority } from './explicit-target.ts';
import { isLoopbackPeer } from './explicit-access.ts';

describe('explicit outbound targets', () => {
  const table = withVersion({
    apiVersion: ROUTING_TABLE_API_VERSION, gateways: [], backends: [], secrets: [], policies: [],
    services: [{
      name: 'service/shop/cart', source: { kind: 'Service', namespace: 'shop', name: 'cart' }, namespace: 'shop', serviceName: 'cart',
      clusterIPs: ['10.96.1.1'], ports: [{ port: 8080, portName: null, appProtocol: null, defaultBackend: 'x', producer: null, consumers: [] }],
    }],
  });
  test('every Service name form resolves to the ClusterIP', () => {
    for (const a of ['cart:8080', 'cart.shop:8080', 'cart.shop.svc:8080', 'cart.shop.svc.cluster.local:8080', 'CART.shop.:8080']) {
      assert.deepEqual(resolveExplicit(table, a, 'shop'), { kind: 'address', address: '10.96.1.1', port: 8080 }, a);
    }
  });
  test('bare names resolve in the caller namespace only; unknown ports and names are refused', () => {
    assert.equal(resolveExplicit(table, 'cart:8080', 'other').kind, 'unknown');
    assert.equal(resolveExplicit(table, 'cart.shop:80', 'shop').kind, 'unknown');
    assert.equal(resolveExplicit(table, 'nope.shop:8080', 'shop').kind, 'unknown');
  });
  test('IP literals pass through as addresses', () => {
    assert.deepEqual(resolveExplicit(table, '10.0.0.9:81', 'shop'), { kind: 'address', address: '10.0.0.9', port: 81 });
    assert.deepEqual(splitAuthority('[fd00::1]:90'), { host: 'fd00::1', port: 90 });
    assert.deepEqual(splitAuthority('svc'), { host: 'svc', port: 80 });
    assert.equal(splitAuthority('a:b:c'), null);
  });
});

test('explicit mode serves only the pod itself: loopback peers (IPv4, IPv6, v4-mapped) and nothing else', () => {
  for (const a of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopbackPeer(a), true, a);
  for (const a of ['10.0.0.5', '::ffff:10.0.0.5', 'fe80::1', '', '1127.0.0.1', '::2']) assert.equal(isLoopbackPeer(a), false, a);
});
