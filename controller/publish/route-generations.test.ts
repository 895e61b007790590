import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backend, backendName, rule, service, table } from '../../test/support/routing-tables.ts';
import { RouteGenerations, routeFingerprints } from './route-generations.ts';

const build = (opts: { weight: number; endpointPort: number }) => table({
  services: [
    service({ name: 'a', clusterIP: '10.0.0.1', port: 80, rules: [rule({ route: 'ra', backends: [{ backend: backendName('default', 'a', 80), weight: opts.weight }] })] }),
    service({ name: 'b', clusterIP: '10.0.0.2', port: 80, rules: [rule({ route: 'rb', backends: [{ backend: backendName('default', 'b', 80) }] })] }),
  ],
  backends: [backend('default', 'a', 80, [{ port: opts.endpointPort }]), backend('default', 'b', 80, [{ port: 1 }])],
});

test('a route\'s generation moves only when its own rules change', () => {
  const g = new RouteGenerations();
  assert.equal(g.generation, 0);
  assert.equal(g.update(build({ weight: 1, endpointPort: 1 })), true);
  assert.deepEqual([g.generation, g.of('HTTPRoute/default/ra'), g.of('HTTPRoute/default/rb')], [1, 1, 1]);
  assert.equal(g.update(build({ weight: 1, endpointPort: 1 })), false, 'same version is not a new generation');
  g.update(build({ weight: 1, endpointPort: 2 }));
  assert.deepEqual([g.generation, g.of('HTTPRoute/default/ra'), g.of('HTTPRoute/default/rb')], [2, 1, 1], 'endpoints moved, routes did not');
  g.update(build({ weight: 3, endpointPort: 2 }));
  assert.deepEqual([g.generation, g.of('HTTPRoute/default/ra'), g.of('HTTPRoute/default/rb')], [3, 3, 1]);
  g.update(table({ services: [service({ name: 'b', clusterIP: '10.0.0.2', port: 80 })], backends: [backend('default', 'b', 80, [{ port: 1 }])] }));
  assert.deepEqual([g.of('HTTPRoute/default/ra'), g.of('HTTPRoute/default/rb')], [null, null]);
});

test('fingerprints kept per Service frontend equal fresh ones when tables share unchanged entries', () => {
  const be = [backend('default', 'a', 80, [{ port: 1 }]), backend('default', 'b', 80, [{ port: 1 }]), backend('default', 'c', 80, [{ port: 1 }])];
  const svc = (name: string, ip: string, weight: number, route = `r${name}`) => service({ name, clusterIP: ip, port: 80, rules: [rule({ route, backends: [{ backend: backendName('default', name, 80), weight }] })] });
  const a = svc('a', '10.0.0.1', 1);
  const b = svc('b', '10.0.0.2', 1);
  const shared = svc('c', '10.0.0.3', 1, 'ra'); // route ra also sits on Service c
  const tables = [
    table({ services: [a, b], backends: be }),
    table({ services: [a, b, shared], backends: be }), // ra gains a part on a new frontend
    table({ services: [a, svc('b', '10.0.0.2', 4), shared], backends: be }), // rb changed
    table({ services: [a, svc('b', '10.0.0.2', 4), shared], backends: [...be.slice(1), backend('default', 'a', 80, [{ port: 2 }])] }), // endpoints moved; an equal, new frontend object
    table({ services: [b], backends: be }), // ra removed
  ];
  const g = new RouteGenerations();
  const seen: number[][] = [];
  for (const t of tables) {
    g.update(t);
    const fresh = routeFingerprints(t);
    for (const key of ['HTTPRoute/default/ra', 'HTTPRoute/default/rb']) assert.equal(g.fingerprintOf(key), fresh.get(key) ?? null, `${key} in table ${g.generation}`);
    seen.push([g.of('HTTPRoute/default/ra') ?? 0, g.of('HTTPRoute/default/rb') ?? 0]);
  }
  assert.deepEqual(seen, [[1, 1], [2, 1], [2, 3], [2, 3], [0, 5]]);
});

test('two replicas that batch the same changes differently agree on every route\'s fingerprint, a fresh table\'s', () => {
  const be = (port: number) => [backend('default', 'a', 80, [{ port }]), backend('default', 'b', 80, [{ port: 1 }])];
  const svc = (name: string, ip: string, weight: number) => service({ name, clusterIP: ip, port: 80, rules: [rule({ route: `r${name}`, backends: [{ backend: backendName('default', name, 80), weight }] })] });
  const a = svc('a', '10.0.0.1', 1);
  const b = svc('b', '10.0.0.2', 1);
  const t1 = table({ services: [a, b], backends: be(1) });
  // Endpoint patches of t1: the same frontends (the same array), other backends.
  const patched = (port: number) => ({ ...t1, backends: be(port), version: `${t1.version}-${port}` });
  // Then rb changes, translated with the endpoints as they are by then.
  const t2 = table({ services: [a, svc('b', '10.0.0.2', 5)], backends: be(3) });
  const keys = ['HTTPRoute/default/ra', 'HTTPRoute/default/rb'];
  const run = (steps: [typeof t1, boolean][]): (string | null)[] => {
    const g = new RouteGenerations();
    for (const [t, sameRoutes] of steps) g.update(t, sameRoutes);
    return keys.map((k) => g.fingerprintOf(k));
  };
  const fresh = keys.map((k) => routeFingerprints(t2).get(k) ?? null);
  assert.ok(fresh.every((f) => f !== null));
  assert.deepEqual(run([[t1, false], [t2, false]]), fresh, 'straight to t2');
  assert.deepEqual(run([[t1, false], [patched(2), true], [patched(3), true], [t2, false]]), fresh, 'two endpoint patches between');
  assert.deepEqual(run([[t1, false], [patched(2), true], [t2, false]]), fresh, 'one endpoint patch between');
  assert.deepEqual(run([[t2, false]]), fresh, 'a replica started at t2');
});

test('an endpoint patch is a new generation without its version being read (hashed lazily, issue 14); the same table again is not', () => {
  const g = new RouteGenerations();
  const t1 = build({ weight: 1, endpointPort: 1 });
  g.update(t1);
  const { version: _v, ...content } = build({ weight: 1, endpointPort: 2 });
  const patched = Object.defineProperty({ ...content, services: t1.services }, 'version', {
    enumerable: true, get: () => assert.fail('an endpoint patch\'s version was read'),
  }) as typeof t1;
  assert.equal(g.update(patched, true), true);
  assert.deepEqual([g.generation, g.of('HTTPRoute/default/ra')], [2, 1]);
  assert.equal(g.update(patched, true), false, 'the table in force again');
  assert.equal(g.update(build({ weight: 3, endpointPort: 2 })), true);
  assert.deepEqual([g.generation, g.of('HTTPRoute/default/ra'), g.of('HTTPRoute/default/rb')], [3, 3, 1]);
});
