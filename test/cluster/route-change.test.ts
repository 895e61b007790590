// The journey's route-change figures: nearest-rank percentiles (every figure reported is one that
// was measured; the p99 of fewer than 100 samples is their max) and the table check it polls by.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentile, tableMentions } from './journey/route-change.ts';

describe('route change figures', () => {
  const cases: { samples: number[]; p: number; want: number }[] = [
    { samples: [30, 10, 20], p: 50, want: 20 },
    { samples: [30, 10, 20], p: 99, want: 30 },
    { samples: Array.from({ length: 200 }, (_, i) => i + 1), p: 99, want: 198 },
    { samples: [7], p: 1, want: 7 },
  ];
  for (const c of cases) {
    it(`p${c.p} of ${c.samples.length} samples is ${c.want}`, () => assert.equal(percentile(c.samples, c.p), c.want));
  }
  it('no samples: NaN, not 0 (a missing figure must not read as instant)', () => assert.ok(Number.isNaN(percentile([], 99))));
  it('a table mentions a revision only once it carries it', () => {
    const dump = { version: 'v', appliedAt: null, table: { services: [{ rules: [{ headers: [{ name: 'x-journey-revision', value: 'rev-3' }] }] }] } };
    assert.equal(tableMentions(dump, 'rev-3'), true);
    assert.equal(tableMentions(dump, 'rev-4'), false);
    assert.equal(tableMentions({ ...dump, table: null }, 'rev-3'), false);
  });
});
