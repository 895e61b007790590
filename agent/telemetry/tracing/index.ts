// agent/telemetry/tracing: distributed traces for every hop. Sampling is decided per request
// before any span exists (sampling.ts); trace context is read and written in W3C and B3
// (propagation.ts); spans follow the OTel HTTP conventions (span-attributes.ts), are recorded as
// meshlet's own ReadableSpan records (span-record.ts) and exported over OTLP/HTTP by the
// OpenTelemetry SDK's batch processor and exporters (provider.ts).
export { startRequestTracer, type RequestTracer } from './tracer.ts';
export { SpanRecord, type SpanSink } from './span-record.ts';
export { startTraceProvider, otlpProtocol, otlpTracesUrl, resourceFromEnv, OtlpProtocolUnsupportedError, type TraceProvider, type ProviderOptions } from './provider.ts';
export { samplingPolicy, shouldSample, TraceSamplerInvalidError, type SamplingPolicy } from './sampling.ts';
export { spanName, serverAttributes, clientAttributes, isServerError, isClientError } from './span-attributes.ts';
export { extract, inject, b3FormOf, propagationFromEnv, DEFAULT_PROPAGATION, TracePropagatorUnsupportedError, type Propagation } from './propagation.ts';
