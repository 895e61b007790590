// Answers the proxy gives itself (404, 500, 503, 504, 400...), small and uniform. The reason
// goes in a header and the body so a curl shows why. For 5xx the client gets a generic reason
// per status (as Envoy does): the detail names upstream addresses and internal object names,
// so it stays in the agent's log (callers log it). 4xx reasons describe the client's own
// request and are sent as is. gRPC callers get the same answer as a trailers-only gRPC
// response (HTTP 200, grpc-status), which is what their libraries decode.
import type http from 'node:http';
import http2 from 'node:http2';
import type { DownstreamResponse } from './downstream.ts';

/**
 * Ends a response mid-body so the client cannot mistake it for complete: an h2 stream destroyed
 * without an error ends with RST_STREAM(NO_ERROR), which reads as a clean end, so it is closed
 * with INTERNAL_ERROR instead; HTTP/1.1 loses its connection.
 */
export function abortResponse(res: DownstreamResponse): void {
  if ('stream' in res) {
    const stream = res.stream;
    if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  } else res.destroy();
}

/** What a client may read about the proxy's own error; `detail` is for the log only. */
export function publicReason(status: number, detail: string): string {
  if (status < 500) return detail;
  switch (status) {
    case 503:
      if (/no (ready|healthy) endpoints?|no healthy upstream/i.test(detail)) return 'no healthy upstream';
      // Says nothing about the cluster, and tells the caller a retry may succeed shortly.
      if (/no routing answer/i.test(detail)) return 'destination not resolved yet: no answer from the mesh controller';
      return 'upstream connect error or disconnect/reset before headers';
    case 504:
      return 'upstream request timeout';
    case 500:
      return 'internal error';
    default:
      return 'upstream error';
  }
}

export function sendStatus(res: DownstreamResponse, status: number, reason: string, headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent) {
    // Too late for a status: the client sees a truncated response, which is the honest signal.
    abortResponse(res);
    return;
  }
  const text = publicReason(status, reason);
  const body = `${text}\n`;
  // A malformed request leaves the connection's framing in doubt: answer, then close it.
  if (status === 400 && 'shouldKeepAlive' in res) res.shouldKeepAlive = false;
  try {
    (res as http.ServerResponse).writeHead(status, {
      ...headers,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'meshlet-reason': text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200),
    });
    res.end(body);
  } catch {
    res.destroy();
  }
}

/** gRPC status codes for the proxy's own HTTP answers (the gRPC HTTP-to-status mapping). */
const GRPC_CODE: Record<number, number> = { 400: 13, 404: 12, 421: 14, 500: 13, 503: 14, 504: 4 };

/** Returns the grpc-status sent (for telemetry), or null when the response had already started. */
export function sendGrpcStatus(res: DownstreamResponse, status: number, reason: string): string | null {
  if (res.headersSent) {
    abortResponse(res);
    return null;
  }
  const text = publicReason(status, reason);
  const code = String(GRPC_CODE[status] ?? 2);
  try {
    (res as http.ServerResponse).writeHead(200, {
      'content-type': 'application/grpc',
      'grpc-status': code,
      'grpc-message': encodeURIComponent(text).slice(0, 512),
      'meshlet-reason': text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200),
    });
    res.end();
  } catch {
    res.destroy();
  }
  return code;
}
