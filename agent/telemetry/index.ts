// agent/telemetry: how the data plane is observed. events.ts publishes every request, attempt
// and tunnel on node:diagnostics_channel (nothing is built when nobody subscribes); the
// subscribers (metrics served on the admin port, traces exported over OTLP, access logs) live
// beside it and never reach into the engine. startTelemetry wires the subscribers a runner wants.
export * from './events.ts';
export { startRequestEvent, startAttemptEvent, endAttemptEvent, startTunnelEvent, endTunnelEvent, type AttemptTarget } from './build-events.ts';
export { startTelemetry, telemetryConfigFromEnv, type Telemetry, type TelemetryConfig, type TelemetryFlags } from './start-telemetry.ts';
export { parseAccessLogFormat, AccessLogFormatInvalidError, type AccessLogFormat } from './access-log.ts';
export { workloadFromPodName, type Workload } from './workload.ts';
export { PEER_WORKLOAD_HEADER } from './peer-workload.ts';
