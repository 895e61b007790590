// StableOrder must give exactly what a stable Array#sort gives, whatever the next list is: seeded
// random steps (items replaced by equal-comparing ones, renamed, added, removed, reordered) each
// compared with a fresh sort; and the kept order is used when only equal-comparing items changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StableOrder } from './stable-order.ts';
import { prng } from '../../test/support/prng.ts';

interface Item { name: string; tag: number }
const byName = (a: Item, b: Item): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

test('equal to a stable sort over random steps; kept order used when nothing moved', () => {
  let kept = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = prng(seed);
    const name = (): string => `n${Math.floor(rnd() * 40)}`; // duplicates on purpose: ties must stay stable
    let items: Item[] = Array.from({ length: 30 }, (_, i) => ({ name: name(), tag: i }));
    const order = new StableOrder<Item>();
    for (let step = 0; step < 100; step++) {
      const before = order.sorts;
      const out = order.sort(items, byName);
      assert.deepEqual(out, [...items].sort(byName), `seed ${seed} step ${step}`);
      assert.ok(out.every((x, i) => x === [...items].sort(byName)[i]), 'the same objects');
      if (order.sorts === before) kept++;
      const next = [...items];
      const roll = rnd();
      const i = Math.floor(rnd() * next.length);
      if (roll < 0.5) next[i] = { name: next[i]!.name, tag: step * 100 }; // rebuilt, same key
      else if (roll < 0.65) next[i] = { name: name(), tag: step * 100 }; // renamed
      else if (roll < 0.75) next.push({ name: name(), tag: step * 100 });
      else if (roll < 0.85 && next.length > 1) next.splice(i, 1);
      else if (roll < 0.95) [next[0], next[i]] = [next[i]!, next[0]!]; // reordered input
      items = next;
    }
  }
  assert.ok(kept > 500, `kept order used ${kept} times`);
});

test('a list whose items were all rebuilt under the same names is not sorted again', () => {
  const order = new StableOrder<Item>();
  const a = Array.from({ length: 1000 }, (_, i) => ({ name: `svc-${i}`, tag: 0 }));
  order.sort(a, byName);
  const b = a.map((x) => ({ ...x, tag: 1 }));
  assert.deepEqual(order.sort(b, byName).map((x) => x.tag), Array.from({ length: 1000 }, () => 1));
  assert.equal(order.sorts, 1);
  // one renamed: sorted afresh
  order.sort(b.map((x, i) => (i === 5 ? { name: 'zzz', tag: 2 } : x)), byName);
  assert.equal(order.sorts, 2);
});
