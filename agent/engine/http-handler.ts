// One HTTP request end to end: describe it, plan it (route, weights, filters), answer directly
// or run the attempts, then relay the response with its header changes. Bodies stream in both
// directions with back-pressure (pipe); only retries and mirrors buffer, within
// the core's bound. Every failure becomes a status (400/404/500/503/504), never a crash.
import type http from 'node:http';
import { applyHeaderModifier } from '../route/index.ts';
import type { RequestDescriptor } from '../route/types.ts';
import { RequestTimeoutError, runAttempts } from './attempts.ts';
import type { ProxyCore } from './core.ts';
import { BadRequestError, describe, isGrpc, isH2, type DownstreamRequest, type DownstreamResponse } from './downstream.ts';
import { abortResponse, sendGrpcStatus, sendStatus } from './error-response.ts';
import type { Headers } from './hop-by-hop.ts';
import { fireMirrors } from './mirror.ts';
import { upstreamHeaders, upstreamProtocol } from './upstream-protocol.ts';
import { relayBody } from './relay.ts';
import { plan, type Destination, type Plan } from './plan.ts';
import { clientError, internalError, type Rejection } from './rejection.ts';
import { announcedWithin, bufferUpTo, hasBody, teeUpTo, type BodySource } from './request-body.ts';
import { endRequest, requestsObserved, type RequestEvent, type SiteKind } from '../telemetry/events.ts';
import { grpcStatusOf, startRequestEvent } from '../telemetry/build-events.ts';
import { countStreamedBytes } from './count-bytes.ts';
import { UNREACHED_HEADER } from './default-retry.ts';

/** The inbound side's mark on its 503 when its app refused the connection (ADR 0022). */
const UNREACHED_MARK: Record<string, string> = { [UNREACHED_HEADER]: '1' };

/** What a listener knows about its requests: their scheme, where they go, extra headers. */
export interface HttpSite {
  /** Which side of the proxy this is, for telemetry (inbound, outbound, gateway). */
  kind: SiteKind;
  scheme: 'http' | 'https';
  /** `req` is null on the HTTP/1.1 fast path (h1-fast), which has no node:http request. */
  destination(req: DownstreamRequest | null, desc: RequestDescriptor): Destination;
  /** Adds headers before routing (X-Forwarded-For/-Proto at the ingress, XFCC inbound). */
  decorate?(req: DownstreamRequest | null, headers: Headers): void;
  /** The caller's verified SPIFFE ID (inbound over mesh mTLS), for telemetry. */
  peerIdentity?: string | null;
}

/**
 * The proxy's own answer, in gRPC form for gRPC callers (errors only, not redirects). A 5xx's
 * detail goes to the log: the client only gets the rejection's public reason (rejection.ts).
 */
function answer(core: ProxyCore, req: DownstreamRequest, res: DownstreamResponse, rejection: Rejection, headers: Record<string, string> = {}, ev: RequestEvent | null = null): void {
  const { status, detail } = rejection;
  if (status >= 500) core.logger.warn(`${status} for ${req.method ?? '?'} ${req.url ?? '?'}`, { status, reason: detail });
  if (ev) ev.error = detail;
  if (status >= 400 && isGrpc(req)) {
    const code = sendGrpcStatus(res, rejection);
    if (ev) ev.grpcStatus = code;
  }
  else sendStatus(res, rejection, headers);
}

async function readBody(core: ProxyCore, req: DownstreamRequest, p: Extract<Plan, { kind: 'forward' }>, signal: AbortSignal): Promise<BodySource> {
  if (!hasBody(req)) return { kind: 'none' };
  const needReplay = (p.retry?.attempts ?? 0) > 0 || p.mirrors.length > 0;
  if (!needReplay) return { kind: 'stream', stream: req, used: false };
  if (!announcedWithin(req, core.retryBufferBytes)) {
    core.logOnce(`stream:${p.group ?? p.backend.name}`, `${p.group ?? p.backend.name}: requests without a Content-Length within ${core.retryBufferBytes} bytes are streamed and not retried; mirrors get a copy once such a body completes within that bound`);
    return { kind: 'stream', stream: req, used: false };
  }
  const aborted = new Promise<BodySource>((resolve) => {
    signal.addEventListener('abort', () => resolve({ kind: 'none' }), { once: true });
  });
  return Promise.race([bufferUpTo(req, core.retryBufferBytes), aborted]);
}

export async function handleHttp(core: ProxyCore, site: HttpSite, req: DownstreamRequest, res: DownstreamResponse): Promise<void> {
  const release = core.inflight.start();
  const ev = requestsObserved() ? startRequestEvent(site.kind, site.scheme, req) : null;
  if (ev) ev.peerIdentity = site.peerIdentity ?? null;
  // Set once the request is forwarded; the one 'close' listener below reads them.
  let overall: AbortController | null = null;
  let timer: NodeJS.Timeout | null = null;
  let idle: ReturnType<NonNullable<ProxyCore['streamIdle']>['watch']> | null = null;
  // One listener per request, observed or not ('on': a response closes once, and once() would
  // wrap it in another closure and state object).
  res.on('close', () => {
    release();
    if (ev) endRequest(ev, res.statusCode, ev.error ?? (res.writableFinished ? null : 'downstream closed before the response completed'));
    if (overall === null) return;
    // writableEnded, not writableFinished: node's Http2ServerResponse reports writableFinished
    // true once its stream closed, reset or not, so an h2 client that went away never aborted
    // its upstream attempt (issue 15).
    if (!res.writableEnded) overall.abort(new Error('client closed the connection'));
    if (timer) clearTimeout(timer);
    if (idle) core.streamIdle!.forget(idle);
  });
  let desc: RequestDescriptor;
  try {
    desc = describe(req, site.scheme);
  } catch (err) {
    if (!(err instanceof BadRequestError)) throw err;
    core.logger.info(`rejected ${req.method ?? '?'} ${req.url ?? '?'}`, { status: 400, reason: err.message });
    req.resume();
    answer(core, req, res, clientError(400, err.message), {}, ev);
    return;
  }
  site.decorate?.(req, desc.headers);
  const p = plan(core, site.destination(req, desc), desc);
  if (ev) {
    ev.rule = p.rule;
    ev.routePath = p.routePath;
  }
  if (p.kind === 'respond') {
    // Drain any body so the connection can be reused for the next request.
    req.resume();
    answer(core, req, res, p.answer, p.headers, p.answer.status >= 400 ? ev : null);
    return;
  }
  const ctrl = new AbortController();
  overall = ctrl;
  idle = core.streamIdle?.watch(req, res, (err) => ctrl.abort(err)) ?? null;
  // A route's own timeout covers the whole exchange (Gateway API). The default one (ADR 0006)
  // runs, as Envoy's route timeout does, from the end of the request body, and only until the
  // response head: uploads and streamed responses are never cut by it. gRPC is left alone (its
  // clients send deadlines, and its streams may be silent for long).
  const routeMs = p.timeouts?.requestMs ?? null;
  let headSeen = false;
  const arm = (ms: number): void => {
    if (!headSeen && !ctrl.signal.aborted && !res.closed) timer = setTimeout(() => ctrl.abort(new RequestTimeoutError(ms)), ms);
  };
  const defaultMs = routeMs === null && !isGrpc(req) ? core.defaultRequestTimeoutMs : null;
  if (routeMs) arm(routeMs);
  else if (defaultMs !== null) {
    if (req.complete || !hasBody(req)) arm(defaultMs);
    else req.once('end', () => arm(defaultMs));
  }
  const protocol = upstreamProtocol(req, p.backend.appProtocol);
  const budget = p.group && p.retry ? core.budgets.for(p.group) : null;
  budget?.request();
  const body = await readBody(core, req, p, ctrl.signal);
  if (ev && body.kind === 'stream' && ev.requestBytes === 0) body.stream = countStreamedBytes(body.stream, ev);
  const host = typeof p.request.headers.host === 'string' ? p.request.headers.host : p.request.authority;
  const headers = upstreamHeaders(p.request.headers, protocol);
  if (p.table && p.mirrors.length > 0) {
    const deps = { pools: core.pools, balancer: core.balancer, backends: core.backends(p.table), log: (msg: string) => core.logger.warn(msg), random: core.random, logOnce: (key: string, msg: string) => core.logOnce(key, msg), event: ev };
    const mirror = (mirrorBody: BodySource): void => fireMirrors(deps, p.mirrors, {
      rule: p.group, method: p.request.method, authority: host, pathAndQuery: p.request.pathAndQuery, headers: p.request.headers, body: mirrorBody,
      protocolFor: (b) => upstreamProtocol(req, b.appProtocol),
    });
    if (body.kind === 'stream' && !body.used) {
      // Streamed (e.g. gRPC, no Content-Length): mirror from a bounded copy once it completes.
      body.stream = teeUpTo(body.stream, core.retryBufferBytes, (data) => mirror({ kind: 'buffered', data }));
    } else {
      mirror(body);
    }
  }
  const outcome = await runAttempts({ pools: core.pools, balancer: core.balancer, budgets: core.budgets, random: core.random }, {
    backend: p.backend, protocol, method: p.request.method, authority: host, pathAndQuery: p.request.pathAndQuery,
    headers, body, backendRequestMs: p.timeouts?.backendRequestMs ?? null, retry: p.retry, budget, signal: ctrl.signal, event: ev,
    // routed requests only: the inbound side's delivery to its app marks its 503 instead (ADR 0022)
    defaultRetry: core.defaultRetry && p.table !== null, routed: p.table !== null, group: p.group,
  });
  if (outcome.kind === 'error') {
    if (body.kind === 'stream' && !body.used) req.resume();
    // Already answered (the stream idle timeout's 408): a second answer would cut it short.
    if (res.writableEnded) return;
    answer(core, req, res, outcome.rejection, outcome.unreached === true && site.kind === 'inbound' ? UNREACHED_MARK : {}, ev);
    return;
  }
  const { response, finish, attemptSignal } = outcome;
  if (defaultMs !== null) {
    headSeen = true;
    if (timer) clearTimeout(timer);
    timer = null;
  }
  const abortRelay = (): void => {
    response.body.destroy(new Error('attempt aborted while relaying the body'));
  };
  attemptSignal.addEventListener('abort', abortRelay, { once: true });
  try {
    let out = response.headers;
    for (const mod of p.responseHeaders) out = applyHeaderModifier(out, mod);
    if (res.closed) {
      response.discard();
      return;
    }
    (res as http.ServerResponse).writeHead(response.status, out);
    await relayBody(response.body, res, ev);
    const trailers = response.trailers();
    if (ev) ev.grpcStatus = grpcStatusOf(trailers, response.headers);
    if (trailers && isH2(req)) res.addTrailers(trailers);
    res.end();
  } catch (err) {
    // Upstream reset or timeout mid-body, or the client went away: nothing more can be said,
    // but the client must see the truncation (h2: RST_STREAM INTERNAL_ERROR, not NO_ERROR).
    if (ev) ev.error = (err as Error)?.message ?? 'relay failed';
    response.discard();
    abortResponse(res);
  } finally {
    attemptSignal.removeEventListener('abort', abortRelay);
    finish();
  }
}

/** Runs handleHttp for a server's 'request' event: a bug answers 500 instead of crashing. */
export function serveHttp(core: ProxyCore, site: HttpSite, req: DownstreamRequest, res: DownstreamResponse): void {
  handleHttp(core, site, req, res).catch((err: unknown) => {
    core.logger.error(`internal error on ${req.method ?? '?'} ${req.url ?? '?'}`, { error: (err as Error)?.stack ?? String(err) });
    sendStatus(res, internalError('internal proxy error'));
  });
}

/** One HttpSite per connection context, built on first use (not once per request). */
export function sitePerConnection<C extends object>(build: (ctx: C) => HttpSite): (ctx: C) => HttpSite {
  const sites = new WeakMap<C, HttpSite>();
  return (ctx) => {
    let site = sites.get(ctx);
    if (!site) {
      site = build(ctx);
      sites.set(ctx, site);
    }
    return site;
  };
}
