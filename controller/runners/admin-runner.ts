// The controller's admin port (15020, the agent's admin number; they never share a pod): /live, /ready (every
// runner ready: kubelet's readiness probe and the chart key on it) and /metrics (each runner's
// Prometheus text plus the process's own).
import http from 'node:http';
import type net from 'node:net';
import { processMetrics } from '../../common/process-metrics.ts';
import type { Runner } from './runner.ts';

export interface AdminRunnerOptions {
  host: string;
  port: number;
  /** The other runners (read at request time, so the list may be built after this one). */
  runners: () => readonly Runner[];
  log?: (line: string) => void;
}

export class AdminRunner implements Runner {
  readonly name = 'admin';
  readonly #opts: AdminRunnerOptions;
  #server: http.Server | null = null;

  constructor(opts: AdminRunnerOptions) {
    this.#opts = opts;
  }

  get port(): number | null {
    return (this.#server?.address() as net.AddressInfo | null)?.port ?? null;
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const others = this.#opts.runners().filter((r) => r !== this);
    if (path === '/live' || path === '/healthz') return send(200, 'application/json', '{"live":true}\n');
    if (path === '/ready') {
      const waiting = others.filter((r) => r.ready && !r.ready()).map((r) => r.name);
      return send(waiting.length === 0 ? 200 : 503, 'application/json', `${JSON.stringify({ ready: waiting.length === 0, waiting })}\n`);
    }
    if (path === '/metrics') {
      const text = others.map((r) => r.metrics?.() ?? '').join('') + processMetrics();
      return send(200, 'text/plain; version=0.0.4; charset=utf-8', text);
    }
    send(404, 'application/json', '{"error":"not found","endpoints":["/live","/ready","/metrics"]}\n');
  }

  start(): Promise<void> {
    const server = http.createServer((req, res) => this.#handle(req, res));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#opts.port, this.#opts.host, () => {
        server.off('error', reject);
        this.#server = server;
        this.#opts.log?.(`admin (/ready, /metrics) on ${this.#opts.host}:${this.port}`);
        resolve();
      });
    });
  }

  stop(): Promise<void> {
    const server = this.#server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  }
}
