// The verdict of a latency target ("added p50 per hop ≤ 1.5× nginx's") from intervals, so a
// figure inside the noise never reads as met or missed. The rules, in order:
//
// 1. Each A/A check (the same thing measured twice in the same run) must contain 0. If one does
//    not, the instrument has an offset it cannot see in its own intervals (two connections, two
//    processes that differ): every bound below is widened by the far end of that interval's
//    offset from 0 ("slack"; the largest over the checks), the conservative choice.
// 2. Ratio rule — when there is no slack and nginx's added latency is resolved above zero, the
//    paired bootstrap interval of the ratio decides: met when its upper end is ≤ the target,
//    missed when its lower end is above it, unresolved when it straddles it.
// 3. Bounds rule — otherwise (nginx's figure is within the noise, or slack): met only when
//    meshlet's upper bound is ≤ target × nginx's lower bound (which must be above zero); missed
//    when meshlet's lower bound is above target × nginx's upper bound (a hop that adds a
//    resolved amount is missed against one that adds nothing measurable); else unresolved, and
//    the verdict says below how many µs this machine cannot resolve. An nginx interval wholly
//    below zero is never "adds nothing": a hop cannot take latency away, so that percentile is
//    noise (seen at p99 on a loaded machine, where stalls hit direct's few tail samples).
import type { Interval } from './latency-bootstrap.ts';

export type LatencyStatus = 'met' | 'missed' | 'unresolved';

export interface LatencyVerdict {
  status: LatencyStatus;
  rule: 'ratio' | 'bounds';
  /** The ratio the verdict rests on: the point ratio (ratio rule) or the bound it proved (bounds rule); NaN if none. */
  ratio: number;
  /** Half the width of nginx's added-latency interval plus the slack: the smallest difference this run resolves, µs (Infinity: too few blocks to say). */
  resolutionUs: number;
  /** Offset of a failed A/A check, µs (0 when it passed). */
  slackUs: number;
  /** One sentence for the report. */
  text: string;
}

export interface VerdictInput {
  /** The target ratio (1.5 for p50, 2 for p99). */
  target: number;
  /** meshlet's added latency per hop, µs. */
  added: Interval;
  /** nginx's added latency (one hop), µs. */
  nginx: Interval;
  /** added / nginx from the same bootstrap draws. */
  ratio: Interval;
  /** The A/A differences (the same configuration against itself), µs: the worst one sets the slack. */
  aa: Interval[];
}

const f = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : x > 0 ? '∞' : '−∞');

function overBy(r: number, target: number, atLeast: boolean): string {
  const over = r / target;
  const least = atLeast ? 'at least ' : '';
  return over >= 2 ? `missed ${least}${f(over, 1)}× the target` : `missed by ${least}${Math.round((over - 1) * 100)}%`;
}

export function latencyVerdict(v: VerdictInput): LatencyVerdict {
  const { target: t, added: m, nginx: n, ratio: r, aa } = v;
  const slack = Math.max(0, ...aa.map((x) => (x.lo <= 0 && x.hi >= 0 ? 0 : Math.max(Math.abs(x.lo), Math.abs(x.hi)))));
  const resolutionUs = (n.hi - n.lo) / 2 + slack;
  const base = { resolutionUs, slackUs: slack };
  if (slack === 0 && n.lo > 0 && Number.isFinite(r.lo) && Number.isFinite(r.hi)) {
    const ci = `${f(r.point, 2)}× [${f(r.lo, 2)}–${f(r.hi, 2)}]`;
    if (r.hi <= t) return { ...base, status: 'met', rule: 'ratio', ratio: r.point, text: `met: ${ci} ≤ ${t}×` };
    if (r.lo > t) return { ...base, status: 'missed', rule: 'ratio', ratio: r.point, text: `${overBy(r.point, t, false)}: ${ci} > ${t}×` };
    return { ...base, status: 'unresolved', rule: 'ratio', ratio: r.point, text: `not resolved: ${ci} straddles ${t}×` };
  }
  const nLo = n.lo - slack;
  const nHi = n.hi + slack;
  const mLo = m.lo - slack;
  const mHi = m.hi + slack;
  if (nHi < 0) {
    // a hop cannot take latency away: an interval wholly below zero says this percentile is noise here, not that nginx is free
    return { ...base, status: 'unresolved', rule: 'bounds', ratio: NaN,
      text: `not resolved: nginx's added ${f(n.point)} µs [${f(n.lo)}–${f(n.hi)}] is below zero, so this percentile is noise on this machine (±${f(resolutionUs)} µs)` };
  }
  const why = slack > 0 ? `the A/A check is off by up to ${f(slack)} µs` : `nginx's added ${f(n.point)} µs [${f(n.lo)}–${f(n.hi)}] is within the noise`;
  if (nLo > 0 && mHi <= t * nLo) {
    return { ...base, status: 'met', rule: 'bounds', ratio: mHi / nLo, text: `met: at most ${f(mHi / nLo, 2)}× (${why})` };
  }
  if (mLo > t * Math.max(0, nHi)) {
    if (nHi <= 0) return { ...base, status: 'missed', rule: 'bounds', ratio: Infinity, text: `missed: adds ≥ ${f(mLo)} µs per hop where nginx adds nothing measurable (${why})` };
    return { ...base, status: 'missed', rule: 'bounds', ratio: mLo / nHi, text: `${overBy(mLo / nHi, t, true)}: ≥ ${f(mLo / nHi, 2)}× (${why})` };
  }
  return { ...base, status: 'unresolved', rule: 'bounds', ratio: NaN, text: `not resolved below ±${f(resolutionUs)} µs on this machine (${why})` };
}
