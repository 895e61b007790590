// The contract between whoever produces routing tables (file mode's translator, the controller
// client, tests) and whoever consumes them (the agent's TableHolder, the controller's
// publisher). It lives in api/ because producers sit in controller/ and consumers in agent/,
// which may not import each other. Sources may deliver tables that turn out invalid: the
// consumer validates and refuses them, so a source never needs to.
import type { RoutingTable } from './routing-table.ts';

export interface TableSource {
  /** Calls onTable with the current table (if any) and every later one; returns unsubscribe. */
  subscribe(onTable: (t: RoutingTable) => void): () => void;
}

/**
 * A source fed by hand: tests, and the building block of the real sources (file mode, the
 * controller client), which push what they receive and delegate subscribe/ready to it.
 */
export class ManualTableSource implements TableSource {
  #current: RoutingTable | null;
  readonly #listeners = new Set<(t: RoutingTable) => void>();

  constructor(initial: RoutingTable | null = null) {
    this.#current = initial;
  }

  get current(): RoutingTable | null {
    return this.#current;
  }

  push(table: RoutingTable): void {
    this.#current = table;
    for (const l of [...this.#listeners]) l(table);
  }

  subscribe(onTable: (t: RoutingTable) => void): () => void {
    this.#listeners.add(onTable);
    if (this.#current) onTable(this.#current);
    return () => {
      this.#listeners.delete(onTable);
    };
  }

  /** Resolves with the current table, or the first one pushed; rejects after `timeoutMs`. */
  ready(timeoutMs: number, from: string): Promise<RoutingTable> {
    if (this.#current) return Promise.resolve(this.#current);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no routing table from ${from} after ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.subscribe((t) => {
        clearTimeout(timer);
        off();
        resolve(t);
      });
    });
  }
}
