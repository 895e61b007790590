// Jaeger v2 for the box: OTLP in (HTTP and gRPC), in-memory trace storage, the query API out.
// The config is written here instead of using the binary's built-in all-in-one config because
// that one binds a dozen fixed ports (4317, 4318, 16686, 8888, ...) that parallel runs would fight
// over; every port here is chosen free, on the host pods will reach it at (listenHost).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ComponentProcess, type Readiness } from './component-process.ts';

export interface JaegerPorts {
  otlpHttp: number;
  otlpGrpc: number;
  queryHttp: number;
  queryGrpc: number;
}

export interface JaegerOptions {
  bin: string;
  logsDir: string;
  configDir: string;
  listenHost: string;
  ports: JaegerPorts;
  timeoutMs: number;
  /** Called with the process as soon as it is spawned, so a failed start can still be stopped. */
  register: (p: ComponentProcess, ready: Readiness) => void;
}

export interface JaegerEndpoints {
  /** OTLP/HTTP base URL (the 4318-style endpoint): spans go to `${otlpUrl}/v1/traces`. */
  otlpUrl: string;
  /** OTLP/gRPC address, host:port. */
  otlpGrpcAddress: string;
  /** Query API base URL (the 16686-style endpoint): `${queryUrl}/api/traces/<id>`. */
  queryUrl: string;
}

export function jaegerConfig(host: string, ports: JaegerPorts): string {
  return stringify({
    service: {
      extensions: ['jaeger_storage', 'jaeger_query'],
      pipelines: { traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['jaeger_storage_exporter'] } },
      telemetry: { metrics: { level: 'none' }, logs: { level: 'info' } },
    },
    extensions: {
      jaeger_storage: { backends: { memstore: { memory: { max_traces: 100_000 } } } },
      jaeger_query: {
        storage: { traces: 'memstore' },
        // On by default, it exports the query service's own spans to localhost:4317, which is
        // not ours (our OTLP port is random) and could be another run's collector.
        enable_tracing: false,
        http: { endpoint: `${host}:${ports.queryHttp}` },
        grpc: { endpoint: `${host}:${ports.queryGrpc}` },
      },
    },
    receivers: {
      otlp: { protocols: { http: { endpoint: `${host}:${ports.otlpHttp}` }, grpc: { endpoint: `${host}:${ports.otlpGrpc}` } } },
    },
    processors: { batch: { timeout: '100ms' } },
    exporters: { jaeger_storage_exporter: { trace_storage: 'memstore' } },
  });
}

export async function startJaeger(opts: JaegerOptions): Promise<{ process: ComponentProcess; endpoints: JaegerEndpoints }> {
  const configPath = join(opts.configDir, 'jaeger.yaml');
  writeFileSync(configPath, jaegerConfig(opts.listenHost, opts.ports));
  const process = new ComponentProcess({ name: 'jaeger', bin: opts.bin, args: [`--config=${configPath}`] }, opts.logsDir);
  const endpoints: JaegerEndpoints = {
    otlpUrl: `http://${opts.listenHost}:${opts.ports.otlpHttp}`,
    otlpGrpcAddress: `${opts.listenHost}:${opts.ports.otlpGrpc}`,
    queryUrl: `http://${opts.listenHost}:${opts.ports.queryHttp}`,
  };
  const ready: Readiness = (p) => p.waitReady('serving OTLP and the query API', async () => {
    const query = await fetch(`${endpoints.queryUrl}/api/services`, { signal: AbortSignal.timeout(2000) });
    const otlp = await fetch(`${endpoints.otlpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"resourceSpans":[]}',
      signal: AbortSignal.timeout(2000),
    });
    return query.ok && otlp.ok;
  }, opts.timeoutMs);
  opts.register(process, ready);
  await ready(process);
  return { process, endpoints };
}
