// Who may use explicit outbound mode, and what it may address.
import type { ProxyListenerHost } from './types.ts';

/**
 * Explicit mode makes the outbound listener a proxy for whoever can reach it; only the pod's
 * own processes (loopback) may use it, or a peer dialling podIP:15001 would get an open proxy
 * into the pod's network (SSRF to metadata services, the kubelet, the pod's localhost).
 */
export function isLoopbackPeer(address: string): boolean {
  return /^(?:::ffff:)?127\./.test(address) || address === '::1';
}

/** `Host: 127.0.0.1:15001` in explicit mode would make the sidecar call itself forever. */
export function isSelf(host: ProxyListenerHost, address: string, port: number): boolean {
  return host.ownPorts.has(port)
    && (address === host.bind || host.bind === '0.0.0.0' || host.bind === '::' || address.startsWith('127.') || address === '::1' || address === 'localhost');
}
