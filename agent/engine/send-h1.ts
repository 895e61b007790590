// One HTTP/1.1 attempt through the endpoint's undici pool.
import type { Dispatcher } from 'undici';
import type { Endpoint } from './connect.ts';
import { stripHopByHop, type Headers } from './hop-by-hop.ts';
import type { UpstreamPools } from './pools.ts';
import type { AttemptRequest, UpstreamResponse } from './upstream-types.ts';

function bodyFor(req: AttemptRequest): Dispatcher.DispatchOptions['body'] {
  const b = req.body;
  if (b.kind === 'none') return null;
  if (b.kind === 'buffered') return b.data;
  b.used = true;
  return b.stream as Dispatcher.DispatchOptions['body'];
}

export async function sendH1(pools: UpstreamPools, endpoint: Endpoint, req: AttemptRequest): Promise<UpstreamResponse> {
  const headers: Headers = { ...req.headers, host: req.authority };
  if (req.body.kind === 'buffered') headers['content-length'] = String(req.body.data.length);
  const res = await pools.h1Admit(endpoint).request({
    method: req.method,
    path: req.pathAndQuery,
    headers,
    body: bodyFor(req),
    signal: req.signal,
  });
  return {
    status: res.statusCode,
    headers: stripHopByHop(res.headers),
    body: res.body,
    trailers: () => {
      const t = res.trailers as Record<string, string> | undefined;
      return t && Object.keys(t).length > 0 ? t : null;
    },
    discard: () => {
      // dump() reads a small remainder so the connection stays reusable, else closes it;
      // undici reports a destroyed body as an AbortError, which is expected here.
      res.body.on('error', () => undefined);
      res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    },
  };
}
