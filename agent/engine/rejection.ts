// The proxy's own refusals, each decided where the proxy rejects a request: its status, the
// text a client may read (meshlet-reason, the body, grpc-message) and the detail for the log.
// A 5xx's public text is fixed per cause, as Envoy's is: its detail names upstream addresses
// and internal objects, so it stays in the agent's log. A 4xx describes the client's own
// request, so its text is the detail. The public text is chosen here, by the code that knows
// the cause, never recovered later from the log wording.

/** A refusal: `reason` is what the client reads, `detail` what the log says. */
export interface Rejection {
  readonly status: number;
  readonly reason: string;
  readonly detail: string;
}

/** A 4xx (or a redirect): the text describes the client's own request and is shown as is. */
export function clientError(status: number, text: string): Rejection {
  if (status >= 500) throw new RangeError(`clientError(${status}): a 5xx needs a public reason of its own`);
  return { status, reason: text, detail: text };
}

/** The backend has no endpoint ready to take the request. */
export function noHealthyUpstream(detail: string): Rejection {
  return { status: 503, reason: 'no healthy upstream', detail };
}

/**
 * On demand, the controller has not answered for this destination yet. Says nothing about the
 * cluster, and tells the caller a retry may succeed shortly.
 */
export function notResolvedYet(detail: string): Rejection {
  return { status: 503, reason: 'destination not resolved yet: no answer from the mesh controller', detail };
}

/** The upstream could not be reached or reset before answering (also: no table yet). */
export function upstreamUnavailable(detail: string): Rejection {
  return { status: 503, reason: 'upstream connect error or disconnect/reset before headers', detail };
}

/** The upstream did not answer in time (a backend or request timeout). */
export function upstreamTimeout(detail: string): Rejection {
  return { status: 504, reason: 'upstream request timeout', detail };
}

/** Broken configuration or a bug in the proxy: nothing the client can act on. */
export function internalError(detail: string): Rejection {
  return { status: 500, reason: 'internal error', detail };
}

/** Before the routing table arrived, every request is refused as an unreachable upstream. */
export function noRoutingTable(): Rejection {
  return upstreamUnavailable('no routing table yet');
}

/**
 * An answer whose status the routing table chose (a rule's Respond action, the matcher's 404
 * and 421, redirects): 4xx and 3xx texts are the client's; a 5xx gets its status's generic text.
 */
export function routeAnswer(status: number, detail: string): Rejection {
  if (status < 500) return clientError(status, detail);
  if (status === 500) return internalError(detail);
  if (status === 503) return upstreamUnavailable(detail);
  if (status === 504) return upstreamTimeout(detail);
  return { status, reason: 'upstream error', detail };
}

/** A public reason as a header value (meshlet-reason): printable ASCII, bounded. */
export function reasonHeader(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}
