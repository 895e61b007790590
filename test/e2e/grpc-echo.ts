// A gRPC echo backend for the e2e worlds (h2c, as conformance backends serve gRPC in a mesh):
// every call on any /<service>/<method> is answered with one length-prefixed message whose
// payload is the same JSON the HTTP echo server returns ({path, host, method, proto, headers,
// namespace, pod}; headers in Go's canonical form), then grpc-status 0. Routing tests only need
// to know who answered and what arrived; the payload encoding is not what they test.
import http2 from 'node:http2';
import { canonicalHeaderKey } from '../support/echo-server.ts';

export interface GrpcEchoOptions {
  pod: string;
  namespace: string;
  port: number;
  host: string;
  /** Called with the canonical request headers of every call (the e2e logs mirrors with it). */
  onRequest?: (headers: Record<string, string[]>) => void;
}

/** gRPC's framing: 1 byte compressed flag, 4 bytes big-endian length, the message. */
export function grpcFrame(payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

export async function startGrpcEcho(opts: GrpcEchoOptions): Promise<{ close(): Promise<void> }> {
  const server = http2.createServer();
  server.on('stream', (stream, headers, _flags, rawHeaders: string[]) => {
    stream.on('error', () => undefined);
    // From the raw list: the headers object joins repeated fields with ', ', and the suite
    // compares each field line separately (joined with ',').
    const captured: Record<string, string[]> = {};
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const k = rawHeaders[i]!;
      if (!k.startsWith(':')) (captured[canonicalHeaderKey(k)] ??= []).push(rawHeaders[i + 1]!);
    }
    opts.onRequest?.(captured);
    stream.resume(); // the request message is not needed
    stream.on('end', () => {
      const body = JSON.stringify({
        path: headers[':path'], host: headers[':authority'], method: headers[':method'], proto: 'HTTP/2.0',
        headers: captured, namespace: opts.namespace, pod: opts.pod,
      });
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(grpcFrame(Buffer.from(body)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  return {
    close: () => new Promise<void>((resolve) => {
      for (const s of sessions) s.destroy();
      server.close(() => resolve());
    }),
  };
}
