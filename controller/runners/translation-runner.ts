// The controller's main loop as a runner: the provider's informers feed coalesced snapshots to
// translate (pure); every replica publishes the resulting table to the agents connected to it,
// and the replica holding the Lease writes statuses. Agents' acks (via the publisher) rewrite
// route statuses with `meshlet.dev/Propagated` counts, throttled.
import { KubernetesProvider, type KubeClient } from '../provider/kubernetes/index.ts';
import type { Publisher } from '../publish/index.ts';
import { LeaderElector, ReplicaPropagation, StatusWriter, type PropagationHook } from '../status/index.ts';
import { EndpointPatcher, endpointOnlyChange, IncrementalTranslator, sameExceptEndpoints, type IncrementalStats } from '../translate/index.ts';
import type { KubeObject, Snapshot, TranslateResult } from '../translate/snapshot.ts';
import { metric } from '../../common/prometheus.ts';
import type { Runner } from './runner.ts';

export interface ControllerOptions {
  client: KubeClient;
  log: (line: string) => void;
  leaderElection?: { namespace: string; name: string; identity: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number } | false;
  debounceMs?: number;
  /** The window of a batch of EndpointSlice/Pod changes alone (default 5 ms). */
  endpointDebounceMs?: number;
  maxDelayMs?: number;
  gatewayAddresses?: string[];
  ingressService?: { namespace: string; name: string };
  trustDomain?: string;
  defaultMesh?: boolean;
  /** Serves every translation's table to agents and counts their acks for `meshlet.dev/Propagated`. */
  publisher?: Publisher | (() => Publisher | null);
  /** Rewrite statuses at most this often when agents' acks change the counts (default 1000 ms). */
  propagationResyncMs?: number;
  /** Called with every translation (tests). */
  onTranslated?: (result: TranslateResult, snapshot: Snapshot) => void;
  /** Overrides the publisher's counts (tests). */
  propagation?: PropagationHook;
  /**
   * With leader election and a publisher: every replica publishes its agents' acks on a Lease of
   * its own and the leader sums them into Propagated (status/replica-propagation.ts). Timings
   * default to a 5 s renewal, stale after 15 s, records read every 1 s, written at most 1/s.
   */
  replicaAcks?: { renewMs?: number; staleAfterMs?: number; pollMs?: number; minWriteIntervalMs?: number } | false;
  /** Passed to the provider's informers (tests shorten them). */
  backoff?: { initialMs?: number; maxMs?: number };
  missingRetryMs?: number;
  meshRetryMs?: number;
  /** Gives malloc's free pages back after the idle heap collection (agent/native's releaseFreeMemory, passed by the cli). */
  releaseFreeMemory?: () => boolean;
}

/** Route objects of `next` that are not the very objects of `prev` (each costs the next translation a compare in place). */
function newRouteObjects(prev: Snapshot | undefined, next: Snapshot): number {
  if (!prev) return next.httpRoutes.length + next.grpcRoutes.length;
  let n = 0;
  for (const key of ['httpRoutes', 'grpcRoutes'] as const) {
    const a = prev[key];
    const b = next[key];
    let seen: Set<KubeObject> | undefined;
    for (let i = 0; i < b.length; i++) {
      if (a[i] === b[i]) continue;
      seen ??= new Set(a);
      if (!seen.has(b[i]!)) n++;
    }
  }
  return n;
}

/** LoadBalancer IPs/hostnames of the ingress Service, as translate wants them per Gateway. */
function addressesFor(snapshot: Snapshot, opts: ControllerOptions): Record<string, string[]> {
  let addrs = opts.gatewayAddresses ?? [];
  if (addrs.length === 0 && opts.ingressService) {
    const { namespace, name } = opts.ingressService;
    const svc = snapshot.services.find((s) => s.metadata.namespace === namespace && s.metadata.name === name);
    const ingress = ((svc?.status?.loadBalancer as { ingress?: { ip?: string; hostname?: string }[] } | undefined)?.ingress ?? []);
    addrs = ingress.map((i) => i.ip ?? i.hostname).filter((a): a is string => typeof a === 'string' && a !== '');
  }
  if (addrs.length === 0) return {};
  return Object.fromEntries(snapshot.gateways.map((g) => [`${g.metadata.namespace ?? 'default'}/${g.metadata.name}`, addrs]));
}

/** Counts cover the agents connected to this replica; a route no agent was sent has none. */
function publisherPropagation(publisher: () => Publisher | null): PropagationHook {
  return (route) => {
    const p = publisher()?.propagation(route);
    return !p || p.generation === 0 ? null : p;
  };
}

export class TranslationRunner implements Runner {
  readonly name = 'translation';
  readonly provider: KubernetesProvider;
  readonly writer: StatusWriter;
  readonly elector: LeaderElector | undefined;
  /** Propagated summed across replicas (with leader election and a publisher). */
  readonly replicaAcks: ReplicaPropagation | undefined;
  readonly #opts: ControllerOptions;
  readonly #publisher: () => Publisher | null;
  #translations = 0;
  #endpointPatches = 0;
  #incremental = 0;
  /** Translates again only what depends on what changed (controller/translate/incremental.ts). */
  readonly #translator = new IncrementalTranslator();
  /** The endpoint fast path, sharing the translator's indexes and entry JSON. */
  readonly #patcher = new EndpointPatcher(this.#translator.versioner);
  #unitsBuilt = 0;
  #unitsReused = 0;
  /** The last snapshot and its result, for the endpoint fast path. */
  #last: { snapshot: Snapshot; result: TranslateResult } | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #stopWatchingAcks: (() => void) | undefined;
  #newRouteObjects = 0;
  /** The last snapshot the translator was given (endpoint patches go past it). */
  #translated: Snapshot | undefined;

  constructor(opts: ControllerOptions) {
    this.#opts = opts;
    const p = opts.publisher;
    this.#publisher = typeof p === 'function' ? p : () => p ?? null;
    const le = opts.leaderElection;
    this.replicaAcks = p && le && opts.replicaAcks !== false && !opts.propagation ? new ReplicaPropagation({
      client: opts.client, namespace: le.namespace, identity: le.identity, log: opts.log, ...opts.replicaAcks,
      own: this.#publisher, leading: () => this.writer.leading, onChange: () => this.#scheduleResync(),
    }) : undefined;
    const propagation = opts.propagation ?? this.replicaAcks?.hook ?? (p ? publisherPropagation(this.#publisher) : undefined);
    // The routes whose counts moved, so that a status pass asks those alone (issue 14).
    const propagationMoved = opts.propagation ? undefined : this.replicaAcks?.moved ?? (p ? () => this.#publisher()?.movedRoutes() ?? null : undefined);
    // Our writes come back folded into the objects they were written over (same objects in the
    // next snapshot, issue 14), not as new objects every route of a pass re-translated for.
    this.writer = new StatusWriter({
      client: opts.client, log: opts.log, propagation, propagationMoved, defaultMesh: opts.defaultMesh, meshRetryMs: opts.meshRetryMs,
      onWritten: (over, resourceVersion) => this.provider.ownStatusWritten(over, resourceVersion),
    });
    this.provider = new KubernetesProvider({
      client: opts.client, log: opts.log, debounceMs: opts.debounceMs, endpointDebounceMs: opts.endpointDebounceMs, maxDelayMs: opts.maxDelayMs,
      trustDomain: opts.trustDomain,
      backoff: opts.backoff, missingRetryMs: opts.missingRetryMs,
      onSnapshot: (raw) => this.#translate(raw),
      // Nor while agents are acknowledging the last table: the pause would hold their acks.
      idleHeapReclaim: { pending: () => this.#publisher()?.propagating ?? false, ...(opts.releaseFreeMemory ? { releaseFree: opts.releaseFreeMemory } : {}) },
    });
    this.elector = le === false || le === undefined ? undefined : new LeaderElector({
      client: opts.client, ...le, log: opts.log,
      onStartedLeading: () => this.writer.setLeader(true),
      onStoppedLeading: () => this.writer.setLeader(false),
    });
  }

  /** Translations of a snapshot (not endpoint patches), incremental ones included. */
  get translations(): number {
    return this.#translations;
  }

  /**
   * A namespace's labels and annotations as the watch last saw them (undefined: not seen yet).
   * The injection webhook asks here first: a GET per admission can time out on a busy API
   * server, and the namespace's annotations (its pods' mTLS mode) must not be lost to that.
   */
  namespaceMeta(name: string): { labels: Record<string, string>; annotations: Record<string, string> } | undefined {
    const ns = this.#last?.snapshot.namespaces.find((n) => n.metadata.name === name);
    return ns ? { labels: ns.metadata.labels ?? {}, annotations: ns.metadata.annotations ?? {} } : undefined;
  }

  /** Translations that reused the previous one's unchanged parts (every one after the first). */
  get incrementalTranslations(): number {
    return this.#incremental;
  }

  /** Snapshots where only endpoints changed, answered by patching the last result. */
  get endpointPatches(): number {
    return this.#endpointPatches;
  }

  /** Route objects the last translation was handed that the one before it was not (compared in place, re-keyed by the writer). */
  get lastNewRouteObjects(): number {
    return this.#newRouteObjects;
  }

  /** What the last translation rebuilt and what it handed back (IncrementalTranslator.stats). */
  get lastTranslation(): IncrementalStats {
    return this.#translator.stats;
  }

  #translate(raw: Snapshot): void {
    const startedAt = performance.now();
    const snapshot = { ...raw, gatewayAddresses: addressesFor(raw, this.#opts) };
    // Only EndpointSlices or Pods changed (a pod became ready): patch the endpoints of the last
    // result instead of re-translating every route (controller/translate/endpoint-patch.ts).
    const change = this.#last ? endpointOnlyChange(this.#last.snapshot, snapshot) : null;
    let result: TranslateResult;
    const last = this.#last;
    if (last && change) {
      result = this.#patcher.patch(last.result, snapshot, change);
      this.#endpointPatches++;
    } else {
      this.#newRouteObjects = newRouteObjects(this.#translated, snapshot);
      this.#translated = snapshot;
      // Equal to translate(snapshot) (incremental.test.ts); only the changed route units rebuilt.
      const patches = this.#translator.patches;
      result = this.#translator.translate(snapshot);
      this.#translations++;
      const st = this.#translator.stats;
      // A route patch (route-patch.ts) visits only what the change touches: its stats say nothing
      // of the routes it left as they were, which it reused all the same.
      const patched = this.#translator.patches > patches;
      if (patched || st.routesReused + st.frontendsReused + st.backendsReused > 0) this.#incremental++;
      this.#unitsBuilt += st.routesBuilt;
      this.#unitsReused += patched ? snapshot.httpRoutes.length + snapshot.grpcRoutes.length - st.routesBuilt : st.routesReused;
      this.#patcher.rebase(this.#translator.lookup);
    }
    this.#last = { snapshot, result };
    this.#publisher()?.setTable(result.ir, startedAt);
    this.#opts.onTranslated?.(result, snapshot);
    // Endpoints alone changed and the statuses are the very same: the writer's snapshot holds the
    // same objects it would be given, so a pass over every status (O(routes)) would find nothing.
    if (last && change && result.statuses === last.result.statuses && sameExceptEndpoints(last.snapshot, snapshot)) return;
    this.writer.submit(snapshot, result.statuses);
  }

  start(): Promise<void> {
    if (!this.elector) this.writer.setLeader(true);
    // Acks move the Propagated counts: rewrite statuses, throttled, and tell the other replicas.
    this.#stopWatchingAcks = this.#publisher()?.onChange(() => {
      this.replicaAcks?.ownChanged();
      this.#scheduleResync();
    });
    this.replicaAcks?.start();
    this.provider.start();
    this.elector?.start();
    return Promise.resolve();
  }

  #scheduleResync(): void {
    this.#resyncTimer ??= setTimeout(() => {
      this.#resyncTimer = undefined;
      // The writer's pass asks only the routes whose counts moved (propagationMoved): when none
      // did (an endpoint change every agent acknowledged again), it finds nothing, at no cost.
      this.writer.resync();
    }, this.#opts.propagationResyncMs ?? 1000);
  }

  ready(): boolean {
    return this.#translations > 0;
  }

  metrics(): string {
    const leader = this.elector ? (this.elector.isLeader ? 1 : 0) : 1;
    return metric('meshlet_controller_translations_total', 'counter', 'Snapshots translated into a routing table.', this.#translations)
      + metric('meshlet_controller_incremental_translations_total', 'counter', 'Translations that reused the unchanged parts of the previous one (a subset of translations_total).', this.#incremental)
      + metric('meshlet_controller_translated_routes_total', 'counter', 'Route units across translations, by whether they were rebuilt or reused unchanged.', [
        { labels: { result: 'built' }, value: this.#unitsBuilt },
        { labels: { result: 'reused' }, value: this.#unitsReused },
      ])
      + metric('meshlet_controller_endpoint_patches_total', 'counter', 'Snapshots where only EndpointSlices or Pods changed, answered by patching endpoints without re-translating routes.', this.#endpointPatches)
      + metric('meshlet_controller_leader', 'gauge', 'Whether this replica writes statuses (holds the Lease).', leader)
      + (this.replicaAcks ? metric('meshlet_controller_propagation_replicas', 'gauge', 'Replicas whose agents Propagated counts: this one and the others with a live propagation record (ADR 0014).', 1 + this.replicaAcks.reader.live().length)
        + metric('meshlet_controller_propagation_record_writes_total', 'counter', 'Writes of this replica\'s propagation record (its agents\' acks, on its own Lease).', this.replicaAcks.writer.writes) : '')
      + metric('meshlet_controller_status_writes_total', 'counter', 'Status writes by outcome: written, unchanged (skipped, nothing to change), conflict (retried on a newer object), error.', [
        { labels: { result: 'written' }, value: this.writer.stats.writes },
        { labels: { result: 'unchanged' }, value: this.writer.stats.unchanged },
        { labels: { result: 'conflict' }, value: this.writer.stats.conflicts },
        { labels: { result: 'error' }, value: this.writer.stats.errors },
      ]);
  }

  async stop(): Promise<void> {
    this.#stopWatchingAcks?.();
    clearTimeout(this.#resyncTimer);
    this.provider.close();
    this.writer.close();
    await this.replicaAcks?.stop();
    clearTimeout(this.#resyncTimer); // its reader may have asked for one while stopping
    await this.elector?.stop();
    await this.writer.idle();
  }
}

export interface Controller {
  provider: KubernetesProvider;
  writer: StatusWriter;
  elector: LeaderElector | undefined;
  replicaAcks: ReplicaPropagation | undefined;
  readonly translations: number;
  readonly incrementalTranslations: number;
  readonly endpointPatches: number;
  /** TranslationRunner.lastTranslation. */
  readonly lastTranslation: IncrementalStats;
  /** TranslationRunner.lastNewRouteObjects. */
  readonly lastNewRouteObjects: number;
  /** Prometheus text of the translation side (what the admin port's /metrics serves). */
  metrics(): string;
  /** TranslationRunner.namespaceMeta(). */
  namespaceMeta(name: string): { labels: Record<string, string>; annotations: Record<string, string> } | undefined;
  close(): Promise<void>;
}

/** The translation runner started on its own (integration tests run controllers in-process). */
export function startController(opts: ControllerOptions): Controller {
  const runner = new TranslationRunner(opts);
  void runner.start();
  return {
    provider: runner.provider, writer: runner.writer, elector: runner.elector, replicaAcks: runner.replicaAcks,
    get translations() {
      return runner.translations;
    },
    get incrementalTranslations() {
      return runner.incrementalTranslations;
    },
    get endpointPatches() {
      return runner.endpointPatches;
    },
    get lastTranslation() {
      return runner.lastTranslation;
    },
    get lastNewRouteObjects() {
      return runner.lastNewRouteObjects;
    },
    metrics: () => runner.metrics(),
    namespaceMeta: (name) => runner.namespaceMeta(name),
    close: () => runner.stop(),
  };
}
