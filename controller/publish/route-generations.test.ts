import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backend, backendName, rule, service, table } from '../../test/support/routing-tables.ts';
import { RouteGenerations } from './route-generations.ts';

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
