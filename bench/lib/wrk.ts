// wrk (Debian) as the independent reference: (1) validation — one connection with a fixed
// think time (wrk's Lua `delay()`), i.e. a low, nearly fixed rate where nothing queues, so a
// closed-loop tool and our open-loop generator must report the same latency; (2) saturation —
// many connections, closed loop, for the maximum requests per second a core can serve.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPinned } from './procs.ts';

export interface WrkResult {
  rps: number;
  requests: number;
  errors: number;
  /** µs, from wrk's --latency distribution (50/75/90/99). */
  latencyUs: { p50: number; p75: number; p90: number; p99: number };
}

function toUs(v: string, unit: string): number {
  const x = Number(v);
  return unit === 'us' ? x : unit === 'ms' ? x * 1000 : unit === 's' ? x * 1e6 : unit === 'm' ? x * 6e7 : NaN;
}

export function parseWrk(out: string): WrkResult {
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m?.[1] !== undefined && m[2] !== undefined ? toUs(m[1], m[2]) : NaN;
  };
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const reqs = /(\d+) requests in/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const errors = (sock ? [1, 2, 3, 4].reduce((a, i) => a + Number(sock[i]), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  return {
    rps: rps?.[1] !== undefined ? Number(rps[1]) : NaN,
    requests: reqs?.[1] !== undefined ? Number(reqs[1]) : 0,
    errors,
    latencyUs: { p50: pct('50'), p75: pct('75'), p90: pct('90'), p99: pct('99') },
  };
}

export interface WrkSpec {
  dir: string;
  port: number;
  path: string;
  hostHeader: string;
  bodyBytes: number;
  connections: number;
  durationS: number;
  /** Think time per request in ms (validation mode); omitted for saturation. */
  delayMs?: number;
  cpus: string;
}

export async function runWrk(spec: WrkSpec): Promise<WrkResult & { raw: string }> {
  const script = join(spec.dir, `wrk-${spec.bodyBytes}-${spec.delayMs ?? 0}.lua`);
  writeFileSync(script, [
    'wrk.method = "POST"',
    `wrk.body = string.rep("x", ${spec.bodyBytes})`,
    `wrk.headers["Host"] = "${spec.hostHeader}"`,
    'wrk.headers["Content-Type"] = "application/octet-stream"',
    spec.delayMs !== undefined ? `function delay() return ${spec.delayMs} end` : '',
    '',
  ].join('\n'));
  const args = ['-t1', `-c${spec.connections}`, `-d${spec.durationS}s`, '--latency', '-s', script,
    `http://127.0.0.1:${spec.port}${spec.path}`];
  const w = startPinned('wrk', spec.cpus, 'wrk', args);
  await w.whenExited;
  const raw = w.output();
  return { ...parseWrk(raw), raw };
}
