// From a request head the fast path accepted to what the engine decides, with the general
// path's own layers: the matcher's RequestDescriptor (toRouteRequest, identical to describe()),
// the site's decorations (X-Forwarded-*, XFCC), `plan()` (route, weights, header modifiers,
// URL rewrites, redirects and the other direct answers), and the request telemetry event
// (the same fields startRequestEvent fills, so spans, metrics and access logs do not depend on
// the path). What the fast path does not implement goes back to the general path at head time,
// before any byte left: request mirrors, upstreams spoken to in HTTP/2 (an appProtocol of h2c
// or grpc), gRPC requests. The general path then plans the request again by itself.
import { route } from '../../route/index.ts';
import type { Destination } from '../plan.ts';
import type { RequestDescriptor } from '../../route/types.ts';
import type { ProxyCore } from '../core.ts';
import type { HttpSite } from '../http-handler.ts';
import { plan, type Plan } from '../plan.ts';
import { internalError, type Rejection } from '../rejection.ts';
import { publishRequestStart, requestEventWanted, requestsObserved, TRACE_NO_EVENT, TRACE_UNDECIDED, type RequestEvent } from '../../telemetry/events.ts';
import { PEER_WORKLOAD_HEADER } from '../../telemetry/peer-workload.ts';
import type { RequestHead } from './request-head.ts';
import { toRouteRequest } from './route-request.ts';

export type ForwardPlan = Extract<Plan, { kind: 'forward' }>;

/** A refusal the listener's composition makes before routing (inbound authorization). */
export interface Admission {
  rejection: Rejection;
  headers: Record<string, string>;
  /** The connection closes after the answer. */
  close: boolean;
}

export type FastDecision =
  | { kind: 'fallback'; reason: 'mirror' | 'h2-upstream' | 'grpc' | 'admission' }
  | { kind: 'respond'; rejection: Rejection; headers: Record<string, string | string[]>; close: boolean; ev: RequestEvent | null }
  | { kind: 'forward'; plan: ForwardPlan; ev: RequestEvent | null };

const H2_APP_PROTOCOLS = new Set(['kubernetes.io/h2c', 'grpc', 'h2c']);

/**
 * A request the matcher sends to a mirroring rule or backend. Decided before plan(), whose
 * weighted pick is a smooth round robin: drawing for a request the general path then plans
 * again would skew a split (3:1 drawn twice per request sends nothing to the 1).
 */
function mirrored(core: ProxyCore, dest: Destination, desc: RequestDescriptor): boolean {
  const snapshot = core.holder.current;
  // known at the swap (compileTable): the first request on a new table walks nothing
  if (dest.kind !== 'route' || !snapshot || !snapshot.compiled.mirrors) return false;
  const d = route(snapshot.compiled, dest.target, desc);
  return d.type === 'forward' && (d.mirrors.length > 0 || d.backends.some((b) => b.filters.some((f) => f.type === 'RequestMirror' && f.percent > 0)));
}

/** The request event as startRequestEvent builds it for node:http, from the fast path's head. */
function startEvent(site: HttpSite, head: RequestHead, desc: RequestDescriptor, peerWorkloadHeader: string | string[] | undefined, remoteAddress: string, decision: number): RequestEvent {
  const ev: RequestEvent = {
    site: site.kind, scheme: site.scheme, method: head.method, authority: head.host, path: desc.path,
    protocol: head.versionMinor === 1 ? 'http/1.1' : 'http/1.0',
    headers: desc.headers, peerWorkloadHeader, remoteAddress, startNs: process.hrtime.bigint(),
    rule: null, routePath: null, backend: null, upstream: null, upstreamIdentity: null, upstreamPod: null, peerIdentity: site.peerIdentity ?? null,
    attempts: 0, status: 0, requestBytes: head.framing.kind === 'length' ? head.framing.length : 0,
    responseBytes: 0, endNs: 0n, error: null, grpcStatus: null, tracing: null, observer: null,
  };
  publishRequestStart(ev, decision);
  return ev;
}

/** The event of a request refused from its head alone (400), as the general path publishes it. */
export function refusedEvent(site: HttpSite, head: RequestHead, remoteAddress: string): RequestEvent | null {
  if (!requestsObserved()) return null;
  const desc = toRouteRequest(head, site.scheme);
  return startEvent(site, head, desc, desc.headers[PEER_WORKLOAD_HEADER], remoteAddress, TRACE_UNDECIDED);
}

/**
 * `headers` without the fields named in `strip` (lower case): the same object when it has none of
 * them (one load per name), else a copy without them. A copy, not `delete`: deleting a field that
 * is not the last one added turns the record into a slow dictionary-mode object for everything
 * that reads it after (the upstream copy, the head writer, telemetry), as the inbound side's
 * decoration did with the x-meshlet-peer-workload every mesh mTLS request carries.
 */
export function withoutFields(headers: RequestDescriptor['headers'], strip: readonly string[]): RequestDescriptor['headers'] {
  let found = false;
  for (let i = 0; i < strip.length; i++) if (headers[strip[i]!] !== undefined) found = true;
  if (!found) return headers;
  const out: RequestDescriptor['headers'] = {};
  for (const name in headers) if (!strip.includes(name)) out[name] = headers[name]!;
  return out;
}

/**
 * Decides one request. `admit` is the composition's per-request refusal (null: admitted); a
 * refusal it wants answered its own way (with a header the general path adds) falls back.
 * `strip`: fields the site removes from every request (the inbound side's XFCC and caller's
 * workload header), left out before its decoration, which then finds none to delete.
 */
export function decide(core: ProxyCore, site: HttpSite, head: RequestHead, remoteAddress: string, admit?: () => Admission | 'fallback' | null, strip?: readonly string[]): FastDecision {
  const desc = toRouteRequest(head, site.scheme);
  const ct = desc.headers['content-type'];
  if (typeof ct === 'string' && ct.startsWith('application/grpc')) return { kind: 'fallback', reason: 'grpc' };
  const refusal = admit?.() ?? null;
  if (refusal === 'fallback') return { kind: 'fallback', reason: 'admission' };
  // the event shares the request's headers (nothing after decide writes to desc.headers: route
  // filters and header modifiers make new objects, the upstream's fields are a copy); of what
  // the site's decorations rewrite, telemetry reads the caller's workload header alone, so that
  // one value is kept as received instead of a copy of every header (~2.5 k instructions per
  // request with telemetry on; ADR 0009, ADR 0018)
  const observed = requestsObserved();
  const peerWorkload = observed ? desc.headers[PEER_WORKLOAD_HEADER] : undefined;
  if (strip !== undefined) desc.headers = withoutFields(desc.headers, strip);
  site.decorate?.(null, desc.headers);
  let p: Plan;
  try {
    if (refusal === null) {
      const dest = site.destination(null, desc);
      if (mirrored(core, dest, desc)) return { kind: 'fallback', reason: 'mirror' };
      p = plan(core, dest, desc);
    } else p = { kind: 'respond', answer: refusal.rejection, headers: refusal.headers, rule: null, routePath: null };
  } catch (err) {
    core.logger.error(`internal error on ${head.method} ${head.target}`, { error: (err as Error)?.stack ?? String(err) });
    p = { kind: 'respond', answer: internalError('internal proxy error'), headers: {}, rule: null, routePath: null };
  }
  if (p.kind === 'forward') {
    if (p.mirrors.length > 0) return { kind: 'fallback', reason: 'mirror' };
    if (p.backend.appProtocol !== null && H2_APP_PROTOCOLS.has(p.backend.appProtocol)) return { kind: 'fallback', reason: 'h2-upstream' };
  }
  // With the tracer alone, a request it does not sample builds no event: what it forwards (trace
  // context, the ingress's x-request-id) goes into the planned request's headers, which every
  // attempt copies after the route's and backend's modifiers, as the tracer's per-attempt write did.
  const decision = observed ? requestEventWanted(site.kind, desc.headers, p.kind === 'forward' ? p.request.headers : null) : TRACE_NO_EVENT;
  const ev = decision !== TRACE_NO_EVENT ? startEvent(site, head, desc, peerWorkload, remoteAddress, decision) : null;
  if (ev) {
    ev.rule = p.rule;
    ev.routePath = p.routePath;
  }
  if (p.kind === 'forward') return { kind: 'forward', plan: p, ev };
  const { status, detail } = p.answer;
  if (status >= 500) core.logger.warn(`${status} for ${head.method} ${head.target}`, { status, reason: detail });
  if (ev && status >= 400) ev.error = detail;
  return { kind: 'respond', rejection: p.answer, headers: p.headers, close: refusal?.close ?? p.answer.status === 400, ev };
}
