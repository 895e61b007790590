// The OTLP/HTTP protobuf trace exporter: the SDK's own transport (endpoint, headers, timeout,
// retries, compression, response handling: exporter-trace-otlp-proto's OTLPTraceExporter, built
// the same way), given batches the span queue has already encoded (span-queue.ts,
// otlp-protobuf.ts) instead of span objects for the SDK's serializer.
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, type IExportTraceServiceResponse, type ISerializer } from '@opentelemetry/otlp-transformer';
import type { BatchExporter, EncodedBatch } from './span-queue.ts';

export const batchSerializer: ISerializer<EncodedBatch, IExportTraceServiceResponse> = {
  serializeRequest: (batch) => batch.bytes,
  deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
};

/** The SDK's exporter self-metrics count a batch's spans (its TraceExporterMetricsHelper counts an array's). */
const batchMetrics = { name: 'span' as const, countItems: (batch: EncodedBatch): number => batch.count };

export interface ExporterConfig {
  url?: string;
  headers?: Record<string, string>;
  timeoutMillis?: number;
}

export function protobufTraceExporter(config: ExporterConfig): BatchExporter {
  return new OTLPExporterBase<EncodedBatch>(createOtlpHttpExportDelegate(
    convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
    batchSerializer, 'otlp_http_span_exporter', batchMetrics, undefined,
  ));
}
