// A backend whose n-th answer is scripted (status, delay, or a dropped connection): what retry
// and timeout tests need to make one attempt fail and the next succeed, deterministically.
import http from 'node:http';
import type net from 'node:net';

export interface ScriptedAnswer {
  status?: number;
  delayMs?: number;
  /** Destroy the connection instead of answering. */
  reset?: boolean;
}

export interface ScriptedServer {
  port: number;
  /** Number of requests received (all attempts, mirrors included). */
  readonly count: number;
  /** Bodies received, as strings. */
  readonly bodies: string[];
  close(): Promise<void>;
}

export function startScriptedServer(script: (n: number) => ScriptedAnswer): Promise<ScriptedServer> {
  let count = 0;
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    const n = count++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString());
      const a = script(n);
      const answer = (): void => {
        if (a.reset) {
          req.socket.destroy();
          return;
        }
        const body = JSON.stringify({ n, status: a.status ?? 200 });
        res.writeHead(a.status ?? 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (a.delayMs) setTimeout(answer, a.delayMs);
      else answer();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        get count() {
          return count;
        },
        bodies,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}
