// A sidecar connection's context, read at accept time: where the connection was originally
// going (SO_ORIGINAL_DST after interception; injected so tests and `meshlet dev` need no
// iptables) and who is calling. Inbound and outbound both route on it.
import type net from 'node:net';

export interface OriginalDst {
  address: string;
  port: number;
  /**
   * Taken as redirected even when it equals the listener's own address (`meshlet dev`: each
   * pod's sidecar listens on the pod's own address and port, where callers connect).
   */
  redirected?: boolean;
}

export interface ConnCtx {
  original: OriginalDst | null;
  remoteAddress: string;
  /** On-demand subscription in flight for this connection's destination (outbound only). */
  asking?: Promise<void> | null;
  /**
   * Why this connection's destination is unresolved (the controller has not answered for it):
   * set when an on-demand ask ended unanswered; requests are refused until an answer comes.
   */
  unresolved?: string | null;
  /** The caller's verified SPIFFE ID, on an inbound connection that arrived over mesh mTLS. */
  peer?: string | null;
}

export type OriginalDestinationFn = (socket: net.Socket) => OriginalDst | null;

function sameAsListener(od: OriginalDst, socket: net.Socket): boolean {
  return od.port === socket.localPort && (od.address === socket.localAddress || `::ffff:${od.address}` === socket.localAddress);
}

/**
 * Builds the accept-time context reader. A connection addressed to the listener itself (no
 * redirect happened) has no original destination; a failing lookup is treated the same way.
 */
export function connectionContext(originalDestination?: OriginalDestinationFn): (socket: net.Socket) => ConnCtx {
  const find = (socket: net.Socket): OriginalDst | null => {
    try {
      const od = originalDestination?.(socket) ?? null;
      return od && (od.redirected || !sameAsListener(od, socket)) ? { address: od.address, port: od.port } : null;
    } catch {
      return null;
    }
  };
  return (socket) => ({ original: find(socket), remoteAddress: socket.remoteAddress ?? '' });
}
