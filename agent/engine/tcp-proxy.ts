// Opaque TCP: bytes forwarded unchanged in both directions with back-pressure (pipe), half-close
// propagated, either side's error closing both. Used for non-HTTP protocols, TLS the sidecar
// does not terminate, and anything detection could not classify.
import type { Socket } from 'node:net';
import { connectSocket, type Endpoint } from './connect.ts';
import type { InflightTracker } from './inflight.ts';

export async function spliceTcp(client: Socket, endpoint: Endpoint, inflight: InflightTracker, log: (m: string) => void): Promise<void> {
  const release = inflight.start();
  client.once('close', release);
  client.on('error', () => undefined);
  let upstream: Socket;
  try {
    upstream = await connectSocket(endpoint);
  } catch (err) {
    log(`tcp: ${(err as Error).message}`);
    client.destroy();
    return;
  }
  if (client.destroyed) {
    upstream.destroy();
    return;
  }
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
  upstream.once('close', () => client.destroy());
  client.once('close', () => upstream.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
}
