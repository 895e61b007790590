// `meshlet.dev/Propagated` across controller replicas. Agents connect to any replica, and each
// replica knows only its own; so every replica publishes its agents' acks on a Lease of its own
// (ack-lease-writer.ts), and the one that writes statuses, the leader, counts its own agents
// plus those of the other replicas' live records (ack-lease-reader.ts), each agent once
// (ack-record.ts). An agent runs a route's latest version when it acknowledged a slice holding
// the route with the leader's fingerprint of it; an agent of a replica that has not translated
// the change yet is counted, and not as up to date. ADR 0014.
import type { KubeClient } from '../provider/kubernetes/index.ts';
import { sumAcks, type AgentAck, type RouteCount } from './ack-record.ts';
import { AckLeaseReader } from './ack-lease-reader.ts';
import { AckLeaseWriter } from './ack-lease-writer.ts';
import type { PropagationHook } from './propagation.ts';

/** This replica's agents (the publisher). */
export interface OwnAgents {
  /** Changes synchronously whenever agents() may answer differently. */
  readonly ackEpoch: number;
  agentAcks(): AgentAck[];
  /** The fingerprint of route `Kind/namespace/name` in this replica's current table. */
  routeFingerprint(key: string): string | null;
  /** The route's generation in this replica's tables; 0 when it is not published. */
  propagation(route: { kind: string; namespace: string; name: string }): { generation: number };
  /** Routes whose generation or own count may have moved since the last call (null: any may). */
  movedRoutes(): ReadonlySet<string> | null;
}

export interface ReplicaPropagationOptions {
  client: KubeClient;
  namespace: string;
  identity: string;
  own: () => OwnAgents | null;
  leading: () => boolean;
  /** The counts may have changed (another replica's record): rewrite statuses. */
  onChange: () => void;
  renewMs?: number;
  staleAfterMs?: number;
  pollMs?: number;
  minWriteIntervalMs?: number;
  log?: (line: string) => void;
}

export class ReplicaPropagation {
  readonly writer: AckLeaseWriter;
  readonly reader: AckLeaseReader;
  readonly #own: () => OwnAgents | null;
  #cache: { own: OwnAgents; ownEpoch: number; readerEpoch: number; counts: Map<string, RouteCount> } | null = null;
  /** The sums as the last moved() saw them, with whose agents (moved() names what differs since). */
  #fed: { own: OwnAgents; counts: Map<string, RouteCount> } | null = null;

  constructor(opts: ReplicaPropagationOptions) {
    const renewMs = opts.renewMs ?? 5_000;
    const staleAfterMs = opts.staleAfterMs ?? 3 * renewMs;
    this.#own = opts.own;
    this.writer = new AckLeaseWriter({
      client: opts.client, namespace: opts.namespace, identity: opts.identity, renewMs, staleAfterMs, minWriteIntervalMs: opts.minWriteIntervalMs, log: opts.log,
      agents: () => this.#own()?.agentAcks() ?? [],
    });
    this.reader = new AckLeaseReader({
      client: opts.client, namespace: opts.namespace, ownName: this.writer.name, pollMs: opts.pollMs, staleAfterMs,
      leading: opts.leading, onChange: opts.onChange, log: opts.log,
    });
  }

  start(): this {
    this.writer.start();
    this.reader.start();
    return this;
  }

  /** This replica's agents acked, connected or left: publish the record (throttled). */
  ownChanged(): void {
    this.writer.changed();
  }

  readonly hook: PropagationHook = (route) => {
    const own = this.#own();
    if (!own) return null;
    const generation = own.propagation(route).generation;
    if (generation === 0) return null; // not in this replica's table: nothing to say yet
    const key = `${route.kind}/${route.namespace}/${route.name}`;
    const count = this.#sums(own).get(key);
    return { upToDate: count?.upToDate ?? 0, total: count?.total ?? 0, generation };
  };

  /**
   * The routes whose hook() answer may have moved since the last call (null: any may), for the
   * status writer (StatusWriter propagationMoved): the publisher's own (generations, and its
   * agents' counts), and every route whose sum over all replicas' records differs from the sums
   * the last call saw: an ack, a disconnect, another replica's record written, gone stale or
   * deleted (ADR 0014). Costs a walk of the sums when they were summed again, not one per route
   * and pass.
   */
  readonly moved = (): ReadonlySet<string> | null => {
    const own = this.#own();
    const ownMoved = own?.movedRoutes() ?? null;
    const before = this.#fed;
    const counts = own ? this.#sums(own) : null;
    this.#fed = own && counts ? { own, counts } : null;
    if (!own || !counts || ownMoved === null || before?.own !== own) return null;
    if (before.counts === counts) return ownMoved;
    const out = new Set(ownMoved);
    for (const [key, c] of counts) {
      const b = before.counts.get(key);
      if (!b || b.upToDate !== c.upToDate || b.total !== c.total) out.add(key);
    }
    for (const key of before.counts.keys()) if (!counts.has(key)) out.add(key);
    return out;
  };

  /** Every replica's agents summed per route; once per change of any of them, not per route asked. */
  #sums(own: OwnAgents): Map<string, RouteCount> {
    let c = this.#cache;
    if (!c || c.own !== own || c.ownEpoch !== own.ackEpoch || c.readerEpoch !== this.reader.epoch) {
      const ownEpoch = own.ackEpoch;
      const readerEpoch = this.reader.epoch;
      const counts = sumAcks([own.agentAcks(), ...this.reader.records()], (k) => own.routeFingerprint(k));
      this.#cache = c = { own, ownEpoch, readerEpoch, counts };
    }
    return c.counts;
  }

  /** With `release: false` the record is left to go stale (a crash, in tests). */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    await this.reader.stop();
    await this.writer.stop(opts);
  }
}
