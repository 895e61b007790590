// The Kubernetes provider: resilient informers for every watched kind, per-Secret watches for
// the Secrets Gateways reference, and the GatewayClass CRD (its bundle-version annotation, and a
// nudge to look for Gateway API kinds again when CRDs appear). Changes are coalesced and each
// settled state of the caches is handed out as one Snapshot (a batch of EndpointSlice and Pod
// changes alone after a shorter window: the runner patches endpoints without re-translating
// routes, coalescer.ts); nothing is emitted until every informer has synced (or is known to be
// missing), so a half-filled cache never yields statuses.
// While it runs, the garbage the controller makes between idle spells is given back to the system
// (idle-heap-reclaim.ts): the provider lives as long as the controller process does.
import { buildSnapshot, type KubeObject, type Snapshot } from '../../translate/snapshot.ts';
import type { BackoffOptions } from './backoff.ts';
import { Coalescer, type ChangeKind, type CoalescerOptions } from './coalescer.ts';
import { IdleHeapReclaim, type IdleHeapReclaimOptions } from './idle-heap-reclaim.ts';
import type { KubeClient } from './kube-client.ts';
import { ResourceInformer } from './resource-informer.ts';
import { referencedSecrets } from './secret-refs.ts';
import { BUNDLE_VERSION_ANNOTATION, CRD_RESOURCE, GATEWAY_CLASS_CRD, SECRET_RESOURCE, WATCHED_RESOURCES } from './watched-resources.ts';

export interface KubernetesProviderOptions extends CoalescerOptions {
  client: KubeClient;
  onSnapshot: (snapshot: Snapshot) => void;
  log?: (line: string) => void;
  /** Emit anyway (and say which informers lag) once the caches took this long to settle (default 30 s). */
  syncTimeoutMs?: number;
  missingRetryMs?: number;
  backoff?: BackoffOptions;
  gatewayAddresses?: Record<string, string[]>;
  trustDomain?: string;
  /** Memory-reducing GC when idle after heap growth (default on; false: off). */
  idleHeapReclaim?: IdleHeapReclaimOptions | false;
}

export class KubernetesProvider {
  private readonly opts: KubernetesProviderOptions;
  private readonly log: (line: string) => void;
  private readonly informers: ResourceInformer[] = [];
  private readonly secrets = new Map<string, ResourceInformer>();
  private readonly crd: ResourceInformer;
  private readonly coalescer: Coalescer;
  private readonly reclaim: IdleHeapReclaim | undefined;
  private pendingSince: number | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private lastCrdVersion: string | undefined;
  private closed = false;
  private emitted = 0;

  constructor(opts: KubernetesProviderOptions) {
    this.opts = opts;
    this.log = opts.log ?? (() => {});
    this.coalescer = new Coalescer(() => this.flush(), opts);
    // Never while a change waits for its snapshot; the idle one only once changes stopped.
    if (opts.idleHeapReclaim !== false) {
      const alsoPending = opts.idleHeapReclaim?.pending;
      this.reclaim = new IdleHeapReclaim({ log: this.log, ...opts.idleHeapReclaim, pending: () => this.coalescer.pending || (alsoPending?.() ?? false) });
    }
    const common = { onChange: () => this.coalescer.trigger(), log: this.log, backoff: opts.backoff, missingRetryMs: opts.missingRetryMs };
    for (const r of WATCHED_RESOURCES) {
      const kind = changeKindOf(r.kind);
      this.informers.push(new ResourceInformer(opts.client, r, { ...common, onChange: () => this.coalescer.trigger(kind) }));
    }
    this.crd = new ResourceInformer(opts.client, CRD_RESOURCE, {
      ...common,
      fieldSelector: `metadata.name=${GATEWAY_CLASS_CRD}`,
      onChange: () => {
        this.onCrdChange();
        this.coalescer.trigger();
      },
    });
  }

  start(): this {
    this.crd.start();
    for (const i of this.informers) i.start();
    this.reclaim?.start();
    return this;
  }

  close(): void {
    this.closed = true;
    this.coalescer.close();
    this.reclaim?.stop();
    clearTimeout(this.deadlineTimer);
    this.crd.stop();
    for (const i of [...this.informers, ...this.secrets.values()]) i.stop();
  }

  /** How many snapshots were handed out (for logs and tests). */
  get snapshotCount(): number {
    return this.emitted;
  }

  /** The snapshot of the current caches, settled or not. */
  snapshot(): Snapshot {
    const objects: KubeObject[] = [];
    for (const i of [...this.informers, ...this.secrets.values()]) objects.push(...i.objects());
    const crd = this.crd.objects()[0];
    // The CRD present: its annotation or null; absent or unreadable: undefined (nothing to check).
    const bundle = crd === undefined ? undefined : crd.metadata.annotations?.[BUNDLE_VERSION_ANNOTATION] ?? null;
    const extra: Parameters<typeof buildSnapshot>[1] = { gatewayAddresses: this.opts.gatewayAddresses ?? {}, gatewayApiBundleVersion: bundle };
    if (this.opts.trustDomain !== undefined) extra.trustDomain = this.opts.trustDomain;
    return buildSnapshot(objects, extra).snapshot;
  }

  /**
   * The status writer wrote over `over` and got `resourceVersion`, with no conflict: that update
   * is folded into `over` when it comes back (ResourceInformer.ownStatusWritten), so snapshots
   * keep holding the same object.
   */
  ownStatusWritten(over: KubeObject, resourceVersion: string): void {
    this.informers.find((i) => i.resource.kind === over.kind)?.ownStatusWritten(over, resourceVersion);
  }

  private onCrdChange(): void {
    const rv = this.crd.objects()[0]?.metadata.resourceVersion;
    if (rv === this.lastCrdVersion) return;
    this.lastCrdVersion = rv;
    // CRDs installed or upgraded: look for the Gateway API kinds now rather than at the next retry.
    for (const i of this.informers) i.poke();
  }

  private flush(): void {
    if (this.closed) return;
    this.syncSecretInformers();
    const lagging = [this.crd, ...this.informers, ...this.secrets.values()].filter((i) => !i.settled);
    if (lagging.length > 0) {
      const now = Date.now();
      this.pendingSince ??= now;
      const timeout = this.opts.syncTimeoutMs ?? 30_000;
      if (now - this.pendingSince < timeout) {
        clearTimeout(this.deadlineTimer);
        this.deadlineTimer = setTimeout(() => this.flush(), this.pendingSince + timeout - now);
        return; // each informer settling triggers another flush
      }
      this.log(`caches not synced after ${timeout} ms (${lagging.map((i) => i.label).join(', ')}); translating what is known`);
    }
    this.pendingSince = undefined;
    clearTimeout(this.deadlineTimer);
    this.emitted++;
    this.opts.onSnapshot(this.snapshot());
    this.reclaim?.activity();
  }

  /** Starts watches for newly referenced Secrets and stops those no Gateway names any more. */
  private syncSecretInformers(): void {
    const gateways = this.informers.find((i) => i.resource.kind === 'Gateway')?.objects() ?? [];
    const wanted = new Map(referencedSecrets(gateways).map((r) => [`${r.namespace}/${r.name}`, r]));
    for (const [key, inf] of this.secrets) {
      if (wanted.has(key)) continue;
      inf.stop();
      this.secrets.delete(key);
    }
    for (const [key, ref] of wanted) {
      if (this.secrets.has(key)) continue;
      const inf = new ResourceInformer(this.opts.client, SECRET_RESOURCE, {
        namespace: ref.namespace, fieldSelector: `metadata.name=${ref.name}`,
        onChange: () => this.coalescer.trigger(), log: this.log, backoff: this.opts.backoff,
      });
      this.secrets.set(key, inf);
      inf.start();
    }
  }
}

/** The kinds whose changes the runner can answer with an endpoint patch (by kind alone). */
const ENDPOINT_KINDS = new Set(['EndpointSlice', 'Pod']);

function changeKindOf(kind: string): ChangeKind {
  return ENDPOINT_KINDS.has(kind) ? 'endpoint' : 'other';
}
