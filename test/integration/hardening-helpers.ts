// Shared pieces of the hardening-*.test.ts files: a sidecar in front of a raw or HTTP upstream,
// and a raw client that records every byte until the proxy closes or a deadline passes.
import net from 'node:net';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import type { RouteRuleIR } from '../../api/routing-table.ts';
import * as T from '../support/routing-tables.ts';

export const quiet = (): void => undefined;

/** A sidecar whose every outbound connection is for 10.96.0.1:80 (Service `svc`). */
export async function sidecarFor(upstreamPort: number, rules?: (backend: string) => RouteRuleIR[], log: (m: string) => void = quiet): Promise<RunningProxy> {
  const be = T.backend('default', 'svc', 80, [{ port: upstreamPort }]);
  const svc = T.service({ name: 'svc', clusterIP: '10.96.0.1', port: 80, rules: rules?.(be.name) ?? [T.rule({ backends: [{ backend: be.name }] })] });
  const source = new ManualTableSource(T.table({ services: [svc], backends: [be] }));
  return startSidecar({
    namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, explicit: false, log,
    originalDestination: () => ({ address: '10.96.0.1', port: 80 }),
  });
}

/** Raw upstream: `reply` is called with each complete request head seen on a connection. */
export function rawUpstream(reply: (head: string, socket: net.Socket) => void): Promise<{ port: number; heads: string[]; closed: () => number; open: () => number; close: () => void }> {
  const heads: string[] = [];
  const sockets = new Set<net.Socket>();
  let closed = 0;
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
      closed++;
    });
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n\r\n'); i >= 0; i = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, i);
        buf = buf.slice(i + 4);
        heads.push(head);
        reply(head, s);
      }
    });
    s.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: (server.address() as net.AddressInfo).port,
    heads,
    /** Upstream connections closed so far (by either side), and those still open. */
    closed: () => closed,
    open: () => sockets.size,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  })));
}

/**
 * Sends `data`, collects the answer until the proxy closes or `waitMs` passes. `writeAfterMs`
 * holds the data back that long after connecting (a client whose first byte comes late).
 */
export function rawExchange(port: number, data: string, waitMs = 1_000, writeAfterMs = 0): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    s.on('error', () => undefined);
    const t = setTimeout(() => {
      s.destroy();
      resolve({ text, closed: false });
    }, waitMs);
    s.on('close', () => {
      clearTimeout(t);
      resolve({ text, closed: true });
    });
    if (writeAfterMs === 0) s.write(data);
    else {
      s.on('connect', () => setTimeout(() => {
        if (!s.destroyed) s.write(data);
      }, writeAfterMs));
    }
  });
}
