// The downstream side of an HTTP exchange, HTTP/1.1 or HTTP/2 alike (node's http2 compat API
// mirrors http's), and the RequestDescriptor the matcher sees.
import type http from 'node:http';
import type http2 from 'node:http2';
import type { RequestDescriptor } from '../route/types.ts';
import { stripHopByHop } from './hop-by-hop.ts';

export type DownstreamRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type DownstreamResponse = http.ServerResponse | http2.Http2ServerResponse;

export function isH2(req: DownstreamRequest): req is http2.Http2ServerRequest {
  return req.httpVersionMajor >= 2;
}

export function isGrpc(req: DownstreamRequest): boolean {
  const ct = req.headers['content-type'];
  return typeof ct === 'string' && ct.startsWith('application/grpc');
}

/** Splits an origin-form or absolute-form target; absolute-form also yields its authority. */
export function parseTarget(url: string): { authority: string | null; path: string; query: string } {
  let rest = url;
  let authority: string | null = null;
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(url);
  if (abs) {
    authority = abs[1]!.replace(/^[^@]*@/, '');
    rest = url.slice(abs[0].length) || '/';
    if (rest.startsWith('?')) rest = `/${rest}`;
  }
  const q = rest.indexOf('?');
  return q < 0 ? { authority, path: rest, query: '' } : { authority, path: rest.slice(0, q), query: rest.slice(q + 1) };
}

export function downstreamAuthority(req: DownstreamRequest): string {
  const h = req.headers as Record<string, string | string[] | undefined>;
  const a = h[':authority'] ?? h.host;
  return typeof a === 'string' ? a : '';
}

/** The request as the matcher sees it, with hop-by-hop headers already removed. */
export function describe(req: DownstreamRequest, scheme: 'http' | 'https'): RequestDescriptor {
  const target = parseTarget(req.url ?? '/');
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    scheme,
    authority: target.authority ?? downstreamAuthority(req),
    path: target.path,
    query: target.query,
    headers: stripHopByHop(req.headers, { keepTeTrailers: true }),
  };
}
