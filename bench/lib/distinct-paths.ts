// The request paths of bench/telemetry-cost.ts's `--distinct-paths N`. The bench otherwise sends
// every request to one path, so a sampled span's attribute block (url.path among its keys) is
// always one of the tracer's last four blocks (agent/telemetry/tracing/otlp-protobuf.ts) and is
// copied whole: the bench's best case. Real traffic varies the path (IDs in paths); cycling
// through N > 4 paths makes every span's block a miss, N = 1 is the single path of before.

/** The single path every request went to before the option (and with `--distinct-paths 1`). */
export const SINGLE_PATH = '/api';

/** `--distinct-paths`'s value: a whole number from 1 up; absent means 1 (one path). */
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
