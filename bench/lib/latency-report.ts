// docs/benchmarks.md's closed-loop latency section (latency-stage.ts) and the cells of the
// Targets table it fills when its intervals resolve the verdict. Every figure carries its 95 %
// interval, and the A/A checks are printed next to them so the noise floor is in plain sight.
import type { Interval } from './latency-bootstrap.ts';
import type { LatencyResult, LatencyRow } from './latency-stage.ts';
import type { LatencyVerdict } from './latency-verdict.ts';
import { num, verdict } from './report-format.ts';

/** "42 [38–47]", or a dash. */
export function ci(x: Interval | undefined, d = 0, unit = ''): string {
  if (x === undefined || !Number.isFinite(x.point)) return '–';
  const b = (v: number): string => (Number.isFinite(v) ? num(v, d) : v > 0 ? '∞' : '−∞');
  return `${num(x.point, d)}${unit} [${b(x.lo)}–${b(x.hi)}]`;
}

/** The verdict column's words, in the Targets table's own wording. */
export function verdictWords(v: LatencyVerdict, target: number): string {
  if (v.status === 'unresolved') return `not resolved (${Number.isFinite(v.resolutionUs) ? `below ±${num(v.resolutionUs)} µs` : 'too few blocks'})`;
  if (v.rule === 'ratio') return verdict(v.ratio, target);
  if (v.status === 'met') return 'met';
  if (!Number.isFinite(v.ratio)) return 'missed: nginx adds nothing measurable';
  const over = v.ratio / target;
  return over >= 2 ? `missed: at least ${num(over, 1)}× the target` : `missed by at least ${Math.round((over - 1) * 100)}%`;
}

export interface TargetCell { measured: string; verdict: string; resolved: boolean }

/** The Targets table's cell for one meshlet configuration and percentile, or null when the stage did not run for it. */
export function latencyTargetCell(lat: LatencyResult | undefined, config: string, pick: 'p50' | 'p99', target: number): TargetCell | null {
  const row = lat?.rows.find((r) => r.config === config && r.available);
  const v = pick === 'p50' ? row?.verdictP50 : row?.verdictP99;
  const r = pick === 'p50' ? row?.ratioP50VsNginx : row?.ratioP99VsNginx;
  if (!row || !v || !r) return null;
  // the bounds rule's sentence says what it could prove; the paired ratio, when bounded, is shown beside it
  const measured = v.rule === 'ratio' ? `${ci(r, 2, '×')} (closed loop, 95 % interval)`
    : `${Number.isFinite(r.lo) && Number.isFinite(r.hi) ? `${ci(r, 2, '×')}; ` : ''}${v.text} (closed loop)`;
  return { measured, verdict: verdictWords(v, target), resolved: v.status !== 'unresolved' };
}

/** A ratio whose interval is unbounded (nginx's figure within the noise in too many draws) has no figure worth printing. */
const ratioCi = (x: Interval | undefined): string => (x !== undefined && !Number.isFinite(x.lo) && !Number.isFinite(x.hi) ? '–' : ci(x, 2, '×'));

function rowLine(r: LatencyRow): string {
  if (!r.available) return `| ${r.label} | ${r.hops} | not available: ${(r.reason ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 160)} | | | | | | |`;
  return `| ${r.label} | ${r.hops} | ${r.samples}${r.errors > 0 ? ` (${r.errors} errors)` : ''} | ${ci(r.p50)} | ${ci(r.p99)} | ${ci(r.addedP50PerHop)} | ${ci(r.addedP99PerHop)} | ` +
    `${ratioCi(r.ratioP50VsNginx)} | ${ratioCi(r.ratioP99VsNginx)} |`;
}

const PIPE = 'node-l4-pipe';

/**
 * One paragraph: each hop's added p50 against the Node L4 pipe's (point figures), or nothing
 * when the pipe did not run. The pipe parses no HTTP: what it adds over nginx is what any Node
 * proxy pays, and what meshlet adds over it is the HTTP work on top.
 */
export function floorLines(lat: LatencyResult): string[] {
  const pipe = lat.rows.find((r) => r.config === PIPE && r.available);
  const p = pipe?.addedP50PerHop?.point;
  if (pipe === undefined || p === undefined || !Number.isFinite(p)) return [];
  const others = lat.rows.filter((r) => r.available && r.config !== PIPE && r.kind !== 'aa' && r.hops > 0 && Number.isFinite(r.addedP50PerHop?.point ?? NaN));
  const words = others.map((r) => {
    const a = r.addedP50PerHop!.point;
    return `${r.label} ${num(a)} (${a - p >= 0 ? '+' : '−'}${num(Math.abs(a - p))})`;
  });
  return [
    `**Against Node's floor** (added p50 per hop, µs, and the difference from the ${pipe.label}'s ${num(p)}): ${words.join('; ')}. ` +
      'The pipe copies bytes between two sockets and parses nothing: what it adds over nginx is what any Node process pays per hop (its event-loop turns and calls into the socket handles), ' +
      'and what an HTTP proxy adds over the pipe is its HTTP work. Syscalls, event-loop turns and instructions per request of each: `npm run bench -- --scenario counts` (bench/lib/hop-counts.ts).',
    '',
  ];
}

export function latencySection(lat: LatencyResult | undefined): string[] {
  if (!lat) return ['Not run (a result from before this stage existed).', ''];
  const s = lat.settings;
  const load = (l: number[]): string => l.map((x) => x.toFixed(1)).join(', ');
  const out = [
    `Closed loop: one warm keep-alive connection per configuration, one request (POST ${s.bodyBytes} B, ${s.bodyBytes} B back) in flight, the next sent as soon as the answer is in. ` +
      `All configurations run at once; ${lat.blocks} blocks of ${s.blockRequests} requests per configuration, the configurations alternating block by block (order rotated), ` +
      `${num(lat.measureS)} s in all after ${lat.warmedRequests.min === lat.warmedRequests.max ? lat.warmedRequests.min : `${lat.warmedRequests.min}–${lat.warmedRequests.max}`} warm-up requests each (at most ${s.warmRequests}, or ${s.warmMaxS} s). 95 % intervals from a block bootstrap (${s.draws} draws; the same blocks drawn for every configuration, ` +
      `so drift of the machine cancels in differences and ratios). Load average before / after: ${load(lat.loadBefore)} / ${load(lat.loadAfter)}.`,
    '',
    'Closed loop measures the time one request takes through the path with nothing queued: the quantity added latency is about, with far less noise than the open-loop tables. ' +
      'Its p99 is the tail of single requests (a GC, a preempted process), not the queueing tail under load that the open-loop p99 shows.',
    '',
    '| configuration | hops | samples | p50 (µs) | p99 (µs) | added p50 per hop (µs) | added p99 per hop (µs) | vs nginx, p50 | vs nginx, p99 |',
    '|---|---|---|---|---|---|---|---|---|',
    ...lat.rows.map(rowLine),
    '',
    ...floorLines(lat),
    '**A/A checks** (the same thing twice in the same blocks; each interval should contain 0, and its width is the noise floor of this run):',
    '',
    ...lat.aa.map((a) => `- ${a.label}: p50 ${ci(a.p50, 1)} µs, p99 ${ci(a.p99, 1)} µs — ${a.passed ? 'both contain 0' : '**an interval misses 0**: the verdicts widen their bounds by it'}.`),
    ...(lat.aa.length === 0 ? ['- none ran.'] : []),
    '',
    '**Verdicts** (issue 16: added p50 per hop ≤ 1.5× nginx\'s, p99 ≤ 2×; rules in bench/lib/latency-verdict.ts: the ratio\'s interval decides when nginx\'s own figure is resolved above 0 and the A/A checks hold; otherwise only bounds that clear the noise do):',
    '',
    ...lat.rows.filter((r) => r.verdictP50).map((r) => `- **${r.label}**: p50 — ${r.verdictP50!.text}; p99 — ${r.verdictP99?.text ?? '–'}.`),
    '',
  ];
  return out;
}
