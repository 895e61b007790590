// Which workload is on the other end of a hop, for the source_workload / destination_workload
// labels (ADR 0009). A SPIFFE ID names only the peer's namespace and ServiceAccount, so:
// - the caller's workload travels in one request header, x-meshlet-peer-workload, that the
//   client-side proxy's engine sets on every attempt, mirror and WebSocket handshake over mesh
//   mTLS (replacing whatever the app or an external client sent) and removes on every other
//   (markPeerWorkload; a mesh protocol header, so the engine writes it, not a subscriber). The receiving sidecar believes
//   it only when the connection was mutual TLS with a verified peer certificate (a plaintext
//   caller can write anything), and never passes it to the app (inbound-listener.ts strips it).
//   Istio's metadata exchange does the same with x-envoy-peer-metadata; one short name is all
//   the labels need.
// - opaque TCP has no header to carry it: when the hop is mesh mTLS and both ends are new enough,
//   the client also offers ALPN `meshlet/tcp+workload` ahead of `meshlet/tcp`; a server that
//   selects it reads a one-byte length and the name before the tunnel's bytes (Istio's TCP
//   metadata exchange, reduced to the one name). Older servers select `meshlet/tcp` and get no
//   preamble; older clients never offer it. Trusted, like the header, only because the hop is
//   mutual TLS with a verified peer.
// - the callee's workload is known before the request leaves: the routing table names the pod
//   behind each endpoint (EndpointSlice targetRef), and the workload follows from the pod name.
import type { RequestEvent } from './events.ts';
import { workloadFromPodName, type Workload } from './workload.ts';

export const PEER_WORKLOAD_HEADER = 'x-meshlet-peer-workload';

// A Kubernetes object name (DNS subdomain): anything else is not a workload we would have sent.
const OBJECT_NAME = /^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The longest name a preamble carries (one length byte; a DNS subdomain is at most 253). */
const MAX_NAME = 253;

let announced: string | null = null;

/** The workload this process names to its mTLS peers on TCP hops; null when it names none. */
export function announcedWorkload(): string | null {
  return announced;
}

/** The bytes a `meshlet/tcp+workload` client sends first: one length byte, then the name. */
export function workloadPreamble(name: string): Buffer {
  const body = Buffer.from(name, 'latin1');
  if (body.length > MAX_NAME) throw new Error(`workload name longer than ${MAX_NAME} bytes`);
  return Buffer.concat([Buffer.from([body.length]), body]);
}

/** A name read from a preamble, if it is one a meshlet peer would send; null otherwise. */
export function workloadFromPreamble(name: string): string | null {
  return OBJECT_NAME.test(name) ? name : null;
}

/** Names this proxy's workload to its mTLS peers (header and TCP preamble); returns the undo. */
export function startPeerWorkload(self: Workload): () => void {
  const name = OBJECT_NAME.test(self.name) ? self.name : null;
  announced = name;
  return () => {
    if (announced === name) announced = null;
  };
}

/**
 * Upstream request headers as the engine sends them: this workload's name when the hop is mesh
 * mTLS and a name is announced, and never a value the app or an outside client wrote.
 */
export function markPeerWorkload(headers: Record<string, unknown>, mutualTls: boolean): void {
  if (mutualTls && announced !== null) headers[PEER_WORKLOAD_HEADER] = announced;
  else if (headers[PEER_WORKLOAD_HEADER] !== undefined) delete headers[PEER_WORKLOAD_HEADER];
}

/** The caller's workload on an inbound request: only from a verified mTLS peer, else null. */
export function callerWorkload(ev: RequestEvent): string | null {
  if (!ev.peerIdentity) return null;
  const v = ev.peerWorkloadHeader;
  return typeof v === 'string' && OBJECT_NAME.test(v) ? v : null;
}

// Pod names repeat (a handful of endpoints per destination): derive each once. Bounded, since
// pods come and go over an agent's life.
const byPod = new Map<string, string>();
const MAX_PODS = 4096;

/** The workload behind the endpoint an outbound request went to, when the table named its pod. */
export function calleeWorkload(pod: string | null): string | null {
  if (!pod) return null;
  let w = byPod.get(pod);
  if (w === undefined) {
    if (byPod.size >= MAX_PODS) byPod.clear();
    w = workloadFromPodName(pod);
    byPod.set(pod, w);
  }
  return w;
}
