// The trust bundle across a root rotation. When the CA Secret is replaced (a new root, or a
// plug-in CA under another root), certificates issued under the previous root are still in use
// for up to one workload lifetime. Like Linkerd's trust-anchor rotation (a bundle holding both
// anchors) and istiod's plug-in CA reload, the bundle is the new roots plus the previous ones,
// each previous root kept until every leaf it could have signed has expired; then it is dropped.
// Pure bookkeeping: the caller supplies the clock.
import { X509Certificate } from 'node:crypto';

interface Retained {
  pem: string;
  fingerprint: string;
  /** Epoch ms after which no leaf under this root can still be valid. */
  untilMs: number;
}

const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;

export class TrustBundle {
  #current: { pem: string; fingerprint: string }[];
  #retained: Retained[] = [];

  constructor(rootsPem: string[]) {
    this.#current = rootsPem.map((pem) => ({ pem, fingerprint: fingerprintOf(pem) }));
  }

  /**
   * The CA now trusts `rootsPem`. Roots of the previous set that are not in it stay trusted until
   * `nowMs + retainMs` (a root already retained keeps its earlier deadline). Returns the roots
   * newly retained (for the log line).
   */
  rotate(rootsPem: string[], nowMs: number, retainMs: number): string[] {
    const next = rootsPem.map((pem) => ({ pem, fingerprint: fingerprintOf(pem) }));
    const inNext = new Set(next.map((r) => r.fingerprint));
    const dropped = this.#current.filter((r) => !inNext.has(r.fingerprint));
    this.#retained = this.#retained.filter((r) => !inNext.has(r.fingerprint));
    for (const r of dropped) {
      if (!this.#retained.some((k) => k.fingerprint === r.fingerprint)) this.#retained.push({ ...r, untilMs: nowMs + retainMs });
    }
    this.#current = next;
    return dropped.map((r) => r.fingerprint);
  }

  /** Drops retained roots whose deadline passed; returns their fingerprints. */
  prune(nowMs: number): string[] {
    const gone = this.#retained.filter((r) => r.untilMs <= nowMs);
    this.#retained = this.#retained.filter((r) => r.untilMs > nowMs);
    return gone.map((r) => r.fingerprint);
  }

  /** Current roots first, then the retained ones: what agents and the controller verify against. */
  pems(): string[] {
    return [...this.#current.map((r) => r.pem), ...this.#retained.map((r) => r.pem)];
  }

  /** The earliest deadline of a retained root, if any (when prune() next has work). */
  nextPruneMs(): number | undefined {
    return this.#retained.length === 0 ? undefined : Math.min(...this.#retained.map((r) => r.untilMs));
  }
}
