// A per-source-address budget for HTTP/2 streams reset before their response (issue 15, rapid
// reset from many connections). The per-connection cap (proxy-listener.ts) closes an attacking
// connection, but an attacker that reconnects gets a fresh allowance each time; this counts the
// premature resets of every connection from one address in a one-second window, and beyond the
// budget puts the address in a calm-down period during which its h2 connections are refused.
// The table is bounded: a spoof-free TCP peer needs a real address per entry, but a large NAT or
// a scan must not grow it without limit, so stale entries go first and then the oldest.

/** Premature resets one source address may cause per second, across its connections. */
export const H2_MAX_PREMATURE_RESETS_PER_SOURCE_PER_SECOND = 200;

/** How long an address over budget has its HTTP/2 connections refused. */
export const SOURCE_CALM_DOWN_MS = 10_000;

/** Addresses tracked at once; beyond it, stale then oldest entries are dropped. */
const MAX_SOURCES = 16_384;

interface SourceState {
  windowStart: number;
  resets: number;
  /** 0 when not calmed. */
  calmUntil: number;
}

export interface SourceBudgetOptions {
  resetsPerSecond: number;
  calmDownMs: number;
  now?: () => number;
}

export class SourceResetBudget {
  readonly #sources = new Map<string, SourceState>();
  readonly #perSecond: number;
  readonly #calmMs: number;
  readonly #now: () => number;

  constructor(opts: Partial<SourceBudgetOptions> = {}) {
    this.#perSecond = opts.resetsPerSecond ?? H2_MAX_PREMATURE_RESETS_PER_SOURCE_PER_SECOND;
    this.#calmMs = opts.calmDownMs ?? SOURCE_CALM_DOWN_MS;
    this.#now = opts.now ?? Date.now;
  }

  /** Whether `address` is in its calm-down period (its HTTP/2 connections are refused). */
  calmed(address: string): boolean {
    const s = this.#sources.get(address);
    if (!s || s.calmUntil === 0) return false;
    if (this.#now() < s.calmUntil) return true;
    s.calmUntil = 0;
    return false;
  }

  /**
   * Counts one premature reset from `address`; true when this one took the address over its
   * budget (the caller then closes that address's sessions). Already calmed: false.
   */
  reset(address: string): boolean {
    const now = this.#now();
    let s = this.#sources.get(address);
    if (!s) {
      this.#makeRoom(now);
      s = { windowStart: now, resets: 0, calmUntil: 0 };
      this.#sources.set(address, s);
    }
    if (now - s.windowStart >= 1_000) {
      s.windowStart = now;
      s.resets = 0;
    }
    if (++s.resets <= this.#perSecond || (s.calmUntil !== 0 && now < s.calmUntil)) return false;
    s.calmUntil = now + this.#calmMs;
    return true;
  }

  get size(): number {
    return this.#sources.size;
  }

  #makeRoom(now: number): void {
    if (this.#sources.size < MAX_SOURCES) return;
    for (const [address, s] of this.#sources) {
      if (now - s.windowStart >= 1_000 && (s.calmUntil === 0 || now >= s.calmUntil)) this.#sources.delete(address);
    }
    // Still full: every entry is live; drop the oldest eighth (insertion order) rather than grow,
    // so a flood of new addresses costs one sweep per MAX_SOURCES / 8 of them.
    for (const address of this.#sources.keys()) {
      if (this.#sources.size < MAX_SOURCES - MAX_SOURCES / 8) break;
      this.#sources.delete(address);
    }
  }
}
