// The matcher's contract: what a request looks like to routing, where it was headed, and the
// decision that comes back. The data plane builds a RequestDescriptor from the wire, asks
// route(), then executes the decision; `meshlet explain` and the golden tests ask the same
// function, so what they print is what the proxy does.
import type {
  HeaderModifierIR, RetryIR, RouteRuleIR, TimeoutsIR, WeightedBackendIR,
} from '../../api/routing-table.ts';

export interface RequestDescriptor {
  /** Upper case, as received. */
  method: string;
  scheme: 'http' | 'https';
  /** Host header / :authority, possibly with a port; compared case-insensitively, port ignored. */
  authority: string;
  /** The request target's path, percent-encoded as received, without the query string. */
  path: string;
  /** Raw query string without the leading '?', '' when absent. */
  query: string;
  /** Header names lower case; repeated headers as arrays (HTTP/1 or HTTP/2 alike). */
  headers: Record<string, string | string[]>;
}

/** Where the request was going: picks the listener or the Service frontend whose routes apply. */
export type RouteTarget =
  | {
    kind: 'gateway';
    /** GatewayIR.name (`gateway/<ns>/<name>`). */
    gateway: string;
    /** The listener port the connection arrived on. */
    port: number;
    /**
     * TLS server name (SNI) of an HTTPS connection. When set, the listener is the one the SNI
     * selected (the certificate was chosen the same way), and a request whose Host that
     * listener does not accept is answered 421 Misdirected Request (GEP-3567); the Host then
     * only picks the virtual host within that listener.
     */
    serverName?: string | null;
  }
  | {
    kind: 'mesh';
    /** Original destination (ClusterIP and port) of the connection. */
    address: string;
    port: number;
    /** Namespace of the calling pod: selects consumer routes. */
    clientNamespace: string;
  };

/** The request as it must be sent upstream, after the rule's and the backend's filters. */
export interface UpstreamRequest {
  method: string;
  authority: string;
  /** Path plus `?query` when there is one. */
  pathAndQuery: string;
  headers: Record<string, string | string[]>;
}

export interface MirrorDecision {
  backend: string;
  percent: number;
}

export type Decision =
  /** Send upstream: pick one of `backends` by weight (agent/balance), then apply its filters. */
  | {
    type: 'forward';
    rule: RouteRuleIR | null;
    /** After rule-level filters; backend-level filters are applied by applyBackendFilters(). */
    request: UpstreamRequest;
    backends: WeightedBackendIR[];
    /** Rule-level response header modifiers, in order. */
    responseHeaders: HeaderModifierIR[];
    mirrors: MirrorDecision[];
    timeouts: TimeoutsIR | null;
    retry: RetryIR | null;
  }
  /** Answer directly: redirects (with Location), 404 when no rule matches, 500 for broken rules. */
  | {
    type: 'respond';
    rule: RouteRuleIR | null;
    status: number;
    headers: Record<string, string>;
    /** Why, for logs and `meshlet explain`. */
    reason: string;
  }
  /** Not a destination the table knows (e.g. a pod IP or an external address): forward as is. */
  | { type: 'passthrough'; reason: string };
