// The agent's current routing table. Swaps are atomic: a request captures `current` once when
// it starts and uses that snapshot to the end, so in-flight requests finish on the table they
// began with and no request ever sees half of two tables. Invalid tables are refused whole:
// logged, counted, and the last good table stays in force. A swap that drops most of a big table
// asks the process's HeapReclaimer to give the old one's memory back (ADR 0016).
import type { RoutingTable } from '../api/routing-table.ts';
import { validate } from '../api/validate.ts';
import { isValidated } from '../api/validated-tables.ts';
import { heapReclaimer, type HeapReclaimer } from '../common/heap-reclaim.ts';
import type { TableSource } from './table-source.ts';

export interface TableSnapshot<C> {
  table: RoutingTable;
  compiled: C;
  /** When this table was swapped in (epoch ms). */
  appliedAt: number;
}

export interface TableHolderOptions<C> {
  compile: (t: RoutingTable) => C;
  log?: (msg: string) => void;
  /** Called after each successful swap (listener reconciliation, pool eviction). */
  onSwap?: (next: TableSnapshot<C>, previous: TableSnapshot<C> | null) => void;
  /** Told each swap's sizes (default: the process's; null: none, e.g. a short-lived holder). */
  reclaimer?: HeapReclaimer | null;
}

/**
 * A table's size for the reclaimer: its services, backends and Gateway virtual hosts, which is
 * what grows with routes (and what the compiled matcher's size follows). Cheap: no walk of rules.
 */
export function tableSize(t: RoutingTable): number {
  let hosts = 0;
  for (const g of t.gateways) for (const p of g.ports) for (const l of p.listeners) hosts += l.virtualHosts.length;
  return t.services.length + t.backends.length + hosts;
}

export class TableHolder<C> {
  #current: TableSnapshot<C> | null = null;
  #rejected = 0;
  #lastError: string | null = null;
  readonly #opts: TableHolderOptions<C>;

  constructor(opts: TableHolderOptions<C>) {
    this.#opts = opts;
  }

  get current(): TableSnapshot<C> | null {
    return this.#current;
  }

  get rejected(): number {
    return this.#rejected;
  }

  get lastError(): string | null {
    return this.#lastError;
  }

  /** Validates, compiles and swaps in `table`; returns false (and keeps the old one) if invalid. */
  apply(table: RoutingTable): boolean {
    if (this.#current && this.#current.table.version === table.version) return true;
    let compiled: C;
    try {
      if (!isValidated(table)) validate(table);
      compiled = this.#opts.compile(table);
    } catch (err) {
      this.#rejected++;
      this.#lastError = (err as Error).message;
      this.#opts.log?.(`refusing routing table ${String(table.version)}: ${this.#lastError}`);
      return false;
    }
    const previous = this.#current;
    const next: TableSnapshot<C> = { table, compiled, appliedAt: Date.now() };
    this.#current = next;
    this.#lastError = null;
    const reclaimer = this.#opts.reclaimer === undefined ? heapReclaimer : this.#opts.reclaimer;
    reclaimer?.noteSwap(previous ? tableSize(previous.table) : 0, tableSize(table), this.#opts.log);
    this.#opts.onSwap?.(next, previous);
    return true;
  }

  /** Follows a source until the returned function is called. */
  follow(source: TableSource): () => void {
    return source.subscribe((t) => {
      this.apply(t);
    });
  }
}
