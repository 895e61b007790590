// Builders for the events of events.ts, called by the engine only when someone subscribes.
import type { DownstreamRequest } from '../listener/downstream.ts';
import { PEER_WORKLOAD_HEADER } from './peer-workload.ts';
import { attemptEnd, attemptsObserved, attemptStart, mirrorEnd, publishRequestStart, TRACE_UNDECIDED, tunnelEnd, tunnelStart, type AttemptEvent, type RequestEvent, type SiteKind, type TunnelEvent } from './events.ts';

export function startRequestEvent(site: SiteKind, scheme: 'http' | 'https', req: DownstreamRequest): RequestEvent {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const h = req.headers as Record<string, string | string[] | undefined>;
  const authority = h[':authority'] ?? h.host;
  const len = h['content-length'];
  const ev: RequestEvent = {
    site, scheme,
    method: req.method ?? '',
    authority: typeof authority === 'string' ? authority : '',
    path: q < 0 ? url : url.slice(0, q),
    // The common versions as constants: a template literal built a new string per request.
    protocol: req.httpVersionMajor >= 2 ? 'h2' : req.httpVersion === '1.1' ? 'http/1.1' : `http/${req.httpVersion}`,
    headers: h,
    peerWorkloadHeader: h[PEER_WORKLOAD_HEADER],
    remoteAddress: req.socket?.remoteAddress ?? '',
    startNs: process.hrtime.bigint(),
    rule: null, routePath: null, backend: null, upstream: null, upstreamIdentity: null, upstreamPod: null, peerIdentity: null,
    attempts: 0, status: 0,
    requestBytes: typeof len === 'string' && /^\d{1,15}$/.test(len) ? Number(len) : 0,
    responseBytes: 0, endNs: 0n, error: null, grpcStatus: null, tracing: null, observer: null,
  };
  // the general path builds its event before routing, so the tracer decides on it (no head decision)
  publishRequestStart(ev, TRACE_UNDECIDED);
  return ev;
}

/** The grpc-status an upstream answered with: in the trailers, or in the headers of a trailers-only reply. */
export function grpcStatusOf(trailers: Record<string, string | string[] | undefined> | null, headers: Record<string, string | string[] | undefined>): string | null {
  const v = trailers?.['grpc-status'] ?? headers['grpc-status'];
  // A numeric code only: the label must not take values a misbehaving upstream invents.
  return typeof v === 'string' && /^\d{1,2}$/.test(v) ? v : null;
}

/** The endpoint an attempt goes to (the engine's Endpoint, passed as it is: no object per attempt). */
export interface AttemptTarget {
  address: string;
  port: number;
  identity?: string | null;
  /** The endpoint's pod (routing table), for destination_workload. */
  podName?: string | null;
}

// `address:port` per endpoint rather than per attempt: a template literal built a new string
// (and the port's digits) on every attempt. The last few endpoints are kept (a sidecar's two
// hops alternate between two); past them it is built as before.
const UPSTREAMS = 4;
const upstreamAddress: string[] = [];
const upstreamPort: number[] = [];
const upstreamName: string[] = [];
let nextUpstream = 0;
function upstreamOf(address: string, port: number): string {
  for (let i = 0; i < upstreamName.length; i++) {
    if (upstreamPort[i] === port && upstreamAddress[i] === address) return upstreamName[i]!;
  }
  const name = `${address}:${port}`;
  upstreamAddress[nextUpstream] = address;
  upstreamPort[nextUpstream] = port;
  upstreamName[nextUpstream] = name;
  nextUpstream = (nextUpstream + 1) % UPSTREAMS;
  return name;
}

/**
 * Notes an attempt on its request (backend, endpoint, count: what metrics and access logs read
 * at the request's end) and publishes its event, or returns null without building one when
 * nobody listens to attempts and the request's observer does not want them (metrics alone, or
 * the tracer's unsampled request: one object, two timestamps and two publishes saved per
 * attempt). The observer sees the attempt first either way (it writes the trace context).
 */
export function startAttemptEvent(
  request: RequestEvent | null, attempt: number, mirror: boolean, backend: string, target: AttemptTarget,
  req: { method: string; authority: string; pathAndQuery: string; headers: Record<string, string | string[]> },
): AttemptEvent | null {
  const upstream = upstreamOf(target.address, target.port);
  const upstreamIdentity = target.identity ?? null;
  if (request && !mirror) {
    request.attempts = attempt;
    request.backend = backend;
    request.upstream = upstream;
    request.upstreamIdentity = upstreamIdentity;
    request.upstreamPod = target.podName ?? null;
  }
  const observer = request !== null ? request.observer ?? null : null;
  if (!attemptsObserved(mirror) && (observer === null || !observer.attempts)) {
    // the tracer's unsampled request: its trace context goes out, no event is built for it
    if (observer !== null) observer.attemptStart(request!, req.headers, null);
    return null;
  }
  const ev: AttemptEvent = {
    request, attempt, mirror, backend, upstream, upstreamIdentity,
    method: req.method, authority: req.authority, pathAndQuery: req.pathAndQuery, headers: req.headers,
    startNs: process.hrtime.bigint(), status: 0, endNs: 0n, error: null, tracing: null,
  };
  if (observer !== null) observer.attemptStart(request!, req.headers, ev);
  attemptStart.publish(ev);
  return ev;
}

export function endAttemptEvent(ev: AttemptEvent, status: number, error: string | null): void {
  ev.status = status;
  ev.error = error;
  ev.endNs = process.hrtime.bigint();
  const observer = ev.request !== null ? ev.request.observer ?? null : null;
  if (observer !== null && observer.attempts) observer.attemptEnd(ev);
  attemptEnd.publish(ev);
  if (ev.mirror) mirrorEnd.publish(ev);
}

/** Who is on either end of a tunnel, when the mesh identity says (mTLS); null otherwise. */
export interface TunnelPeers {
  peerIdentity?: string | null;
  upstreamIdentity?: string | null;
  /** The caller's workload, from a verified mTLS peer's preamble (inbound TCP). */
  peerWorkload?: string | null;
  /** The upstream endpoint's pod, from the routing table (outbound). */
  upstreamPod?: string | null;
}

export function startTunnelEvent(site: SiteKind, kind: TunnelEvent['kind'], remoteAddress: string, upstream: string, peers: TunnelPeers = {}): TunnelEvent {
  const ev: TunnelEvent = {
    site, kind, remoteAddress, upstream, peerIdentity: peers.peerIdentity ?? null, upstreamIdentity: peers.upstreamIdentity ?? null,
    peerWorkload: peers.peerWorkload ?? null, upstreamPod: peers.upstreamPod ?? null,
    startNs: process.hrtime.bigint(), bytesIn: 0, bytesOut: 0, endNs: 0n, error: null,
  };
  tunnelStart.publish(ev);
  return ev;
}

export function endTunnelEvent(ev: TunnelEvent, bytesIn: number, bytesOut: number, error: string | null): void {
  if (ev.endNs !== 0n) return;
  ev.bytesIn = bytesIn;
  ev.bytesOut = bytesOut;
  ev.error = error;
  ev.endNs = process.hrtime.bigint();
  tunnelEnd.publish(ev);
}
