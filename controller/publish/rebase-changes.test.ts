import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoutingTable } from '../../api/routing-table.ts';
import { canonicalJson } from '../../api/version.ts';
import { backend, backendName, rule, service, table } from '../../test/support/routing-tables.ts';
import { diffTables } from './diff.ts';
import { noteRebased, rebaseChanges } from './rebase-changes.ts';

const front = (i: number, tag: string) => service({ name: `s${i}`, clusterIP: `10.0.3.${i + 1}`, port: 80, rules: [rule({ route: `r${i}`, headers: [{ type: 'Exact', name: 'x', value: tag }], backends: [{ backend: backendName('default', `s${i}`, 80) }] })] });
const backends = [0, 1, 2].map((i) => backend('default', `s${i}`, 80, [{ port: i + 1 }]));
const base = table({ services: [front(0, 'a'), front(1, 'a'), front(2, 'a')], backends });
/** `base` with some frontends swapped in place, sharing every other list (as rebaseSlice builds it). */
const swapped = (from: RoutingTable, at: Record<number, ReturnType<typeof front>>): RoutingTable => {
  const next = { ...from, services: from.services.map((s, i) => at[i] ?? s) };
  noteRebased(next, from);
  return next;
};

test('the changes of a rebased slice equal diffTables, and slices upserting the same frontend share one object', () => {
  const changed = front(1, 'b');
  const x = swapped(base, { 1: changed });
  const y = swapped(base, { 1: changed });
  const cx = rebaseChanges(base, x, canonicalJson);
  assert.deepEqual(cx, diffTables(base, x));
  assert.equal(rebaseChanges(base, y, canonicalJson), cx, 'one object for both');
  // Swapped in with the same content: no change, as diffTables says.
  const same = swapped(base, { 2: front(2, 'a') });
  assert.deepEqual(rebaseChanges(base, same, canonicalJson), diffTables(base, same));
});

test('anything but a rebase with one changed frontend is left to diffTables (null)', () => {
  const two = swapped(base, { 0: front(0, 'b'), 1: front(1, 'b') });
  assert.equal(rebaseChanges(base, two, canonicalJson), null, 'two frontends changed');
  const otherBackends = { ...swapped(base, { 1: front(1, 'b') }), backends: [...backends] };
  noteRebased(otherBackends, base);
  assert.equal(rebaseChanges(base, otherBackends, canonicalJson), null, 'the backends list replaced');
  const notRebased = { ...base, services: base.services.map((s, i) => (i === 1 ? front(1, 'b') : s)) };
  assert.equal(rebaseChanges(base, notRebased, canonicalJson), null, 'not recorded as rebased from base');
  const other = table({ services: [front(0, 'a'), front(1, 'a'), front(2, 'a')], backends });
  assert.equal(rebaseChanges(other, swapped(base, { 1: front(1, 'b') }), canonicalJson), null, 'rebased from another slice');
});
