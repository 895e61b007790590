// One resilient informer: our WatchLoop (list once, then watch with bookmarks, resuming from the
// last resourceVersion and relisting only on 410 Gone) wrapped with what a controller needs on
// top. When the loop stops on an error, this restarts it with backoff and jitter (it resumes
// from where it was, no relist); a resource the cluster does not serve (Gateway API CRDs not
// installed) is reported as missing and retried, and the served version is chosen from the
// candidates (v1, falling back to v1beta1). Cached objects are stripped of what translation never
// reads first, carry their apiVersion and kind and share their short strings (strip-unread.ts):
// the cached object is the one every snapshot holds, never a copy. Our own status writes coming
// back are folded into the object they were written over (ownStatusWritten): it stays the same
// object, with the new status and resourceVersion.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { KubeObject } from '../../translate/snapshot.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { isStatus } from './errors.ts';
import { collectionPath, type KubeClient, type KubeList } from './kube-client.ts';
import { apiVersionOf, type WatchedResource } from './watched-resources.ts';
import { WatchLoop } from './watch-loop.ts';
import { transformFor } from './strip-unread.ts';

export type InformerState = 'starting' | 'synced' | 'missing' | 'failing' | 'stopped';

/**
 * Kinds whose status-only updates do not re-trigger translation: those meshlet writes status to,
 * and Pods (their status churns: conditions, container states). Of a Pod's status translation
 * reads only the IPs (AuthorizationPolicy pod targets), which the informer's transform keeps
 * and the fingerprint therefore covers: a pod getting its IP is a change.
 */
const STATUS_WRITTEN_KINDS = new Set(['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'XMesh', 'Pod']);

function fingerprint(o: KubernetesObject, withStatus: boolean): string {
  const m = o.metadata ?? {};
  const read = withStatus ? (o as { status?: unknown }).status : undefined; // stripPod left only the IPs
  return JSON.stringify([m.generation, m.labels, m.annotations, m.deletionTimestamp, m.creationTimestamp, (o as { spec?: unknown }).spec, read]);
}

export interface ResourceInformerOptions {
  namespace?: string;
  /** e.g. `metadata.name=tls-cert` for a single Secret. */
  fieldSelector?: string;
  onChange: () => void;
  log: (line: string) => void;
  backoff?: BackoffOptions;
  /** How often a missing resource is looked for again (default 10 s; poke() looks at once). */
  missingRetryMs?: number;
}

export class ResourceInformer {
  readonly resource: WatchedResource;
  private readonly opts: ResourceInformerOptions;
  private readonly backoff: Backoff;
  private lw: WatchLoop | undefined;
  private version: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private runId = 0;
  private _state: InformerState = 'starting';
  private everSynced = false;
  private readonly client: KubeClient;
  /**
   * Status writes of ours, by the cached object they were made over: the resourceVersions they
   * got, oldest first (a second write may be answered before the first comes back through the
   * watch). Only for the kinds meshlet writes status to (not Pods).
   */
  private readonly own: WeakMap<KubernetesObject, string[]> | undefined;

  constructor(client: KubeClient, resource: WatchedResource, opts: ResourceInformerOptions) {
    this.client = client;
    this.resource = resource;
    this.opts = opts;
    this.backoff = new Backoff(opts.backoff);
    this.own = STATUS_WRITTEN_KINDS.has(resource.kind) && resource.kind !== 'Pod' ? new WeakMap() : undefined;
  }

  get state(): InformerState {
    return this._state;
  }

  /**
   * Synced once or known to be missing: the snapshot can be built without waiting for it. An
   * informer failing after its first sync stays settled: its cache is the last known state.
   */
  get settled(): boolean {
    return this._state !== 'stopped' && (this.everSynced || this._state === 'missing');
  }

  get label(): string {
    const where = this.opts.namespace === undefined ? '' : ` in ${this.opts.namespace}`;
    return `${this.resource.plural}.${this.resource.group || 'core'}${where}${this.opts.fieldSelector ? ` (${this.opts.fieldSelector})` : ''}`;
  }

  start(): void {
    void this.run();
  }

  /** Look again now (e.g. CRDs were just installed) instead of waiting for the retry timer. */
  poke(): void {
    if (this._state !== 'missing' && this._state !== 'failing') return;
    clearTimeout(this.timer);
    void this.run();
  }

  stop(): void {
    this._state = 'stopped';
    this.runId++;
    clearTimeout(this.timer);
    void this.lw?.stop();
    this.lw = undefined;
  }

  /**
   * The status writer wrote a status over `over` (a cached object it was handed in a snapshot,
   * or on top of its own earlier writes over it) and got `resourceVersion`, with no conflict: the
   * update with that version is `over` with the new status and nothing else new. It is folded
   * into `over` (status and resourceVersion replaced in place) instead of caching a new object,
   * so the next snapshot holds the same object and translation finds nothing new in it (issue
   * 14: after the initial and the agents' status passes, the next change was handed a new object
   * for every route, each compared and re-keyed again), while the writer reads the status the
   * API server holds from it. The update may already be here (the watch and the write's answer
   * race): then it is folded now.
   */
  ownStatusWritten(over: KubeObject, resourceVersion: string): void {
    if (!this.own || !this.lw) return;
    const o = over as unknown as KubernetesObject;
    const versions = this.own.get(o);
    if (versions) versions.push(resourceVersion);
    else this.own.set(o, [resourceVersion]);
    const cached = this.lw.cached(o);
    if (cached && cached !== o && this.fold(cached, o)) this.lw.replace(o);
  }

  /**
   * `o` folded into `before` when `o` is our own status write over it (its resourceVersion is
   * the one our write got, and nothing translation reads but the status moved); else undefined.
   */
  private fold(o: KubernetesObject, before: KubernetesObject): KubernetesObject | undefined {
    const rv = o.metadata?.resourceVersion;
    const versions = this.own?.get(before);
    const at = rv === undefined || !versions ? -1 : versions.indexOf(rv);
    if (at < 0 || !before.metadata || rv === undefined) return undefined;
    // The version says so already; an object that moved in anything else is never folded.
    if (fingerprint(o, false) !== fingerprint(before, false)) return undefined;
    versions!.splice(0, at + 1);
    (before as { status?: unknown }).status = (o as { status?: unknown }).status;
    before.metadata.resourceVersion = rv;
    return before;
  }

  /** Current objects, with apiVersion and kind filled in (list items may lack them). */
  objects(): KubeObject[] {
    if (!this.lw || this.version === undefined) return [];
    // The cached objects themselves (the transform filled in apiVersion and kind): the same
    // object for as long as it is unchanged, so translation's endpoint fast path and
    // incremental memo tell what changed by identity, and no layer holds a copy.
    return this.lw.list() as unknown as KubeObject[];
  }

  private async run(): Promise<void> {
    const id = ++this.runId;
    const stale = (): boolean => id !== this.runId || this._state === 'stopped';
    let version: string | null;
    try {
      version = await this.servedVersion();
    } catch (err) {
      if (!stale()) this.fail(err);
      return;
    }
    if (stale()) return;
    if (version === null) {
      const wasMissing = this._state === 'missing';
      if (!wasMissing) this.opts.log(`${this.label}: not served by the cluster (CRD not installed?); looking again every ${(this.opts.missingRetryMs ?? 10_000) / 1000} s`);
      void this.lw?.stop();
      this.lw = undefined;
      this.version = undefined;
      this.everSynced = false;
      this._state = 'missing';
      this.timer = setTimeout(() => void this.run(), this.opts.missingRetryMs ?? 10_000);
      if (!wasMissing) this.opts.onChange(); // settled, and emptied if it had objects: the snapshot may go ahead
      return;
    }
    if (this.lw && this.version !== version) {
      void this.lw.stop();
      this.lw = undefined;
    }
    this.version = version;
    if (!this.lw) {
      const path = collectionPath(this.resource.group, version, this.resource.plural, this.opts.namespace);
      const listFn = async (): Promise<KubeList<KubernetesObject>> => {
        const list = await this.client.list<KubernetesObject>(path, { fieldSelector: this.opts.fieldSelector, labelSelector: this.resource.labelSelector });
        this.backoff.reset();
        return list;
      };
      // Status-only updates of the kinds meshlet writes status to are mostly our own writes
      // coming back: re-translating an unchanged spec for each made status writes the main
      // cost of the controller at scale (41 s of CPU to settle 10 000 routes). What translation
      // reads besides the spec is kept in the fingerprint; the status writer's optimistic
      // concurrency (PUT with resourceVersion, re-read on 409) keeps foreign entries safe.
      const skipStatusOnly = STATUS_WRITTEN_KINDS.has(this.resource.kind);
      // Not o.kind: items of a List response carry no kind.
      const podIps = this.resource.kind === 'Pod';
      // The previous cached object is at hand on every update, so the comparison needs no
      // per-object fingerprint kept between events.
      const lw: WatchLoop = new WatchLoop({
        path, fieldSelector: this.opts.fieldSelector, labelSelector: this.resource.labelSelector,
        list: listFn, watcher: this.client.watcher, transform: transformFor(this.resource.kind, apiVersionOf(this.resource.group, version)),
        fold: this.own ? (o, before) => this.fold(o, before) : undefined,
        onAdd: () => this.opts.onChange(),
        onDelete: () => this.opts.onChange(),
        onUpdate: (o, old) => {
          const unchanged = skipStatusOnly && fingerprint(o, podIps) === fingerprint(old, podIps);
          if (!unchanged) this.opts.onChange();
        },
        onError: (err) => {
          // Not stale() of the run that created it: this loop outlives that run (restarts reuse it).
          if (lw !== this.lw || this._state === 'stopped') return;
          this.fail(err);
        },
      });
      this.lw = lw;
    }
    try {
      await this.lw.start();
    } catch (err) {
      if (!stale()) this.fail(err);
      return;
    }
    if (stale()) return;
    this.backoff.reset();
    const wasSettled = this.settled;
    if (this._state !== 'synced') this.opts.log(`${this.label}: synced (${this.objects().length} objects, ${apiVersionOf(this.resource.group, version)})`);
    this._state = 'synced';
    this.everSynced = true;
    if (!wasSettled) this.opts.onChange();
  }

  private fail(err: unknown): void {
    const delay = this.backoff.next();
    this.opts.log(`${this.label}: ${(err as Error).message ?? String(err)}; retrying in ${delay} ms`);
    this._state = 'failing';
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), delay);
  }

  /** The first candidate version whose discovery document lists our resource, or null. */
  private async servedVersion(): Promise<string | null> {
    if (this.resource.group === '') return this.resource.versions[0] ?? 'v1';
    for (const v of this.resource.versions) {
      try {
        const list = await this.client.get<{ resources?: { name?: string }[] }>(`/apis/${this.resource.group}/${v}`);
        if ((list.resources ?? []).some((r) => r.name === this.resource.plural)) return v;
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
    }
    return null;
  }
}
