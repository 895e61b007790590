import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { targetsTable } from './report-targets.ts';
import { findings, scaleSection } from './report-sections.ts';
import type { BenchResult } from './result.ts';
import type { ScaleResult } from './scale.ts';

// The last committed quick run, with its memory-at-scale stage replaced by the case at hand.
const base = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'results', '2026-12-07-bcd2d402dd43.json'), 'utf8')) as BenchResult;
const agent = (routes: number, idle: number, loaded: number, settled?: number, own?: [number, number]): ScaleResult => ({
  routes, available: true, readyMs: 100, rssIdleMB: idle, rssLoadedMB: loaded, soakS: 5, errors: 0,
  latencyUs: { p50: 100, p90: 200, p99: 300, p999: 400, max: 500 } as ScaleResult['latencyUs'],
  ...(settled === undefined ? {} : { rssSettledMB: settled }),
  ...(own === undefined ? {} : { pssSettledMB: own[0], privateDirtySettledMB: own[1] }),
});
const rows = (scale: ScaleResult[]): string[] => targetsTable({ ...base, scale }).filter((l) => /RSS .*agent|routes vs/.test(l));

test('memory-at-scale targets judge the settled reading when the run has one, and show the reading at ready beside it', () => {
  const [idle, ratio] = rows([agent(10, 96, 110, 72), agent(10000, 130, 125, 80)]);
  assert.match(idle!, /RSS settled \(45 s idle\), agent with 10 routes \| meshlet agent \| 72\.0 MB \(96\.0 MB 1 s after ready\) \| ≤ 60 MB \| missed/);
  // 80/72 = 1.11 settled, 125/110 = 1.14 after the soak: both within 1.3×; 130/96 = 1.35 at ready is shown, not judged
  assert.match(ratio!, /\| 1\.11× \/ 1\.14× \(1\.35× 1 s after ready\) \| ≤ 1\.3× \| met \|/);
});

test('a result without the settled reading (older runs) is judged on the reading at ready, as before', () => {
  const [idle, ratio] = rows([agent(10, 96, 110), agent(10000, 130, 125)]);
  assert.match(idle!, /RSS idle, agent with 10 routes \| meshlet agent \| 96\.0 MB \| ≤ 60 MB/);
  assert.match(ratio!, /\| 1\.35× \/ 1\.14× \| ≤ 1\.3× \| missed/);
});

test('the scale section lists the settled column and its PSS / private dirty, a dash where a run had none', () => {
  const text = scaleSection({ ...base, scale: [agent(10, 96, 110, 72, [41.5, 20.25]), agent(10000, 130, 125)] }).join('\n');
  assert.match(text, /\| 10 \| 100 \| 96\.0 \| 72\.0 \| 41\.5 \/ 20\.3 \| 110\.0 \(5 s\) \|/);
  assert.match(text, /\| 10000 \| 100 \| 130\.0 \| – \| – \| 125\.0 \(5 s\) \|/);
});

test('the idle target shows PSS and private dirty beside the settled RSS, and is still judged on RSS', () => {
  const [idle] = rows([agent(10, 96, 110, 72, [41.5, 20.25]), agent(10000, 130, 125, 80, [50, 30])]);
  // private dirty is under 60 MB, RSS is not: the verdict follows RSS
  assert.match(idle!, /\| 72\.0 MB \(96\.0 MB 1 s after ready; PSS 41\.5, private dirty 20\.3 MB\) \| ≤ 60 MB \| missed by 20% \|/);
});

test('the Memory finding says how much of the settled RSS is private dirty, when the run read it', () => {
  const memory = (scale: ScaleResult[]): string => findings({ ...base, bareNodeMB: 43.4, scale }).find((l) => l.startsWith('- **Memory**')) ?? '';
  assert.match(memory([agent(10, 96, 110, 83.1, [31.9, 29.4]), agent(10000, 130, 125, 102.5)]), /83\.1 MB settled, so 39\.7 MB is meshlet's .* Of its RSS, 29\.4 MB is private dirty .*PSS 31\.9 MB/);
  assert.doesNotMatch(memory([agent(10, 96, 110, 72), agent(10000, 130, 125)]), /private dirty/);
});
