// What a span says about a hop, per the OpenTelemetry HTTP semantic conventions plus meshlet's
// own attributes. Pure: tested by table; the attribute objects are what the http/json exporter
// reads, and otlp-protobuf.ts writes the same attributes straight from the events.
import type { AttemptEvent, RequestEvent } from '../events.ts';

export type Attributes = Record<string, string | number | boolean>;

// The last name built: a route's spans share one name string rather than a new one per span.
let lastMethod = '';
let lastRoute: string | null = null;
let lastName = 'HTTP';

/** `{method} {route}` when a rule with a path match served the request, else the method. */
export function spanName(method: string, routePath: string | null): string {
  if (method === lastMethod && routePath === lastRoute) return lastName;
  const m = method || 'HTTP';
  lastMethod = method;
  lastRoute = routePath;
  lastName = routePath ? `${m} ${routePath}` : m;
  return lastName;
}

/** True when characters from..end of `s` are one or more ASCII digits. */
function digits(s: string, from: number): boolean {
  if (from >= s.length) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Where an authority's host ends: `[v6]` or a host without a colon, then nothing or `:` and
 * digits (/^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/, the bracketed form tried first, as the regex
 * would); -1 when the authority is neither. Read without a regex or a match array: the encoder
 * writes server.address from the authority's characters 0..end (otlp-protobuf.ts).
 */
export function authorityHostEnd(a: string): number {
  const n = a.length;
  if (n === 0) return -1;
  if (a.charCodeAt(0) === 91 /* [ */) {
    const close = a.indexOf(']');
    if (close >= 2 && (close + 1 === n || (a.charCodeAt(close + 1) === 58 && digits(a, close + 2)))) return close + 1;
  }
  const colon = a.indexOf(':');
  if (colon < 0) return n;
  return colon > 0 && digits(a, colon + 1) ? colon : -1;
}

/** server.port of an authority whose host ends at `end` (authorityHostEnd): its digits, or the scheme's port. */
export function authorityPort(a: string, end: number, scheme: string): number {
  if (end < 0 || end === a.length) return scheme === 'https' ? 443 : 80;
  const n = a.length - end - 1;
  if (n > 15) return Number(a.slice(end + 1));
  let v = 0;
  for (let i = end + 1; i < a.length; i++) v = v * 10 + (a.charCodeAt(i) - 48);
  return v;
}

/** server.address and server.port of an authority (the scheme's port when it names none). */
export function hostPort(authority: string, scheme: string): { host: string; port: number } {
  const end = authorityHostEnd(authority);
  return { host: end < 0 ? authority : authority.slice(0, end), port: authorityPort(authority, end, scheme) };
}

/** network.protocol.version: `1.1`, `2` (the common ones without building a string). */
export function protocolVersion(protocol: string): string {
  return protocol === 'http/1.1' ? '1.1' : protocol === 'h2' ? '2' : protocol.replace('http/', '');
}

export function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function serverAttributes(ev: RequestEvent): Attributes {
  const { host, port } = hostPort(ev.authority, ev.scheme);
  const a: Attributes = {
    'http.request.method': ev.method, 'url.path': ev.path, 'url.scheme': ev.scheme,
    'server.address': host, 'server.port': port,
    'network.protocol.version': protocolVersion(ev.protocol),
    'network.peer.address': ev.remoteAddress, 'client.address': ev.remoteAddress,
    'http.response.status_code': ev.status,
  };
  const ua = firstHeader(ev.headers['user-agent']);
  if (ua) a['user_agent.original'] = ua;
  if (ev.rule) a['meshlet.route'] = ev.rule;
  if (ev.backend) a['meshlet.backend'] = ev.backend;
  if (ev.upstream) a['meshlet.upstream'] = ev.upstream;
  if (ev.peerIdentity) a['meshlet.peer.identity'] = ev.peerIdentity;
  if (ev.error) a['error.type'] = ev.error;
  return a;
}

export function clientAttributes(at: AttemptEvent): Attributes {
  const colon = at.upstream.lastIndexOf(':');
  const q = at.pathAndQuery.indexOf('?');
  const a: Attributes = {
    'http.request.method': at.method, 'url.full': `http://${at.authority}${at.pathAndQuery}`,
    'url.path': q < 0 ? at.pathAndQuery : at.pathAndQuery.slice(0, q),
    'server.address': at.upstream.slice(0, colon), 'server.port': Number(at.upstream.slice(colon + 1)),
    'http.response.status_code': at.status,
    'meshlet.backend': at.backend, 'meshlet.upstream': at.upstream, 'meshlet.retry.attempt': at.attempt,
  };
  if (at.attempt > 1) a['http.request.resend_count'] = at.attempt - 1;
  if (at.mirror) a['meshlet.mirror'] = true;
  if (at.upstreamIdentity) a['meshlet.peer.identity'] = at.upstreamIdentity;
  if (at.request?.rule) a['meshlet.route'] = at.request.rule;
  if (at.error) a['error.type'] = at.error;
  return a;
}

/** SERVER spans are errors on 5xx (a 4xx is the caller's fault); CLIENT spans on ≥ 400 or no answer. */
export function isServerError(status: number, error: string | null): boolean {
  return status >= 500 || (status === 0 && error !== null);
}

export function isClientError(status: number): boolean {
  return status >= 400 || status === 0;
}
