// The Location of a RequestRedirect, built as the Gateway API's HTTPRequestRedirectFilter says:
// scheme from the filter or the request; host from the filter or the request's Host; port from
// the filter, else the redirect scheme's well-known port when the filter sets a scheme, else the
// port the request arrived on (listener or Service port); the port is left out when it is the
// scheme's default (80 for http, 443 for https). The path goes through the path modifier and
// the query string is kept.
import type { RedirectIR } from '../../api/routing-table.ts';
import { applyPathModifier, joinPathAndQuery } from './path-modifier.ts';

const WELL_KNOWN: Record<'http' | 'https', number> = { http: 80, https: 443 };

export interface RedirectSource {
  scheme: 'http' | 'https';
  /** Request host without port ('' when the request had none). */
  host: string;
  /** Normalized request path. */
  path: string;
  query: string;
  /** Listener port (gateway) or Service port (mesh) the request arrived on. */
  port: number;
}

export function redirectPort(redirect: RedirectIR, arrivedOn: number): number {
  if (redirect.port !== null) return redirect.port;
  if (redirect.scheme !== null) return WELL_KNOWN[redirect.scheme];
  return arrivedOn;
}

export function buildLocation(redirect: RedirectIR, src: RedirectSource): string {
  const scheme = redirect.scheme ?? src.scheme;
  const host = redirect.hostname ?? src.host;
  const port = redirectPort(redirect, src.port);
  const path = redirect.path ? applyPathModifier(src.path, redirect.path) : src.path;
  const pathAndQuery = joinPathAndQuery(path, src.query);
  // Without any host to name, a relative reference (RFC 9110 §10.2.2) is the honest answer.
  if (host === '') return pathAndQuery;
  const portPart = port === WELL_KNOWN[scheme] ? '' : `:${port}`;
  return `${scheme}://${host}${portPart}${pathAndQuery}`;
}
