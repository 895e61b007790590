// Reading traces back from the box's Jaeger through its query API (/api/traces/<id>), the way a
// user looks a trace up: the spans, each span's parent (its CHILD_OF reference), its kind tag,
// and the service that reported it. Shared by the cluster tests that assert on traces.
import { setTimeout as sleep } from 'node:timers/promises';

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  references: { refType: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags?: { key: string; value: unknown }[] }>;
}

export const parentOf = (s: JaegerSpan): string | undefined => s.references.find((r) => r.refType === 'CHILD_OF')?.spanID;

export const spanKind = (s: JaegerSpan): unknown => s.tags.find((t) => t.key === 'span.kind')?.value;

/** The trace id in a W3C traceparent header value (`00-<trace>-<span>-<flags>`). */
export function traceIdOf(traceparent: string): string {
  const m = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent);
  if (!m?.[1]) throw new Error(`not a W3C traceparent: '${traceparent}'`);
  return m[1];
}

/**
 * The trace once Jaeger holds at least `spans` of its spans (exporters batch, Jaeger batches
 * 100 ms): polled every 200 ms within timeoutMs. Whatever was there last is returned then, or
 * undefined when the trace never appeared, so the caller's assertion says what was missing.
 */
export async function waitForTrace(queryUrl: string, traceId: string, spans: number, timeoutMs = 10_000): Promise<JaegerTrace | undefined> {
  const deadline = Date.now() + timeoutMs;
  let trace: JaegerTrace | undefined;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${queryUrl}/api/traces/${traceId}`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) trace = ((await r.json()) as { data: JaegerTrace[] }).data[0];
    } catch {
      // not there yet, or Jaeger busy: poll again
    }
    if ((trace?.spans.length ?? 0) >= spans) return trace;
    await sleep(200);
  }
  return trace;
}
