// Endpoint choice for one backend: filters the table's endpoints to those that should take
// new requests, then P2C over peak-EWMA. Load statistics are kept per address:port across
// table swaps, so a config push does not make the balancer forget which endpoint is slow.
// An endpoint that could not be reached (connect refused or failed, or a peer meshlet saying
// its app refused) is avoided for a short while, AVOID_MS, while the backend has others (passive
// fail-fast, ADR 0022): the rest of the traffic does not hit a pod that is going away until the
// controller's endpoint removal arrives. A response from it ends the avoidance; so does the time.
import type { BackendIR, EndpointIR } from '../../api/routing-table.ts';
import { pickP2C } from './p2c.ts';
import { DEFAULT_EWMA, PeakEwma, type EwmaOptions } from './peak-ewma.ts';

const MAX_TRACKED = 4096;

/**
 * How long an unreachable endpoint is left out (ADR 0022): long enough to cover the time an
 * endpoint removal takes to reach every agent (the controller's push), short enough that an
 * endpoint that comes back, or a transient refusal, costs little traffic. After it, one request
 * probes the endpoint again (and is retried elsewhere if it fails).
 */
export const AVOID_MS = 3_000;

export function endpointKey(e: { address: string; port: number }): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** Ready endpoints; if none is ready, serving-but-terminating ones (better than failing). */
export function usableEndpoints(backend: BackendIR): EndpointIR[] {
  const ready = backend.endpoints.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return backend.endpoints.filter((e) => e.serving);
}

export interface BalancerOptions {
  ewma?: EwmaOptions;
  random?: () => number;
  /** How long an unreachable endpoint is avoided (default AVOID_MS). */
  avoidMs?: number;
  /** Monotonic ms (tests move it). */
  now?: () => number;
}

export class EndpointBalancer {
  readonly #stats = new Map<string, PeakEwma>();
  readonly #ewma: EwmaOptions;
  readonly #random: () => number;
  /** Endpoints avoided, by key, until a monotonic time; empty but for the moments after a failure. */
  readonly #avoided = new Map<string, number>();
  readonly #avoidMs: number;
  readonly #now: () => number;

  constructor(opts: BalancerOptions = {}) {
    this.#ewma = opts.ewma ?? DEFAULT_EWMA;
    this.#random = opts.random ?? Math.random;
    this.#avoidMs = opts.avoidMs ?? AVOID_MS;
    this.#now = opts.now ?? (() => performance.now());
  }

  /**
   * Each endpoint object's key, made once: stats() runs on every request (twice more for a pick
   * among several endpoints), and making `address:port` afresh and hashing the new string for the
   * map cost ~1.5 k instructions per call (issue 16). The table's endpoint objects are never
   * changed, and their keys go with them.
   */
  readonly #keys = new WeakMap<object, string>();

  stats(e: { address: string; port: number }): PeakEwma {
    let key = this.#keys.get(e);
    if (key === undefined) {
      key = endpointKey(e);
      this.#keys.set(e, key);
    }
    let s = this.#stats.get(key);
    if (!s) {
      s = new PeakEwma(this.#ewma);
      this.#stats.set(key, s);
    }
    return s;
  }

  /**
   * Picks an endpoint, avoiding `exclude` (e.g. the one a retry just failed on) and endpoints
   * found unreachable within AVOID_MS, when others remain.
   */
  pick(backend: BackendIR, exclude?: EndpointIR): EndpointIR | null {
    let candidates = usableEndpoints(backend);
    if (exclude && candidates.length > 1) candidates = candidates.filter((e) => e !== exclude);
    // one size test per request while nothing failed
    if (this.#avoided.size > 0 && candidates.length > 1) candidates = this.#reachable(candidates);
    return pickP2C(candidates, (e) => this.stats(e), this.#random);
  }

  /** Whether `backend` has a usable endpoint other than `endpoint` (a retry elsewhere can go somewhere). */
  hasOther(backend: BackendIR, endpoint: EndpointIR): boolean {
    return usableEndpoints(backend).some((e) => e !== endpoint && (e.address !== endpoint.address || e.port !== endpoint.port));
  }

  /** `endpoint` could not be reached: left out of picks for AVOID_MS while others remain. */
  avoid(endpoint: { address: string; port: number }): void {
    const key = endpointKey(endpoint);
    this.#avoided.delete(key); // re-inserted last: the oldest go first when the bound is hit
    this.#avoided.set(key, this.#now() + this.#avoidMs);
    if (this.#avoided.size > MAX_TRACKED) this.#avoided.delete(this.#avoided.keys().next().value!);
  }

  /** `endpoint` answered: it is picked again at once. Nothing to do (one size test) unless some endpoint is avoided. */
  reached(endpoint: { address: string; port: number }): void {
    if (this.#avoided.size > 0) this.#avoided.delete(endpointKey(endpoint));
  }

  /** Whether `endpoint` is avoided right now. */
  avoided(endpoint: { address: string; port: number }): boolean {
    const until = this.#avoided.get(endpointKey(endpoint));
    return until !== undefined && until > this.#now();
  }

  /** `candidates` without the endpoints avoided now (all of them when every one is). */
  #reachable(candidates: EndpointIR[]): EndpointIR[] {
    const now = this.#now();
    const out: EndpointIR[] = [];
    for (const e of candidates) {
      const key = endpointKey(e);
      const until = this.#avoided.get(key);
      if (until === undefined) out.push(e);
      else if (until <= now) {
        this.#avoided.delete(key); // its time is up: probed again
        out.push(e);
      }
    }
    return out.length > 0 ? out : candidates;
  }

  /** Drops statistics of endpoints that left the routing table. */
  evict(keys: ReadonlySet<string>): void {
    for (const key of keys) {
      this.#stats.delete(key);
      this.#avoided.delete(key);
    }
    // Direct destinations (never in a table) are bounded by count instead: oldest first.
    for (const key of this.#stats.keys()) {
      if (this.#stats.size <= MAX_TRACKED) break;
      this.#stats.delete(key);
    }
  }
}
