// One HTTP/2 attempt on the endpoint's multiplexed session (gRPC and h2c backends).
import type http2 from 'node:http2';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Endpoint } from './connect.ts';
import { stripHopByHop, type Headers } from './hop-by-hop.ts';
import type { UpstreamPools } from './pools.ts';
import { meteredBody } from './relay-gc.ts';
import type { AttemptRequest, UpstreamResponse } from './upstream-types.ts';

/** RST_STREAM's CANCEL (RFC 9113 §7), a constant, so node:http2 need not be loaded for it (ADR 0012). */
const NGHTTP2_CANCEL = 0x8;

export function sendH2(pools: UpstreamPools, endpoint: Endpoint, req: AttemptRequest): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    let session: http2.ClientHttp2Session;
    try {
      session = pools.h2(endpoint);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const outHeaders: http2.OutgoingHttpHeaders = {
      ...req.headers,
      ':method': req.method,
      ':path': req.pathAndQuery,
      ':authority': req.authority,
      ':scheme': 'http',
    };
    const endStream = req.body.kind === 'none';
    if (req.body.kind === 'buffered') outHeaders['content-length'] = String(req.body.data.length);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(outHeaders, { endStream, signal: req.signal });
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    let trailers: Headers | null = null;
    stream.on('trailers', (t: http2.IncomingHttpHeaders) => {
      trailers = stripHopByHop(t);
    });
    const onError = (err: Error): void => reject(err);
    stream.once('error', onError);
    stream.once('response', (headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader) => {
      stream.off('error', onError);
      resolve({
        status: Number(headers[':status'] ?? 502),
        headers: stripHopByHop(headers),
        body: stream,
        trailers: () => trailers,
        discard: () => {
          stream.on('error', () => undefined);
          if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
        },
      });
    });
    const body = req.body;
    if (body.kind === 'buffered') stream.end(body.data);
    else if (body.kind === 'stream') {
      body.used = true;
      const metered = meteredBody(body.stream, req.headers['content-length']);
    const source = metered instanceof Readable ? metered : Readable.from(metered);
      pipeline(source, stream).catch((err: unknown) => {
        if (!stream.destroyed) stream.destroy(err as Error);
      });
    }
  });
}
