// Endpoint choice for one backend: filters the table's endpoints to those that should take
// new requests, then P2C over peak-EWMA. Load statistics are kept per address:port across
// table swaps, so a config push does not make the balancer forget which endpoint is slow.
import type { BackendIR, EndpointIR } from '../../api/routing-table.ts';
import { pickP2C } from './p2c.ts';
import { DEFAULT_EWMA, PeakEwma, type EwmaOptions } from './peak-ewma.ts';

const MAX_TRACKED = 4096;

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
}

export class EndpointBalancer {
  readonly #stats = new Map<string, PeakEwma>();
  readonly #ewma: EwmaOptions;
  readonly #random: () => number;

  constructor(opts: BalancerOptions = {}) {
    this.#ewma = opts.ewma ?? DEFAULT_EWMA;
    this.#random = opts.random ?? Math.random;
  }

  stats(e: { address: string; port: number }): PeakEwma {
    const key = endpointKey(e);
    let s = this.#stats.get(key);
    if (!s) {
      s = new PeakEwma(this.#ewma);
      this.#stats.set(key, s);
    }
    return s;
  }

  /** Picks an endpoint, avoiding `exclude` (e.g. the one a retry just failed on) when possible. */
  pick(backend: BackendIR, exclude?: EndpointIR): EndpointIR | null {
    let candidates = usableEndpoints(backend);
    if (exclude && candidates.length > 1) candidates = candidates.filter((e) => e !== exclude);
    return pickP2C(candidates, (e) => this.stats(e), this.#random);
  }

  /** Drops statistics of endpoints that left the routing table. */
  evict(keys: ReadonlySet<string>): void {
    for (const key of keys) this.#stats.delete(key);
    // Direct destinations (never in a table) are bounded by count instead: oldest first.
    for (const key of this.#stats.keys()) {
      if (this.#stats.size <= MAX_TRACKED) break;
      this.#stats.delete(key);
    }
  }
}
