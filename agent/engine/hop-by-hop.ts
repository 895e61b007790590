// Hop-by-hop headers (RFC 9110 section 7.6.1): they describe one connection, so a proxy
// removes them, together with every header the Connection header names, before forwarding in
// either direction. HTTP/2 forbids them outright, and undici refuses several, so stripping
// them is also what keeps h1<->h2 translation from throwing.
export type Headers = Record<string, string | string[]>;

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
  // Handled by the proxy itself (Node answers 100-continue); forwarding it would stall undici.
  'expect',
  // HTTP/2 has no Host: :authority carries it, and we set the upstream authority explicitly.
  'http2-settings',
]);

function connectionTokens(headers: Readonly<Record<string, string | string[] | undefined>>): Set<string> {
  const out = new Set<string>();
  const raw = headers.connection;
  for (const v of Array.isArray(raw) ? raw : raw ? [raw] : []) {
    for (const t of v.split(',')) {
      const name = t.trim().toLowerCase();
      if (name) out.add(name);
    }
  }
  return out;
}

export interface StripOptions {
  /** Keep `te: trailers` (gRPC over HTTP/2 requires it end to end). */
  keepTeTrailers?: boolean;
  /** Keep Connection/Upgrade (a WebSocket handshake forwarded as such). */
  keepUpgrade?: boolean;
}

/**
 * Copies `headers` without hop-by-hop headers and without HTTP/2 pseudo-headers (`:path`...).
 * Names are lower-cased; undefined values dropped.
 */
export function stripHopByHop(headers: Readonly<Record<string, string | string[] | undefined>>, opts: StripOptions = {}): Headers {
  const named = connectionTokens(headers);
  const out: Headers = {};
  for (const [rawName, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (name.startsWith(':')) continue;
    if (opts.keepUpgrade && (name === 'connection' || name === 'upgrade')) {
      out[name] = value;
      continue;
    }
    if (name === 'te' && opts.keepTeTrailers) {
      const v = Array.isArray(value) ? value.join(',') : value;
      if (v.split(',').some((t) => t.trim().toLowerCase() === 'trailers')) out.te = 'trailers';
      continue;
    }
    if (HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}
