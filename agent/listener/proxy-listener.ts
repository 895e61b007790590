// The listener layer: accept, compute the connection's context (original destination, client
// address), detect its protocol, hand it to the matching handler. HTTP/1.x sockets go to an
// http.Server and h2c ones to an http2 server that never listen themselves; TLS goes to the
// `tls` hook (the ingress terminates HTTPS there, choosing a certificate by SNI, then feeds the
// decrypted socket back through `accept(socket, ctx, 'http1' | 'h2')`); everything else is
// opaque TCP. Tracks every connection so drain can stop accepting, close idle keep-alive
// connections, GOAWAY HTTP/2 sessions, and finally destroy what is left.
import type http from 'node:http';
import type http2 from 'node:http2';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { isWebSocketUpgrade, type DownstreamRequest, type DownstreamResponse } from './downstream.ts';
import { detectProtocol, type DetectedProtocol } from './detect.ts';
import { SourceResetBudget } from './source-budget.ts';

// node:http through process.getBuiltinModule, not `import`: an ES import of node:http builds its
// namespace by reading every export, and the lazy WebSocket/CloseEvent/MessageEvent getters among
// them load Node's bundled undici, http2, zlib and more: +13 MB RSS in an idle process (ADR 0012).
const { createServer } = process.getBuiltinModule('node:http');

/** Downstream idle keep-alive (HTTP/1.1) and idle session timeout (HTTP/2). */
export const DEFAULT_KEEPALIVE_MS = 300_000;

/**
 * How long a client on a port of unknown protocol may stay silent before it is taken for a
 * server-first protocol (opaque TCP); on ports declared HTTP, detection waits longer (ADR 0006).
 */
export const DEFAULT_DETECT_TIMEOUT_MS = 1_000;

/** The whole request head within this time, else 408 (and the wait of silent HTTP clients). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 60_000;

/**
 * SETTINGS_MAX_CONCURRENT_STREAMS advertised to HTTP/2 clients (nginx 128, Go 250). Each open
 * stream can hold an upstream HTTP/1.1 connection, so it stays well below the per-endpoint pool
 * (pools.ts, 1024): one client connection cannot take a backend away from the others (issue 15).
 */
export const H2_MAX_CONCURRENT_STREAMS = 100;

/**
 * Streams an HTTP/2 client may reset before their response, per connection and second, before
 * the connection is closed with GOAWAY(ENHANCE_YOUR_CALM): the rapid-reset attack
 * (CVE-2023-44487) cancels each request at once, so every reset stream is upstream work the
 * client never waits for. nghttp2's own limit (a burst of 1000, then 33/s) let one connection
 * cause ~1 100 backend requests (issue 15); gRPC clients cancel, but not hundreds a second.
 */
export const H2_MAX_PREMATURE_RESETS_PER_SECOND = 100;

/** What the listener offers a fast HTTP/1.1 handler (agent/engine/h1-fast, ADR 0017). */
export interface Http1Env {
  /** Back to the general path (node:http) with `replay` read first; the connection stays there. */
  fallback: (socket: net.Socket, replay: Buffer) => void;
  /** The handler now serves the connection through this socket (tracked for drain). */
  adopted: (socket: net.Socket) => void;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  draining: () => boolean;
}

/** A connection served by a fast HTTP/1.1 handler, as drain sees it. */
export interface Http1Connection {
  /** The socket serving the connection (after any re-wrap). */
  readonly socket: net.Socket;
  /** Closes the connection if idle, else after its exchange. */
  closeIdle(): void;
}

export interface ListenerHandlers<C> {
  /** Per-connection context, computed at accept time (SO_ORIGINAL_DST must be read early). */
  context(socket: net.Socket): C;
  /** Protocol known in advance (a Service port's appProtocol): skips detection. */
  protocolHint?(ctx: C): DetectedProtocol | null;
  /**
   * The port is known to carry HTTP (without saying which version): a client silent for the
   * detection window is waited for (up to the headers timeout), not taken for opaque TCP.
   */
  declaredHttp?(ctx: C): boolean;
  request(ctx: C, req: DownstreamRequest, res: DownstreamResponse): void;
  upgrade(ctx: C, req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  tcp(ctx: C, socket: net.Socket): void;
  /** HTTP/1.1 CONNECT (explicit proxy tunnels). Default: 405 and close. */
  connect?(ctx: C, req: http.IncomingMessage, socket: net.Socket, head: Buffer): void;
  /** TLS ClientHello seen. Default: opaque TCP (the sidecar does not terminate app TLS). */
  tls?(ctx: C, socket: net.Socket): void;
  /**
   * HTTP/1.x on the fast path (off unless the composition enables it): returns the connection,
   * or null when it did not take the socket (it then goes to node:http as usual).
   */
  http1?(ctx: C, socket: net.Socket, env: Http1Env): Http1Connection | null;
}

export interface ListenerOptions<C> {
  host: string;
  port: number;
  handlers: ListenerHandlers<C>;
  /** How long to wait for the client's first bytes before assuming opaque TCP. */
  detectTimeoutMs?: number;
  /** Slow-client protection: full request head within this time, else 408. */
  headersTimeoutMs?: number;
  /** Whole request (head and body) from the client within this time, 0 to disable. */
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  maxHeaderSize?: number;
  log?: (msg: string) => void;
}

/**
 * node:http2 is looked up when the first h2c connection arrives, not imported: loading it costs
 * an idle agent or ingress ~4 MB of RSS (its binding, nghttp2's pages), and most never see an
 * HTTP/2 client (ADR 0012). Only sessions' code calls these, so it is loaded by then.
 */
function nodeHttp2(): typeof http2 {
  return process.getBuiltinModule('node:http2');
}

function h2Constants(): typeof http2.constants {
  return nodeHttp2().constants;
}

/** GOAWAY first (the client learns why), then close without waiting for its streams. */
function calmDown(session: http2.ServerHttp2Session): void {
  if (session.destroyed) return;
  session.goaway(h2Constants().NGHTTP2_ENHANCE_YOUR_CALM);
  setImmediate(() => session.destroy());
}

/**
 * GOAWAY(ENHANCE_YOUR_CALM) and close a session whose client resets too many streams early;
 * every premature reset is also reported to `onPrematureReset` (the per-source budget).
 */
function capPrematureResets(session: http2.ServerHttp2Session, onPrematureReset: () => void): void {
  let windowStart = 0;
  let resets = 0;
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    stream.once('close', () => {
      // Reset by the client before any response: work started for nobody.
      if (stream.headersSent || stream.rstCode === h2Constants().NGHTTP2_NO_ERROR || session.destroyed) return;
      onPrematureReset();
      if (session.destroyed) return;
      const now = Date.now();
      if (now - windowStart >= 1_000) {
        windowStart = now;
        resets = 0;
      }
      if (++resets > H2_MAX_PREMATURE_RESETS_PER_SECOND) calmDown(session);
    });
  });
}

export class ProxyListener<C> {
  readonly server: net.Server;
  readonly #h1: http.Server;
  /** Made with the first h2c connection (nodeHttp2). */
  #h2: http2.Http2Server | null = null;
  readonly #opts: ListenerOptions<C>;
  readonly #sockets = new Set<net.Socket>();
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #contexts = new WeakMap<object, C>();
  readonly #fast = new Set<Http1Connection>();
  readonly #headersTimeoutMs: number;
  readonly #sourceBudget: SourceResetBudget;
  #pending: C | null = null;
  #draining = false;

  private constructor(opts: ListenerOptions<C>) {
    this.#opts = opts;
    this.#sourceBudget = new SourceResetBudget();
    const h = opts.handlers;
    const requestTimeout = opts.requestTimeoutMs ?? 0;
    // node insists that the head arrives no later than the whole request.
    const headersTimeout = Math.min(opts.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS, requestTimeout > 0 ? requestTimeout : Infinity);
    this.#headersTimeoutMs = headersTimeout;
    this.#h1 = createServer({
      headersTimeout,
      requestTimeout,
      // Idle keep-alive: longer than any common client pool keeps sockets (Go 90 s, Java 60 s,
      // browsers ~300 s), so the client, not the proxy, closes first and never reuses a socket
      // the proxy just closed. 300 s bounds idle sockets more tightly than Envoy's 1 h default;
      // headersTimeout still bounds a request once its first byte arrived.
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? DEFAULT_KEEPALIVE_MS,
      maxHeaderSize: opts.maxHeaderSize ?? 16 * 1024,
      connectionsCheckingInterval: Math.min(1_000, headersTimeout),
      // Only WebSocket handshakes are tunnelled. Any other Upgrade (h2c, TLS/1.0, made-up
      // tokens) is served as an ordinary request with Upgrade/Connection stripped: splicing it
      // would let the bytes that follow reach the upstream without being routed.
      shouldUpgradeCallback: (req: http.IncomingMessage) => isWebSocketUpgrade(req),
    });
    // This server never listens itself; node only tracks connections (headers/request timeouts
    // for slow clients, closeIdleConnections for drain) once 'listening' fired, so fire it.
    this.#h1.emit('listening');
    this.#h1.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const ctx = this.#contexts.get(req.socket);
      if (ctx === undefined) {
        res.destroy();
        return;
      }
      // A declined Upgrade leaves node's parser paused on that connection (what follows is never
      // parsed), so answer it and close rather than let a pipelined request hang.
      if (this.#draining || req.headers.upgrade !== undefined) res.shouldKeepAlive = false;
      h.request(ctx, req, res);
    });
    this.#h1.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const ctx = this.#contexts.get(req.socket);
      if (ctx === undefined) socket.destroy();
      else h.upgrade(ctx, req, socket, head);
    });
    this.#h1.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const ctx = this.#contexts.get(req.socket);
      if (ctx !== undefined && h.connect) h.connect(ctx, req, socket, head);
      else socket.end('HTTP/1.1 405 Method Not Allowed\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    });
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      this.#onConnection(socket);
    });
  }

  /** The h2c server, made at the first h2c connection (nodeHttp2). */
  #h2Server(): http2.Http2Server {
    if (this.#h2 !== null) return this.#h2;
    // HTTP/2 gets the limits HTTP/1.1 has: a bound on concurrent streams per connection (the
    // protocol default is unlimited), the same idle timeout as keep-alive, and the head timeout
    // for the first request (a client that opens a session and never asks holds a socket).
    const server = nodeHttp2().createServer({ maxSessionMemory: 64, settings: { maxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS } });
    const h = this.#opts.handlers;
    const headersTimeout = this.#headersTimeoutMs;
    const idleMs = this.#opts.keepAliveTimeoutMs ?? DEFAULT_KEEPALIVE_MS;
    server.on('session', (session: http2.ServerHttp2Session) => {
      // 'session' is emitted synchronously inside emit('connection'), so #pending is ours.
      if (this.#pending !== null) this.#contexts.set(session, this.#pending);
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      if (this.#draining) session.close();
      // GOAWAY then close: streams in flight finish; an idle session goes at once.
      const firstRequest = setTimeout(() => session.close(), headersTimeout);
      session.once('stream', () => clearTimeout(firstRequest));
      session.once('close', () => clearTimeout(firstRequest));
      session.setTimeout(idleMs, () => session.close());
      const source = session.socket?.remoteAddress ?? '';
      capPrematureResets(session, () => {
        if (this.#sourceBudget.reset(source)) this.#calmSource(source);
      });
    });
    server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      const ctx = this.#contexts.get(req.stream.session as object);
      if (ctx === undefined) {
        res.stream.close(h2Constants().NGHTTP2_REFUSED_STREAM);
        return;
      }
      // One turn later: a RST_STREAM read in the same chunk as its HEADERS (rapid reset) has
      // closed the stream by then, and no routing or upstream work is started for it.
      setImmediate(() => {
        if (!req.stream.destroyed && !req.stream.closed) h.request(ctx, req, res);
      });
    });
    this.#h2 = server;
    return server;
  }

  static listen<C>(opts: ListenerOptions<C>): Promise<ProxyListener<C>> {
    const l = new ProxyListener(opts);
    return new Promise((resolve, reject) => {
      l.server.once('error', reject);
      l.server.listen(opts.port, opts.host, () => {
        l.server.off('error', reject);
        resolve(l);
      });
    });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get address(): string {
    return (this.server.address() as net.AddressInfo).address;
  }

  get connections(): number {
    return this.#sockets.size;
  }

  #onConnection(socket: net.Socket): void {
    if (this.#draining) {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    let ctx: C;
    try {
      ctx = this.#opts.handlers.context(socket);
    } catch (err) {
      this.#opts.log?.(`refusing connection: ${(err as Error).message}`);
      socket.destroy();
      return;
    }
    this.adopt(socket, ctx);
  }

  /**
   * Serves a socket with a known context: the protocol hint if any, else detection. Also how
   * a CONNECT tunnel's inner stream re-enters the listener, so HTTP inside it is still routed.
   */
  adopt(socket: net.Socket, ctx: C): void {
    const hint = this.#opts.handlers.protocolHint?.(ctx) ?? null;
    if (hint) {
      this.accept(socket, ctx, hint);
      return;
    }
    const httpPort = this.#opts.handlers.declaredHttp?.(ctx) ?? false;
    const httpWaitMs = httpPort ? Math.max(this.#opts.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS, 1) : 0;
    detectProtocol(socket, this.#opts.detectTimeoutMs ?? DEFAULT_DETECT_TIMEOUT_MS, httpWaitMs)
      .then((d) => {
        // Silent for the whole headers timeout on an HTTP port: what node's own headers timeout
        // would do to a client that opened and never asked.
        if (httpPort && d.silent) socket.destroy();
        else this.accept(socket, ctx, d.protocol);
      })
      .catch(() => socket.destroy());
  }

  /** Hands a socket to the handler for `protocol` (also the re-entry point after TLS). */
  accept(socket: net.Socket, ctx: C, protocol: DetectedProtocol): void {
    if (socket.destroyed) return;
    const h = this.#opts.handlers;
    switch (protocol) {
      case 'http1':
        // the fast path keeps the head and idle bounds, not a whole-request one (set by tests only)
        if (h.http1 && (this.#opts.requestTimeoutMs ?? 0) === 0 && this.#fastHttp1(socket, ctx, h)) break;
        this.#toNodeHttp(socket, ctx);
        break;
      case 'h2c':
        // An address over its reset budget is refused HTTP/2 for its calm-down period: before
        // the session exists, so none of what it sends is parsed.
        if (this.#sourceBudget.calmed(socket.remoteAddress ?? '')) {
          socket.destroy();
          break;
        }
        // Issue 15: a client that sends FIN with streams open (no RST_STREAM, no GOAWAY) is
        // gone; node's http2 keeps such a half-open session (and every upstream request behind
        // it) until the peer times out. Destroying the socket closes the session, which
        // destroys each stream, whose response 'close' aborts its upstream attempt.
        socket.once('end', () => socket.destroy());
        this.#pending = ctx;
        try {
          this.#h2Server().emit('connection', socket);
        } finally {
          this.#pending = null;
        }
        break;
      case 'tls':
        if (h.tls) h.tls(ctx, socket);
        else h.tcp(ctx, socket);
        break;
      default:
        h.tcp(ctx, socket);
    }
  }

  #toNodeHttp(socket: net.Socket, ctx: C): void {
    this.#contexts.set(socket, ctx);
    this.#h1.emit('connection', socket);
    socket.resume();
  }

  #track(socket: net.Socket): void {
    if (this.#sockets.has(socket)) return;
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  #fastHttp1(socket: net.Socket, ctx: C, h: ListenerHandlers<C>): boolean {
    let served: Http1Connection | null = null;
    const env: Http1Env = {
      fallback: (s, replay) => {
        if (served) this.#fast.delete(served);
        if (s.destroyed) return;
        this.#track(s);
        if (replay.length > 0) s.unshift(replay);
        this.#toNodeHttp(s, ctx);
      },
      adopted: (s) => this.#track(s),
      headersTimeoutMs: this.#headersTimeoutMs,
      keepAliveTimeoutMs: this.#opts.keepAliveTimeoutMs ?? DEFAULT_KEEPALIVE_MS,
      draining: () => this.#draining,
    };
    served = h.http1?.(ctx, socket, env) ?? null;
    if (served === null) return false;
    const conn = served;
    this.#fast.add(conn);
    if (conn.socket.destroyed) this.#fast.delete(conn);
    else conn.socket.once('close', () => this.#fast.delete(conn));
    return true;
  }

  /** An address went over its reset budget: GOAWAY every session it holds on this listener. */
  #calmSource(address: string): void {
    this.#opts.log?.(`HTTP/2 client ${address} reset more than its budget of streams per second; refusing its HTTP/2 connections for a while (rapid reset)`);
    for (const s of this.#sessions) if (s.socket?.remoteAddress === address) calmDown(s);
  }

  /** Stops accepting and asks clients to go away gracefully (keep-alive off, GOAWAY). */
  stopAccepting(): Promise<void> {
    this.#draining = true;
    this.#h1.closeIdleConnections();
    for (const c of this.#fast) c.closeIdle();
    for (const s of this.#sessions) s.close();
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      // Resolves once every connection is gone; callers race it against their deadline.
      this.server.close(() => resolve());
    });
  }

  /** Closes idle HTTP/1.1 connections again (call periodically while draining). */
  closeIdle(): void {
    this.#h1.closeIdleConnections();
    for (const c of this.#fast) c.closeIdle();
  }

  destroyAll(): void {
    // Stops the connection-checking interval (the server itself never listened).
    this.#h1.close(() => undefined);
    for (const s of this.#sessions) s.destroy();
    for (const s of this.#sockets) s.destroy();
  }
}
