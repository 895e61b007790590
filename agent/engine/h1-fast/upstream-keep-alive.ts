// How long an upstream connection may sit idle before we stop trusting it, from the response
// that just ended. A server announcing `Keep-Alive: timeout=N` closes idle connections after N
// seconds; a request sent at that moment is lost on a closing socket (the keep-alive race), so
// the connection is retired a margin earlier, as undici does (timeout − 1 s, at most 600 s;
// nothing left: not reused). Without a hint the pool's own keep-alive time applies.

/** Retire this much before the server's announced timeout (undici's keepAliveTimeoutThreshold). */
export const KEEP_ALIVE_MARGIN_MS = 1_000;
/** Never trust a hint beyond this (undici's maxKeepAliveTimeout). */
export const KEEP_ALIVE_MAX_MS = 600_000;

// An upstream sends the same hint on every response (a meshlet inbound: `timeout=300`): the last
// value read and its allowance are kept, so a response costs a string comparison, not a match.
let lastValue = '';
let lastMs = -1;

/** The allowance a `timeout=` parameter in `value` gives, or -1 when it has none. */
function allowanceOf(value: string): number {
  if (value === lastValue) return lastMs;
  const m = /(?:^|[,;\s])timeout\s*=\s*"?(\d{1,9})"?\s*(?:[,;]|$)/i.exec(value);
  let ms = -1;
  if (m !== null) {
    ms = Number(m[1]) * 1000 - KEEP_ALIVE_MARGIN_MS;
    ms = ms <= 0 ? 0 : Math.min(ms, KEEP_ALIVE_MAX_MS);
  }
  lastValue = value;
  lastMs = ms;
  return ms;
}

/**
 * Idle ms allowed after a response with fields `raw` ([name, value, …]); `fallbackMs` when it
 * carries no usable `timeout=` parameter; 0 means "do not reuse".
 */
export function idleAllowanceMs(raw: readonly string[], fallbackMs: number): number {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 10 || name.toLowerCase() !== 'keep-alive') continue;
    const ms = allowanceOf(raw[i + 1]!);
    if (ms >= 0) return ms;
  }
  return fallbackMs;
}
