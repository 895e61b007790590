// OTEL_PROPAGATORS read and checked without OpenTelemetry: an agent that exports no spans still
// refuses a bad setting at start (start-telemetry.ts), and must not load the SDK to do so.
import { MeshletError } from '../../../api/errors.ts';

const SUPPORTED = ['tracecontext', 'baggage', 'b3', 'b3multi', 'none'];

export class TracePropagatorUnsupportedError extends MeshletError {
  constructor(name: string) {
    super('E_TRACE_PROPAGATOR_UNSUPPORTED', `OTEL_PROPAGATORS "${name}" is not one meshlet supports (tracecontext, baggage, b3, b3multi, none)`);
  }
}

/** The listed propagators (deduplicated, in order), or null when unset; throws on an unknown one. */
export function propagatorNames(env: Record<string, string | undefined>): string[] | null {
  const raw = env.OTEL_PROPAGATORS?.trim();
  if (!raw) return null;
  const names = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
  for (const n of names) if (!SUPPORTED.includes(n)) throw new TracePropagatorUnsupportedError(n);
  return names;
}
