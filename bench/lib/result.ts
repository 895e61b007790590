// The shape of bench/results/<date>-<sha>.json: everything needed to regenerate the report
// (summary) and to re-analyse it later (raw rounds with full percentiles).
import type { Summary } from './aggregate.ts';
import type { RoundResult } from './measure.ts';
import type { Profile } from './profile.ts';
import type { ScaleResult } from './scale.ts';
import type { PropagationResult } from './propagation.ts';
import type { StreamResult } from './stream.ts';
import type { LatencyResult } from './latency-stage.ts';
import type { ConfigProfile } from './profile-stage.ts';
import type { MicroResult } from './route-micro.ts';
import type { Validation } from './validate.ts';
import type { Versions } from './versions.ts';

export interface BenchResult {
  schema: 1;
  date: string;
  profile: Profile;
  versions: Versions;
  /** Niceness the harness ran its processes at (0 = normal). */
  niceness: number;
  layout: { generator: string; proxies: string; upstream: string; sharedMachine: boolean };
  upstream: string;
  hostHeader: string;
  durationS: number;
  validations: Validation[];
  /** Closed-loop (ping-pong) latency in alternating blocks, with intervals and verdicts; absent in older results. */
  latency?: LatencyResult;
  /** Agent memory with few and many routes. */
  scale: ScaleResult[];
  /** RSS of an idle `node -e` process on the same binary, MB. */
  bareNodeMB: number;
  /** Same, running a .ts file (Node's type stripper loaded). */
  bareNodeTsMB?: number;
  /** File-mode route change → first response reflecting it. */
  propagation: PropagationResult[];
  /** 100 MB each way through two hops. */
  streaming: StreamResult[];
  /** CPU profiles of meshlet's processes under load. */
  profiles: ConfigProfile[];
  /** Route-matching micro-benchmark; null when the matcher could not be loaded. */
  routeMicro: MicroResult[] | null;
  routeMicroError?: string;
  unavailable: Record<string, string>;
  summary: Summary;
  rounds: RoundResult[];
}
