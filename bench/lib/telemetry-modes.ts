// The configurations of bench/telemetry-cost.ts and what each one's ratio is read against.
// The four first ones are issue 11's as written (each read against "off"). A meshlet agent always
// runs metrics (telemetryConfigFromEnv), so for a user "tracing off" is "metrics on, tracing off":
// `metrics+trace-1%` and `metrics+trace-100%` are tracing as a pod pays it, read against
// `metrics`, with the same targets (1.05× at 1 %, 1.3× at 100 %).

export const MODES = ['off', 'metrics', 'trace-1%', 'trace-100%', 'metrics+trace-1%', 'metrics+trace-100%'] as const;
export type Mode = typeof MODES[number];

/** Issue 11's target for a configuration's ratio to its baseline (none for "off"). */
export const TARGET: Record<Mode, number | null> = {
  off: null, metrics: 1.05, 'trace-1%': 1.05, 'trace-100%': 1.3, 'metrics+trace-1%': 1.05, 'metrics+trace-100%': 1.3,
};

/** The configuration a mode's ratio is read against: `metrics` for the metrics+trace ones, `off` for the rest. */
export function baselineOf(mode: Mode): Mode {
  return mode.startsWith('metrics+') ? 'metrics' : 'off';
}

/** What a child of this configuration turns on: metrics, and tracing at which ratio (null: off). */
export function settingsOf(mode: Mode): { metrics: boolean; samplingRatio: number | null } {
  const metrics = mode === 'metrics' || mode.startsWith('metrics+');
  const samplingRatio = mode.endsWith('trace-1%') ? 0.01 : mode.endsWith('trace-100%') ? 1 : null;
  return { metrics, samplingRatio };
}

/**
 * The configurations `--modes` names (all when absent), in MODES's order, each with its baseline
 * (so "off" always, and "metrics" with a metrics+trace one).
 */
export function modesOf(list: string | undefined): Mode[] {
  if (list === undefined) return [...MODES];
  const named = list.split(',').map((m) => m.trim()).filter((m) => m !== '');
  for (const m of named) if (!(MODES as readonly string[]).includes(m)) throw new Error(`--modes: unknown configuration "${m}" (one of ${MODES.join(', ')})`);
  const wanted = new Set<Mode>(['off']);
  for (const m of named as Mode[]) { wanted.add(m); wanted.add(baselineOf(m)); }
  return MODES.filter((m) => wanted.has(m));
}
