// Access logs: one line per request, off unless asked for. Lines are queued and written in one
// chunk per tick, so a request never waits on stdout; if stdout cannot keep up, lines past a
// bound are dropped and counted rather than held in memory.
import dc from 'node:diagnostics_channel';
import { MeshletError } from '../../api/errors.ts';
import { CHANNELS, type RequestEvent } from './events.ts';

export type AccessLogFormat = 'json' | 'text';

export class AccessLogFormatInvalidError extends MeshletError {
  constructor(value: string) {
    super('E_ACCESS_LOG_FORMAT_INVALID', `access log format must be json, text or off; got "${value}"`);
  }
}

/** MESHLET_ACCESS_LOG / --access-log: '' or 'off' turns logging off. */
export function parseAccessLogFormat(value: string | undefined): AccessLogFormat | null {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'off' || v === 'none') return null;
  if (v === 'json' || v === 'text') return v;
  throw new AccessLogFormatInvalidError(value ?? '');
}

export interface AccessLogEntry {
  time: string;
  method: string;
  authority: string;
  path: string;
  protocol: string;
  status: number;
  reason: string;
  bytes_in: number;
  bytes_out: number;
  duration_ms: number;
  upstream: string;
  route: string;
  peer_identity: string;
  trace_id: string;
  request_id: string;
}

function header(ev: RequestEvent, name: string): string {
  const v = ev.headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? '') : '';
}

export function entryOf(ev: RequestEvent, traceId: string, now: Date): AccessLogEntry {
  return {
    time: now.toISOString(), method: ev.method, authority: ev.authority, path: ev.path, protocol: ev.protocol,
    status: ev.status, reason: ev.error ?? '', bytes_in: ev.requestBytes, bytes_out: ev.responseBytes,
    duration_ms: Math.round(Number(ev.endNs - ev.startNs) / 1e4) / 100,
    upstream: ev.upstream ?? '', route: ev.rule ?? '', peer_identity: ev.peerIdentity ?? '',
    trace_id: traceId, request_id: header(ev, 'x-request-id'),
  };
}

const dash = (v: string): string => (v === '' ? '-' : /[\s"]/.test(v) ? JSON.stringify(v) : v);

/** Envoy-like: `[time] "METHOD path PROTO" status reason in out ms "authority" upstream route peer trace req`. */
export function formatText(e: AccessLogEntry): string {
  return `[${e.time}] "${e.method} ${e.path} ${e.protocol.toUpperCase()}" ${e.status} ${dash(e.reason)} ${e.bytes_in} ${e.bytes_out} ${e.duration_ms} `
    + `${dash(e.authority)} ${dash(e.upstream)} ${dash(e.route)} ${dash(e.peer_identity)} ${dash(e.trace_id)} ${dash(e.request_id)}`;
}

export function formatLine(format: AccessLogFormat, e: AccessLogEntry): string {
  return format === 'json' ? JSON.stringify(e) : formatText(e);
}

export interface AccessLogOptions {
  format: AccessLogFormat;
  write?: (chunk: string) => void;
  /** The trace ID the tracer gave this request, or ''. */
  traceIdOf?: (ev: RequestEvent) => string;
  maxQueued?: number;
}

export interface AccessLog {
  dropped: () => number;
  stop: () => void;
}

function traceIdFromHeaders(ev: RequestEvent): string {
  const tp = header(ev, 'traceparent');
  if (/^[0-9a-f]{2}-[0-9a-f]{32}-/.test(tp)) return tp.slice(3, 35);
  const b3 = header(ev, 'x-b3-traceid') || header(ev, 'b3').split('-')[0]!;
  return /^[0-9a-f]{16,32}$/.test(b3) ? b3 : '';
}

export function startAccessLog(opts: AccessLogOptions): AccessLog {
  const write = opts.write ?? ((c: string) => { process.stdout.write(c); });
  const traceIdOf = opts.traceIdOf ?? traceIdFromHeaders;
  const max = opts.maxQueued ?? 10_000;
  let queue: string[] = [];
  let dropped = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const lines = queue;
    queue = [];
    if (lines.length) write(`${lines.join('\n')}\n`);
  };
  const onEnd = (m: unknown): void => {
    const ev = m as RequestEvent;
    if (queue.length >= max) { dropped++; return; }
    queue.push(formatLine(opts.format, entryOf(ev, traceIdOf(ev), new Date())));
    if (!scheduled) { scheduled = true; setImmediate(flush); }
  };
  dc.subscribe(CHANNELS.requestEnd, onEnd);
  return {
    dropped: () => dropped,
    stop: () => { dc.unsubscribe(CHANNELS.requestEnd, onEnd); flush(); },
  };
}
