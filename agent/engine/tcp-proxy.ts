// Opaque TCP: bytes forwarded unchanged in both directions with back-pressure (pipe), half-close
// propagated, either side's error closing both. Used for non-HTTP protocols, TLS the sidecar
// does not terminate, and anything detection could not classify.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { MESHLET_ALPN, MESHLET_TCP_WORKLOAD_ALPN } from '../../api/identity.ts';
import { endTunnelEvent, startTunnelEvent } from '../telemetry/build-events.ts';
import { tunnelsObserved, type SiteKind } from '../telemetry/events.ts';
import { announcedWorkload, workloadPreamble } from '../telemetry/peer-workload.ts';
import { connectSocket, isMutualTls, type Endpoint } from './connect.ts';
import type { ProxyCore } from './core.ts';
import { countPiped } from './relay-gc.ts';

/**
 * `peer`: the caller's verified SPIFFE ID when the client connection is mesh mTLS (inbound);
 * `peerWorkload`: the workload that caller's proxy named in its preamble.
 */
export async function spliceTcp(core: ProxyCore, site: SiteKind, client: Socket, endpoint: Endpoint, peer: string | null = null, peerWorkload: string | null = null): Promise<void> {
  const release = core.inflight.start();
  const mtls = isMutualTls(endpoint, core.pools.connectOptions);
  const ev = tunnelsObserved()
    ? startTunnelEvent(site, 'tcp', client.remoteAddress ?? '', `${endpoint.address}:${endpoint.port}`, {
      peerIdentity: peer, upstreamIdentity: mtls ? endpoint.identity : null, peerWorkload, upstreamPod: endpoint.podName ?? null,
    })
    : null;
  // Towards another meshlet over mTLS, offer to name this workload first (peer-workload.ts).
  const announce = mtls ? announcedWorkload() : null;
  let upstream: Socket | null = null;
  client.once('close', () => {
    release();
    if (ev) endTunnelEvent(ev, client.bytesRead, client.bytesWritten, upstream ? null : 'upstream connect failed');
  });
  client.on('error', () => undefined);
  try {
    upstream = await connectSocket(endpoint, core.pools.connectOptions, MESHLET_ALPN.tcp, announce ? MESHLET_TCP_WORKLOAD_ALPN : null);
  } catch (err) {
    core.logger.warn('tcp: upstream connect failed', { site, upstream: `${endpoint.address}:${endpoint.port}`, error: (err as Error).message });
    client.destroy();
    return;
  }
  if (client.destroyed) {
    upstream.destroy();
    return;
  }
  if (announce && upstream instanceof TLSSocket && upstream.alpnProtocol === MESHLET_TCP_WORKLOAD_ALPN) upstream.write(workloadPreamble(announce));
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
  upstream.once('close', () => client.destroy());
  client.once('close', () => upstream.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
  // Bulk bytes through a tunnel free their read buffers young, as relayed bodies do (ADR 0012).
  countPiped(client);
  countPiped(upstream);
  client.resume();
}
