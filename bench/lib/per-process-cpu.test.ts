import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarize } from './aggregate.ts';
import { CONFIGS } from './configs.ts';
import type { RoundResult } from './measure.ts';
import { perProcessCpu } from './report.ts';
import type { BenchResult } from './result.ts';

// The full run of b1833c8's rounds, given the per-process split its runner did not record yet:
// the sidecar pair's CPU is the client's plus the server's, and the split is reported apart.
const base = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'results', '2026-12-07-b1833c8cf679.json'), 'utf8')) as BenchResult;

function withSplit(rounds: RoundResult[], clientShare: number): RoundResult[] {
  return rounds.map((r) => (r.config !== 'meshlet-sidecars' ? r : {
    ...r,
    scenarios: r.scenarios.map((s) => ({
      ...s,
      cpuUsPerRequestByProcess: [
        { name: 'meshlet agent (client)', us: s.cpuUsPerRequest * clientShare },
        { name: 'meshlet agent (server)', us: s.cpuUsPerRequest * (1 - clientShare) },
      ],
    })),
  }));
}

test('the sidecar pair\'s processes are summarized apart, each against nginx\'s hop in the same round', () => {
  const rounds = withSplit(base.rounds, 0.6);
  const summary = summarize(CONFIGS, new Map(Object.entries(base.unavailable ?? {})), rounds);
  const at = (cfg: string): ReturnType<typeof summarize>['scenarios'][number] => summary.scenarios.find((s) => s.config === cfg && s.rate === 1000 && s.bodyBytes === 12)!;
  const pair = at('meshlet-sidecars');
  assert.deepEqual(pair.cpuByProcess?.map((b) => b.name), ['meshlet agent (client)', 'meshlet agent (server)']);
  // b1833c8's rounds at 1000 rps, 12 B: the pair 236.5, 217.6, 214.7 µs; nginx 59.4, 69.2, 59.4 (rounded)
  const pairs = rounds.filter((r) => r.config === 'meshlet-sidecars').map((r) => r.scenarios.find((s) => s.rate === 1000 && s.bodyBytes === 12)!.cpuUsPerRequest).sort((a, b) => a - b);
  const client = pair.cpuByProcess[0]!;
  assert.ok(Math.abs(client.us.median - 0.6 * pairs[1]!) < 1e-9);
  assert.equal(client.us.n, 3);
  const server = pair.cpuByProcess[1]!;
  assert.ok(Math.abs(server.us.median - 0.4 * pairs[1]!) < 1e-9);
  // each process's ratio is taken against nginx in its own round
  const nginx = rounds.filter((r) => r.config === 'nginx').map((r) => r.scenarios.find((s) => s.rate === 1000 && s.bodyBytes === 12)!.cpuUsPerRequest);
  const ratios = rounds.filter((r) => r.config === 'meshlet-sidecars').map((r, i) => (0.6 * r.scenarios.find((s) => s.rate === 1000 && s.bodyBytes === 12)!.cpuUsPerRequest) / nginx[i]!).sort((a, b) => a - b);
  assert.ok(Math.abs(client.ratioVsNginx.median - ratios[1]!) < 1e-9);
  // single-process configurations have no split
  assert.equal(at('meshlet-ingress').cpuByProcess, undefined);
  assert.equal(at('nginx').cpuByProcess, undefined);
});

test('the report shows each process of the pair as a row, and nothing when no run recorded a split', () => {
  const summary = summarize(CONFIGS, new Map(Object.entries(base.unavailable ?? {})), withSplit(base.rounds, 0.6));
  const lines = perProcessCpu(summary);
  const rows = lines.filter((l) => l.startsWith('| meshlet'));
  assert.deepEqual(rows.map((l) => l.split(' | ')[0]), ['| meshlet sidecar → sidecar, 2 hops: meshlet agent (client)', '| meshlet sidecar → sidecar, 2 hops: meshlet agent (server)']);
  assert.equal(rows[0]!.split(' | ').length, 5); // the process and four scenarios
  assert.deepEqual(perProcessCpu(summarize(CONFIGS, new Map(Object.entries(base.unavailable ?? {})), base.rounds)), []);
});
