// Validation of the load generator against wrk, in the same run, on the same target: at a low
// rate with one connection nothing queues, so closed loop (wrk with a fixed think time) and
// open loop (ours) must see the same latency. The two alternate in short slices (wrk, ours,
// wrk, ours, ...) and each side's median over slices is compared, so drift of a shared machine
// hits both alike. They agree when the p50s are within 25% or 50 µs of each other (whichever
// is looser: at ~100 µs a few µs of scheduling is already 5%); p90s are reported beside them.
import { runOpenLoop } from './open-loop.ts';
import { buildRequest } from './http1-conn.ts';
import { pathFor } from './servers.ts';
import { runWrk } from './wrk.ts';
import { spread, type Spread } from './stats.ts';

export interface Validation {
  target: string;
  rate: number;
  slices: number;
  sliceS: number;
  wrk: { p50: Spread; p90: Spread; p99: Spread; rps: Spread; errors: number };
  ours: { p50: Spread; p90: Spread; p99: Spread; sendLagP99: Spread; errors: number };
  agree: boolean;
  note: string;
}

const close = (a: number, b: number): boolean => Math.abs(a - b) <= Math.max(50, 0.25 * Math.max(a, b));

export async function validateAgainstWrk(o: { dir: string; port: number; target: string; hostHeader: string; rate: number; slices: number; sliceS: number; cpus: string }): Promise<Validation> {
  const delayMs = Math.max(1, Math.round(1000 / o.rate));
  const w = { p50: [] as number[], p90: [] as number[], p99: [] as number[], rps: [] as number[], errors: 0 };
  const u = { p50: [] as number[], p90: [] as number[], p99: [] as number[], lag: [] as number[], errors: 0 };
  for (let i = 0; i < o.slices; i++) {
    const wr = await runWrk({ dir: o.dir, port: o.port, path: pathFor(12), hostHeader: o.hostHeader, bodyBytes: 12, connections: 1, durationS: o.sliceS, delayMs, cpus: o.cpus });
    w.p50.push(wr.latencyUs.p50); w.p90.push(wr.latencyUs.p90); w.p99.push(wr.latencyUs.p99); w.rps.push(wr.rps); w.errors += wr.errors;
    const ours = await runOpenLoop({
      host: '127.0.0.1', port: o.port, request: buildRequest(o.hostHeader, pathFor(12), 12),
      rate: o.rate, durationMs: o.sliceS * 1000, warmupMs: 200, maxConnections: 1,
    });
    u.p50.push(ours.latencyUs.p50); u.p90.push(ours.latencyUs.p90); u.p99.push(ours.latencyUs.p99); u.lag.push(ours.sendLagUs.p99); u.errors += ours.errors;
  }
  const wrk = { p50: spread(w.p50), p90: spread(w.p90), p99: spread(w.p99), rps: spread(w.rps), errors: w.errors };
  const ours = { p50: spread(u.p50), p90: spread(u.p90), p99: spread(u.p99), sendLagP99: spread(u.lag), errors: u.errors };
  const agree = close(wrk.p50.median, ours.p50.median) && wrk.errors === 0 && ours.errors === 0;
  const note = `p50 wrk ${Math.round(wrk.p50.median)} µs vs ours ${Math.round(ours.p50.median)} µs; ` +
    `p90 wrk ${Math.round(wrk.p90.median)} µs vs ours ${Math.round(ours.p90.median)} µs; wrk ran ${Math.round(wrk.rps.median)} rps with a ${delayMs} ms think time`;
  return { target: o.target, rate: o.rate, slices: o.slices, sliceS: o.sliceS, wrk, ours, agree, note };
}
