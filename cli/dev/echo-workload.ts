// A test backend compatible with the Gateway API conformance echo server: every HTTP request is
// answered with JSON {path, host, method, proto, headers, namespace, pod} (headers in Go's
// canonical form, values as arrays), which is what the conformance roundtripper captures. Used
// by integration, e2e and golden tests, by the benchmarks, and by `meshlet dev` as the sample
// workload behind every pod it runs.
//
// Controls (request headers, or query parameters where noted):
//   x-echo-status: NNN  or  path /status/NNN   answer with that status
//   x-echo-delay-ms: N  or  ?delay_ms=N         wait before answering
//   ?delay=1s (Go duration: ns, us, ms, s, m)   the same, as the conformance echo server takes it
//   x-echo-set-header: "Name: v, Other: w"      add response headers
//   path /download/N                            stream N bytes of body (not JSON)
// A request body is streamed and counted (bodyBytes, bodySha256), never held in memory.
// WebSocket upgrades are accepted and every message echoed back prefixed with the pod name.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { WebSocketServer } from 'ws';

export interface EchoServerOptions {
  pod: string;
  namespace: string;
  port?: number;
  host?: string;
}

export interface CapturedRequest {
  path: string;
  host: string;
  method: string;
  proto: string;
  headers: Record<string, string[]>;
  namespace: string;
  pod: string;
  bodyBytes: number;
  bodySha256: string;
}

export interface EchoServer {
  port: number;
  host: string;
  /** Requests answered so far (mirrors and retries show up here). */
  readonly requests: CapturedRequest[];
  close(): Promise<void>;
}

/** Go's textproto.CanonicalMIMEHeaderKey: `x-foo-bar` -> `X-Foo-Bar`. */
export function canonicalHeaderKey(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

function headerOf(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function streamBytes(res: http.ServerResponse, total: number): void {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  const pump = (): void => {
    while (sent < total) {
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration subset the conformance suite uses ("500ms", "1s", "1m30s"); 0 if malformed. */
export function goDurationMs(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return 0;
  return parts.reduce((ms, p) => ms + Number(p[1]) * GO_UNITS[p[2]!]!, 0);
}

export function startEchoServer(opts: EchoServerOptions): Promise<EchoServer> {
  const requests: CapturedRequest[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const download = /^\/download\/(\d+)$/.exec(url.pathname);
    if (download) {
      req.resume();
      streamBytes(res, Number(download[1]));
      return;
    }
    const hash = createHash('sha256');
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => {
      bodyBytes += c.length;
      hash.update(c);
    });
    req.on('end', () => {
      const headers: Record<string, string[]> = {};
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const k = canonicalHeaderKey(req.rawHeaders[i]!);
        (headers[k] ??= []).push(req.rawHeaders[i + 1]!);
      }
      const captured: CapturedRequest = {
        path: req.url ?? '/',
        host: req.headers.host ?? '',
        method: req.method ?? 'GET',
        proto: `HTTP/${req.httpVersion}`,
        headers,
        namespace: opts.namespace,
        pod: opts.pod,
        bodyBytes,
        bodySha256: hash.digest('hex'),
      };
      requests.push(captured);
      const statusPath = /^\/status\/(\d{3})$/.exec(url.pathname);
      const status = Number(headerOf(req, 'x-echo-status') ?? statusPath?.[1] ?? 200);
      const goDelay = url.searchParams.get('delay');
      const delay = goDelay !== null ? goDurationMs(goDelay) : Number(headerOf(req, 'x-echo-delay-ms') ?? url.searchParams.get('delay_ms') ?? 0);
      const extra: Record<string, string> = {};
      for (const pair of (headerOf(req, 'x-echo-set-header') ?? '').split(',')) {
        const i = pair.indexOf(':');
        if (i > 0) extra[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
      }
      const body = JSON.stringify(captured);
      const send = (): void => {
        if (res.destroyed) return;
        res.writeHead(status, { ...extra, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (delay > 0) setTimeout(send, delay);
      else send();
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${opts.pod}: ${Buffer.isBuffer(data) ? data.toString() : ""}`));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      const addr = server.address() as net.AddressInfo;
      resolve({
        port: addr.port,
        host: addr.address,
        requests,
        close: () => new Promise<void>((r) => {
          for (const c of wss.clients) c.terminate();
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}
