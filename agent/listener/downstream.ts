// What a listener hands to its request handlers: one HTTP exchange, HTTP/1.1 or HTTP/2 alike
// (node's http2 compat API mirrors http's). Defined here, where requests enter, so that the
// engine depends on the listener and never the reverse.
import type http from 'node:http';
import type http2 from 'node:http2';

export type DownstreamRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type DownstreamResponse = http.ServerResponse | http2.Http2ServerResponse;

export function isH2(req: DownstreamRequest): req is http2.Http2ServerRequest {
  return req.httpVersionMajor >= 2;
}

/** True for a request the proxy tunnels: a GET asking for `Upgrade: websocket` (RFC 6455 §4.1). */
export function isWebSocketUpgrade(req: http.IncomingMessage): boolean {
  const up = req.headers.upgrade;
  if (typeof up !== 'string' || req.method !== 'GET') return false;
  return up.split(',').some((t) => t.trim().toLowerCase() === 'websocket');
}
