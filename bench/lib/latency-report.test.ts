import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Interval } from './latency-bootstrap.ts';
import { floorLines, latencySection, latencyTargetCell } from './latency-report.ts';
import type { LatencyResult, LatencyRow } from './latency-stage.ts';
import { latencyVerdict } from './latency-verdict.ts';
import type { BenchResult } from './result.ts';
import { targetsTable } from './report-targets.ts';
import type { Spread } from './stats.ts';

const iv = (lo: number, point: number, hi: number): Interval => ({ point, lo, hi });
const AA = [iv(-2, 0, 2)];
const NGINX_ADDED = iv(36, 42, 47);

function meshRow(config: string, added: Interval, ratio: Interval, p99Ratio: Interval, p99Nginx: Interval): LatencyRow {
  return {
    config, label: config, kind: 'meshlet', hops: 1, available: true, samples: 3000, errors: 0, p50: iv(200, 210, 220), p99: iv(900, 1000, 1200),
    addedP50PerHop: added, addedP99PerHop: iv(300, 500, 700), ratioP50VsNginx: ratio, ratioP99VsNginx: p99Ratio,
    verdictP50: latencyVerdict({ target: 1.5, added, nginx: NGINX_ADDED, ratio, aa: AA }),
    verdictP99: latencyVerdict({ target: 2, added: iv(300, 500, 700), nginx: p99Nginx, ratio: p99Ratio, aa: AA }),
  };
}

const LAT: LatencyResult = {
  settings: { blockRequests: 100, budgetS: 55, minBlocks: 4, maxBlocks: 400, warmRequests: 2000, warmMaxS: 8, draws: 1000, bodyBytes: 12 },
  blocks: 30, measureS: 25, warmedRequests: { min: 1200, max: 2000 }, loadBefore: [10, 9, 8], loadAfter: [11, 9, 8],
  rows: [
    // p50 missed (ratio rule), p99 unresolved (nginx's p99 within the noise)
    meshRow('meshlet-ingress', iv(156, 170, 187), iv(3.49, 4.02, 4.68), iv(-Infinity, 12, Infinity), iv(-8000, -600, 6500)),
    // p50 met (ratio rule)
    meshRow('meshlet-sidecars', iv(45, 50, 55), iv(1.1, 1.19, 1.3), iv(-Infinity, 12, Infinity), iv(-8000, -600, 6500)),
  ],
  aa: [{ label: 'direct-aa − direct', a: 'direct', b: 'direct-aa', p50: iv(-2, 0, 2), p99: iv(-500, 30, 600), passed: true }],
};

const spread = (median: number): Spread => ({ median, min: median, max: median, n: 1 });

function result(latency: LatencyResult | undefined): BenchResult {
  const config = (id: string) => ({ config: id, label: id, kind: 'meshlet' as const, hops: 1, available: true, rssIdleMB: spread(100), rssLoadedMB: spread(110), maxRps: spread(1), rpsPerCore: spread(1), coreUtilization: spread(1) });
  return {
    summary: { configs: [config('meshlet-ingress'), config('meshlet-sidecars')], scenarios: [], noise: { noisy: false, threshold: 0.1, details: [] } },
    scale: [], propagation: [], streaming: [], routeMicro: null, ...(latency ? { latency } : {}),
  } as unknown as BenchResult;
}

describe('closed-loop latency in the report', () => {
  test('a resolved verdict fills the Targets row with the closed-loop ratio and its interval', () => {
    const rows = targetsTable(result(LAT));
    const p50 = rows.find((l) => l.startsWith("| added p50 per hop vs nginx's | meshlet-ingress |"))!;
    assert.equal(p50, "| added p50 per hop vs nginx's | meshlet-ingress | 4.02× [3.49–4.68] (closed loop, 95 % interval) | ≤ 1.5× | missed: 2.7× the target |");
    const met = rows.find((l) => l.startsWith("| added p50 per hop vs nginx's | meshlet-sidecars |"))!;
    assert.match(met, /1\.19× \[1\.10–1\.30\] \(closed loop, 95 % interval\) \| ≤ 1\.5× \| met \|$/);
  });

  test('a verdict by the bounds rule shows the paired ratio beside what the bounds prove', () => {
    const added = iv(97, 100.6, 104.6);
    const ratio = iv(3.02, 3.16, 3.31);
    const row = { ...meshRow('meshlet-ingress', added, ratio, iv(-Infinity, 12, Infinity), iv(-8000, -600, 6500)),
      verdictP50: latencyVerdict({ target: 1.5, added, nginx: iv(30.4, 31.8, 33.2), ratio, aa: [iv(-3.9, -2.3, -0.8)] }) };
    const cell = latencyTargetCell({ ...LAT, rows: [row] }, 'meshlet-ingress', 'p50', 1.5)!;
    assert.equal(cell.measured, '3.16× [3.02–3.31]; missed by at least 67%: ≥ 2.51× (the A/A check is off by up to 4 µs) (closed loop)');
    assert.equal(cell.verdict, 'missed by at least 67%');
    assert.equal(cell.resolved, true);
  });

  test('an unresolved verdict leaves the open-loop figure and says the closed loop did not resolve it', () => {
    const rows = targetsTable(result(LAT));
    const p99 = rows.find((l) => l.startsWith("| added p99 per hop vs nginx's | meshlet-ingress |"))!;
    assert.match(p99, /\(open loop\); closed loop not resolved \(below ±7250 µs\) \| ≤ 2× \| not resolved \(below ±7250 µs\) \|$/);
  });

  test('too few blocks: the Targets row says so instead of a resolution', () => {
    const row = meshRow('meshlet-ingress', iv(156, 170, 187), iv(3.49, 4.02, 4.68), iv(-Infinity, 12, Infinity), iv(-8000, -600, 6500));
    row.verdictP50 = { ...row.verdictP50!, status: 'unresolved', ratio: NaN, resolutionUs: Infinity, text: 'not resolved: only 6 blocks were measured' };
    const cell = latencyTargetCell({ ...LAT, rows: [row] }, 'meshlet-ingress', 'p50', 1.5)!;
    assert.equal(cell.resolved, false);
    assert.equal(cell.verdict, 'not resolved (too few blocks)');
  });

  test('a result without the stage renders as before', () => {
    const rows = targetsTable(result(undefined));
    const p50 = rows.find((l) => l.startsWith("| added p50 per hop vs nginx's | meshlet-ingress |"))!;
    assert.match(p50, /\(open loop\) \| ≤ 1\.5× \| not measured \|$/);
    assert.equal(latencyTargetCell(undefined, 'meshlet-ingress', 'p50', 1.5), null);
    assert.deepEqual(latencySection(undefined), ['Not run (a result from before this stage existed).', '']);
  });

  test('the section shows every row, the A/A checks and one verdict line per meshlet configuration', () => {
    const md = latencySection(LAT).join('\n');
    assert.match(md, /\| meshlet-ingress \| 1 \| 3000 \| 210 \[200–220\] \| 1000 \[900–1200\] \| 170 \[156–187\] \| 500 \[300–700\] \| 4\.02× \[3\.49–4\.68\] \| – \|$/m);
    assert.match(md, /- direct-aa − direct: p50 0\.0 \[-2\.0–2\.0\] µs, p99 30\.0 \[-500\.0–600\.0\] µs — both contain 0\./);
    assert.match(md, /- \*\*meshlet-ingress\*\*: p50 — missed 2\.7× the target: 4\.02× \[3\.49–4\.68\] > 1\.5×; p99 — not resolved below ±7250 µs/);
    assert.match(md, /25 s in all after 1200–2000 warm-up requests each \(at most 2000, or 8 s\)/);
    assert.match(md, /Load average before \/ after: 10\.0, 9\.0, 8\.0 \/ 11\.0, 9\.0, 8\.0\./);
  });

  test('the floor paragraph: each hop against the Node L4 pipe, and none without the pipe', () => {
    const pipe: LatencyRow = { config: 'node-l4-pipe', label: 'Node L4 pipe (no HTTP), 1 hop', kind: 'reference', hops: 1, available: true, samples: 3000, errors: 0,
      p50: iv(70, 75, 80), p99: iv(200, 210, 220), addedP50PerHop: iv(38, 40, 42), addedP99PerHop: iv(100, 110, 120) };
    const nginx: LatencyRow = { ...pipe, config: 'nginx', label: 'nginx, 1 hop', addedP50PerHop: iv(20, 21, 23) };
    const aa: LatencyRow = { ...pipe, config: 'nginx-aa', label: 'nginx, second process (A/A)', kind: 'aa', addedP50PerHop: undefined };
    const lat = { ...LAT, rows: [nginx, pipe, ...LAT.rows, aa] };
    const [line] = floorLines(lat);
    assert.match(line!, /nginx, 1 hop 21 \(−19\); meshlet-ingress 170 \(\+130\); meshlet-sidecars 50 \(\+10\)\./);
    assert.match(line!, /Node L4 pipe \(no HTTP\), 1 hop's 40\)/);
    assert.ok(!line!.includes('A/A'));
    assert.ok(latencySection(lat).includes(line!));
    assert.deepEqual(floorLines(LAT), []);
    assert.deepEqual(floorLines({ ...LAT, rows: [{ ...pipe, available: false }, ...LAT.rows] }), []);
  });
});
