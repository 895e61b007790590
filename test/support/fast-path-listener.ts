// A loopback listener that serves HTTP/1.1 on the fast path only (node:http answers 500 to
// anything that falls back), forwarding every request to 127.0.0.1:`port()`: the harness of the
// h1-fast integration tests that drive connections byte by byte.
import net from 'node:net';
import { once } from 'node:events';
import type { ProxyCore } from '../../agent/engine/core.ts';
import { http1Handler } from '../../agent/engine/h1-fast/downstream-hook.ts';
import type { HttpSite } from '../../agent/engine/http-handler.ts';
import { ProxyListener } from '../../agent/listener/proxy-listener.ts';

export type FastCtx = { remoteAddress: string };

export interface FastListenerOptions {
  keepAliveTimeoutMs?: number;
  headersTimeoutMs?: number;
  /** Called once per connection the fast path serves. */
  onConnection?: () => void;
}

export function fastPathListener(core: ProxyCore, port: () => number, o: FastListenerOptions = {}): Promise<ProxyListener<FastCtx>> {
  const site = (): HttpSite => ({
    kind: 'inbound', scheme: 'http',
    destination: () => ({ kind: 'direct', endpoint: { address: '127.0.0.1', port: port() }, reason: 'test' }),
  });
  return ProxyListener.listen<FastCtx>({
    host: '127.0.0.1', port: 0, log: () => undefined,
    ...(o.keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeoutMs: o.keepAliveTimeoutMs }),
    ...(o.headersTimeoutMs === undefined ? {} : { headersTimeoutMs: o.headersTimeoutMs }),
    handlers: {
      context: (socket) => ({ remoteAddress: socket.remoteAddress ?? '' }),
      request: (_ctx, _req, res) => { res.statusCode = 500; res.end(); },
      upgrade: (_ctx, _req, socket) => { socket.destroy(); },
      tcp: (_ctx, socket) => { socket.destroy(); },
      http1: http1Handler(core, site, { remoteAddress: (ctx) => { o.onConnection?.(); return ctx.remoteAddress; } }),
    },
  });
}

/** Stops accepting, cuts every connection, and waits for the listener to close. */
export async function closeFastPathListener(l: ProxyListener<FastCtx>): Promise<void> {
  const closed = l.stopAccepting();
  l.destroyAll();
  await closed;
}

/** A raw loopback connection to `port`, once connected. */
export async function connectLoopback(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
}
