// Answers the proxy gives itself (404, 500, 503, 504, 400...), small and uniform. The reason
// goes in a header and the body so a curl shows why; it never contains request data.
import type http from 'node:http';
import type { DownstreamResponse } from './downstream.ts';

export function sendStatus(res: DownstreamResponse, status: number, reason: string, headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent) {
    // Too late for a status: the client sees a truncated response, which is the honest signal.
    res.destroy();
    return;
  }
  const body = `${reason}\n`;
  // A malformed request leaves the connection's framing in doubt: answer, then close it.
  if (status === 400 && 'shouldKeepAlive' in res) res.shouldKeepAlive = false;
  try {
    (res as http.ServerResponse).writeHead(status, {
      ...headers,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'meshlet-reason': reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 200),
    });
    res.end(body);
  } catch {
    res.destroy();
  }
}
