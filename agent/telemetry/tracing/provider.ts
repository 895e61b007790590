// The OpenTelemetry side of tracing: resource, batch processor and OTLP/HTTP exporter, all
// configured from the standard OTEL_* variables. Spans are meshlet's own records (span-record.ts,
// the SDK's ReadableSpan): no SDK tracer or span objects (ADR 0018). For http/protobuf (the
// default) a span is encoded when it ends and waits as bytes in meshlet's span queue
// (span-queue.ts), exported by the SDK's transport; for http/json the records go to the SDK's
// batch processor and JSON exporter. Endpoint, headers, timeout and resource are
// read here from the env we are given (the SDK's own readers only see process.env, and the
// runners and tests pass their own), and so are OTEL_BSP_*. Export never blocks a request:
// the batch queue is bounded and drops when full; failures are counted and logged at most
// once a minute.
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ExportResultCode, parseKeyPairsIntoRecord, type ExportResult } from '@opentelemetry/core';
import { MeshletError } from '../../../api/errors.ts';
import { protobufTraceExporter } from './otlp-exporter.ts';
import { batchFraming } from './otlp-protobuf.ts';
import { startSpanQueue } from './span-queue.ts';
import type { SpanRecord, SpanSink } from './span-record.ts';

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
  /** Where the tracer's ended spans go: the bounded export queue. */
  sink: SpanSink;
  protocol: string;
  exported: () => number;
  failed: () => number;
  /** Spans dropped because the export queue was full (collector slower than traffic). */
  dropped: () => number;
  shutdown: () => Promise<void>;
}

export function otlpProtocol(env: Record<string, string | undefined>): 'http/protobuf' | 'http/json' {
  const p = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (p === 'http/protobuf' || p === 'http/json') return p;
  throw new OtlpProtocolUnsupportedError(p);
}

/** The spec's rules: a per-signal endpoint is used as is; the general one gets /v1/traces appended. */
export function otlpTracesUrl(env: Record<string, string | undefined>, flag?: string): string | null {
  if (flag) return `${flag.replace(/\/+$/, '')}/v1/traces`;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : null;
}

/** OTEL_RESOURCE_ATTRIBUTES (percent-encoded k=v list), then OTEL_SERVICE_NAME, which wins. */
export function resourceFromEnv(env: Record<string, string | undefined>): Record<string, string> {
  const attrs = parseKeyPairsIntoRecord(env.OTEL_RESOURCE_ATTRIBUTES);
  const name = env.OTEL_SERVICE_NAME?.trim();
  return name ? { ...attrs, 'service.name': name } : attrs;
}

function positiveInt(v: string | undefined): number | null {
  const n = Number(v);
  return v !== undefined && Number.isInteger(n) && n > 0 ? n : null;
}

const LOG_EVERY_MS = 60_000;

export function startTraceProvider(opts: ProviderOptions): TraceProvider {
  const protocol = otlpProtocol(opts.env);
  const timeout = Number(opts.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT || opts.env.OTEL_EXPORTER_OTLP_TIMEOUT);
  const url = otlpTracesUrl(opts.env, opts.endpoint);
  const headers = { ...parseKeyPairsIntoRecord(opts.env.OTEL_EXPORTER_OTLP_HEADERS), ...parseKeyPairsIntoRecord(opts.env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) };
  const cfg = {
    ...(url ? { url } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(timeout > 0 ? { timeoutMillis: timeout } : {}),
  };
  let exported = 0;
  let failed = 0;
  let dropped = 0;
  let lastLog = 0;
  const counted = (count: number, r: ExportResult): void => {
    if (r.code === ExportResultCode.SUCCESS) { exported += count; return; }
    failed += count;
    const now = Date.now();
    if (now - lastLog >= LOG_EVERY_MS) { lastLog = now; opts.log(`trace export failed (${count} spans): ${r.error?.message ?? 'unknown error'}`); }
  };
  // The batch processor's settings, from OTEL_BSP_* as the SDK reads them.
  const maxQueue = positiveInt(opts.env.OTEL_BSP_MAX_QUEUE_SIZE) ?? 2048;
  const batchSize = Math.min(positiveInt(opts.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE) ?? 512, maxQueue);
  const delayMs = positiveInt(opts.env.OTEL_BSP_SCHEDULE_DELAY) ?? 5000;
  const exportTimeoutMs = positiveInt(opts.env.OTEL_BSP_EXPORT_TIMEOUT) ?? 30_000;
  const resource = resourceFromAttributes({ ...opts.resource, ...resourceFromEnv(opts.env) });
  const scope = { name: 'meshlet' };
  let end: (span: SpanRecord) => void;
  let stop: () => Promise<void>;
  if (protocol === 'http/protobuf') {
    // Spans are encoded when they end and wait as bytes (span-queue.ts): a full queue drops.
    const inner = protobufTraceExporter(cfg);
    const queue = startSpanQueue({
      framing: batchFraming(resource, scope), maxQueue, batchSize, delayMs, exportTimeoutMs,
      exporter: { export: (b, done) => { inner.export(b, (r) => { counted(b.count, r); done(r); }); }, shutdown: () => inner.shutdown() },
    });
    end = (span) => { if (!queue.add(span)) dropped++; };
    stop = () => queue.shutdown();
  } else {
    // http/json: the SDK's batch processor and JSON exporter over the span records. The
    // processor drops when its queue is full but only logs it, so the bound is kept here, with
    // the same size: spans ended and not yet handed to the exporter are the queue.
    const inner: SpanExporter = new JsonExporter(cfg);
    let queued = 0;
    const counting: SpanExporter = {
      export: (spans: ReadableSpan[], done) => { queued -= spans.length; inner.export(spans, (r) => { counted(spans.length, r); done(r); }); },
      shutdown: () => inner.shutdown(),
      forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
    };
    const bsp = new BatchSpanProcessor(counting, { maxQueueSize: maxQueue, maxExportBatchSize: batchSize, scheduledDelayMillis: delayMs, exportTimeoutMillis: exportTimeoutMs });
    end = (span) => {
      if (queued >= maxQueue) { dropped++; return; }
      queued++;
      bsp.onEnd(span);
    };
    stop = () => bsp.shutdown();
  }
  const sink: SpanSink = { resource, scope, end };
  return {
    sink,
    protocol,
    exported: () => exported,
    failed: () => failed,
    dropped: () => dropped,
    // Spans still queued at exit are best effort: a collector that is down must not fail a stop.
    shutdown: () => stop().catch((e: unknown) => { opts.log(`trace export at shutdown failed: ${(e as Error).message}`); }),
  };
}
