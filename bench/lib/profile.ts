// Run profiles: how long each measurement lasts. --quick stays under 5 minutes with all five
// configurations; the full run under 20. Both use at least 3 interleaved rounds.
export interface Profile {
  name: 'quick' | 'full';
  rounds: number;
  rates: number[];
  bodySizes: number[];
  warmupMs: number;
  /** Closed-loop burst after each start, before any scenario (JIT warm-up), seconds. */
  jitWarmupS: number;
  durationMs: number;
  /** Saturation (closed loop, wrk) per configuration per round. */
  maxRpsS: number;
  maxRpsConnections: number;
  /** wrk validation at a low rate, once per run: alternating slices of wrk and ours. */
  validateSlices: number;
  validateSliceS: number;
  validateRate: number;
  /** Memory at scale: agent with 10 and 10 000 routes, RSS idle and after this long at 1000 rps (the issue asks 60 s). */
  soakS: number;
  scaleRoutes: number[];
  maxConnections: number;
  /** Time per route-matching case (micro-benchmark). */
  microBudgetMs: number;
  /** Config propagation: route counts and the number of changes timed at each. */
  propagationRoutes: number[];
  propagationChanges: number;
  /** Seconds of load under node --cpu-prof per meshlet configuration. */
  cpuProfileS: number;
  microRoutes: number[];
}

const common = { scaleRoutes: [10, 10_000], microRoutes: [10, 1000, 10_000], rates: [200, 1000], bodySizes: [12, 1024], maxRpsConnections: 32, validateRate: 200, maxConnections: 64 };

export const QUICK: Profile = { name: 'quick', rounds: 3, warmupMs: 300, jitWarmupS: 1, durationMs: 1500, maxRpsS: 2, validateSlices: 3, validateSliceS: 2, soakS: 5, microBudgetMs: 300, cpuProfileS: 3, propagationRoutes: [10, 1000], propagationChanges: 4, ...common };
export const FULL: Profile = { name: 'full', rounds: 3, warmupMs: 1500, jitWarmupS: 2, durationMs: 8000, maxRpsS: 5, validateSlices: 5, validateSliceS: 3, soakS: 60, microBudgetMs: 1500, cpuProfileS: 10, propagationRoutes: [10, 1000, 10_000], propagationChanges: 10, ...common };
