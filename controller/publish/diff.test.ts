import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validate } from '../../api/validate.ts';
import { applyPatch } from '../../api/wire.ts';
import type { RoutingTable } from '../../api/routing-table.ts';
import { backend, service, table } from '../../test/support/routing-tables.ts';
import { changeSize, diffTables } from './diff.ts';

const mesh = (names: string[], endpointPort = 1): RoutingTable => table({
  services: names.map((n, i) => service({ name: n, clusterIP: `10.0.0.${i + 1}`, port: 80 })),
  backends: names.map((n) => backend('default', n, 80, [{ port: n === 'a' ? endpointPort : 1 }])),
});

const patchOf = (prev: RoutingTable, next: RoutingTable) => ({ type: 'patch' as const, version: next.version, base: prev.version, changes: diffTables(prev, next) });

test('an endpoint change is one backend upserted and nothing else', () => {
  const prev = mesh(['a', 'b', 'c']);
  const next = mesh(['a', 'b', 'c'], 2);
  const changes = diffTables(prev, next);
  assert.deepEqual(changes.backends.upsert.map((b) => b.name), ['service/default/a/80']);
  assert.deepEqual([changes.services, changes.backends.remove], [{ upsert: [], remove: [] }, []]);
  assert.deepEqual(changeSize(changes, next), { touched: 1, total: 6 });
});

test('additions and removals round-trip through applyPatch to the very same table', () => {
  const prev = mesh(['a', 'b', 'c']);
  const next = mesh(['b', 'c', 'd'], 3);
  const changes = diffTables(prev, next);
  assert.deepEqual(changes.services.remove, ['service/default/a']);
  assert.deepEqual(changes.services.upsert.map((s) => s.name), ['service/default/b', 'service/default/c', 'service/default/d'], 'ClusterIPs shifted, so b and c changed too');
  const rebuilt = validate(applyPatch(prev, patchOf(prev, next)));
  assert.deepEqual(rebuilt, next);
});

test('identical tables give an empty patch', () => {
  const t = mesh(['a']);
  assert.deepEqual(changeSize(diffTables(t, mesh(['a'])), t), { touched: 0, total: 2 });
});

test('a patch applied to the wrong base fails validation on the content hash only', () => {
  const prev = mesh(['a', 'b']);
  const next = mesh(['a', 'b'], 9);
  const wrongBase = mesh(['a', 'b', 'z']);
  assert.throws(() => validate(applyPatch(wrongBase, patchOf(prev, next))), (err: unknown) =>
    (err as { issues?: { path: string }[] }).issues?.every((i) => i.path === 'version') === true);
});

test('entries are compared through the serialiser given (the publisher passes its per-object cache)', () => {
  const prev = mesh(['a', 'b']);
  const next = mesh(['a', 'b'], 2);
  const seen: unknown[] = [];
  const json = (v: unknown): string => { seen.push(v); return JSON.stringify(v); };
  const changes = diffTables(prev, next, json);
  assert.deepEqual(changes.backends.upsert.map((b) => b.name), ['service/default/a/80']);
  assert.ok(seen.includes(next.backends.find((b) => b.name === 'service/default/a/80')), 'the changed backend went through it');
});
