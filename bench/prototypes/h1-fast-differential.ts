// The longer run of the whole-exchange differential test (issue 16, ADR 0017 item 7): the same
// seeded HTTP/1.1 requests through a sidecar with the fast path and one without, compared as
// test/support/exchange-differential.ts describes (upstream request and client answer, framing
// and the stated by-design differences normalised). `npm test` runs one seed for 80 exchanges;
// this runs many seeds for longer and prints every disagreement (request and both views), so
// each can become a fixed case. Not a measurement: nothing is pinned or timed.
//   npx node bench/prototypes/h1-fast-differential.ts [--seeds 10] [--cases 500] [--minutes 10] [--first-seed 1]
// Exit status 1 when any exchange disagreed.
import { parseArgs } from 'node:util';
import { runExchangeDifferential } from '../../test/support/exchange-differential.ts';

const { values } = parseArgs({ options: { seeds: { type: 'string', default: '10' }, cases: { type: 'string', default: '500' }, minutes: { type: 'string', default: '10' }, 'first-seed': { type: 'string', default: '1' } } });
const seeds = Number(values.seeds);
const cases = Number(values.cases);
const deadline = Date.now() + Number(values.minutes) * 60_000;
const first = Number(values['first-seed']);

let total = 0;
let disagreed = 0;
const tally: Record<string, number> = {};
for (let seed = first; seed < first + seeds && Date.now() < deadline; seed++) {
  const started = Date.now();
  const r = await runExchangeDifferential({ seed, cases, budgetMs: Math.max(1_000, deadline - Date.now()) });
  total += r.cases;
  disagreed += r.disagreements.length;
  for (const [k, v] of Object.entries(r.tally)) tally[k] = (tally[k] ?? 0) + v;
  console.log(`seed ${seed}: ${r.cases} exchanges, ${r.disagreements.length} disagreements, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const d of r.disagreements) console.log(JSON.stringify(d));
}
console.log(`total: ${total} exchanges, ${disagreed} disagreements; ${JSON.stringify(tally)}`);
process.exitCode = disagreed > 0 ? 1 : 0;
