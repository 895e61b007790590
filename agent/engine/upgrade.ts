// HTTP/1.1 WebSocket upgrade: routed like any request, then the handshake is sent to the chosen
// endpoint on a fresh connection through node's HTTP client, which parses the answer. Only a
// 101 splices the two sockets (after it, bytes flow both ways untouched); any other answer is
// relayed as an ordinary response and the client connection is closed after it, so bytes the
// client sent after the handshake can never reach the upstream unrouted (upgrade smuggling).
// The listener hands only `Upgrade: websocket` requests here; others are served as plain
// requests with Upgrade/Connection stripped. Request filters apply to the handshake; response
// filters cannot (the 101 is relayed as the upstream wrote it).
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { connectSocket, isMutualTls } from './connect.ts';
import { MESHLET_ALPN } from '../../api/identity.ts';
import type { ProxyCore } from './core.ts';
import { countPiped } from './relay-gc.ts';
import { BadRequestError, describe } from './downstream.ts';
import { stripHopByHop, type Headers } from './hop-by-hop.ts';
import type { HttpSite } from './http-handler.ts';
import { plan } from './plan.ts';
import { clientError, noHealthyUpstream, upstreamTimeout, upstreamUnavailable, type Rejection } from './rejection.ts';
import type { Socket } from 'node:net';
import { endTunnelEvent, startTunnelEvent } from '../telemetry/build-events.ts';
import { tunnelsObserved } from '../telemetry/events.ts';
import { markPeerWorkload, PEER_WORKLOAD_HEADER } from '../telemetry/peer-workload.ts';

// node:http through process.getBuiltinModule, not `import`: an ES import of node:http builds its
// namespace by reading every export, and the lazy WebSocket/CloseEvent/MessageEvent getters among
// them load Node's bundled undici, http2, zlib and more: +13 MB RSS in an idle process (ADR 0012).
const { request } = process.getBuiltinModule('node:http');

/** How long the upstream has to answer the handshake before the client gets a 504. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

/** The refusal of a handshake as raw HTTP/1.1 bytes (the socket is closed after it). */
export function refusalBytes(rejection: Rejection, headers: Record<string, string> = {}): string {
  const { status } = rejection;
  const body = `${rejection.reason}\n`;
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n${extra}content-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/** The upstream's response head, re-serialized from node's parse (never raw upstream bytes). */
function responseHead(res: http.IncomingMessage, drop: ReadonlySet<string>, extra: string): string {
  let head = `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}\r\n`;
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (drop.has(raw[i]!.toLowerCase())) continue;
    head += `${raw[i]!}: ${raw[i + 1]!}\r\n`;
  }
  return `${head}${extra}\r\n`;
}

/** A refused handshake (200, 401, 426...): relayed once, close-delimited, then closed. */
function relayRefusal(socket: Duplex, res: http.IncomingMessage): void {
  const drop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'trailer']);
  socket.write(responseHead(res, drop, 'connection: close\r\n'));
  res.on('error', () => socket.destroy());
  res.pipe(socket);
}

function splice(client: Duplex, upstream: Duplex): void {
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
  client.on('close', () => upstream.destroy());
  upstream.pipe(client);
  client.pipe(upstream);
  // A WebSocket carrying bulk bytes frees its read buffers young, as relayed bodies do (ADR 0012).
  countPiped(upstream);
  countPiped(client);
}

export async function handleUpgrade(core: ProxyCore, site: HttpSite, req: http.IncomingMessage, socket: Duplex, head: Buffer, handshakeTimeoutMs = HANDSHAKE_TIMEOUT_MS): Promise<void> {
  const refuse = (sock: Duplex, rejection: Rejection, headers: Record<string, string> = {}): void => {
    const { status, detail } = rejection;
    if (status >= 500) core.logger.warn(`${status} for upgrade ${req.url ?? '?'}`, { status, reason: detail });
    if (!sock.destroyed) sock.end(refusalBytes(rejection, headers));
  };
  const release = core.inflight.start();
  socket.once('close', release);
  socket.on('error', () => undefined);
  let desc;
  try {
    desc = describe(req, site.scheme);
  } catch (err) {
    if (!(err instanceof BadRequestError)) throw err;
    refuse(socket, clientError(400, err.message));
    return;
  }
  site.decorate?.(req, desc.headers);
  const p = plan(core, site.destination(req, desc), desc);
  if (p.kind === 'respond') {
    if (p.answer.status >= 400) core.logger.info(`upgrade ${req.url ?? '?'} answered by the proxy`, { status: p.answer.status, reason: p.answer.detail });
    refuse(socket, p.answer, p.headers);
    return;
  }
  const endpoint = core.balancer.pick(p.backend);
  if (!endpoint) {
    core.logger.warn(`upgrade ${req.url ?? '?'}: no ready endpoints`, { backend: p.backend.name });
    refuse(socket, noHealthyUpstream(`no ready endpoints for ${p.backend.name}`));
    return;
  }
  let upstream;
  try {
    upstream = await connectSocket({ address: endpoint.address, port: endpoint.port, identity: endpoint.identity }, core.pools.connectOptions, MESHLET_ALPN.http1);
  } catch (err) {
    core.logger.warn(`upgrade ${req.url ?? '?'}: upstream connect failed`, { upstream: `${endpoint.address}:${endpoint.port}`, error: (err as Error).message });
    refuse(socket, upstreamUnavailable((err as Error).message));
    return;
  }
  if (socket.destroyed) {
    upstream.destroy();
    return;
  }
  const headers: Headers = stripHopByHop(p.request.headers);
  // A handshake has no body: framing headers a filter may have set would desynchronize the
  // upstream's parser, so they never go out.
  delete headers['content-length'];
  delete headers['transfer-encoding'];
  delete headers.host;
  headers.connection = 'Upgrade';
  headers.upgrade = 'websocket';
  const mtls = isMutualTls(endpoint, core.pools.connectOptions);
  markPeerWorkload(headers, mtls);
  const host = typeof p.request.headers.host === 'string' ? p.request.headers.host : p.request.authority;
  const conn = upstream;
  const out = request({
    method: p.request.method,
    path: p.request.pathAndQuery,
    headers: { host, ...headers },
    setHost: false,
    createConnection: () => conn,
  });
  let settled = false;
  const fail = (rejection: (detail: string) => Rejection, detail: string): void => {
    if (settled) return;
    settled = true;
    out.destroy();
    conn.destroy();
    refuse(socket, rejection(`${endpoint.address}:${endpoint.port}: ${detail}`));
  };
  const timer = setTimeout(() => fail(upstreamTimeout, `no handshake answer within ${handshakeTimeoutMs} ms`), handshakeTimeoutMs);
  socket.once('close', () => {
    clearTimeout(timer);
    if (!settled) {
      settled = true;
      out.destroy();
      conn.destroy();
    }
  });
  out.on('error', (err) => fail(upstreamUnavailable, `handshake failed: ${err.message}`));
  out.on('upgrade', (res: http.IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
    clearTimeout(timer);
    if (settled) {
      upSocket.destroy();
      return;
    }
    settled = true;
    socket.write(responseHead(res, new Set(), ''));
    if (upHead.length > 0) socket.write(upHead);
    if (head.length > 0) upSocket.write(head);
    splice(socket, upSocket);
    if (tunnelsObserved()) {
      const ev = startTunnelEvent(site.kind, 'websocket', req.socket?.remoteAddress ?? '', `${endpoint.address}:${endpoint.port}`, {
        peerIdentity: site.peerIdentity ?? null, upstreamIdentity: mtls ? endpoint.identity ?? null : null,
        // The caller's workload header, as for requests: believed only from a verified peer.
        peerWorkload: site.kind === 'inbound' && site.peerIdentity ? (typeof req.headers[PEER_WORKLOAD_HEADER] === 'string' ? req.headers[PEER_WORKLOAD_HEADER] : null) : null,
        upstreamPod: endpoint.podName ?? null,
      });
      const up = upSocket as Partial<Socket>;
      socket.once('close', () => endTunnelEvent(ev, up.bytesWritten ?? 0, up.bytesRead ?? 0, null));
    }
  });
  out.on('response', (res: http.IncomingMessage) => {
    clearTimeout(timer);
    if (settled) {
      res.destroy();
      return;
    }
    settled = true;
    res.on('end', () => conn.destroy());
    relayRefusal(socket, res);
  });
  out.end();
}
