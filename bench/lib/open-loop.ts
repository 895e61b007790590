// The open-loop (fixed-rate) load generator. Request i is due at t0 + i/rate whatever happened
// to earlier requests; its latency is measured from that intended send time, not from when a
// connection became free, so a stall in the system under test shows up in every request that
// should have been sent during it (no coordinated omission, as in wrk2). Requests go out on a
// pool of keep-alive connections, one in flight per connection; when all are busy and the pool
// is at its bound the request waits in a backlog — still timed from its intended instant.
// Timing uses hrtime (ns) and is recorded in microseconds in an HDR histogram. Timers alone
// are ~1 ms coarse, so the last stretch before a due instant is spun with setImmediate, which
// still lets I/O run between turns; `sendLagUs` records how late sends actually were.
import * as hdr from 'hdr-histogram-js';
import { openHttp1, type Http1Conn } from './http1-conn.ts';

export interface OpenLoopSpec {
  host: string;
  port: number;
  request: Buffer;
  rate: number;
  durationMs: number;
  warmupMs: number;
  maxConnections: number;
  /**
   * 'always' (default): the generator never sleeps during a measurement, so a response is read
   * the moment it lands and sends leave on time; it owns its core. 'near-send': sleep on timers
   * and spin only the last 1.5 ms before a send (gentler, but a sleeping generator adds its own
   * wake-up latency, tens to hundreds of µs in a VM, to every figure).
   */
  spin?: 'always' | 'near-send';
  /** Called for every measured response (status, body length, completion time in hrtime ns). */
  onResponse?: (status: number, bodyBytes: number, atNs: bigint) => void;
  /** Polled before each send: true ends the run early (requests already sent still count). */
  shouldStop?: () => boolean;
  /** How long to wait for stragglers after the last send before counting them as errors. */
  drainMs?: number;
}

export interface Percentiles { p50: number; p90: number; p99: number; p999: number; max: number; mean: number }

export interface OpenLoopResult {
  requests: number;
  ok: number;
  errors: number;
  /** Latency from the intended send time, µs. */
  latencyUs: Percentiles;
  /** Latency from the actual write, µs (what a closed-loop tool would see). */
  serviceUs: Percentiles;
  /** How late the generator itself was sending, µs. */
  sendLagUs: Percentiles;
  achievedRps: number;
  connectionsOpened: number;
}

export function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

export function percentiles(h: hdr.Histogram): Percentiles {
  if (h.totalCount === 0) return { p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN };
  return {
    p50: h.getValueAtPercentile(50), p90: h.getValueAtPercentile(90), p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9), max: h.maxValue, mean: Math.round(h.mean * 10) / 10,
  };
}

const now = (): bigint => process.hrtime.bigint();
const SPIN_NS = 1_500_000n; // spin only the last 1.5 ms before a due send

interface Job { intended: bigint; record: boolean }

export async function runOpenLoop(input: OpenLoopSpec): Promise<OpenLoopResult> {
  const spec = { spin: 'always' as const, ...input };
  const lat = newHistogram();
  const svc = newHistogram();
  const lag = newHistogram();
  const interval = BigInt(Math.round(1e9 / spec.rate));
  const warmN = Math.floor((spec.warmupMs / 1000) * spec.rate);
  let total = warmN + Math.floor((spec.durationMs / 1000) * spec.rate);
  const idle: Http1Conn[] = [];
  const every = new Set<Http1Conn>();
  let stopped = false;
  const backlog: Job[] = [];
  let open = 0;
  let opened = 0;
  let issued = 0;
  let completed = 0;
  let ok = 0;
  let errors = 0;
  let firstMeasured = 0n;
  let lastDone = 0n;
  let finishAll: () => void = () => {};
  const allDone = new Promise<void>((r) => { finishAll = r; });

  const onDone = (conn: Http1Conn, job: Job, sentAt: bigint, status: number, bodyBytes: number): void => {
    if (stopped) return;
    const t = now();
    completed++;
    if (job.record) spec.onResponse?.(status, bodyBytes, t);
    if (job.record) {
      if (status >= 200 && status < 400) {
        ok++;
        lat.recordValue(Math.max(1, Number((t - job.intended) / 1000n)));
        svc.recordValue(Math.max(1, Number((t - sentAt) / 1000n)));
        lastDone = t;
      } else errors++;
    }
    if (conn.alive()) idle.push(conn); else open--;
    const next = backlog.shift();
    if (next !== undefined) dispatch(next);
    if (completed === total) finishAll();
  };

  const dispatch = (job: Job): void => {
    let conn = idle.pop();
    while (conn !== undefined && !conn.alive()) { open--; conn = idle.pop(); }
    if (conn === undefined) {
      if (open >= spec.maxConnections) { backlog.push(job); return; }
      conn = openHttp1(spec.host, spec.port);
      every.add(conn);
      open++;
      opened++;
    }
    const c = conn;
    const sentAt = now();
    if (job.record) lag.recordValue(Math.max(1, Number((sentAt - job.intended) / 1000n)));
    c.send(spec.request, (status, bodyBytes) => onDone(c, job, sentAt, status, bodyBytes));
  };

  const t0 = now() + 2_000_000n;
  let next = t0;
  const pump = (): void => {
    const t = now();
    while (issued < total && next <= t) {
      const record = issued >= warmN;
      if (record && firstMeasured === 0n) firstMeasured = next;
      dispatch({ intended: next, record });
      issued++;
      next += interval;
    }
    if (stopped) return;
    if (issued < total && spec.shouldStop?.() === true) {
      total = issued;
      if (completed >= total) finishAll();
    }
    if (issued >= total) {
      // keep polling until the last responses are in, so they are not timed through a wake-up
      if (spec.spin === 'always' && completed < total) setImmediate(pump);
      return;
    }
    const wait = next - now();
    if (spec.spin !== 'always' && wait > SPIN_NS) setTimeout(pump, Number((wait - SPIN_NS) / 1_000_000n));
    else setImmediate(pump);
  };
  pump();

  const drainMs = spec.drainMs ?? 5000;
  const deadline = spec.warmupMs + spec.durationMs + drainMs + 100;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([allDone, new Promise<void>((r) => { timer = setTimeout(r, deadline); })]);
  clearTimeout(timer);
  const measured = total - warmN;
  const missing = measured - ok - errors;
  errors += Math.max(0, missing);
  stopped = true;
  for (const c of every) c.close();
  const spanS = lastDone > firstMeasured ? Number(lastDone - firstMeasured) / 1e9 : spec.durationMs / 1000;
  return {
    requests: measured, ok, errors,
    latencyUs: percentiles(lat), serviceUs: percentiles(svc), sendLagUs: percentiles(lag),
    achievedRps: Math.round(ok / spanS), connectionsOpened: opened,
  };
}
