import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { blockBootstrap, blocked, seededRandom, weightedQuantile } from './latency-bootstrap.ts';

/** The definition, written the slow way: expand each block weights[b] times, sort, nearest rank. */
function naiveQuantile(blocks: number[][], weights: number[], q: number): number {
  const all: number[] = [];
  blocks.forEach((bl, b) => { for (let k = 0; k < weights[b]!; k++) all.push(...bl); });
  all.sort((x, y) => x - y);
  return all.length === 0 ? NaN : all[Math.max(1, Math.ceil(q * all.length)) - 1]!;
}

function randomBlocks(seed: number, nBlocks: number, perBlock: number): number[][] {
  const r = seededRandom(seed);
  // rounded to 0.5 µs so ties occur, as they do with real timings
  return Array.from({ length: nBlocks }, () => Array.from({ length: perBlock }, () => Math.round((50 + 200 * r() ** 3) * 2) / 2));
}

describe('latency bootstrap statistics', () => {
  test('seededRandom is deterministic per seed and stays in [0, 1)', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const xs = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(xs, Array.from({ length: 1000 }, () => b()));
    assert.notDeepEqual(xs.slice(0, 10), Array.from({ length: 10 }, () => c()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  });

  const cases = [
    { name: 'all weights 1, median', seed: 1, blocks: 10, per: 20, q: 0.5, weights: null },
    { name: 'all weights 1, p99', seed: 2, blocks: 10, per: 20, q: 0.99, weights: null },
    { name: 'resampled weights, median', seed: 3, blocks: 12, per: 15, q: 0.5, weights: [0, 2, 1, 0, 3, 1, 0, 0, 2, 1, 1, 1] },
    { name: 'resampled weights, p90', seed: 4, blocks: 12, per: 15, q: 0.9, weights: [0, 2, 1, 0, 3, 1, 0, 0, 2, 1, 1, 1] },
    { name: 'resampled weights, p99', seed: 5, blocks: 12, per: 15, q: 0.99, weights: [3, 0, 0, 0, 0, 4, 0, 0, 2, 0, 3, 0] },
    { name: 'one block only, p1', seed: 6, blocks: 5, per: 30, q: 0.01, weights: [0, 0, 1, 0, 0] },
    { name: 'maximum', seed: 7, blocks: 6, per: 9, q: 1, weights: [1, 0, 2, 0, 1, 1] },
    { name: 'uneven block sizes', seed: 8, blocks: 0, per: 0, q: 0.75, weights: [1, 2, 0, 1] },
  ];
  for (const c of cases) {
    test(`weightedQuantile equals the expanded definition: ${c.name}`, () => {
      const blocks = c.blocks > 0 ? randomBlocks(c.seed, c.blocks, c.per) : [[5, 1, 9], [3], [100, 200], [7, 7, 2, 8, 4]];
      const weights = c.weights ?? blocks.map(() => 1);
      assert.equal(weightedQuantile(blocked(blocks), weights, c.q), naiveQuantile(blocks, weights, c.q));
    });
  }

  test('weightedQuantile of nothing is NaN', () => {
    assert.ok(Number.isNaN(weightedQuantile(blocked([[1, 2], [3]]), [0, 0], 0.5)));
    assert.ok(Number.isNaN(weightedQuantile(blocked([[], []]), [1, 1], 0.5)));
  });

  test('pairing by block: a drift shared by both configurations cancels in the difference', () => {
    // 60 blocks; each block the whole machine is slower by a drift of 0–100 µs; B is A + 20 µs.
    const r = seededRandom(11);
    const a: number[][] = [];
    const b: number[][] = [];
    for (let k = 0; k < 60; k++) {
      const drift = 100 * r();
      a.push(Array.from({ length: 50 }, () => 60 + drift + 10 * r()));
      b.push(Array.from({ length: 50 }, () => 80 + drift + 10 * r()));
    }
    const sa = blocked(a);
    const sb = blocked(b);
    const [diff, medA] = blockBootstrap(60, (w) => [weightedQuantile(sb, w, 0.5) - weightedQuantile(sa, w, 0.5), weightedQuantile(sa, w, 0.5)], 500, 1);
    assert.ok(diff!.lo <= 20 && diff!.hi >= 20, `difference [${diff!.lo}, ${diff!.hi}] covers 20`);
    assert.ok(diff!.hi - diff!.lo < 8, `paired difference interval is narrow: ${diff!.hi - diff!.lo}`);
    // while the absolute median itself moves with the drift
    assert.ok(medA!.hi - medA!.lo > 2 * (diff!.hi - diff!.lo), `absolute interval ${medA!.hi - medA!.lo} is wider`);
  });

  test('more blocks give a narrower interval', () => {
    const width = (n: number): number => {
      const s = blocked(randomBlocks(21, n, 50));
      const [m] = blockBootstrap(n, (w) => [weightedQuantile(s, w, 0.5)], 400, 3);
      return m!.hi - m!.lo;
    };
    assert.ok(width(160) < width(10), `${width(160)} < ${width(10)}`);
  });

  test('the same seed gives the same interval; a statistic undefined in many draws gets no interval', () => {
    const s = blocked(randomBlocks(31, 20, 20));
    const f = (w: Uint32Array): number[] => [weightedQuantile(s, w, 0.5), w[0]! > 0 ? 1 : NaN];
    const [x, undef] = blockBootstrap(20, f, 300, 5);
    const [y] = blockBootstrap(20, f, 300, 5);
    assert.deepEqual(x, y);
    // block 0 is left out of ~36 % of draws: far more than 2.5 %
    assert.equal(undef!.lo, -Infinity);
    assert.equal(undef!.hi, Infinity);
    assert.equal(undef!.point, 1);
  });
});
