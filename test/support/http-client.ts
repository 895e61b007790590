// A small HTTP/1.1 client for tests that need what fetch() forbids: an arbitrary Host header,
// absolute-form targets, keep-alive on one connection (pass an Agent), raw bodies.
import http from 'node:http';
import type { CapturedRequest } from './echo-server.ts';

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Field names and values as received (names in their case: which path wrote a head shows in it). */
  rawHeaders: string[];
  body: Buffer;
  text: string;
  /** The echo server's captured request, when the body is its JSON. */
  echo: CapturedRequest | null;
}

export interface SimpleRequest {
  port: number;
  host?: string;
  path?: string;
  method?: string;
  /** Host header (default 127.0.0.1:port). */
  authority?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
  agent?: http.Agent | false;
  timeoutMs?: number;
}

export function send(r: SimpleRequest): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: r.host ?? '127.0.0.1',
      port: r.port,
      path: r.path ?? '/',
      method: r.method ?? 'GET',
      headers: { host: r.authority ?? `127.0.0.1:${r.port}`, ...r.headers },
      agent: r.agent ?? false,
      timeout: r.timeoutMs ?? 10_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        let echo: CapturedRequest | null = null;
        if (String(res.headers['content-type']).startsWith('application/json')) {
          try {
            echo = JSON.parse(text) as CapturedRequest;
          } catch {
            echo = null;
          }
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body, text, echo });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(r.body);
  });
}
