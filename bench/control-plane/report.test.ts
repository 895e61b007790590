import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigResult, ScaleResult } from './measure.ts';
import { percentiles } from './percentiles.ts';
import { QUICK } from './profile.ts';
import { HAND_BEGIN, HAND_END, handWritten } from '../lib/hand-written.ts';
import { idleMax, isNoisy, propagationChart, renderReport, type CpBenchResult } from './report.ts';
import { gcBetween, parseGcSeconds } from './controller-process.ts';
import { GcDurations } from '../../common/process-metrics.ts';

function config(routes: number, agents: number, latency: number[], cpu: number[]): ConfigResult {
  return {
    routes, agents, latencyMs: latency, latency: percentiles(latency), incompleteChanges: 0,
    cpuMsPerChange: cpu, cpuPerChange: percentiles(cpu), cpuToAckMs: cpu.map((c) => c / 4), cpuToAck: percentiles(cpu.map((c) => c / 4)),
    firstSyncMs: [3], firstSync: percentiles([3]), connectWallMs: 50, connected: agents, connectFailures: 0, connectFirstSync: percentiles([2, 4]), rssMB: 200, rssSettledMB: 180, idleCpuShare: 0.01,
  };
}

function scale(routes: number, configs: ConfigResult[], otherCores: number): ScaleResult {
  return {
    routes, startupMs: 1000, startupCpuMs: 800, startupQuiet: true, startupSettleMs: 2000, rssIdleMB: 150, rssIdleSettledMB: 120, configs,
    noise: { cores: 2, otherCores, benchCores: 0.2, loadavg1: 1 }, problems: [],
  };
}

function result(otherCores: number): CpBenchResult {
  return {
    schema: 1, date: '2026-11-22T04:00:00.000Z', profile: { ...QUICK, custom: false },
    versions: { node: 'v24', nginx: '', haproxy: '', wrk: '', hdrHistogramJs: '', kernel: 'Linux', cpu: 'cpu', cores: 2, memoryGiB: 4, commit: 'abc', commitDirty: false },
    layout: { controller: 'CPU 1', agents: 'CPU 0', apiserver: 'bench', sharedMachine: true }, durationS: 100,
    scales: [
      scale(10, [config(10, 100, [60, 62, 64, 66, 70], [20, 22, 24, 26, 28]), config(10, 1000, [200, 210, 220, 230, 400], [100, 110, 120, 130, 140])], otherCores),
      scale(10_000, [config(10_000, 100, [1000, 1100, 1200, 1300, 1400], [4000, 4100, 4200, 4300, 4400])], 0.1),
    ],
  };
}

test('the report tabulates every configuration with its scaling ratios', () => {
  const md = renderReport(result(0.1), '../bench/results/x.json', '../bench/results/x.svg');
  assert.match(md, /\| 10 \| 1 000 \| 220 ms \| 400 ms \| 200–400 ms \| 5 \|/);
  assert.match(md, /\| 10 \| 3\.4× \| 5\.0× \|/); // 1 000 / 100 agents at 10 routes: 220 / 64 and 120 / 24
  assert.match(md, /\| 100 \| 18\.8× \| 175\.0× \|/); // 10 000 / 10 routes at 100 agents
  assert.match(md, /75 % of the controller's CPU per change comes \*after\*/);
  assert.match(md, /\| 150 \/ 120 MB \| 200 \/ 180 MB at 100, /, 'RSS at quiet and settled');
  assert.doesNotMatch(md, /NaN|undefined/);
  assert.doesNotMatch(md, /flagged noisy/);
});

test('each route change is listed with the GC time in its window and its major collections', () => {
  const r = result(0.1);
  const c = r.scales[1]!.configs[0]!;
  c.gcMsToAck = [2, 3, 950, 4, 1.5]; // 960.5 ms of 6 000 ms of latency
  c.majorGcsToAck = [0, 0, 1, 0, 0];
  const md = renderReport(r, 'a.json', 'a.svg');
  assert.match(md, /\| 10 000 \| 100 \| 1000 \(2\.0\), 1100 \(3\.0\), 1200 \(950M\), 1300 \(4\.0\), 1400 \(1\.5\) \| 16\.0 % \|/);
  assert.equal(md.match(/^\| 10 \| 100 \| \d+ \(/gm), null, 'configurations without GC figures (older results) are left out');
});

test('other work above a quarter core flags the run noisy', () => {
  assert.equal(isNoisy(result(0.1)), false);
  assert.equal(isNoisy(result(1.6)), true);
  assert.match(renderReport(result(1.6), 'a.json', 'a.svg'), /\*\*This run is flagged noisy\*\*/);
});

test('the chart draws one bar per configuration and marks missing ones n/a', () => {
  const svg = propagationChart(result(0.1));
  assert.match(svg, /^<svg /);
  assert.equal(svg.match(/<rect x="\d/g)?.length, 3 + 2); // three bars + two legend swatches
  assert.equal(svg.match(/>n\/a</g)?.length, 1); // 10 000 routes × 1 000 agents is absent
});

test('a regeneration keeps the hand-written part of the previous report, before Reproduce', () => {
  const notes = `${HAND_BEGIN}\n## Before/after (by hand)\n\n| a | b |\n${HAND_END}`;
  const previous = renderReport(result(0.1), 'a.json', 'a.svg', notes);
  const kept = handWritten(previous);
  assert.equal(kept, notes);
  const next = renderReport(result(0.1), 'b.json', 'b.svg', kept);
  assert.ok(next.indexOf('## Before/after (by hand)') < next.indexOf('## Reproduce'));
  assert.equal(next.split(HAND_BEGIN).length, 2, 'kept once, not duplicated');
  assert.equal(handWritten('# a report with no hand-written part'), '');
  assert.equal(handWritten(`${HAND_BEGIN} but never closed`), '');
});

test("the controller's GC histogram is read back from its exposition, and the difference of two readings is the window's GC", () => {
  const d = new GcDurations();
  d.observe({ duration: 12, detail: { kind: 1 } }); // minor
  const a = parseGcSeconds(d.text());
  d.observe({ duration: 900, detail: { kind: 4 } }); // major
  d.observe({ duration: 3, detail: { kind: 8 } }); // incremental
  const b = parseGcSeconds(d.text());
  assert.deepEqual(a, { minor: 0.012, major: 0, incremental: 0, weakcb: 0, majorCount: 0 });
  const w = gcBetween(a, b);
  assert.equal(Math.round(w.ms), 903);
  assert.equal(w.majors, 1);
  assert.deepEqual(parseGcSeconds('process_resident_memory_bytes 1\n'), { minor: 0, major: 0, incremental: 0, weakcb: 0, majorCount: 0 }, 'an older controller: no histogram, no GC');
});

test('the idle CPU column shows the highest window beside the lowest when they differ (a collection after the connects is real CPU)', () => {
  assert.equal(idleMax(undefined), '', 'older results kept one window');
  assert.equal(idleMax([0.005]), '');
  assert.equal(idleMax([0.0065, 0.0081, 0.061]), ' (max 6.1 %)');
  assert.equal(idleMax([0.004, 0.0041, 0.004]), '', 'the same to one decimal: nothing added');
});
