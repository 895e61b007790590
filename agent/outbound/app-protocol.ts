// A Service port's appProtocol says what the client speaks, so detection (and its wait on
// server-first protocols) is skipped. Unknown values fall back to detection.
import type { DetectedProtocol } from '../listener/detect.ts';

const APP_PROTOCOL_HINTS: Record<string, DetectedProtocol> = {
  'http': 'http1', 'kubernetes.io/ws': 'http1', 'grpc-web': 'http1',
  'kubernetes.io/h2c': 'h2c', 'grpc': 'h2c', 'h2c': 'h2c', 'http2': 'h2c',
  'https': 'tls', 'kubernetes.io/wss': 'tls', 'tls': 'tls',
  // Server-first or binary protocols: straight to opaque TCP, no detection delay.
  'tcp': 'tcp', 'mysql': 'tcp', 'postgres': 'tcp', 'postgresql': 'tcp', 'redis': 'tcp', 'mongo': 'tcp',
  'mongodb': 'tcp', 'kafka': 'tcp', 'amqp': 'tcp', 'smtp': 'tcp', 'nats': 'tcp',
};

export function protocolForAppProtocol(appProtocol: string | null | undefined): DetectedProtocol | null {
  return appProtocol ? (APP_PROTOCOL_HINTS[appProtocol.toLowerCase()] ?? null) : null;
}

/** Port-name prefixes that say HTTP (Istio's convention: `http-web`, `grpc`, `http2-api`). */
const HTTP_PORT_NAME = /^(http|http2|grpc|grpc-web|h2c)(-|$)/i;

/**
 * A Service port known to carry HTTP of some version: HTTPRoutes or GRPCRoutes are attached to
 * it, or its name says so. Detection still tells HTTP/1.1 from h2c there, but a slow first byte
 * is waited for instead of being taken for a server-first protocol (issue 15).
 */
export function declaresHttp(port: { portName: string | null; producer: unknown; consumers: readonly unknown[] }): boolean {
  return port.producer !== null || port.consumers.length > 0 || (port.portName !== null && HTTP_PORT_NAME.test(port.portName));
}
