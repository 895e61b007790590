// The hand-written part of a generated report (docs/benchmarks.md, docs/benchmarks-control-plane.md):
// dated before/after notes and runs made by hand (bench/telemetry-cost.ts, partial mTLS runs)
// outlive the next generated run, so the generators copy the part between these markers from
// the previous file into the new one instead of dropping it.
import { existsSync, readFileSync } from 'node:fs';

export const HAND_BEGIN = '<!-- by hand: kept as it is when this report is regenerated -->';
export const HAND_END = '<!-- end of the part by hand -->';

/** The hand-written part of a previous report, markers included, or '' if it has none. */
export function handWritten(previous: string): string {
  const begin = previous.indexOf(HAND_BEGIN);
  const end = previous.indexOf(HAND_END, begin);
  return begin >= 0 && end > begin ? previous.slice(begin, end + HAND_END.length) : '';
}

/** The hand-written part of the report file at `path`, or '' when there is no such file. */
export function handWrittenIn(path: string): string {
  return existsSync(path) ? handWritten(readFileSync(path, 'utf8')) : '';
}
