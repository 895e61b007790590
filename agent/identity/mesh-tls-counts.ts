// Process-wide counts of the mesh hop's TLS handshakes, full and resumed, on each side (issue 16,
// ADR 0020): a handshake costs milliseconds of CPU where a request costs ~0.1 ms, so a benchmark
// window or a dashboard that shows requests/s without them cannot tell a busy hop from a hop
// that reconnects. Plain counters bumped where the handshake completes (connect.ts on the
// client, createInboundTlsServer on the server) and read by the admin /metrics text.
export interface MeshTlsCounts {
  /** Outbound mesh connections whose handshake completed and whose peer was verified. */
  clientFull: number;
  clientResumed: number;
  /** Inbound mesh connections whose handshake completed (verified or refused afterwards). */
  serverFull: number;
  serverResumed: number;
}

export const meshTlsCounts: MeshTlsCounts = { clientFull: 0, clientResumed: 0, serverFull: 0, serverResumed: 0 };
