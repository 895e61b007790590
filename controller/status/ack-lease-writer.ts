// Publishes this replica's agent acks (ack-record.ts) on a coordination.k8s.io Lease of its own,
// `meshlet-acks-<replica>` in the controller's namespace, where the leader reads them
// (ack-lease-reader.ts). Writes are throttled (at most one per `minWriteIntervalMs`) and made
// only when the record changed, plus a renewal every `renewMs` even when nothing did: a record
// that stops being renewed belongs to a replica that is gone. stop() deletes the Lease, so a
// replica shut down in order stops being counted at its leader's next read, not after the bound.
import { collectionPath, isStatus, objectPath, type KubeClient } from '../provider/kubernetes/index.ts';
import { encodeAckRecord, type AgentAck } from './ack-record.ts';

/** Label that marks the ack Leases (what the reader lists). */
export const ACK_LEASE_LABEL = 'meshlet.dev/propagation-acks';
/** Annotation holding the encoded record. */
export const ACK_LEASE_ANNOTATION = 'meshlet.dev/propagation-acks';

/** A DNS-1123 subdomain name for a replica's ack Lease. */
export function ackLeaseName(identity: string): string {
  const safe = identity.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `meshlet-acks-${safe || 'replica'}`.slice(0, 253);
}

export interface AckLeaseWriterOptions {
  client: KubeClient;
  namespace: string;
  identity: string;
  /** This replica's agents, read at each write. */
  agents: () => AgentAck[];
  /** Renew the record this often even when unchanged (default 5 s). */
  renewMs?: number;
  /** At most one write per this long (default 1 s). */
  minWriteIntervalMs?: number;
  /** Written as the Lease's duration: how long a reader waits for a renewal (default 3 × renewMs). */
  staleAfterMs?: number;
  log?: (line: string) => void;
}

interface Lease {
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export class AckLeaseWriter {
  readonly #opts: AckLeaseWriterOptions;
  readonly #name: string;
  #resourceVersion: string | undefined;
  #written: string | null = null;
  #lastWrite = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #dirty = false;
  #stopped = false;
  #droppedLogged = false;
  /** The last write failed (logged once until one succeeds: a 403 must not log every second). */
  #failing = false;
  /** Successful writes (tests and metrics). */
  writes = 0;

  constructor(opts: AckLeaseWriterOptions) {
    this.#opts = opts;
    this.#name = ackLeaseName(opts.identity);
  }

  get name(): string {
    return this.#name;
  }

  start(): this {
    this.changed();
    return this;
  }

  /** The agents' acks may have changed: write (throttled) if the record did. */
  changed(): void {
    this.#dirty = true;
    this.#schedule();
  }

  /** Stops writing and deletes the record; with `release: false` leaves it to go stale, as after a crash. */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    if (opts.release === false) return;
    try {
      await this.#opts.client.request('DELETE', this.#path(), { timeoutMs: 2_000 });
    } catch (err) {
      if (!isStatus(err, 404)) this.#log(`could not delete the propagation record ${this.#name}: ${(err as Error).message}`);
    }
  }

  #schedule(): void {
    if (this.#stopped || this.#running) return;
    clearTimeout(this.#timer);
    const renewMs = this.#opts.renewMs ?? 5_000;
    const wait = this.#dirty
      ? Math.max(0, this.#lastWrite + (this.#opts.minWriteIntervalMs ?? 1_000) - Date.now())
      : Math.max(0, this.#lastWrite + renewMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#running = this.#write().finally(() => {
        this.#running = undefined;
        this.#schedule();
      });
    }, wait);
    this.#timer.unref();
  }

  async #write(): Promise<void> {
    const renewDue = Date.now() >= this.#lastWrite + (this.#opts.renewMs ?? 5_000);
    this.#dirty = false;
    const { value, dropped } = encodeAckRecord(this.#opts.agents());
    if (dropped > 0 && !this.#droppedLogged) {
      this.#droppedLogged = true;
      this.#log(`propagation record: ${dropped} agents left out to stay within the annotation size bound (logged once)`);
    }
    if (value === this.#written && !renewDue) return;
    this.#lastWrite = Date.now(); // attempts count too: a failing API server is not hammered
    const body = {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: {
        name: this.#name, namespace: this.#opts.namespace, resourceVersion: this.#resourceVersion,
        labels: { [ACK_LEASE_LABEL]: 'true' }, annotations: { [ACK_LEASE_ANNOTATION]: value },
      },
      spec: {
        holderIdentity: this.#opts.identity, renewTime: microTime(Date.now()),
        leaseDurationSeconds: Math.ceil((this.#opts.staleAfterMs ?? 3 * (this.#opts.renewMs ?? 5_000)) / 1000),
      },
    };
    try {
      const lease = this.#resourceVersion === undefined
        ? await this.#opts.client.request<Lease>('POST', collectionPath('coordination.k8s.io', 'v1', 'leases', this.#opts.namespace), { body, timeoutMs: 5_000 })
        : await this.#opts.client.request<Lease>('PUT', this.#path(), { body, timeoutMs: 5_000 });
      this.#resourceVersion = lease.metadata.resourceVersion;
      this.#written = value;
      this.writes++;
      if (this.#failing) this.#log(`propagation record ${this.#name} written again`);
      this.#failing = false;
    } catch (err) {
      // Gone (deleted as stale after a pause), taken (created by our previous run) or moved on:
      // read it again and write on the next round.
      this.#dirty = true;
      if (isStatus(err, 404)) this.#resourceVersion = undefined;
      else if (isStatus(err, 409)) this.#resourceVersion = await this.#currentVersion();
      else if (!this.#failing) {
        this.#failing = true;
        this.#log(`propagation record ${this.#name} (retrying every ${this.#opts.minWriteIntervalMs ?? 1_000} ms, logged once): ${(err as Error).message}`);
      }
    }
  }

  async #currentVersion(): Promise<string | undefined> {
    try {
      return (await this.#opts.client.request<Lease>('GET', this.#path(), { timeoutMs: 5_000 })).metadata.resourceVersion;
    } catch {
      return undefined;
    }
  }

  #path(): string {
    return objectPath('coordination.k8s.io', 'v1', 'leases', this.#name, this.#opts.namespace);
  }

  #log(line: string): void {
    this.#opts.log?.(line);
  }
}
