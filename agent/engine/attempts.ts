// The attempt loop for one forwarded request: pick an endpoint (P2C over peak-EWMA), send, and
// on a retriable outcome try again per GEP-1731 — only the listed status codes, connection
// failures and backend timeouts; exponential backoff; every attempt inside the request
// timeout; the group's retry budget consulted before each retry; only replayable bodies.
// A routed request whose route sets no retry gets the hop's default one (ADR 0022,
// default-retry.ts): one more attempt on another endpoint when the first certainly did not reach
// an app. An endpoint that could not be reached is avoided for a while (agent/balance).
// Returns the response to relay, or the error status to answer with.
import type { BackendIR, EndpointIR, RetryIR } from '../../api/routing-table.ts';
import type { EndpointBalancer } from '../balance/endpoint-balancer.ts';
import { MeshletError } from '../../api/errors.ts';
import { isMutualTls, type Endpoint } from './connect.ts';
import type { UpstreamPools } from './pools.ts';
import { replayable, type BodySource } from './request-body.ts';
import type { RetryBudget, RetryBudgets } from './retry-budget.ts';
import { DEFAULT_RETRIES, UNREACHED_HEADER, unreachedCause, type UnreachedCause } from './default-retry.ts';
import { noHealthyUpstream, upstreamTimeout, upstreamUnavailable, type Rejection } from './rejection.ts';
import { sendH1 } from './send-h1.ts';
import { sendH2 } from './send-h2.ts';
import type { AttemptRequest, UpstreamProtocol, UpstreamResponse } from './upstream-types.ts';
import type { Headers } from './hop-by-hop.ts';
import type { RequestEvent } from '../telemetry/events.ts';
import { endAttemptEvent, startAttemptEvent } from '../telemetry/build-events.ts';
import { markPeerWorkload } from '../telemetry/peer-workload.ts';

/** A backendRequest timeout fired for one attempt (retriable; 504 if it was the last). */
export class BackendTimeoutError extends MeshletError {
  constructor(ms: number) {
    super('E_BACKEND_TIMEOUT', `backend did not answer within ${ms} ms`);
  }
}

/** The whole-request timeout fired (not retriable: the time is up). */
export class RequestTimeoutError extends MeshletError {
  constructor(ms: number) {
    super('E_REQUEST_TIMEOUT', `request did not complete within ${ms} ms`);
  }
}

export const DEFAULT_BACKOFF_MS = 25;
const MAX_BACKOFF_FACTOR = 10;

/**
 * The wait before retry number `retry` (0 for the first): exponential from the route's backoff,
 * capped at ten times it, with jitter in [50%, 100%] of that to spread synchronized retries
 * apart. Both paths (this file and h1-fast/connection-exchange.ts) wait by it.
 */
export function retryDelayMs(backoffMs: number | null | undefined, retry: number, random: () => number): number {
  const base = backoffMs ?? DEFAULT_BACKOFF_MS;
  return Math.min(base * 2 ** retry, base * MAX_BACKOFF_FACTOR) * (0.5 + random() / 2);
}

export interface AttemptPlan {
  backend: BackendIR;
  protocol: UpstreamProtocol;
  method: string;
  authority: string;
  pathAndQuery: string;
  headers: Headers;
  body: BodySource;
  backendRequestMs: number | null;
  retry: RetryIR | null;
  budget: RetryBudget | null;
  /**
   * The hop's default retry applies when `retry` is null (ADR 0022): true for routed requests
   * (outbound, gateway), false for the inbound side's delivery to its app and for passthrough.
   */
  defaultRetry?: boolean;
  /**
   * Whether the endpoints come from a routing table (outbound, gateway): only those are avoided
   * after a connect failure; a passthrough destination or the inbound side's app is never in a
   * pick, so an entry for it would only linger (ADR 0022).
   */
  routed?: boolean;
  /** The default retry's budget key: the rule, or the backend for a Service's default route. */
  group?: string | null;
  /** Aborted when the request timeout fires or the client goes away. */
  signal: AbortSignal;
  /** The request's telemetry event, when someone observes (attempt events are published). */
  event?: RequestEvent | null;
}

export interface AttemptDeps {
  pools: UpstreamPools;
  balancer: EndpointBalancer;
  /** Where the default retry's budget is found (by `group`); without it, no budget bounds it. */
  budgets?: RetryBudgets;
  random?: () => number;
}

export type AttemptOutcome =
  | {
    kind: 'response';
    response: UpstreamResponse;
    endpoint: EndpointIR;
    attempts: number;
    /** Stops the attempt's backendRequest timer; call when the body has been relayed. */
    finish: () => void;
    /** Aborted when the attempt's backendRequest timeout fires while streaming. */
    attemptSignal: AbortSignal;
  }
  | {
    kind: 'error';
    rejection: Rejection;
    attempts: number;
    /** The last attempt could not connect: the inbound side marks its 503 (UNREACHED_HEADER). */
    unreached?: boolean;
  };

interface Failure {
  rejection: Rejection;
  retriable: boolean;
  /** Why the attempt certainly did not reach an app (default-retry.ts), null when it may have. */
  cause: UnreachedCause | null;
}

function aborted(signal: AbortSignal): Rejection {
  return upstreamTimeout(String((signal.reason as Error | undefined)?.message ?? 'request aborted'));
}

function failureOf(err: unknown, signal: AbortSignal, attemptSignal: AbortSignal, method: string): Failure {
  if (signal.aborted) return { rejection: aborted(signal), retriable: false, cause: null };
  if (attemptSignal.reason instanceof BackendTimeoutError) return { rejection: upstreamTimeout(attemptSignal.reason.message), retriable: true, cause: null };
  // A resend after the keep-alive race (send-h1.ts, a ResendFailedError whose cause is the
  // resend's own error) went on a fresh connection: its failure is judged as any fresh
  // connection's here, by method (ADR 0024, 2026-12-07 n12): a refused connect for any method;
  // a loss before the response head for an idempotent one only, so a GET goes to another
  // endpoint and a POST that may have run is never sent elsewhere.
  return { rejection: upstreamUnavailable(`upstream connect error or reset: ${(err as Error)?.message ?? String(err)}`), retriable: true, cause: unreachedCause(err, method) };
}

/**
 * A 503 a peer meshlet answered itself because its app refused (ADR 0022): only a 503 is looked
 * at. The mark is removed from every 503, whoever sent it, and believed only from a meshed
 * endpoint: an app may relay a mark it got from a hop it reached by passthrough (no identity),
 * and an app's relayed 503 must never make its caller's sidecar resend a request that app ran.
 */
function peerUnreached(response: UpstreamResponse, endpoint: EndpointIR): boolean {
  if (response.status !== 503 || response.headers[UNREACHED_HEADER] === undefined) return false;
  delete response.headers[UNREACHED_HEADER];
  return endpoint.identity !== null;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function endpointOf(e: EndpointIR): Endpoint {
  return { address: e.address, port: e.port, identity: e.identity };
}

export async function runAttempts(deps: AttemptDeps, plan: AttemptPlan): Promise<AttemptOutcome> {
  const random = deps.random ?? Math.random;
  const defaults = plan.retry === null && plan.defaultRetry === true;
  const maxRetries = plan.retry?.attempts ?? (defaults ? DEFAULT_RETRIES : 0);
  let failed: EndpointIR | undefined;
  for (let attempt = 0; ; attempt++) {
    const attempts = attempt + 1;
    if (plan.signal.aborted) return { kind: 'error', rejection: aborted(plan.signal), attempts: attempt };
    const endpoint = deps.balancer.pick(plan.backend, failed);
    if (!endpoint) return { kind: 'error', rejection: noHealthyUpstream(`no ready endpoints for ${plan.backend.name}`), attempts: attempt };

    const ctrl = new AbortController();
    const onOuterAbort = (): void => ctrl.abort(plan.signal.reason);
    plan.signal.addEventListener('abort', onOuterAbort, { once: true });
    const timer = plan.backendRequestMs ? setTimeout(() => ctrl.abort(new BackendTimeoutError(plan.backendRequestMs!)), plan.backendRequestMs) : null;
    const finish = (): void => {
      if (timer) clearTimeout(timer);
      plan.signal.removeEventListener('abort', onOuterAbort);
    };
    // Every attempt, observed or not, writes into the request's one upstream header object (built
    // for this request by upstreamHeaders, and copied again by sendH1/sendH2, so an attempt in
    // flight never sees a later one's changes). No copy per observed attempt: what a subscriber
    // adds at attempt:start (the tracer's traceparent, x-request-id) it writes on every attempt,
    // as markPeerWorkload does.
    const headers = plan.headers;
    markPeerWorkload(headers, isMutualTls(endpoint, deps.pools.connectOptions));
    const request: AttemptRequest = {
      method: plan.method, authority: plan.authority, pathAndQuery: plan.pathAndQuery,
      headers, body: plan.body, signal: ctrl.signal,
    };
    // The attempt request doubles as the event's view of it (method, authority, path, headers).
    const ev = plan.event ? startAttemptEvent(plan.event, attempts, false, plan.backend.name, endpoint, request) : null;
    const done = deps.balancer.stats(endpoint).start();
    let response: UpstreamResponse | null = null;
    let failure: Failure | null = null;
    try {
      response = plan.protocol === 'h2'
        ? await sendH2(deps.pools, endpointOf(endpoint), request)
        : await sendH1(deps.pools, endpointOf(endpoint), request);
    } catch (err) {
      failure = failureOf(err, plan.signal, ctrl.signal, plan.method);
    }
    const cause = failure !== null ? failure.cause : peerUnreached(response!, endpoint) ? 'peer-unreached' : null;
    // Connect failures and resets count against the endpoint; timeouts already do by their RTT.
    done((failure !== null && failure.rejection.status === 503) || cause === 'peer-unreached');
    // An endpoint that cannot be reached is left out for a while (passive fail-fast); one that
    // answered is picked again (one size test while nothing is avoided).
    if (plan.routed === true && (cause === 'connect-failure' || cause === 'peer-unreached')) deps.balancer.avoid(endpoint);
    else if (failure === null) deps.balancer.reached(endpoint);
    if (ev) endAttemptEvent(ev, response?.status ?? failure!.rejection.status, failure?.rejection.detail ?? (cause !== null ? 'the peer could not reach its app' : null));

    const retriableStatus = response !== null && (plan.retry?.codes.includes(response.status) ?? false);
    // the default retry: only what certainly reached no app, and only to another endpoint
    const retriable = defaults ? cause !== null && deps.balancer.hasOther(plan.backend, endpoint) : failure ? failure.retriable : retriableStatus;
    const canRetry = retriable && attempt < maxRetries && replayable(plan.body) && !plan.signal.aborted
      && ((defaults ? deps.budgets?.forDefaultRetry(plan.group ?? null, plan.backend.name) : plan.budget)?.tryRetry() ?? true);
    if (!canRetry) {
      if (response) return { kind: 'response', response, endpoint, attempts, finish, attemptSignal: ctrl.signal };
      finish();
      return { kind: 'error', rejection: failure!.rejection, attempts, unreached: cause === 'connect-failure' };
    }
    response?.discard();
    finish();
    failed = endpoint;
    await sleep(retryDelayMs(plan.retry?.backoffMs, attempt, random), plan.signal);
  }
}
