// The OpenTelemetry side of tracing: resource, batch processor and OTLP/HTTP exporter, all
// configured from the standard OTEL_* variables (the exporters read endpoint, headers and
// timeout themselves; BatchSpanProcessor reads OTEL_BSP_*). Export never blocks a request:
// the batch queue is bounded and drops when full; failures are counted and logged at most
// once a minute.
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import type { Tracer } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { MeshletError } from '../../../api/errors.ts';

export class OtlpProtocolUnsupportedError extends MeshletError {
  constructor(protocol: string) {
    super('E_OTLP_PROTOCOL_UNSUPPORTED', `OTLP protocol "${protocol}" is not supported: use http/protobuf (default) or http/json`);
  }
}

export interface ProviderOptions {
  env: Record<string, string | undefined>;
  /** OTLP base URL (the exporter appends /v1/traces); otherwise the OTEL_* endpoint variables. */
  endpoint?: string;
  /** Resource attributes meshlet knows (service.name, k8s.*); OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME win. */
  resource: Record<string, string>;
  log: (line: string) => void;
}

export interface TraceProvider {
  tracer: Tracer;
  protocol: string;
  exported: () => number;
  failed: () => number;
  shutdown: () => Promise<void>;
}

export function otlpProtocol(env: Record<string, string | undefined>): 'http/protobuf' | 'http/json' {
  const p = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (p === 'http/protobuf' || p === 'http/json') return p;
  throw new OtlpProtocolUnsupportedError(p);
}

const LOG_EVERY_MS = 60_000;

export function startTraceProvider(opts: ProviderOptions): TraceProvider {
  const protocol = otlpProtocol(opts.env);
  const timeout = Number(opts.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT || opts.env.OTEL_EXPORTER_OTLP_TIMEOUT);
  const cfg = {
    ...(opts.endpoint ? { url: `${opts.endpoint.replace(/\/+$/, '')}/v1/traces` } : {}),
    ...(timeout > 0 ? { timeoutMillis: timeout } : {}),
  };
  const inner: SpanExporter = protocol === 'http/json' ? new JsonExporter(cfg) : new ProtoExporter(cfg);
  let exported = 0;
  let failed = 0;
  let lastLog = 0;
  const counting: SpanExporter = {
    export: (spans: ReadableSpan[], done) => inner.export(spans, (r) => {
      if (r.code === ExportResultCode.SUCCESS) exported += spans.length;
      else {
        failed += spans.length;
        const now = Date.now();
        if (now - lastLog >= LOG_EVERY_MS) { lastLog = now; opts.log(`trace export failed (${spans.length} spans): ${r.error?.message ?? 'unknown error'}`); }
      }
      done(r);
    }),
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
  const detected = detectResources({ detectors: [envDetector] });
  const resource = resourceFromAttributes(opts.resource).merge(detected);
  const provider = new BasicTracerProvider({
    resource,
    // The sampling decision is taken before a span is asked for (sampling.ts): every span
    // the tracer is asked to start is one we want.
    sampler: new AlwaysOnSampler(),
    spanProcessors: [new BatchSpanProcessor(counting)],
  });
  return {
    tracer: provider.getTracer('meshlet'),
    protocol,
    exported: () => exported,
    failed: () => failed,
    // Spans still queued at exit are best effort: a collector that is down must not fail a stop.
    shutdown: () => provider.shutdown().catch((e: unknown) => { opts.log(`trace export at shutdown failed: ${(e as Error).message}`); }),
  };
}
