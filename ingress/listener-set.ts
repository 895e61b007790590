// The ingress's listeners, one per distinct Gateway listener port in the routing table, kept in
// step with it: new ports are bound, ports that disappeared stop accepting and drain in the
// background. Reconciliations run one at a time, in order.
import type net from 'node:net';
import type { RoutingTable } from '../api/routing-table.ts';
import { drainListeners } from '../agent/drain.ts';
import { ProxyListener } from '../agent/listener/proxy-listener.ts';
import type { ProxyCore } from '../agent/outbound/core.ts';
import { httpRequestListener, type HttpSite } from '../agent/outbound/http-handler.ts';
import type { Destination } from '../agent/outbound/plan.ts';
import { handleUpgrade } from '../agent/outbound/upgrade.ts';
import { addForwardedHeaders } from './forwarded.ts';
import { selectGateway } from './gateway-select.ts';

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
}

const REMOVED_PORT_DRAIN_MS = 10_000;

export class ListenerSet {
  readonly #core: ProxyCore;
  readonly #opts: ListenerSetOptions;
  readonly #open = new Map<number, ProxyListener<GatewayConn>>();
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
      this.#core.log(`ingress: reconciling listeners failed: ${(err as Error).message}`);
    });
  }

  async #reconcile(table: RoutingTable | null): Promise<void> {
    if (!table) return;
    const wanted = new Set<number>();
    for (const g of table.gateways) for (const p of g.ports) if (p.protocol === 'HTTP') wanted.add(p.port);
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
        this.#core.log(`ingress: cannot listen on port ${port}: ${(err as Error).message}`);
      }
    }
  }

  #site(ctx: GatewayConn): HttpSite {
    const core = this.#core;
    return {
      scheme: 'http',
      destination: (_req, desc): Destination => {
        const table = core.holder.current?.table;
        if (!table) return { kind: 'reject', status: 503, reason: 'no routing table yet' };
        const gateway = selectGateway(table.gateways, ctx.gatewayPort, desc.authority);
        if (!gateway) return { kind: 'reject', status: 404, reason: `no Gateway listens on port ${ctx.gatewayPort}` };
        return { kind: 'route', target: { kind: 'gateway', gateway, port: ctx.gatewayPort } };
      },
      decorate: (_req, headers) => addForwardedHeaders(headers, ctx.remoteAddress, 'http'),
    };
  }

  #listen(gatewayPort: number): Promise<ProxyListener<GatewayConn>> {
    const core = this.#core;
    return ProxyListener.listen<GatewayConn>({
      host: this.#opts.host,
      port: this.#opts.bindPort(gatewayPort),
      detectTimeoutMs: this.#opts.detectTimeoutMs,
      headersTimeoutMs: this.#opts.headersTimeoutMs,
      requestTimeoutMs: this.#opts.requestTimeoutMs,
      log: core.log,
      handlers: {
        context: (socket: net.Socket) => ({ gatewayPort, remoteAddress: socket.remoteAddress ?? '' }),
        request: (ctx, req, res) => httpRequestListener(core, this.#site(ctx))(req, res),
        upgrade: (ctx, req, socket, head) => {
          handleUpgrade(core, this.#site(ctx), req, socket, head).catch(() => socket.destroy());
        },
        // An HTTP listener carries HTTP only; HTTPS listeners will set the `tls` hook here.
        tcp: (_ctx, socket) => socket.destroy(),
      },
    });
  }

  async drain(deadlineMs: number): Promise<boolean> {
    await this.#queue;
    const all = [...this.#open.values()] as ProxyListener<unknown>[];
    this.#open.clear();
    return drainListeners(all, this.#core.inflight, deadlineMs);
  }
}
