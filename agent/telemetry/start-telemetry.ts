// One entry point for the runners: metrics for the admin port, traces to an OTLP collector,
// access logs to stdout, each switched by configuration, all fed by the same events.
import { POD_ENV, MESHLET_ENV } from '../../api/pod-env.ts';
import { metric } from '../../common/prometheus.ts';
import { parseAccessLogFormat, startAccessLog, type AccessLog, type AccessLogFormat } from './access-log.ts';
import { startMeshMetrics, type MeshMetrics } from './metrics/index.ts';
import { createRequire } from 'node:module';
import type * as TracingModule from './tracing/index.ts';
import type { RequestTracer, TraceProvider } from './tracing/index.ts';
import { propagatorNames } from './tracing/propagator-names.ts';
import { samplingPolicy } from './tracing/sampling.ts';
import { startPeerWorkload } from './peer-workload.ts';
import { workloadFromPodName, type Workload } from './workload.ts';

export type Env = Record<string, string | undefined>;

export interface TelemetryConfig {
  role: 'sidecar' | 'ingress';
  self: Workload;
  env: Env;
  metrics: boolean;
  accessLog: AccessLogFormat | null;
  /** OTLP base URL from a flag; the OTEL_EXPORTER_OTLP_* variables otherwise. */
  otlpEndpoint: string | null;
  /** Root sampling ratio when OTEL_TRACES_SAMPLER_ARG does not say: 0.01 in a cluster, 1 in dev. */
  defaultSamplingRatio: number;
  maxSeries?: number;
  log: (line: string) => void;
  /** Where access log lines go (stdout unless a test says otherwise). */
  writeAccessLog?: (chunk: string) => void;
}

export interface Telemetry {
  /** Prometheus text for the admin port's /metrics. */
  metrics: () => string;
  /** Whether spans are exported, and with which protocol, for the runner's start-up line. */
  tracing: string | null;
  shutdown: () => Promise<void>;
}

export interface TelemetryFlags {
  accessLog?: string;
  traceSampling?: string;
  otlp?: string;
}

/** The config a runner builds from its environment and flags (flags win). */
export function telemetryConfigFromEnv(role: TelemetryConfig['role'], env: Env, flags: TelemetryFlags, defaultSamplingRatio: number, log: (l: string) => void): TelemetryConfig {
  const pod = env[POD_ENV.podName] ?? env.HOSTNAME ?? '';
  const namespace = env[POD_ENV.podNamespace] ?? 'default';
  // The injector's name from the pod's owner; else a guess from the pod name. OTEL_SERVICE_NAME
  // renames the trace resource only (provider.ts): metric labels keep the workload.
  const name = env[MESHLET_ENV.workloadName] || (pod ? workloadFromPodName(pod) : `meshlet-${role}`);
  const sa = env[POD_ENV.serviceAccount];
  const td = env[MESHLET_ENV.trustDomain] ?? 'cluster.local';
  return {
    role, env, log, defaultSamplingRatio,
    self: { name, namespace, pod, principal: sa ? `spiffe://${td}/ns/${namespace}/sa/${sa}` : '' },
    metrics: true,
    accessLog: parseAccessLogFormat(flags.accessLog ?? env[MESHLET_ENV.accessLog]),
    otlpEndpoint: flags.otlp ?? null,
    ...(flags.traceSampling !== undefined ? { env: { ...env, OTEL_TRACES_SAMPLER_ARG: flags.traceSampling } } : {}),
  };
}

type Tracing = typeof TracingModule;
let tracingModule: Tracing | null = null;

/**
 * The OpenTelemetry SDK and exporters (~600 module files, ~20 MB of an agent's idle RSS, ADR
 * 0012) are loaded only when spans are exported. require() of the ES module keeps
 * startTelemetry synchronous for its callers; runners call it before dropping privileges, so
 * the files are read while they are readable (agent/engine/preload.ts). The module's own
 * extension: .ts from the sources, .js from dist/.
 */
function loadTracing(): Tracing {
  tracingModule ??= createRequire(import.meta.url)(`./tracing/index${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`) as Tracing;
  return tracingModule;
}

function tracingWanted(c: TelemetryConfig): boolean {
  if (c.env.OTEL_SDK_DISABLED === 'true' || c.env.OTEL_TRACES_EXPORTER === 'none') return false;
  return Boolean(c.otlpEndpoint || c.env.OTEL_EXPORTER_OTLP_ENDPOINT || c.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

export function startTelemetry(c: TelemetryConfig): Telemetry {
  const metrics: MeshMetrics | null = c.metrics ? startMeshMetrics(c.self, c.maxSeries) : null;
  // Peers label requests with this workload only if it tells them (peer-workload.ts).
  const stopPeerWorkload = startPeerWorkload(c.self);
  let provider: TraceProvider | null = null;
  let tracer: RequestTracer | null = null;
  // Parsed even when nothing is exported, so a bad setting is refused at start, not later.
  const policy = samplingPolicy(c.env, c.defaultSamplingRatio);
  propagatorNames(c.env);
  if (tracingWanted(c)) {
    const { propagationFromEnv, startRequestTracer, startTraceProvider } = loadTracing();
    const propagation = propagationFromEnv(c.env);
    provider = startTraceProvider({
      env: c.env, log: c.log, ...(c.otlpEndpoint ? { endpoint: c.otlpEndpoint } : {}),
      resource: { 'service.name': c.self.name, 'k8s.namespace.name': c.self.namespace, 'k8s.pod.name': c.self.pod, 'meshlet.role': c.role },
    });
    tracer = startRequestTracer(provider.sink, policy, propagation);
  }
  const access: AccessLog | null = c.accessLog
    ? startAccessLog({ format: c.accessLog, ...(c.writeAccessLog ? { write: c.writeAccessLog } : {}), ...(tracer ? { traceIdOf: tracer.traceIdOf } : {}) })
    : null;
  const p = provider;
  return {
    tracing: p ? `${c.otlpEndpoint ?? c.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? c.env.OTEL_EXPORTER_OTLP_ENDPOINT} (${p.protocol})` : null,
    metrics: () => (metrics?.render() ?? '')
      + (p ? metric('meshlet_trace_spans_exported_total', 'counter', 'Spans the collector accepted.', p.exported())
        + metric('meshlet_trace_spans_failed_total', 'counter', 'Spans lost because an export failed (collector unreachable or refusing).', p.failed())
        + metric('meshlet_trace_spans_dropped_total', 'counter', 'Spans dropped because the export queue (OTEL_BSP_MAX_QUEUE_SIZE) was full.', p.dropped()) : '')
      + (access ? metric('meshlet_access_log_dropped_total', 'counter', 'Access log lines dropped because stdout could not keep up.', access.dropped()) : ''),
    shutdown: async () => {
      metrics?.stop();
      stopPeerWorkload();
      tracer?.stop();
      access?.stop();
      await p?.shutdown();
    },
  };
}
