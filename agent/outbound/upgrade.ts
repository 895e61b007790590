// HTTP/1.1 Upgrade (WebSocket): routed like any request, then the handshake is replayed to the
// chosen endpoint on a fresh connection and the two sockets are spliced. The upstream's 101
// (or refusal) reaches the client as is; after it, bytes flow both ways untouched. Request
// filters apply to the handshake; response filters cannot (the response is not parsed).
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { connectSocket } from './connect.ts';
import type { ProxyCore } from './core.ts';
import { describe } from './downstream.ts';
import { stripHopByHop, type Headers } from './hop-by-hop.ts';
import type { HttpSite } from './http-handler.ts';
import { plan } from './plan.ts';

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

function refuse(socket: Duplex, status: number, reason: string, headers: Record<string, string> = {}): void {
  const body = `${reason}\n`;
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n${extra}content-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

function serializeHead(method: string, pathAndQuery: string, host: string, headers: Headers): string {
  let head = `${method} ${pathAndQuery} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'host') continue;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  return `${head}\r\n`;
}

export async function handleUpgrade(core: ProxyCore, site: HttpSite, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const release = core.inflight.start();
  socket.once('close', release);
  socket.on('error', () => undefined);
  const desc = describe(req, site.scheme);
  site.decorate?.(req, desc.headers);
  const p = plan(core, site.destination(req, desc), desc);
  if (p.kind === 'respond') {
    refuse(socket, p.status, p.reason, p.headers);
    return;
  }
  const endpoint = core.balancer.pick(p.backend);
  if (!endpoint) {
    refuse(socket, 503, `no ready endpoints for ${p.backend.name}`);
    return;
  }
  let upstream;
  try {
    upstream = await connectSocket({ address: endpoint.address, port: endpoint.port, identity: endpoint.identity });
  } catch (err) {
    refuse(socket, 503, (err as Error).message);
    return;
  }
  if (socket.destroyed) {
    upstream.destroy();
    return;
  }
  const headers = stripHopByHop(p.request.headers, { keepUpgrade: false });
  headers.connection = 'Upgrade';
  headers.upgrade = req.headers.upgrade ?? 'websocket';
  const host = typeof p.request.headers.host === 'string' ? p.request.headers.host : p.request.authority;
  upstream.write(serializeHead(p.request.method, p.request.pathAndQuery, host, headers));
  if (head.length > 0) upstream.write(head);
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
  upstream.on('close', () => socket.destroy());
  socket.on('close', () => upstream.destroy());
  upstream.pipe(socket);
  socket.pipe(upstream);
}
