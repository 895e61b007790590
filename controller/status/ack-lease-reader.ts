// Reads the other replicas' propagation records (ack-lease-writer.ts) for the leader. It lists
// the labelled Leases every `pollMs` and notes, by its own clock, when each one last changed
// (as leader election does: clocks need not agree across nodes). A record not renewed for
// `staleAfterMs` belongs to a replica that is gone: it is no longer counted and, when this
// replica leads, deleted. A record that cannot be decoded is not counted (logged once per
// version), never fatal.
import { collectionPath, isStatus, objectPath, type KubeClient } from '../provider/kubernetes/index.ts';
import { decodeAckRecord, type AgentAck } from './ack-record.ts';
import { ACK_LEASE_ANNOTATION, ACK_LEASE_LABEL } from './ack-lease-writer.ts';

export interface AckLeaseReaderOptions {
  client: KubeClient;
  namespace: string;
  /** This replica's own Lease name (its own agents are counted from memory, not from it). */
  ownName: string;
  /** List the records this often (default 1 s). */
  pollMs?: number;
  /** A record unchanged for this long is stale (default 15 s: 3 × the writers' renewal). */
  staleAfterMs?: number;
  /** Whether this replica may delete stale records (the leader). */
  leading: () => boolean;
  /** The counted records changed. */
  onChange: () => void;
  log?: (line: string) => void;
}

interface Lease {
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string> };
}

interface Seen {
  resourceVersion: string;
  /** Last time the record was written (renewed or changed), by our clock: staleness. */
  observedAt: number;
  /** Last time its content changed: which record speaks for an agent named in two. */
  changedAt: number;
  value: string;
  agents: AgentAck[];
  stale: boolean;
}

export class AckLeaseReader {
  readonly #opts: AckLeaseReaderOptions;
  readonly #seen = new Map<string, Seen>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;
  #epoch = 0;
  #failing = false;

  constructor(opts: AckLeaseReaderOptions) {
    this.#opts = opts;
  }

  /** Bumped whenever records() may answer differently. */
  get epoch(): number {
    return this.#epoch;
  }

  start(): this {
    this.#tick();
    return this;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** The live records' agents, the most recently changed record first. */
  records(): AgentAck[][] {
    return [...this.#seen.values()].filter((s) => !s.stale).sort((a, b) => b.changedAt - a.changedAt).map((s) => s.agents);
  }

  /** Names of the records counted now (tests, /debug). */
  live(): string[] {
    return [...this.#seen].filter(([, s]) => !s.stale).map(([n]) => n).sort();
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#running = this.poll().finally(() => {
      if (!this.#stopped) {
        this.#timer = setTimeout(() => this.#tick(), this.#opts.pollMs ?? 1_000);
        this.#timer.unref();
      }
    });
  }

  /** One round: list, note changes, retire stale records. */
  async poll(): Promise<void> {
    let items: Lease[] | null = null;
    try {
      const list = await this.#opts.client.request<{ items: Lease[] }>('GET', collectionPath('coordination.k8s.io', 'v1', 'leases', this.#opts.namespace), {
        query: { labelSelector: `${ACK_LEASE_LABEL}=true` }, timeoutMs: 5_000,
      });
      items = list.items;
      if (this.#failing) this.#log('propagation records readable again');
      this.#failing = false;
    } catch (err) {
      // Keep what we know; records age out by our clock if the API stays away.
      if (!this.#failing) this.#log(`listing propagation records: ${(err as Error).message}`);
      this.#failing = true;
    }
    const now = Date.now();
    let changed = false;
    if (items) {
      const present = new Set<string>();
      for (const lease of items) {
        const name = lease.metadata.name;
        if (name === this.#opts.ownName) continue;
        present.add(name);
        const rv = lease.metadata.resourceVersion ?? '';
        const prev = this.#seen.get(name);
        if (prev?.resourceVersion === rv) continue;
        const value = lease.metadata.annotations?.[ACK_LEASE_ANNOTATION] ?? '';
        if (prev && prev.value === value && !prev.stale) {
          // A renewal: alive, nothing to recount (statuses are not re-compared every 5 s per replica).
          prev.resourceVersion = rv;
          prev.observedAt = now;
          continue;
        }
        this.#seen.set(name, { resourceVersion: rv, observedAt: now, changedAt: now, value, agents: this.#decode(name, rv, value), stale: false });
        changed = true;
      }
      for (const name of this.#seen.keys()) {
        if (!present.has(name)) {
          changed ||= !this.#seen.get(name)!.stale;
          this.#seen.delete(name);
        }
      }
    }
    const staleAfter = this.#opts.staleAfterMs ?? 15_000;
    for (const [name, s] of this.#seen) {
      if (s.stale || now - s.observedAt <= staleAfter) continue;
      s.stale = true;
      changed = true;
      this.#log(`replica record ${name} not renewed for ${now - s.observedAt} ms: its agents are no longer counted`);
    }
    if (this.#opts.leading()) {
      for (const [name, s] of this.#seen) if (s.stale) await this.#delete(name, s);
    }
    if (changed) {
      this.#epoch++;
      this.#opts.onChange();
    }
  }

  #decode(name: string, rv: string, value: string): AgentAck[] {
    try {
      return decodeAckRecord(value).agents;
    } catch (err) {
      this.#log(`replica record ${name} (version ${rv}) not counted: ${(err as Error).message}`);
      return [];
    }
  }

  async #delete(name: string, s: Seen): Promise<void> {
    try {
      // Only the version we judged stale: a replica that came back and renewed keeps its record.
      await this.#opts.client.request('DELETE', objectPath('coordination.k8s.io', 'v1', 'leases', name, this.#opts.namespace), {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: s.resourceVersion } }, timeoutMs: 5_000,
      });
      this.#seen.delete(name);
    } catch (err) {
      if (isStatus(err, 404)) this.#seen.delete(name);
      else if (!isStatus(err, 409)) this.#log(`deleting stale replica record ${name}: ${(err as Error).message}`);
    }
  }

  #log(line: string): void {
    this.#opts.log?.(line);
  }
}
