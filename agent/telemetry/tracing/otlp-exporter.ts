// The OTLP/HTTP protobuf trace exporter: the SDK's own transport (endpoint, headers, timeout,
// retries, compression, response handling: exporter-trace-otlp-proto's OTLPTraceExporter, built
// the same way) with meshlet's encoder for its span records (otlp-protobuf.ts) in place of the
// SDK's serializer, which still encodes any batch the encoder declines.
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, TraceExporterMetricsHelper, type IExportTraceServiceResponse, type ISerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { encodeTraceRequest } from './otlp-protobuf.ts';

export const traceSerializer: ISerializer<ReadableSpan[], IExportTraceServiceResponse> = {
  serializeRequest: (spans) => encodeTraceRequest(spans) ?? ProtobufTraceSerializer.serializeRequest(spans),
  deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
};

export interface ExporterConfig {
  url?: string;
  headers?: Record<string, string>;
  timeoutMillis?: number;
}

export function protobufTraceExporter(config: ExporterConfig): SpanExporter {
  return new OTLPExporterBase(createOtlpHttpExportDelegate(
    convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
    traceSerializer, 'otlp_http_span_exporter', TraceExporterMetricsHelper, undefined,
  ));
}
