// The admin endpoint (15020): /live (the process answers), /ready (a routing table is in force
// and the proxy is not draining; kubelet readiness and drain both key on it), /config_dump
// (the table in use, its version, and why the last refused table was refused), /metrics, and
// the app's rewritten probes under /app-health/ (app-health.ts).
import type http from 'node:http';
import type net from 'node:net';
import { APP_HEALTH_PREFIX } from '../../api/pod-env.ts';
import type { RoutingTable } from '../../api/routing-table.ts';
import { AppHealth, serveAppHealth, type AppHealthOptions } from './app-health.ts';

// node:http through process.getBuiltinModule, not `import`: an ES import of node:http builds its
// namespace by reading every export, and the lazy WebSocket/CloseEvent/MessageEvent getters among
// them load Node's bundled undici, http2, zlib and more: +13 MB RSS in an idle process (ADR 0012).
const { createServer } = process.getBuiltinModule('node:http');

export interface AdminState {
  table(): { table: RoutingTable; appliedAt: number } | null;
  ready(): boolean;
  rejected(): number;
  lastError(): string | null;
  /** Extra fields for /config_dump (mode, ports, namespace). */
  info?(): Record<string, unknown>;
  /** Prometheus text exposition for /metrics. */
  metrics?(): string;
  /** The app's original probes (MESHLET_APP_PROBERS), served under /app-health/. */
  appProbers?: AppHealthOptions;
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

/** Private keys never leave the process, not even to the admin port. */
function redact(table: RoutingTable): RoutingTable {
  return { ...table, secrets: table.secrets.map((s) => ({ ...s, privateKey: '<redacted>' })) };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function startAdminServer(host: string, port: number, state: AdminState): Promise<AdminServer> {
  const appHealth = state.appProbers ? new AppHealth(state.appProbers) : null;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith(APP_HEALTH_PREFIX)) return serveAppHealth(appHealth, path, req, res);
    if (path === '/live' || path === '/healthz') return json(res, 200, { live: true });
    if (path === '/ready') {
      const ready = state.ready();
      return json(res, ready ? 200 : 503, { ready, version: state.table()?.table.version ?? null });
    }
    if (path === '/config_dump') {
      const t = state.table();
      return json(res, 200, {
        ...state.info?.(),
        version: t?.table.version ?? null,
        appliedAt: t ? new Date(t.appliedAt).toISOString() : null,
        rejectedTables: state.rejected(),
        lastRejection: state.lastError(),
        table: t ? redact(t.table) : null,
      });
    }
    if (path === '/metrics' && state.metrics) {
      const text = state.metrics();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    json(res, 404, { error: 'not found', endpoints: ['/live', '/ready', '/config_dump', '/metrics'] });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}
