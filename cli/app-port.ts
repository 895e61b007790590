// `meshlet agent --app-port N`: where inbound connections go when nothing redirected them (no
// iptables: loopback, a VM, the benchmark). Without it such a connection has no original
// destination and gets 400; with it, it is delivered to the app at HOST:N, so two agents on
// loopback use the real inbound path (mTLS termination, XFCC, authorization).
import type net from 'node:net';
import type { OriginalDst } from '../agent/sidecar.ts';

type Lookup = (socket: net.Socket) => OriginalDst | null;

/** The app's address for --host: a wildcard bind means the app is on loopback. */
export function appHostFor(bindHost: string): string {
  return bindHost === '::' || bindHost === '0.0.0.0' || bindHost === '' ? '127.0.0.1' : bindHost;
}

function addressedToListener(od: OriginalDst, socket: net.Socket): boolean {
  return od.port === socket.localPort && (od.address === socket.localAddress || `::ffff:${od.address}` === socket.localAddress);
}

/**
 * Wraps the interception lookup: a redirected connection keeps its original destination; one
 * that reached the inbound listener directly (`inboundPort()`, read per connection because 0
 * means "pick one") is taken as redirected to the app.
 */
export function withAppPort(lookup: Lookup | undefined, appPort: number | undefined, appHost: string, inboundPort: () => number): Lookup | undefined {
  if (appPort === undefined) return lookup;
  return (socket) => {
    let od: OriginalDst | null;
    try {
      od = lookup?.(socket) ?? null;
    } catch {
      od = null; // a failing lookup means "not redirected", as connectionContext treats it
    }
    if (od && !addressedToListener(od, socket)) return od;
    return socket.localPort === inboundPort() ? { address: appHost, port: appPort, redirected: true } : od;
  };
}
