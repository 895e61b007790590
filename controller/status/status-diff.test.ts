import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PLACEHOLDER_TIME } from '../translate/index.ts';
import { carryTimes, mergeRouteStatus, sameStatus, stampTimes } from './status-diff.ts';
import { PROPAGATED_CONDITION, withPropagation } from './propagation.ts';

const cond = (type: string, status: string, time: string): Record<string, unknown> => ({ type, status, reason: type, message: '', observedGeneration: 1, lastTransitionTime: time });
const ours = (name: string, conditions: unknown[]): Record<string, unknown> => ({ parentRef: { name }, controllerName: 'meshlet.dev/mesh-controller', conditions });
const theirs = { parentRef: { name: 'x' }, controllerName: 'example.com/other', conditions: [cond('Accepted', 'True', '2020-01-01T00:00:00Z')] };

test('a placeholder time matches any stored time; any other difference does not', () => {
  const stored = { conditions: [cond('Accepted', 'True', '2026-01-01T00:00:00Z')] };
  assert.ok(sameStatus({ conditions: [cond('Accepted', 'True', PLACEHOLDER_TIME)] }, stored));
  assert.ok(sameStatus({ conditions: [cond('Accepted', 'True', '2026-01-01T00:00:00Z')] }, stored));
  assert.ok(!sameStatus({ conditions: [cond('Accepted', 'True', '2026-02-02T00:00:00Z')] }, stored));
  assert.ok(!sameStatus({ conditions: [cond('Accepted', 'False', PLACEHOLDER_TIME)] }, stored));
  assert.ok(!sameStatus({ conditions: [cond('Accepted', 'True', PLACEHOLDER_TIME)] }, { conditions: [] }));
  assert.ok(!sameStatus({ conditions: [cond('Accepted', 'True', PLACEHOLDER_TIME)], supportedFeatures: [] }, stored));
});

test('stampTimes replaces only placeholders', () => {
  const out = stampTimes({ parents: [ours('a', [cond('Accepted', 'True', PLACEHOLDER_TIME), cond('ResolvedRefs', 'True', '2025-05-05T00:00:00Z')])] }, new Date('2026-11-22T03:00:00.123Z'));
  assert.deepEqual((out as { parents: { conditions: { lastTransitionTime: string }[] }[] }).parents[0]!.conditions.map((c) => c.lastTransitionTime), ['2026-11-22T03:00:00Z', '2025-05-05T00:00:00Z']);
});

test('route merge: other controllers\' entries from the fresh read, ours from translate (or none)', () => {
  const fresh = { parents: [ours('old', []), theirs, { ...theirs, parentRef: { name: 'y' } }] };
  const merged = mergeRouteStatus({ parents: [theirs, ours('new', [])] }, fresh);
  assert.deepEqual((merged.parents as { parentRef: { name: string } }[]).map((p) => p.parentRef.name), ['x', 'y', 'new']);
  const dropped = mergeRouteStatus({ parents: [theirs] }, fresh);
  assert.deepEqual((dropped.parents as { parentRef: { name: string } }[]).map((p) => p.parentRef.name), ['x', 'y']);
});

test('Propagated condition on our entries only; time kept while its status holds', () => {
  const status = { parents: [theirs, ours('a', [cond('Accepted', 'True', PLACEHOLDER_TIME)])] };
  const partial = withPropagation(status, { upToDate: 1, total: 2, generation: 7 }, 3, undefined);
  const parents = partial.parents as { controllerName: string; conditions: Record<string, unknown>[] }[];
  assert.deepEqual(parents[0], theirs);
  const p = parents[1]!.conditions.find((c) => c.type === PROPAGATED_CONDITION)!;
  assert.deepEqual([p.status, p.reason, p.message, p.observedGeneration, p.lastTransitionTime], ['False', 'Propagating', '1/2 proxies at generation 7', 3, PLACEHOLDER_TIME]);
  const stored = stampTimes(partial, new Date('2026-01-01T00:00:00Z'));
  const again = withPropagation(status, { upToDate: 1, total: 3, generation: 7 }, 3, stored);
  const q = (again.parents as { conditions: Record<string, unknown>[] }[])[1]!.conditions.find((c) => c.type === PROPAGATED_CONDITION)!;
  assert.equal(q.lastTransitionTime, '2026-01-01T00:00:00Z');
  const done = withPropagation(status, { upToDate: 3, total: 3, generation: 7 }, 3, stored);
  const r = (done.parents as { conditions: Record<string, unknown>[] }[])[1]!.conditions.find((c) => c.type === PROPAGATED_CONDITION)!;
  assert.deepEqual([r.status, r.reason, r.lastTransitionTime], ['True', 'Propagated', PLACEHOLDER_TIME]);
});

test('carryTimes: a route condition keeps its stored time while its status holds, on the same entry only (parentRef defaults applied)', () => {
  const t = '2026-05-05T05:05:05Z';
  // the API server filled in the stored parentRef's group and kind (CRD defaults)
  const storedEntry = { ...ours('a', [cond('Accepted', 'True', t), cond('ResolvedRefs', 'True', t)]), parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'a' } };
  const stored = { parents: [theirs, storedEntry, ours('b', [cond('Accepted', 'True', t)])] };
  const desired = { parents: [theirs, ours('a', [cond('Accepted', 'True', PLACEHOLDER_TIME), cond('ResolvedRefs', 'False', PLACEHOLDER_TIME)]), ours('c', [cond('Accepted', 'True', PLACEHOLDER_TIME)])] };
  const out = carryTimes(desired, stored, 'shop').parents as { conditions: { type: string; lastTransitionTime: string }[] }[];
  assert.deepEqual(out[0], theirs);
  // Accepted held (stored time kept), ResolvedRefs transitioned (placeholder: stamped at the write)
  assert.deepEqual(out[1]!.conditions.map((c) => c.lastTransitionTime), [t, PLACEHOLDER_TIME]);
  // an entry with no stored counterpart (parentRef c) keeps the placeholder
  assert.deepEqual(out[2]!.conditions.map((c) => c.lastTransitionTime), [PLACEHOLDER_TIME]);
  // a desired time that is not the placeholder is never replaced
  const explicit = { parents: [ours('a', [cond('Accepted', 'True', '2027-01-01T00:00:00Z')])] };
  assert.deepEqual((carryTimes(explicit, stored, 'shop').parents as { conditions: { lastTransitionTime: string }[] }[])[0]!.conditions[0]!.lastTransitionTime, '2027-01-01T00:00:00Z');
  // nothing stored: given back as it was
  assert.equal(carryTimes(desired, undefined, 'shop'), desired);
});
