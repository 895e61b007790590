// Options of the sidecar's outbound side, and the little it must know about its own listeners.
import type { OriginalDestinationFn } from '../listener/connection-context.ts';
import type { ClusterNetworks } from './cluster-networks.ts';

export interface ProxyListenerHost {
  /** Bind address of the sidecar's listeners. */
  bind: string;
  /** Ports the sidecar itself listens on (filled in as listeners bind). */
  ownPorts: Set<number>;
}

export interface ListenerTimeouts {
  detectTimeoutMs?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** HTTP/1.1 on the fast path (ADR 0017); default: on unless MESHLET_H1_FAST=0. */
  h1Fast?: boolean;
}

export interface OutboundOptions extends ListenerTimeouts {
  /** The pod's namespace: selects consumer routes. */
  namespace: string;
  port: number;
  host: ProxyListenerHost;
  originalDestination?: OriginalDestinationFn;
  /** Serve explicitly addressed outbound requests (Host / absolute-form / CONNECT). */
  explicit?: boolean;
  /**
   * Controller mode (on-demand subscription): awaited before routing an outbound connection
   * whose original destination is not in the table, so the first call to a Service waits for
   * its routes; it must settle in bounded time and never reject. It resolves true once the
   * controller has answered for the destination (in the table, or not a mesh destination: then
   * passed through), false when no answer came: the connection is refused (503 / closed), never
   * passed through, since a meshed Service's workloads may require mTLS (fail closed).
   */
  onUnknownDestination?: (address: string, port: number) => Promise<boolean>;
  /**
   * Where mesh Services can live: only a destination inside these ranges is asked about (and
   * refused while unanswered); one outside passes straight through. Unset: every destination.
   */
  clusterNetworks?: ClusterNetworks;
}
