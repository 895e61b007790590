// X-Forwarded-For / X-Forwarded-Proto at the edge: the client address is appended to any
// X-Forwarded-For the client sent (backends that trust the ingress read the last hop), and
// X-Forwarded-Proto is set to the scheme the client actually used, never taken from it.
import type { Headers } from '../agent/engine/hop-by-hop.ts';

export function unmapAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function addForwardedHeaders(headers: Headers, clientAddress: string, scheme: 'http' | 'https'): void {
  const prior = headers['x-forwarded-for'];
  const list = Array.isArray(prior) ? prior.join(', ') : prior;
  const client = unmapAddress(clientAddress);
  headers['x-forwarded-for'] = list ? `${list}, ${client}` : client;
  headers['x-forwarded-proto'] = scheme;
}
