// The ingress's listeners, one per distinct Gateway listener port in the routing table, kept in
// step with it: new ports are bound, ports that disappeared stop accepting and drain in the
// background. Reconciliations run one at a time, in order. HTTPS ports skip detection and
// terminate TLS (certificate by SNI), then serve the decrypted stream like an HTTP port, with
// 421 for requests whose Host belongs to another listener than the connection's SNI.
import type net from 'node:net';
import type { RoutingTable } from '../api/routing-table.ts';
import { drainListeners } from '../agent/lifecycle/drain.ts';
import { ProxyListener } from '../agent/listener/proxy-listener.ts';
import type { ProxyCore } from '../agent/engine/core.ts';
import { serveHttp, sitePerConnection, type HttpSite } from '../agent/engine/http-handler.ts';
import type { Destination } from '../agent/engine/plan.ts';
import { handleUpgrade } from '../agent/engine/upgrade.ts';
import { addForwardedHeaders } from './forwarded.ts';
import { selectGateway } from './gateway-select.ts';
import { CertificateStore, terminateTls } from './tls-termination.ts';

export interface ListenerSetOptions {
  host: string;
  bindPort: (gatewayPort: number) => number;
  detectTimeoutMs?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

interface GatewayConn {
  gatewayPort: number;
  remoteAddress: string;
  /** The port is an HTTPS listener port (decided at accept time from the current table). */
  https: boolean;
  /** SNI of the terminated TLS connection. */
  servername: string | null;
}

const REMOVED_PORT_DRAIN_MS = 10_000;

export class ListenerSet {
  readonly #core: ProxyCore;
  readonly #opts: ListenerSetOptions;
  readonly #open = new Map<number, ProxyListener<GatewayConn>>();
  readonly #certificates = new CertificateStore();
  readonly #siteOf = sitePerConnection((ctx: GatewayConn) => this.#site(ctx));
  #queue: Promise<void> = Promise.resolve();

  constructor(core: ProxyCore, opts: ListenerSetOptions) {
    this.#core = core;
    this.#opts = opts;
  }

  ports(): Map<number, number> {
    return new Map([...this.#open].map(([p, l]) => [p, l.port]));
  }

  settled(): Promise<void> {
    return this.#queue;
  }

  reconcile(table: RoutingTable | null): void {
    this.#queue = this.#queue.then(() => this.#reconcile(table)).catch((err: unknown) => {
      this.#core.logger.error('ingress: reconciling listeners failed', { error: (err as Error).message });
    });
  }

  async #reconcile(table: RoutingTable | null): Promise<void> {
    if (!table) return;
    const wanted = new Set<number>();
    for (const g of table.gateways) for (const p of g.ports) wanted.add(p.port);
    for (const [port, l] of this.#open) {
      if (wanted.has(port)) continue;
      this.#open.delete(port);
      void drainListeners([l], this.#core.inflight, REMOVED_PORT_DRAIN_MS);
    }
    for (const port of [...wanted].sort((a, b) => a - b)) {
      if (this.#open.has(port)) continue;
      try {
        this.#open.set(port, await this.#listen(port));
      } catch (err) {
        this.#core.logger.error(`ingress: cannot listen on port ${port}`, { port, error: (err as Error).message });
      }
    }
  }

  #site(ctx: GatewayConn): HttpSite {
    const core = this.#core;
    const scheme = ctx.https ? 'https' : 'http';
    return {
      kind: 'gateway',
      scheme,
      destination: (_req, desc): Destination => {
        const table = core.holder.current?.table;
        if (!table) return { kind: 'reject', status: 503, reason: 'no routing table yet' };
        // On a TLS connection the SNI chose the certificate, so it also chooses the Gateway and
        // listener; route() answers 421 when the Host is outside that listener (GEP-3567: a
        // client coalescing connections must open a new one for another listener's host).
        const by = ctx.servername ?? desc.authority;
        const gateway = selectGateway(table.gateways, ctx.gatewayPort, by);
        if (!gateway) return { kind: 'reject', status: 404, reason: `no Gateway listens on port ${ctx.gatewayPort}` };
        return { kind: 'route', target: { kind: 'gateway', gateway, port: ctx.gatewayPort, serverName: ctx.servername } };
      },
      decorate: (_req, headers) => addForwardedHeaders(headers, ctx.remoteAddress, scheme),
    };
  }

  #isHttps(gatewayPort: number): boolean {
    const table = this.#core.holder.current?.table;
    return table?.gateways.some((g) => g.ports.some((p) => p.port === gatewayPort && p.protocol === 'HTTPS')) ?? false;
  }

  #listen(gatewayPort: number): Promise<ProxyListener<GatewayConn>> {
    const core = this.#core;
    const certificates = this.#certificates;
    const table = (): RoutingTable | null => core.holder.current?.table ?? null;
    let self: ProxyListener<GatewayConn> | null = null;
    const listening = ProxyListener.listen<GatewayConn>({
      host: this.#opts.host,
      port: this.#opts.bindPort(gatewayPort),
      detectTimeoutMs: this.#opts.detectTimeoutMs,
      headersTimeoutMs: this.#opts.headersTimeoutMs,
      requestTimeoutMs: this.#opts.requestTimeoutMs,
      log: (msg) => core.logger.warn(msg),
      handlers: {
        context: (socket: net.Socket) => ({ gatewayPort, remoteAddress: socket.remoteAddress ?? '', https: this.#isHttps(gatewayPort), servername: null }),
        // An HTTPS port speaks TLS only: no detection, straight to termination.
        protocolHint: (ctx) => (ctx.https ? 'tls' : null),
        // The other Gateway listeners are HTTP: a slow first byte is waited for, not dropped.
        declaredHttp: () => true,
        tls: (ctx, socket) => {
          if (!ctx.https) {
            socket.destroy();
            return;
          }
          terminateTls(socket, certificates, table, gatewayPort).then(
            (t) => self?.accept(t.socket, { ...ctx, servername: t.servername }, t.protocol),
            (err: unknown) => {
              core.logger.warn(`ingress: TLS handshake failed on port ${gatewayPort}`, { error: (err as Error).message });
              socket.destroy();
            },
          );
        },
        request: (ctx, req, res) => serveHttp(core, this.#siteOf(ctx), req, res),
        upgrade: (ctx, req, socket, head) => {
          handleUpgrade(core, this.#siteOf(ctx), req, socket, head).catch(() => socket.destroy());
        },
        // Gateway listeners carry HTTP(S) only.
        tcp: (_ctx, socket) => socket.destroy(),
      },
    });
    return listening.then((l) => {
      self = l;
      return l;
    });
  }

  async drain(deadlineMs: number): Promise<boolean> {
    await this.#queue;
    const all = [...this.#open.values()] as ProxyListener<unknown>[];
    this.#open.clear();
    return drainListeners(all, this.#core.inflight, deadlineMs);
  }
}
