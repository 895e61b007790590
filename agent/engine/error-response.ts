// Answers the proxy gives itself (404, 500, 503, 504, 400...), small and uniform. The public
// reason goes in a header and the body so a curl shows why; the rejecting code chose it
// (rejection.ts), and the detail stays in the agent's log (callers log it). gRPC callers get
// the same answer as a trailers-only gRPC response (HTTP 200, grpc-status), which is what
// their libraries decode.
import type http from 'node:http';
import type { DownstreamResponse } from './downstream.ts';
import { reasonHeader, type Rejection } from './rejection.ts';

/**
 * Ends a response mid-body so the client cannot mistake it for complete: an h2 stream destroyed
 * without an error ends with RST_STREAM(NO_ERROR), which reads as a clean end, so it is closed
 * with INTERNAL_ERROR instead; HTTP/1.1 loses its connection.
 */
export function abortResponse(res: DownstreamResponse): void {
  if ('stream' in res) {
    const stream = res.stream;
    // node:http2 is loaded by whoever made the stream; looked up here, not imported (ADR 0012).
    if (!stream.destroyed) stream.close(process.getBuiltinModule('node:http2').constants.NGHTTP2_INTERNAL_ERROR);
  } else res.destroy();
}

export function sendStatus(res: DownstreamResponse, rejection: Rejection, headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent) {
    // Too late for a status: the client sees a truncated response, which is the honest signal.
    abortResponse(res);
    return;
  }
  const { status, reason: text } = rejection;
  const body = `${text}\n`;
  // A malformed request leaves the connection's framing in doubt: answer, then close it.
  if (status === 400 && 'shouldKeepAlive' in res) res.shouldKeepAlive = false;
  try {
    (res as http.ServerResponse).writeHead(status, {
      ...headers,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'meshlet-reason': reasonHeader(text),
    });
    res.end(body);
  } catch {
    res.destroy();
  }
}

/** gRPC status codes for the proxy's own HTTP answers (the gRPC HTTP-to-status mapping). */
const GRPC_CODE: Record<number, number> = { 400: 13, 404: 12, 421: 14, 500: 13, 503: 14, 504: 4 };

/** Returns the grpc-status sent (for telemetry), or null when the response had already started. */
export function sendGrpcStatus(res: DownstreamResponse, rejection: Rejection): string | null {
  if (res.headersSent) {
    abortResponse(res);
    return null;
  }
  const { status, reason: text } = rejection;
  const code = String(GRPC_CODE[status] ?? 2);
  try {
    (res as http.ServerResponse).writeHead(200, {
      'content-type': 'application/grpc',
      'grpc-status': code,
      'grpc-message': encodeURIComponent(text).slice(0, 512),
      'meshlet-reason': reasonHeader(text),
    });
    res.end();
  } catch {
    res.destroy();
  }
  return code;
}
