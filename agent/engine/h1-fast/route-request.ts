// The request as the matcher sees it (agent/route's RequestDescriptor), from the fast path's
// descriptor: the same object the general path's `describe()` builds from node:http's request,
// so a route matches the same requests on both paths (route-request.test.ts compares them).
// Repeated fields follow the general path's rules (`distinctHeaders`); hop-by-hop fields are
// already gone; Host is the routed authority. Fast-path requests are origin-form, so the
// authority is always Host.
import type { RequestDescriptor } from '../../route/types.ts';
import { distinctHeaders } from '../downstream.ts';
import type { RequestHead } from './request-head.ts';

export function toRouteRequest(head: RequestHead, scheme: 'http' | 'https'): RequestDescriptor {
  const headers = distinctHeaders(head.fields);
  if (head.lengthField !== '') headers['content-length'] = head.lengthField;
  if (head.host !== '') headers.host = head.host;
  const q = head.target.indexOf('?');
  return {
    method: head.method,
    scheme,
    authority: head.host,
    path: q < 0 ? head.target : head.target.slice(0, q),
    query: q < 0 ? '' : head.target.slice(q + 1),
    headers,
  };
}
