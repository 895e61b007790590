// The sampling decision, taken before any span object exists: unsampled requests only carry
// the trace context on. OTEL_TRACES_SAMPLER / _ARG are honoured with the spec's names; the
// default is parent-based with a root ratio that depends on where meshlet runs (1% in a
// cluster, 100% in `meshlet dev`).
import { MeshletError } from '../../../api/errors.ts';

export interface SamplingPolicy {
  /** Follow the caller's sampled flag when a trace context arrives. */
  parentBased: boolean;
  /** Probability of sampling a trace this hop starts (or every trace when not parent-based). */
  ratio: number;
}

export class TraceSamplerInvalidError extends MeshletError {
  constructor(message: string) {
    super('E_TRACE_SAMPLER_INVALID', message);
  }
}

function ratioOf(arg: string | undefined, fallback: number): number {
  if (arg === undefined || arg.trim() === '') return fallback;
  const r = Number(arg);
  if (!Number.isFinite(r) || r < 0 || r > 1) throw new TraceSamplerInvalidError(`trace sampler argument must be a ratio in [0, 1]; got "${arg}"`);
  return r;
}

export function samplingPolicy(env: Record<string, string | undefined>, defaultRatio: number): SamplingPolicy {
  const name = (env.OTEL_TRACES_SAMPLER ?? '').trim() || 'parentbased_traceidratio';
  const arg = env.OTEL_TRACES_SAMPLER_ARG;
  switch (name) {
    case 'always_on': return { parentBased: false, ratio: 1 };
    case 'always_off': return { parentBased: false, ratio: 0 };
    case 'traceidratio': return { parentBased: false, ratio: ratioOf(arg, defaultRatio) };
    case 'parentbased_always_on': return { parentBased: true, ratio: 1 };
    case 'parentbased_always_off': return { parentBased: true, ratio: 0 };
    case 'parentbased_traceidratio': return { parentBased: true, ratio: ratioOf(arg, defaultRatio) };
    default: throw new TraceSamplerInvalidError(`OTEL_TRACES_SAMPLER "${name}" is not one meshlet supports (always_on, always_off, traceidratio, parentbased_*)`);
  }
}

/** parentSampled: the incoming context's flag, or null when none arrived. */
export function shouldSample(p: SamplingPolicy, parentSampled: boolean | null, random: () => number = Math.random): boolean {
  if (p.parentBased && parentSampled !== null) return parentSampled;
  return p.ratio >= 1 ? true : p.ratio <= 0 ? false : random() < p.ratio;
}
