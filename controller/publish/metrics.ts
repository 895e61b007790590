// The publisher's counters, rendered in the Prometheus text format by whoever serves /metrics.
// Counters only ever grow; `agents` is a gauge of the connections that completed their hello.

export interface PublisherMetrics {
  agents: number;
  connectionsTotal: number;
  helloRejectedTotal: number;
  protocolErrorsTotal: number;
  subscribeRequestsTotal: number;
  updatesSentTotal: number;
  patchesSentTotal: number;
  updateBytesTotal: number;
  acksTotal: number;
  nacksTotal: number;
  tablesTotal: number;
  /** Reconnecting agents whose hello named the version of their slice here: nothing sent. */
  resumesTotal: number;
  /** Tables that changed only endpoints: sent only to the agents whose slice holds a changed backend. */
  endpointTablesTotal: number;
  /** Slices computed or patched (once per distinct subscription set and table). */
  slicesComputedTotal: number;
  /** Of those, the slices of a route change derived from the agent's last slice (its replaced entries swapped in). */
  slicesRebasedTotal: number;
}

export function emptyMetrics(): PublisherMetrics {
  return {
    agents: 0, connectionsTotal: 0, helloRejectedTotal: 0, protocolErrorsTotal: 0, subscribeRequestsTotal: 0,
    updatesSentTotal: 0, patchesSentTotal: 0, updateBytesTotal: 0, acksTotal: 0, nacksTotal: 0, tablesTotal: 0, resumesTotal: 0,
    endpointTablesTotal: 0, slicesComputedTotal: 0, slicesRebasedTotal: 0,
  };
}

const HELP: Record<keyof PublisherMetrics, [string, 'gauge' | 'counter']> = {
  agents: ['Agents connected (hello completed).', 'gauge'],
  connectionsTotal: ['WebSocket connections accepted.', 'counter'],
  helloRejectedTotal: ['Connections refused at hello (bad message, protocol, authentication, timeout).', 'counter'],
  protocolErrorsTotal: ['Malformed or out-of-order frames received from agents.', 'counter'],
  subscribeRequestsTotal: ['Subscribe and unsubscribe requests.', 'counter'],
  updatesSentTotal: ['Whole table slices sent to agents.', 'counter'],
  patchesSentTotal: ['Slices sent as changes to the version the agent acknowledged.', 'counter'],
  updateBytesTotal: ['Bytes of update and patch frames sent.', 'counter'],
  acksTotal: ['Versions acknowledged by agents.', 'counter'],
  nacksTotal: ['Versions refused by agents (see the controller log for their reasons).', 'counter'],
  tablesTotal: ['Distinct routing tables published.', 'counter'],
  endpointTablesTotal: ['Tables that changed only endpoints: only the agents whose slice holds a changed backend got work.', 'counter'],
  slicesComputedTotal: ['Slices computed, or patched for an endpoint change, once per distinct subscription set and table.', 'counter'],
  slicesRebasedTotal: ['Slices of a route change derived from the agent\'s last slice, its replaced entries swapped in (a subset of slices_computed_total).', 'counter'],
  resumesTotal: ['Reconnecting agents that already ran their slice (hello named its version): counted as acknowledged, nothing sent.', 'counter'],
};

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function renderMetrics(m: PublisherMetrics, prefix = 'meshlet_publisher_'): string {
  return (Object.keys(HELP) as (keyof PublisherMetrics)[]).map((k) => {
    const name = prefix + snake(k);
    const [help, type] = HELP[k];
    return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${m[k]}\n`;
  }).join('');
}

/** Seconds: 10 ms (loopback) to 2 min (a slow agent or a big table). */
export const PROPAGATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** What PropagationLatency needs of a connected agent's session. */
export interface AckState {
  readonly upToDate: boolean;
}

/**
 * meshlet_controller_propagation_seconds: from the start of the translation that produced a
 * table to the moment every agent whose slice it changed has acknowledged (Istio's
 * pilot_proxy_convergence_time). A table published before the previous one finished
 * propagating keeps the older start: what is measured is how long a change waited until every
 * agent ran it. Agents that disconnect are no longer waited for; agents that connect later get
 * the table in their first update and are not counted. A table that changes no connected agent's
 * slice is not observed. Checks are coalesced to one per event-loop turn and walk only the
 * agents still behind, so a table reaching thousands of agents costs little per ack.
 */
export class PropagationLatency {
  readonly #counts = new Array<number>(PROPAGATION_BUCKETS.length).fill(0);
  #sum = 0;
  #count = 0;
  #startedAt: number | null = null;
  #behind = new Set<AckState>();
  #scheduled = false;
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * A table was published; its translation started at `startedAt` (performance.now() ms).
   * `sessions`: the connected agents that were sent a slice, after it was sent.
   */
  published(startedAt: number, sessions: Iterable<AckState>, connected: (s: AckState) => boolean): void {
    // A previous table whose last ack is still to be checked is observed first.
    this.check(connected);
    for (const s of sessions) if (!s.upToDate) this.#behind.add(s);
    if (this.#behind.size > 0) this.#startedAt = Math.min(this.#startedAt ?? startedAt, startedAt);
  }

  /**
   * An agent acknowledged or left: checked once this event-loop turn ends. Naming the agent
   * (`session`) settles it at once, and while others are still behind nothing is walked: an ack
   * costs O(1), not a pass over every agent still behind (1 000 acks arrive over many turns).
   */
  changed(connected: (s: AckState) => boolean, session?: AckState): void {
    if (this.#startedAt === null) return;
    if (session !== undefined) {
      if (this.#behind.has(session) && (session.upToDate || !connected(session))) this.#behind.delete(session);
      if (this.#behind.size > 0) return;
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.check(connected);
    });
  }

  /** Some agent sent a table has not acknowledged it yet (nor left). */
  get waiting(): boolean {
    return this.#startedAt !== null;
  }

  /** Drops the agents that caught up or left; observes the time once none is behind. */
  check(connected: (s: AckState) => boolean): void {
    if (this.#startedAt === null) return;
    for (const s of this.#behind) if (s.upToDate || !connected(s)) this.#behind.delete(s);
    if (this.#behind.size > 0) return;
    const seconds = Math.max(0, this.#now() - this.#startedAt) / 1000;
    this.#startedAt = null;
    this.#sum += seconds;
    this.#count++;
    const i = PROPAGATION_BUCKETS.findIndex((b) => seconds <= b);
    if (i >= 0) this.#counts[i]!++;
  }

  render(name = 'meshlet_controller_propagation_seconds'): string {
    const lines = [`# HELP ${name} From translating a change to every agent whose slice it changed acknowledging it.`, `# TYPE ${name} histogram`];
    let acc = 0;
    PROPAGATION_BUCKETS.forEach((b, i) => {
      acc += this.#counts[i]!;
      lines.push(`${name}_bucket{le="${b}"} ${acc}`);
    });
    lines.push(`${name}_bucket{le="+Inf"} ${this.#count}`, `${name}_sum ${this.#sum}`, `${name}_count ${this.#count}`);
    return `${lines.join('\n')}\n`;
  }
}
