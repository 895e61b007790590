// Writes translate's statuses through the status subresource, when leading. Only what changed is
// written (placeholder times match any stored time); each write carries the resourceVersion the
// status was computed from, and a 409 Conflict is answered by re-reading the object and
// re-merging (for routes: other controllers' parent entries from the fresh read, ours from
// translate) unless its spec moved on, in which case the next snapshot brings a new translation.
// A pass costs what changed (issue 14): a status found in place is remembered with the object and
// Propagated count it was checked against, and not compared again while all three are the same
// (found by the status object itself: no key is built for a status that did not move). Given the
// distribution layer's feed of the routes whose Propagated count moved (`propagationMoved`), a
// pass asks the counts of those alone, and a pass over the statuses the last complete pass
// settled (a resync after acks) visits those alone: O(changed), not O(routes).
import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_MESH_NAME, GATEWAY_API_X_GROUP, MESH_CONTROLLER_NAME } from '../../api/names.ts';
import { collectionPath, isStatus, WATCHED_RESOURCES, type KubeClient, type WatchedResource } from '../provider/kubernetes/index.ts';
import { SNAPSHOT_BUCKETS, type KubeObject, type Snapshot, type StatusUpdate } from '../translate/snapshot.ts';
import { intern } from '../../common/intern.ts';
import { ObjectIndex, objectKey } from './object-index.ts';
import { withPropagation, type PropagationCount, type PropagationHook } from './propagation.ts';
import { carryTimes, mergeRouteStatus, sameStatus, stampTimes } from './status-diff.ts';

export interface StatusWriterOptions {
  client: KubeClient;
  log?: (line: string) => void;
  /** The distribution layer's proxy counts per route; adds `meshlet.dev/Propagated` when given. */
  propagation?: PropagationHook;
  /**
   * The routes (`Kind/namespace/name`) whose `propagation` answer may have moved since the last
   * call, null when any may have (Publisher.movedRoutes, ReplicaPropagation.moved). Called once at
   * the start of each pass; with it a pass asks `propagation` only for those routes and the
   * statuses translation changed. Without it every route's count is asked on every pass.
   */
  propagationMoved?: () => ReadonlySet<string> | null;
  /** Create the default XMesh `meshlet` when absent (default true). */
  defaultMesh?: boolean;
  /** How long to wait before trying to create the default XMesh again after a failure (default 30 s). */
  meshRetryMs?: number;
  /** Re-read and re-merge this many times on 409 Conflict (default 5). */
  maxConflictRetries?: number;
  /** After other write errors, try the whole set again after this long (default 5 s). */
  errorRetryMs?: number;
  now?: () => Date;
  /**
   * Told of every write made over `over` (the snapshot's object), or over our own writes over it,
   * with no conflict on the way: the object with `resourceVersion` is `over` with the status
   * written and nothing else new. The provider folds that update into `over`
   * (KubernetesProvider.ownStatusWritten), so the next snapshot holds the same object.
   */
  onWritten?: (over: KubeObject, resourceVersion: string) => void;
}

export interface StatusWriterStats {
  writes: number;
  /** Statuses found in place, compared or (see pending()) known to be. */
  unchanged: number;
  /** Statuses compared with the stored one: what a pass cost, in statuses. */
  compared: number;
  /**
   * Statuses whose object was looked up by kind and name; the rest were known by the status
   * object itself (the same as last pass, on the same object: see pending()).
   */
  lookedUp: number;
  /** Propagated counts asked of the `propagation` hook (with `propagationMoved`: the moved routes and changed statuses only). */
  countsAsked: number;
  /** Statuses visited by passes (a resync over settled statuses visits the moved routes' alone). */
  visited: number;
  conflicts: number;
  errors: number;
}

const ROUTE_KINDS = new Set(['HTTPRoute', 'GRPCRoute']);

type Rec = Record<string, unknown>;

function groupVersion(apiVersion: string): [string, string] {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? ['', apiVersion] : [apiVersion.slice(0, i), apiVersion.slice(i + 1)];
}

/** A status found in place (or written): the same status, object and count need no second look. */
interface Settled {
  /** `Kind/namespace/name`: the `settled` map's key, and a route's key in the Propagated feed. */
  key: string;
  /** The feed's take (StatusWriter.seq) after which its count was last confirmed. */
  seq: number;
  /** The translation (StatusWriter.latest) whose pass last confirmed it. */
  of: Latest;
  u: StatusUpdate;
  current: KubeObject;
  /**
   * The resourceVersion the object has with this status in place: our write's, or the object's
   * own when found in place. Our write coming back through the watch after a conflict is a new
   * object with it (without one it is folded into `current`), and holds what we wrote: no second
   * look either (issue 14: after a pass that wrote every route's status, the next pass compared
   * every one again).
   */
  resourceVersion: string | undefined;
  upToDate: number;
  total: number;
  generation: number;
  /** ObjectIndex.epoch when `current` was found (ObjectIndex.still()). */
  epoch: number;
}

/** A status that differs from what is stored: what writeOne() needs to write it. */
interface Pending {
  u: StatusUpdate;
  current: KubeObject;
  resource: WatchedResource;
  count: PropagationCount | null;
  desired: Rec;
  /** The status the write replaces (its condition times are kept where nothing transitioned). */
  stored: unknown;
  /** ObjectIndex.epoch when `current` was found. */
  epoch: number;
  /** The translation whose pass found it. */
  of: Latest;
}

/** A translation's statuses with the snapshot they were computed from. */
interface Latest {
  snapshot: Snapshot;
  statuses: StatusUpdate[];
}

const RESOURCE_OF = new Map(WATCHED_RESOURCES.map((r) => [r.kind, r]));

function sameCount(s: Settled, count: PropagationCount | null): boolean {
  return count ? s.upToDate === count.upToDate && s.total === count.total && s.generation === count.generation : s.total === -1;
}

export class StatusWriter {
  readonly stats: StatusWriterStats = { writes: 0, unchanged: 0, compared: 0, lookedUp: 0, countsAsked: 0, visited: 0, conflicts: 0, errors: 0 };
  private readonly opts: StatusWriterOptions;
  private active = false;
  private latest: Latest | undefined;
  private dirty = false;
  private loop: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private nextMeshAttempt = 0;
  private meshTimer: NodeJS.Timeout | undefined;
  /** The objects statuses are written to, by kind and name, followed across snapshots. */
  private readonly objects = new ObjectIndex();
  /** Statuses known to be in place, by object (`Kind/namespace/name`; see pending()). */
  private readonly settled = new Map<string, Settled>();
  /**
   * The same records by the status object they were settled with: translation hands an unchanged
   * status back as the same object, so a pass finds most by it, with no key built or hashed
   * (issue 14: building and hashing two keys per status was most of a pass over 10 000 routes).
   */
  private byStatus = new WeakMap<StatusUpdate, Settled>();
  /**
   * The status last written (or found on a conflict's re-read) over a snapshot's copy of an
   * object, with the resourceVersion it got. Status updates of the kinds written here make no
   * snapshot (resource-informer.ts), so until a newer copy arrives the copy's status predates our
   * writes. Compared with it, a status going back to what the copy holds was taken as in place
   * while the API kept ours: issue 14, Propagated stuck at a "0/1" written while an agent was
   * between slices, the "1/1" after it never written. Keyed by the copy: a newer snapshot's copy
   * (with our write, or a newer one) is compared as it is. A write with no conflict comes back
   * folded into the copy itself (opts.onWritten): then the copy holds it too.
   */
  private written = new WeakMap<KubeObject, { status: Rec; resourceVersion: string | undefined; clean: boolean }>();
  // The Propagated feed (opts.propagationMoved), taken at the start of each pass: `seq` numbers
  // the takes, `movedAt` holds the last take that named each route, `allMovedAt` the last that
  // said any route may have moved. A record whose count was confirmed after take N still holds
  // unless a later take named its route: then, and only then, its count is asked again.
  private seq = 0;
  private readonly movedAt = new Map<string, number>();
  private allMovedAt = 0;
  /** Routes the takes named since the last complete pass (null: any route, or no feed). */
  private recent: Set<string> | null = null;
  /** The translation the last complete pass without errors went over. */
  private passed: Latest | undefined;

  constructor(opts: StatusWriterOptions) {
    this.opts = opts;
  }

  get leading(): boolean {
    return this.active;
  }

  /** Only the leader writes; becoming leader writes the latest statuses at once. */
  setLeader(active: boolean): void {
    this.active = active;
    if (active) {
      // Another replica may have written while we were not leading: compare everything once.
      this.settled.clear();
      this.byStatus = new WeakMap();
      this.written = new WeakMap();
      this.passed = undefined;
      this.resync();
    }
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
      const latest = this.latest;
      const { snapshot, statuses } = latest;
      this.takeMoved();
      // The statuses the last complete pass settled, again (a resync after acks): only the routes
      // whose count moved since can have anything to write; their records name their statuses.
      const again = this.passed === latest && this.recent !== null;
      let failed = false;
      let complete = true;
      if (this.opts.defaultMesh !== false) await this.ensureDefaultMesh(snapshot);
      for (const u of again ? this.movedStatuses(latest) : statuses) {
        if (!this.active || this.latest.snapshot !== snapshot) { // newer work or lost leadership
          complete = false;
          break;
        }
        this.stats.visited++;
        // Synchronous, and cheap for a status already in place: a pass costs what changed.
        const pending = this.pending(u, latest);
        if (!pending) continue;
        try {
          await this.writeOne(pending);
        } catch (err) {
          failed = true;
          this.stats.errors++;
          this.log(`status of ${u.kind} ${u.namespace ? `${u.namespace}/` : ''}${u.name}: ${(err as Error).message}`);
        }
      }
      if (complete) {
        // Every status was visited, or (again) every one whose count a take named since the last.
        this.recent = this.opts.propagationMoved ? new Set() : null;
        this.passed = failed ? undefined : latest;
      }
      this.prune(statuses);
      if (failed && this.active) {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.resync(), this.opts.errorRetryMs ?? 5000);
      }
    }
  }

  /** One take of the feed: what moved since the last (null: any route may have). */
  private takeMoved(): void {
    if (!this.opts.propagationMoved) return;
    const seq = ++this.seq;
    const fed = this.opts.propagationMoved();
    if (fed === null) {
      this.allMovedAt = seq;
      this.recent = null;
      this.movedAt.clear();
      return;
    }
    for (const key of fed) {
      this.movedAt.set(key, seq);
      this.recent?.add(key);
    }
  }

  /**
   * The statuses of the routes named since the last complete pass, among those that pass over
   * `latest` settled (its other statuses are in place with counts that did not move; a status it
   * did not settle was not in its snapshot, or was left to the newer translation its object's
   * spec is bringing).
   */
  private *movedStatuses(latest: Latest): Generator<StatusUpdate> {
    for (const key of [...this.recent!]) {
      const s = this.settled.get(key);
      if (s && s.of === latest && this.byStatus.get(s.u) === s) yield s.u;
    }
  }

  /** Whether the route settled as `s` may have another Propagated count than it was settled with. */
  private countMayHaveMoved(s: Settled): boolean {
    return !this.opts.propagationMoved || s.seq < this.allMovedAt || (this.movedAt.get(s.key) ?? 0) > s.seq;
  }

  /**
   * What to write for `u`, or null when nothing: the object is gone from the snapshot, or its
   * stored status is the desired one. A status, object and Propagated count that are all the
   * ones last found in place (or written) are not compared again: the translator hands back an
   * unchanged status as the same object and the provider an unchanged object as the same one,
   * so after a route or endpoint change only the changed routes are compared.
   */
  private pending(u: StatusUpdate, latest: Latest): Pending | null {
    const { snapshot } = latest;
    // The snapshot's own kind map: a second list here once left AuthorizationPolicy unwritten.
    const bucket = SNAPSHOT_BUCKETS[u.kind];
    const resource = RESOURCE_OF.get(u.kind);
    if (!bucket || !resource) return null;
    // The same status object settled on an object still in this snapshot: only the count to check.
    const known = this.byStatus.get(u);
    let asked: { generation: number; count: PropagationCount | null } | undefined;
    if (known && known.u === u && this.objects.still(snapshot, bucket, known.current, known.epoch)
      && (!this.countMayHaveMoved(known) || sameCount(known, (asked = { generation: known.current.metadata.generation ?? 0, count: this.countOf(u, known.current.metadata.generation ?? 0) }).count))) {
      known.seq = this.seq;
      known.of = latest;
      this.stats.unchanged++;
      return null;
    }
    this.stats.lookedUp++;
    const key = objectKey(u.namespace, u.name);
    const current = this.objects.get(snapshot, bucket, key);
    if (!current) return null; // not from this snapshot: nothing to compare or write against
    // Read after get(), which may have indexed the list afresh; kept with what a write settles.
    const epoch = this.objects.epoch;
    const generation = current.metadata.generation ?? 0;
    // Asked once per status and pass: the count the check above got, when for the same generation.
    const count = asked?.generation === generation ? asked.count : this.countOf(u, generation);
    const settled = this.settled.get(`${u.kind}/${key}`);
    // Route statuses come back as the same object while unchanged; the few statuses translation
    // builds afresh every round (GatewayClasses, Gateways, XMeshes) are compared with the last.
    if (settled && (settled.current === current || (settled.resourceVersion !== undefined && settled.resourceVersion === current.metadata.resourceVersion))
      && sameCount(settled, count) && (settled.u === u || isDeepStrictEqual(settled.u.status, u.status))) {
      settled.u = u;
      settled.current = current;
      settled.epoch = epoch;
      settled.seq = this.seq;
      settled.of = latest;
      this.byStatus.set(u, settled);
      this.stats.unchanged++;
      return null;
    }
    this.stats.compared++;
    const stored = this.written.get(current)?.status ?? current.status;
    const desired = count ? withPropagation(u.status, count, generation, stored) : u.status;
    if (sameStatus(desired, stored ?? {})) {
      this.settle(u, current, count, this.written.get(current)?.resourceVersion ?? current.metadata.resourceVersion, epoch, latest);
      this.stats.unchanged++;
      return null;
    }
    return { u, current, resource, count, desired, stored, epoch, of: latest };
  }

  /** The Propagated count of a route at `generation` (null: no hook, not a route, or no agent holds it). */
  private countOf(u: StatusUpdate, generation: number): PropagationCount | null {
    if (!ROUTE_KINDS.has(u.kind) || !this.opts.propagation) return null;
    this.stats.countsAsked++;
    return this.opts.propagation({ kind: u.kind, namespace: u.namespace ?? '', name: u.name, generation });
  }

  private settle(u: StatusUpdate, current: KubeObject, count: PropagationCount | null, resourceVersion: string | undefined, epoch: number, of: Latest): void {
    // The feed's route key (publish/slice.ts routeKey), interned: one flat copy however often built.
    const key = intern(`${u.kind}/${objectKey(u.namespace, u.name)}`);
    // Confirmed after this pass's take (seq moves only between passes, never during one).
    const s: Settled = { key, seq: this.seq, of, u, current, resourceVersion, upToDate: count?.upToDate ?? -1, total: count?.total ?? -1, generation: count?.generation ?? -1, epoch };
    // The record it replaces may still be reachable by its status object: never valid again.
    const replaced = this.settled.get(key);
    if (replaced) replaced.epoch = -1;
    this.settled.set(key, s);
    this.byStatus.set(u, s);
  }

  /** Forgets objects no status names any more (deleted routes), once they are as many as the rest. */
  private prune(statuses: StatusUpdate[]): void {
    if (this.movedAt.size > 2 * statuses.length + 64) {
      // Routes that left keep their entries: start over, every count asked once more.
      this.movedAt.clear();
      this.allMovedAt = this.seq;
    }
    if (this.settled.size <= 2 * statuses.length + 64) return;
    const live = new Set(statuses.map((u) => `${u.kind}/${objectKey(u.namespace, u.name)}`));
    for (const key of this.settled.keys()) if (!live.has(key)) this.settled.delete(key);
  }

  private async writeOne(p: Pending): Promise<void> {
    const { u, current, resource, count } = p;
    const isRoute = ROUTE_KINDS.has(u.kind);
    const generation = current.metadata.generation ?? 0;
    const desiredFor = (stored: unknown, base: Rec): Rec => (count ? withPropagation(base, count, generation, stored) : base);
    let desired = p.desired;
    let stored = p.stored;
    const [group, version] = groupVersion(current.apiVersion);
    const path = `${collectionPath(group, version, resource.plural, resource.namespaced ? u.namespace : undefined)}/${encodeURIComponent(u.name)}/status`;
    // On top of our last write when there is one: its resourceVersion, not the copy's (a 409).
    const prior = this.written.get(current);
    const ours = prior?.resourceVersion;
    // Made over `current` alone: no conflict here or in the writes over it before (a conflict's
    // re-read may bring in what the copy lacks, such as another controller's entry).
    let clean = prior?.clean ?? true;
    let base: KubeObject = ours !== undefined ? { ...current, metadata: { ...current.metadata, resourceVersion: ours } } : current;
    for (let attempt = 0; ; attempt++) {
      try {
        // Route condition times are ours to keep (translation gives every one the placeholder).
        const status = stampTimes(isRoute ? carryTimes(desired, stored, u.namespace ?? '') : desired, this.now()) as Rec;
        const res = await this.opts.client.replace<KubeObject | undefined>(path, { ...base, apiVersion: current.apiVersion, kind: u.kind, status });
        const resourceVersion = res?.metadata?.resourceVersion;
        clean &&= attempt === 0;
        this.written.set(current, { status, resourceVersion, clean });
        this.stats.writes++;
        if (clean && resourceVersion !== undefined) this.opts.onWritten?.(current, resourceVersion);
        // What the API server now holds is this status: until the status, the object in our
        // snapshot or the count moves, a pass has nothing to compare (our own write comes back
        // as a status-only update the snapshot may not carry; comparing with the older object
        // would only write again and be refused with a conflict).
        this.settle(u, current, count, resourceVersion, p.epoch, p.of);
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
      if (sameStatus(desired, fresh.status ?? {})) {
        this.written.set(current, { status: fresh.status ?? {}, resourceVersion: fresh.metadata.resourceVersion, clean: false });
        this.settle(u, current, count, fresh.metadata.resourceVersion, p.epoch, p.of);
        return;
      }
      stored = fresh.status;
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
