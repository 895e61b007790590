// Options of the sidecar's outbound side, and the little it must know about its own listeners.
import type { OriginalDestinationFn } from '../listener/connection-context.ts';

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
   * its routes; it must settle quickly (bounded by the caller) and never reject.
   */
  onUnknownDestination?: (address: string, port: number) => Promise<void>;
}
