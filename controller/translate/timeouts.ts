// Rule timeouts (GEP-1742) and retries (GEP-1731) → TimeoutsIR / RetryIR. Durations use the
// GEP-2257 format; "0s" disables a timeout and stays 0 in the table. backendRequest may not
// exceed a finite (non-zero) request, as the CRD's validation rule says.
import type { RetryIR, TimeoutsIR } from '../../api/routing-table.ts';
import { parseDuration } from './durations.ts';
import { unsupported } from './errors.ts';
import { int, isRec, list } from './util.ts';

function duration(v: unknown, field: string): number | null {
  if (v === undefined || v === null) return null;
  const ms = parseDuration(v);
  if (ms === null) throw unsupported(`${field}: ${JSON.stringify(v)} is not a GEP-2257 duration (e.g. 1h2m3s4ms)`);
  return ms;
}

export function parseTimeouts(v: unknown, field: string): TimeoutsIR | null {
  if (v === undefined || v === null) return null;
  if (!isRec(v)) throw unsupported(`${field}: must be an object`);
  const requestMs = duration(v.request, `${field}.request`);
  const backendRequestMs = duration(v.backendRequest, `${field}.backendRequest`);
  // The CRD's rule, verbatim: only a finite request bounds backendRequest ("0s" disables either).
  if (requestMs !== null && requestMs > 0 && backendRequestMs !== null && backendRequestMs > requestMs) {
    throw unsupported(`${field}.backendRequest: must not be longer than request (${String(v.request)})`);
  }
  if (requestMs === null && backendRequestMs === null) return null;
  return { requestMs, backendRequestMs };
}

/** Retries when `retry` names no attempts: one, the smallest value that makes the stanza do something. */
export const DEFAULT_RETRY_ATTEMPTS = 1;

export function parseRetry(v: unknown, field: string): RetryIR | null {
  if (v === undefined || v === null) return null;
  if (!isRec(v)) throw unsupported(`${field}: must be an object`);
  const codes = list(v.codes).map((c, i) => {
    const code = int(c);
    if (code === undefined || code < 400 || code > 599) throw unsupported(`${field}.codes[${i}]: ${JSON.stringify(c)} is not an HTTP status code within 400..599`);
    return code;
  });
  let attempts = DEFAULT_RETRY_ATTEMPTS;
  if (v.attempts !== undefined && v.attempts !== null) {
    const a = int(v.attempts);
    if (a === undefined || a < 0) throw unsupported(`${field}.attempts: must be a non-negative integer`);
    attempts = a;
  }
  return { codes: [...new Set(codes)].sort((a, b) => a - b), attempts, backoffMs: duration(v.backoff, `${field}.backoff`) };
}
