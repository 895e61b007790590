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
