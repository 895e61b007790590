// Leader election on a coordination.k8s.io/v1 Lease, following client-go's leaderelection: a
// candidate takes the lease when it is free or its holder has not renewed it for a whole lease
// duration *as observed by the candidate's own clock* (so clocks need not agree across nodes),
// the leader renews every retry period and steps down when it could not renew within the renew
// deadline, and stop() releases the lease so a successor need not wait for it to expire.
// Every attempt is bounded by the renew deadline (each apiserver request gets only the time left
// before it), and a timer steps the leader down the moment the deadline passes without a
// successful renewal, even while a slow request is still in flight: a leader must stop writing
// before its lease (renew deadline < lease duration) can be taken by another replica.
import { isStatus, objectPath, collectionPath, type KubeClient } from '../provider/kubernetes/index.ts';

/** An attempt that could not finish before the renew deadline: it counts as a failed renewal. */
class DeadlineExceeded extends Error {}

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  log?: (line: string) => void;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export class LeaderElector {
  private readonly opts: Required<Omit<LeaderElectorOptions, 'log'>> & Pick<LeaderElectorOptions, 'log'>;
  private leader = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** Fires when the renew deadline passes without a successful renewal (leader only). */
  private deadlineTimer: NodeJS.Timeout | undefined;
  private observedRecord = '';
  private observedAt = 0;
  private lastRenew = 0;
  /** The apiserver may name us holder (a round succeeded), even if stop() came before we acted on it. */
  private held = false;
  private running: Promise<void> = Promise.resolve();

  constructor(opts: LeaderElectorOptions) {
    this.opts = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
    if (this.opts.renewDeadlineMs >= this.opts.leaseDurationMs) throw new RangeError('the renew deadline must be shorter than the lease duration');
  }

  get isLeader(): boolean {
    return this.leader;
  }

  start(): this {
    this.tick();
    return this;
  }

  /**
   * Stops campaigning; a leader releases the lease (holder cleared) and steps down. With
   * `release: false` the lease is left to expire, as after a crash.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    clearTimeout(this.deadlineTimer);
    if (!this.leader && !this.held) return;
    if (opts.release === false) {
      this.setLeader(false);
      return;
    }
    try {
      const lease = await this.opts.client.get<Lease>(this.path());
      if (lease.spec?.holderIdentity === this.opts.identity) {
        await this.opts.client.replace(this.path(), { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(Date.now()) } });
      }
      this.held = false;
      this.log('lease released');
    } catch (err) {
      this.log(`could not release the lease: ${(err as Error).message}`);
    }
    this.setLeader(false);
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = this.round().catch((err: unknown) => this.log(`leader election: ${(err as Error).message}`)).finally(() => {
      if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.opts.retryPeriodMs);
    });
  }

  private async round(): Promise<void> {
    const started = Date.now();
    // The leader's lease is good for the renew deadline after its last successful renewal began;
    // a candidate gives one attempt the same budget. Past it, the answer no longer counts.
    const deadline = this.leader ? this.lastRenew + this.opts.renewDeadlineMs : started + this.opts.renewDeadlineMs;
    let ok: boolean;
    try {
      ok = await this.tryAcquireOrRenew(deadline);
    } catch (err) {
      this.log(`leader election: ${(err as Error).message}`);
      ok = false; // an unreachable apiserver counts as a failed renewal
    }
    if (ok) this.held = true;
    if (this.stopped) return;
    if (ok && Date.now() > deadline) {
      this.log(`the lease was written only after the renew deadline (${Date.now() - started} ms): not acting on it`);
      ok = false;
    }
    if (ok) {
      this.lastRenew = started;
      this.armDeadline();
      if (!this.leader) this.setLeader(true);
    } else if (this.leader && Date.now() >= this.lastRenew + this.opts.renewDeadlineMs) {
      this.stepDown();
    }
  }

  /** (Re)starts the step-down timer from the last successful renewal. */
  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const left = this.lastRenew + this.opts.renewDeadlineMs - Date.now();
    this.deadlineTimer = setTimeout(() => {
      if (!this.leader) return;
      // Timers may fire a hair early by Date.now(): look again rather than miss the deadline.
      if (Date.now() >= this.lastRenew + this.opts.renewDeadlineMs) this.stepDown();
      else this.armDeadline();
    }, Math.max(1, left));
    this.deadlineTimer.unref();
  }

  private stepDown(): void {
    clearTimeout(this.deadlineTimer);
    this.log(`could not renew the lease within ${this.opts.renewDeadlineMs} ms: stepping down`);
    this.setLeader(false);
  }

  /** Time left for one apiserver request; throws once the deadline has passed. */
  private budget(deadline: number): { timeoutMs: number } {
    const left = deadline - Date.now();
    if (left <= 0) throw new DeadlineExceeded(`renew deadline passed (${this.opts.renewDeadlineMs} ms)`);
    return { timeoutMs: left };
  }

  private async tryAcquireOrRenew(deadline: number): Promise<boolean> {
    const now = Date.now();
    const spec = { holderIdentity: this.opts.identity, leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000), renewTime: microTime(now) };
    let lease: Lease;
    try {
      lease = await this.opts.client.request<Lease>('GET', this.path(), this.budget(deadline));
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      try {
        await this.opts.client.request('POST', collectionPath('coordination.k8s.io', 'v1', 'leases', this.opts.namespace), {
          ...this.budget(deadline),
          body: {
            apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.opts.name, namespace: this.opts.namespace },
            spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
          },
        });
        return true;
      } catch (createErr) {
        if (isStatus(createErr, 409)) return false; // another candidate created it first
        throw createErr;
      }
    }
    const record = JSON.stringify([lease.spec?.holderIdentity, lease.spec?.renewTime, lease.metadata.resourceVersion]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = now;
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== '' && holder !== this.opts.identity && now < this.observedAt + durationMs) return false;
    const taking = holder !== this.opts.identity;
    try {
      await this.opts.client.request('PUT', this.path(), {
        ...this.budget(deadline),
        body: {
          ...lease,
          spec: {
            ...lease.spec, ...spec,
            acquireTime: taking ? microTime(now) : lease.spec?.acquireTime ?? microTime(now),
            leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + (taking && holder !== '' ? 1 : 0),
          },
        },
      });
      return true;
    } catch (err) {
      if (isStatus(err, 409)) return false; // someone else wrote it in between: look again next round
      throw err;
    }
  }

  private setLeader(v: boolean): void {
    if (this.leader === v) return;
    this.leader = v;
    this.log(v ? `became leader (${this.opts.namespace}/${this.opts.name} as ${this.opts.identity})` : 'no longer leader');
    if (v) this.opts.onStartedLeading();
    else this.opts.onStoppedLeading();
  }

  private path(): string {
    return objectPath('coordination.k8s.io', 'v1', 'leases', this.opts.name, this.opts.namespace);
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }
}
