import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4 } from 'node:net';
import { agentTargets, clusterIp, routeObject, world, endpointSliceObject, ENDPOINTS_PER_SERVICE } from './world.ts';

test('ClusterIPs are distinct valid IPv4 addresses inside 10.96.0.0/12 up to 10 000 Services', () => {
  const ips = Array.from({ length: 10_000 }, (_, i) => clusterIp(i));
  assert.equal(new Set(ips).size, ips.length);
  for (const ip of ips) {
    assert.ok(isIPv4(ip), ip);
    const second = Number(ip.split('.')[1]);
    assert.ok(second >= 96 && second <= 111, ip);
  }
});

test('10 000 routes come with 50 000 ready endpoints (issue 14), each a distinct valid IPv4 address', () => {
  const addresses: string[] = [];
  for (const o of world(10_000).filter((x) => x.kind === 'EndpointSlice')) {
    for (const e of (o as unknown as { endpoints: { addresses: string[]; conditions: { ready: boolean } }[] }).endpoints) {
      assert.ok(isIPv4(e.addresses[0]!), String(e.addresses[0]));
      assert.equal(e.conditions.ready, true);
      addresses.push(e.addresses[0]!);
    }
  }
  assert.equal(addresses.length, 50_000);
  assert.equal(new Set(addresses).size, 50_000);
});

test('a world of R routes holds a Namespace and R Services, EndpointSlices and HTTPRoutes', () => {
  const kinds = world(7).map((o) => o.kind);
  assert.deepEqual(['Namespace', 'Service', 'EndpointSlice', 'HTTPRoute'].map((k) => kinds.filter((x) => x === k).length), [1, 7, 7, 7]);
  assert.equal(ENDPOINTS_PER_SERVICE, 5);
});

test('every agent subscribes to Service 0 and one other; a change carries its marker in the route', () => {
  for (let a = 0; a < 50; a++) {
    const t = agentTargets(a, 10);
    assert.equal(t.length, 2);
    assert.deepEqual(t[0], { kind: 'destination', address: clusterIp(0), port: 80 });
    assert.notDeepEqual(t[1], t[0]);
  }
  assert.equal(agentTargets(0, 1).length, 1);
  assert.match(JSON.stringify(routeObject(0, 'chg-1-2-3')), /"value":"chg-1-2-3"/);
});

test('an endpoint change rewrites Service 0\'s own slice with the marker as a nodeName, and nothing else', () => {
  const original = world(3).find((o) => o.kind === 'EndpointSlice' && o.metadata.name === 'svc-0-a');
  const changed = endpointSliceObject(0, 'ep-1-2-3');
  assert.deepEqual(changed.metadata, original?.metadata);
  assert.match(JSON.stringify(changed), /"nodeName":"ep-1-2-3"/);
  assert.equal(JSON.stringify(changed).split('"nodeName"').length - 1, 1); // only the first endpoint carries it
  assert.deepEqual(endpointSliceObject(0), original);
});
