// The endpoint fast path's slice index: over seeded edits of a slice list (rewritten in place,
// moved to another Service, label dropped, added, removed), every Service's slices are what a
// fresh Lookup lists, and a list with one slice rewritten reads that slice alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lookup } from './lookup.ts';
import { SlicePositions } from './slice-positions.ts';
import { emptySnapshot, type KubeObject } from './snapshot.ts';

const SERVICES = ['a', 'b', 'c', 'd'];

function slice(n: number, svc: string | null, rev: number): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `s${n}`, namespace: 'shop', resourceVersion: String(rev), ...(svc ? { labels: { 'kubernetes.io/service-name': svc } } : {}) },
    endpoints: [],
  };
}

test('one slice rewritten among 1 000: one slice read; its Service\'s slices come out in list order', () => {
  const p = new SlicePositions();
  const first = Array.from({ length: 1000 }, (_, i) => slice(i, `svc-${i % 400}`, 1));
  assert.deepEqual(p.slicesOf(first, 'shop/svc-7'), [first[7], first[407], first[807]]);
  const second = first.slice();
  second[407] = slice(407, 'svc-7', 2);
  const before = p.read;
  assert.deepEqual(p.slicesOf(second, 'shop/svc-7'), [first[7], second[407], first[807]]);
  assert.equal(p.read - before, 1);
});

test('over seeded edits every Service\'s slices are what a fresh Lookup lists', () => {
  let seed = 11;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const p = new SlicePositions();
  let list = Array.from({ length: 12 }, (_, i) => slice(i, pick(SERVICES), 0));
  for (let step = 1; step <= 300; step++) {
    const r = rnd();
    if (r < 0.6) {
      list = list.slice();
      const i = Math.floor(rnd() * list.length);
      list[i] = slice(i, rnd() < 0.1 ? null : rnd() < 0.5 ? pick(SERVICES) : list[i]!.metadata.labels?.['kubernetes.io/service-name'] ?? null, step);
    } else if (r < 0.8 || list.length < 4) {
      list = [...list, slice(100 + step, pick(SERVICES), step)];
    } else {
      const i = Math.floor(rnd() * list.length);
      list = [...list.slice(0, i), ...list.slice(i + 1)];
    }
    const lookup = new Lookup({ ...emptySnapshot(), endpointSlices: list });
    for (const svc of SERVICES) assert.deepEqual(p.slicesOf(list, `shop/${svc}`), lookup.slices.get(`shop/${svc}`) ?? [], `step ${step} ${svc}`);
  }
});
