// Writes translate's statuses through the status subresource, when leading. Only what changed is
// written (placeholder times match any stored time); each write carries the resourceVersion the
// status was computed from, and a 409 Conflict is answered by re-reading the object and
// re-merging (for routes: other controllers' parent entries from the fresh read, ours from
// translate) unless its spec moved on, in which case the next snapshot brings a new translation.
import { DEFAULT_MESH_NAME, GATEWAY_API_X_GROUP, MESH_CONTROLLER_NAME } from '../../api/names.ts';
import { collectionPath, isStatus, WATCHED_RESOURCES, type KubeClient } from '../provider/kubernetes/index.ts';
import { SNAPSHOT_BUCKETS, type KubeObject, type Snapshot, type StatusUpdate } from '../translate/snapshot.ts';
import { withPropagation, type PropagationHook } from './propagation.ts';
import { mergeRouteStatus, sameStatus, stampTimes } from './status-diff.ts';

export interface StatusWriterOptions {
  client: KubeClient;
  log?: (line: string) => void;
  /** The distribution layer's proxy counts per route; adds `meshlet.dev/Propagated` when given. */
  propagation?: PropagationHook;
  /** Create the default XMesh `meshlet` when absent (default true). */
  defaultMesh?: boolean;
  /** How long to wait before trying to create the default XMesh again after a failure (default 30 s). */
  meshRetryMs?: number;
  /** Re-read and re-merge this many times on 409 Conflict (default 5). */
  maxConflictRetries?: number;
  /** After other write errors, try the whole set again after this long (default 5 s). */
  errorRetryMs?: number;
  now?: () => Date;
}

export interface StatusWriterStats {
  writes: number;
  unchanged: number;
  conflicts: number;
  errors: number;
}

const ROUTE_KINDS = new Set(['HTTPRoute', 'GRPCRoute']);

type Rec = Record<string, unknown>;

function groupVersion(apiVersion: string): [string, string] {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? ['', apiVersion] : [apiVersion.slice(0, i), apiVersion.slice(i + 1)];
}

/**
 * Per snapshot and kind, its objects by namespace/name, built on first use. A find() per status
 * made every pass quadratic: 0.7 s of CPU at 10 000 routes, on every submit and every
 * Propagated resync (about once a second while agents ack).
 */
const byName = new WeakMap<Snapshot, Map<string, Map<string, KubeObject>>>();

function objectIn(snapshot: Snapshot, bucket: NonNullable<(typeof SNAPSHOT_BUCKETS)[string]>, namespace: string | undefined, name: string): KubeObject | undefined {
  let kinds = byName.get(snapshot);
  if (!kinds) byName.set(snapshot, (kinds = new Map<string, Map<string, KubeObject>>()));
  let index = kinds.get(bucket);
  if (!index) {
    index = new Map<string, KubeObject>();
    for (const o of snapshot[bucket]) {
      const key = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      if (!index.has(key)) index.set(key, o); // the first, as find() did
    }
    kinds.set(bucket, index);
  }
  return index.get(`${namespace ?? ''}/${name}`);
}

export class StatusWriter {
  readonly stats: StatusWriterStats = { writes: 0, unchanged: 0, conflicts: 0, errors: 0 };
  private readonly opts: StatusWriterOptions;
  private active = false;
  private latest: { snapshot: Snapshot; statuses: StatusUpdate[] } | undefined;
  private dirty = false;
  private loop: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private nextMeshAttempt = 0;
  private meshTimer: NodeJS.Timeout | undefined;

  constructor(opts: StatusWriterOptions) {
    this.opts = opts;
  }

  get leading(): boolean {
    return this.active;
  }

  /** Only the leader writes; becoming leader writes the latest statuses at once. */
  setLeader(active: boolean): void {
    this.active = active;
    if (active) this.resync();
    else {
      clearTimeout(this.retryTimer);
      clearTimeout(this.meshTimer);
    }
  }

  /** The statuses of a new translation, with the snapshot they were computed from. */
  submit(snapshot: Snapshot, statuses: StatusUpdate[]): void {
    this.latest = { snapshot, statuses };
    this.resync();
  }

  /** Compare and write the latest statuses again (e.g. propagation counts changed). */
  resync(): void {
    this.dirty = true;
    if (this.active && this.latest) this.loop ??= this.drain().finally(() => { this.loop = undefined; });
  }

  /** Resolves once no write is in progress (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  close(): void {
    this.active = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.meshTimer);
  }

  private async drain(): Promise<void> {
    while (this.dirty && this.active && this.latest) {
      this.dirty = false;
      const { snapshot, statuses } = this.latest;
      let failed = false;
      if (this.opts.defaultMesh !== false) await this.ensureDefaultMesh(snapshot);
      for (const u of statuses) {
        if (!this.active || this.latest.snapshot !== snapshot) break; // newer work or lost leadership
        try {
          await this.writeOne(u, snapshot);
        } catch (err) {
          failed = true;
          this.stats.errors++;
          this.log(`status of ${u.kind} ${u.namespace ? `${u.namespace}/` : ''}${u.name}: ${(err as Error).message}`);
        }
      }
      if (failed && this.active) {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.resync(), this.opts.errorRetryMs ?? 5000);
      }
    }
  }

  private async writeOne(u: StatusUpdate, snapshot: Snapshot): Promise<void> {
    // The snapshot's own kind map: a second list here once left AuthorizationPolicy unwritten.
    const bucket = SNAPSHOT_BUCKETS[u.kind];
    const current = bucket && objectIn(snapshot, bucket, u.namespace, u.name);
    const resource = WATCHED_RESOURCES.find((r) => r.kind === u.kind);
    if (!current || !resource) return; // not from this snapshot: nothing to compare or write against
    const isRoute = ROUTE_KINDS.has(u.kind);
    const generation = current.metadata.generation ?? 0;
    const count = isRoute && this.opts.propagation ? this.opts.propagation({ kind: u.kind, namespace: u.namespace ?? '', name: u.name, generation }) : null;
    const desiredFor = (stored: unknown, base: Rec): Rec => (count ? withPropagation(base, count, generation, stored) : base);
    let desired = desiredFor(current.status, u.status);
    if (sameStatus(desired, current.status ?? {})) {
      this.stats.unchanged++;
      return;
    }
    const [group, version] = groupVersion(current.apiVersion);
    const path = `${collectionPath(group, version, resource.plural, resource.namespaced ? u.namespace : undefined)}/${encodeURIComponent(u.name)}/status`;
    let base: KubeObject = current;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.client.replace(path, { ...base, apiVersion: current.apiVersion, kind: u.kind, status: stampTimes(desired, this.now()) });
        this.stats.writes++;
        return;
      } catch (err) {
        if (isStatus(err, 404)) return; // deleted meanwhile
        if (!isStatus(err, 409) || attempt >= (this.opts.maxConflictRetries ?? 5)) throw err;
        this.stats.conflicts++;
      }
      let fresh: KubeObject;
      try {
        fresh = await this.opts.client.get<KubeObject>(path.slice(0, -'/status'.length));
      } catch (err) {
        if (isStatus(err, 404)) return;
        throw err;
      }
      if ((fresh.metadata.generation ?? 0) !== generation) return; // spec changed: a newer translation is coming
      desired = isRoute ? desiredFor(fresh.status, mergeRouteStatus(u.status, fresh.status)) : desired;
      if (sameStatus(desired, fresh.status ?? {})) return;
      base = fresh;
    }
  }

  private async ensureDefaultMesh(snapshot: Snapshot): Promise<void> {
    if (snapshot.meshes.some((m) => m.metadata.name === DEFAULT_MESH_NAME) || Date.now() < this.nextMeshAttempt) return;
    try {
      await this.opts.client.create(collectionPath(GATEWAY_API_X_GROUP, 'v1alpha1', 'xmeshes'), {
        apiVersion: `${GATEWAY_API_X_GROUP}/v1alpha1`, kind: 'XMesh', metadata: { name: DEFAULT_MESH_NAME }, spec: { controllerName: MESH_CONTROLLER_NAME },
      });
      this.log(`created the default XMesh '${DEFAULT_MESH_NAME}'`);
    } catch (err) {
      if (isStatus(err, 409)) return; // exists (our cache lags): never touch its spec
      const wait = this.opts.meshRetryMs ?? 30_000;
      this.nextMeshAttempt = Date.now() + wait;
      // Try again even if nothing else changes by then (e.g. the CRDs get installed quietly).
      clearTimeout(this.meshTimer);
      this.meshTimer = setTimeout(() => this.resync(), wait + 1);
      this.log(isStatus(err, 404) ? 'XMesh is not served by the cluster (Gateway API experimental CRDs not installed); no default mesh' : `creating the default XMesh: ${(err as Error).message}`);
    }
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }
}
