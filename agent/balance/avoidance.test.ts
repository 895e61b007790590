// Passive fail-fast (ADR 0022): an endpoint found unreachable is left out of picks for a bounded
// time while the backend has others, picked again at once when it answers, and never when it
// is the only one left (better a probe than no endpoint at all).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendIR, EndpointIR } from '../../api/routing-table.ts';
import { EndpointBalancer } from './endpoint-balancer.ts';

function endpoint(port: number): EndpointIR {
  return { address: '10.0.0.1', port, ready: true, serving: true, terminating: false, zone: null, nodeName: null, podName: null, identity: null };
}

function backendOf(ports: number[]): BackendIR {
  return { name: 'service/default/b/80', namespace: 'default', serviceName: 'b', port: 80, appProtocol: null, endpoints: ports.map(endpoint) };
}

/** Which ports `n` picks land on, with a random source that walks every sample pair. */
function picks(balancer: EndpointBalancer, backend: BackendIR, n: number): Set<number> {
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) seen.add(balancer.pick(backend)!.port);
  return seen;
}

describe('endpoint avoidance after a connect failure', () => {
  test('an avoided endpoint gets no pick within the window, and is picked again after it', () => {
    let now = 0;
    let r = 0;
    // a sequence that visits every (i, j) sample pair of P2C over three endpoints
    const random = (): number => (r = (r + 0.37) % 1);
    const balancer = new EndpointBalancer({ avoidMs: 3_000, now: () => now, random });
    const b = backendOf([1, 2, 3]);
    assert.deepEqual(picks(balancer, b, 60), new Set([1, 2, 3]));
    balancer.avoid(b.endpoints[1]!);
    assert.ok(balancer.avoided(b.endpoints[1]!));
    assert.deepEqual(picks(balancer, b, 60), new Set([1, 3]));
    now = 2_999;
    assert.deepEqual(picks(balancer, b, 60), new Set([1, 3]));
    now = 3_000;
    assert.equal(balancer.avoided(b.endpoints[1]!), false);
    assert.deepEqual(picks(balancer, b, 60), new Set([1, 2, 3]));
  });

  test('an answer from the endpoint ends its avoidance at once', () => {
    const balancer = new EndpointBalancer({ avoidMs: 3_000, now: () => 0 });
    const b = backendOf([1, 2]);
    balancer.avoid(b.endpoints[0]!);
    assert.ok(balancer.avoided(b.endpoints[0]!));
    balancer.reached({ address: '10.0.0.1', port: 1 });
    assert.equal(balancer.avoided(b.endpoints[0]!), false);
  });

  test('with every endpoint avoided, or only one, picks go on (a probe beats no endpoint)', () => {
    const balancer = new EndpointBalancer({ avoidMs: 3_000, now: () => 0 });
    const two = backendOf([1, 2]);
    balancer.avoid(two.endpoints[0]!);
    balancer.avoid(two.endpoints[1]!);
    assert.ok(balancer.pick(two) !== null);
    const one = backendOf([7]);
    balancer.avoid(one.endpoints[0]!);
    assert.equal(balancer.pick(one)!.port, 7);
  });

  test('an endpoint that left the routing table is forgotten', () => {
    const balancer = new EndpointBalancer({ avoidMs: 3_000, now: () => 0 });
    const b = backendOf([1, 2]);
    balancer.avoid(b.endpoints[0]!);
    balancer.evict(new Set(['10.0.0.1:1']));
    assert.equal(balancer.avoided(b.endpoints[0]!), false);
  });

  test('hasOther: another usable endpoint, by address and port', () => {
    const balancer = new EndpointBalancer();
    const b = backendOf([1, 2]);
    assert.ok(balancer.hasOther(b, b.endpoints[0]!));
    assert.equal(balancer.hasOther(backendOf([1]), endpoint(1)), false);
    const notReady = backendOf([1, 2]);
    notReady.endpoints[1] = { ...notReady.endpoints[1]!, ready: false, serving: false };
    assert.equal(balancer.hasOther(notReady, notReady.endpoints[0]!), false);
  });
});

describe('statistics per endpoint object', () => {
  test('an endpoint object\'s key is made once, however many requests ask for its statistics; a new object for the same address finds the same statistics', () => {
    const b = new EndpointBalancer();
    let reads = 0;
    const e = { get address(): string { reads++; return '10.0.0.7'; }, port: 8080 };
    const first = b.stats(e);
    for (let i = 0; i < 100; i++) assert.equal(b.stats(e), first);
    assert.ok(reads <= 2, `address read ${reads} times for 101 requests`);
    // a table swap brings new endpoint objects: the statistics are kept per address:port
    assert.equal(b.stats({ address: '10.0.0.7', port: 8080 }), first);
    assert.notEqual(b.stats({ address: '10.0.0.7', port: 8081 }), first);
  });
});
