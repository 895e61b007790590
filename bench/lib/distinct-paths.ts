// The request paths of bench/telemetry-cost.ts's `--distinct-paths N` (the bench's default is
// DEFAULT_DISTINCT_PATHS there, 64, since 2026-12-07). With one path every sampled span's url.path
// repeats, so the tracer copies its cached attribute run whole (agent/telemetry/tracing/
// otlp-protobuf.ts): the bench's best case. Real traffic varies the path (IDs in paths); cycling
// through many paths makes url.path differ from span to span; N = 1 is the single path of before.

/** The single path every request went to before the option (and with `--distinct-paths 1`). */
export const SINGLE_PATH = '/api';

/** `--distinct-paths`'s value: a whole number from 1 up; absent here means 1 (the bench passes its own default). */
export function parseDistinctPaths(raw: string | undefined): number {
  if (raw === undefined) return 1;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) {
    throw new Error(`--distinct-paths: expected a whole number of paths from 1 up, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** The path of the `i`-th request (from 0) when requests cycle through `n` distinct paths. */
export function requestPath(i: number, n: number): string {
  return n === 1 ? SINGLE_PATH : `${SINGLE_PATH}/items/${i % n}`;
}
