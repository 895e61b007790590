// The ingress's listeners, one per distinct Gateway listener port in the routing table, kept in
// step with it: new ports are bound, ports that disappeared stop accepting and drain in the
// background. Reconciliations run one at a time, in order. HTTPS ports skip detection and
// terminate TLS (certificate by SNI), then serve the decrypted stream like an HTTP port, with
// 421 for requests whose Host belongs to another listener than the connection's SNI.
// A port that cannot be bound (in use, no permission) leaves the others serving: it is reported
// not programmed (log, /config_dump, meshlet_ingress_listener_programmed) and retried.
import type net from 'node:net';
import { ListenFailedError } from '../api/errors.ts';
import type { RoutingTable } from '../api/routing-table.ts';
import { metric } from '../common/prometheus.ts';
import { drainListeners } from '../agent/lifecycle/drain.ts';
import { ProxyListener } from '../agent/listener/proxy-listener.ts';
import type { ProxyCore } from '../agent/engine/core.ts';
import { serveHttp, sitePerConnection, type HttpSite } from '../agent/engine/http-handler.ts';
import type { Destination } from '../agent/engine/plan.ts';
import { clientError, noRoutingTable } from '../agent/engine/rejection.ts';
import { handleUpgrade } from '../agent/engine/upgrade.ts';
import { fastPathWanted } from '../agent/engine/h1-fast/downstream-switch.ts';
import type * as FastHook from '../agent/engine/h1-fast/downstream-hook.ts';
import { addForwardedHeaders } from './forwarded.ts';
import { selectGateway } from './gateway-select.ts';
import { CertificateStore, terminateTls } from './tls-termination.ts';

export interface ListenerSetOptions {
  host: string;
  bindPort: (gatewayPort: number) => number;
  detectTimeoutMs?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** HTTP/1.1 on the fast path (ADR 0017); default: on unless MESHLET_H1_FAST=0. */
  h1Fast?: boolean;
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
/** How often a Gateway listener port that could not be bound is tried again. */
export const LISTEN_RETRY_MS = 5_000;

/** A Gateway listener port's state: bound (and to which port), or why not. */
export type ListenerState = { programmed: true; boundPort: number } | { programmed: false; reason: string };

export class ListenerSet {
  readonly #core: ProxyCore;
  readonly #opts: ListenerSetOptions;
  readonly #open = new Map<number, ProxyListener<GatewayConn>>();
  readonly #certificates = new CertificateStore();
  readonly #siteOf = sitePerConnection((ctx: GatewayConn) => this.#site(ctx));
  /** Wanted Gateway listener ports that could not be bound, with the reason. */
  readonly #failed = new Map<number, string>();
  #retry: NodeJS.Timeout | null = null;
  /** The fast path's hook module, loaded at the first reconcile when wanted (null: off). */
  #fast: typeof FastHook | null | undefined;
  #stopped = false;
  #queue: Promise<void> = Promise.resolve();

  constructor(core: ProxyCore, opts: ListenerSetOptions) {
    this.#core = core;
    this.#opts = opts;
  }

  ports(): Map<number, number> {
    return new Map([...this.#open].map(([p, l]) => [p, l.port]));
  }

  /** Every wanted Gateway listener port, programmed or not. */
  states(): Map<number, ListenerState> {
    const out = new Map<number, ListenerState>();
    for (const [p, l] of this.#open) out.set(p, { programmed: true, boundPort: l.port });
    for (const [p, reason] of this.#failed) out.set(p, { programmed: false, reason });
    return new Map([...out].sort((a, b) => a[0] - b[0]));
  }

  /** meshlet_ingress_listener_programmed{port}: 1 bound, 0 wanted but not bound. */
  metrics(): string {
    const samples = [...this.states()].map(([port, st]) => ({ labels: { port: String(port) }, value: st.programmed ? 1 : 0 }));
    return metric('meshlet_ingress_listener_programmed', 'gauge', 'Gateway listener ports: 1 when bound and serving, 0 when it could not be bound (see the log).', samples);
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
    if (this.#fast === undefined) this.#fast = fastPathWanted(this.#opts.h1Fast) ? await import('../agent/engine/h1-fast/downstream-hook.ts') : null;
    const wanted = new Set<number>();
    for (const g of table.gateways) for (const p of g.ports) wanted.add(p.port);
    for (const [port, l] of this.#open) {
      if (wanted.has(port)) continue;
      this.#open.delete(port);
      void drainListeners([l], this.#core.inflight, REMOVED_PORT_DRAIN_MS);
    }
    for (const port of this.#failed.keys()) if (!wanted.has(port)) this.#failed.delete(port);
    for (const port of [...wanted].sort((a, b) => a - b)) {
      if (this.#open.has(port) || this.#stopped) continue;
      try {
        this.#open.set(port, await this.#listen(port));
        if (this.#failed.delete(port)) this.#core.logger.info(`ingress: Gateway listener port ${port} is now programmed`, { port });
      } catch (err) {
        const reason = new ListenFailedError(`Gateway listener port ${port}`, this.#opts.host, this.#opts.bindPort(port), err).message;
        // Logged when it starts failing or fails differently, not on every retry.
        if (this.#failed.get(port) !== reason) {
          this.#core.logger.error(`ingress: Gateway listener port ${port} is not programmed: ${reason}; the other listeners keep serving, retrying every ${LISTEN_RETRY_MS / 1000} s`, { port });
        }
        this.#failed.set(port, reason);
      }
    }
    if (this.#failed.size > 0 && this.#retry === null && !this.#stopped) {
      this.#retry = setTimeout(() => {
        this.#retry = null;
        this.reconcile(this.#core.holder.current?.table ?? null);
      }, LISTEN_RETRY_MS);
      this.#retry.unref();
    }
  }

  #site(ctx: GatewayConn): HttpSite {
    const core = this.#core;
    const scheme = ctx.https ? 'https' : 'http';
    // The Gateway depends on the table and the Host (or SNI) alone, and a kept-alive connection's
    // requests nearly always repeat the Host: the connection keeps its last choice per table, so
    // its requests skip the listener matching over every Gateway on the port and share one
    // target object (~1 k instructions per request; issue 16).
    let keptTable: RoutingTable | null = null;
    let keptBy = '';
    let kept: Destination | null = null;
    return {
      kind: 'gateway',
      scheme,
      destination: (_req, desc): Destination => {
        const table = core.holder.current?.table;
        if (!table) return { kind: 'reject', rejection: noRoutingTable() };
        // On a TLS connection the SNI chose the certificate, so it also chooses the Gateway and
        // listener; route() answers 421 when the Host is outside that listener (GEP-3567: a
        // client coalescing connections must open a new one for another listener's host).
        const by = ctx.servername ?? desc.authority;
        if (kept !== null && table === keptTable && by === keptBy) return kept;
        const gateway = selectGateway(table.gateways, ctx.gatewayPort, by);
        if (!gateway) return { kind: 'reject', rejection: clientError(404, `no Gateway listens on port ${ctx.gatewayPort}`) };
        kept = { kind: 'route', target: { kind: 'gateway', gateway, port: ctx.gatewayPort, serverName: ctx.servername } };
        keptTable = table;
        keptBy = by;
        return kept;
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
        http1: this.#fast?.http1Handler(core, this.#siteOf, { remoteAddress: (ctx) => ctx.remoteAddress }),
      },
    });
    return listening.then((l) => {
      self = l;
      return l;
    });
  }

  async drain(deadlineMs: number): Promise<boolean> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    await this.#queue;
    const all = [...this.#open.values()] as ProxyListener<unknown>[];
    this.#open.clear();
    return drainListeners(all, this.#core.inflight, deadlineMs);
  }
}
