// The listener options both sidecar sides (and their tests) build the same way: where to bind,
// the slow-client timeouts, and where refusals are logged.
import type { ListenerOptions } from './proxy-listener.ts';

export interface SideListenerSettings {
  host: string;
  port: number;
  detectTimeoutMs?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export function sideListenerOptions<C>(s: SideListenerSettings, warn: (msg: string) => void): Omit<ListenerOptions<C>, 'handlers'> {
  return {
    host: s.host,
    port: s.port,
    detectTimeoutMs: s.detectTimeoutMs,
    headersTimeoutMs: s.headersTimeoutMs,
    requestTimeoutMs: s.requestTimeoutMs,
    log: warn,
  };
}
