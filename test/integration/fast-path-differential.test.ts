// The HTTP/1.1 fast path against the general path, whole exchanges (issue 16, ADR 0017 item 7):
// the same seeded requests through a sidecar with `h1Fast` and one without, each in front of its
// own raw upstream; the upstream must receive the same request and the client the same answer
// once framing and the stated, by-design differences are normalised (test/support/
// exchange-differential.ts says which and why). Bounded: 80 exchanges per path or 15 s; the
// seed is fixed, so a disagreement reproduces (its request and both views are printed). The
// longer run over many seeds is bench/prototypes/h1-fast-differential.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExchangeDifferential } from '../support/exchange-differential.ts';

test('fast path and general path: the same upstream request and the same client answer for seeded exchanges', async (t) => {
  const r = await runExchangeDifferential({ seed: 0x16, cases: 80, budgetMs: 15_000 });
  assert.deepEqual(r.disagreements.map((d) => ({ n: d.n, request: d.request, fast: d.fast, general: d.general })), []);
  // the run must have covered enough, or agreeing says little
  assert.ok(r.cases >= 30, `only ${r.cases} exchanges within the budget`);
  for (const variant of ['cl', 'chunked', 'until-close', 'not-modified', 'close']) assert.ok((r.tally[variant] ?? 0) > 0, `no ${variant} response in ${JSON.stringify(r.tally)}`);
  t.diagnostic(`${r.cases} exchanges: ${JSON.stringify(r.tally)}`);
});
