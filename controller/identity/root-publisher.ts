// Keeps ConfigMap meshlet-root-ca (root-cert.pem = the trust bundle) current in every namespace
// labelled meshlet.dev/inject=enabled, so injected sidecars can mount it and verify peers and the
// controller. A sync lists those namespaces and, per namespace, creates the ConfigMap or replaces
// its data when it differs; an equal one is not written (every replica runs this, and a periodic
// resync must cost reads only). setBundle() (a root rotation) and syncNamespace() (a namespace
// just labelled) make it act at once instead of at the next resync. One failing namespace is
// logged and retried at the next round; it does not stop the others. The controller's own
// namespace is always published too: the shared ingress runs there without being injected.
import { INJECT_LABEL, INJECT_LABEL_ENABLED } from '../../api/names.ts';
import { ROOT_CA_CONFIGMAP } from '../../api/identity.ts';
import { MANAGED_BY, paths, statusOf, type ConfigMapObject, type IdentityKubeClient } from './kube.ts';

export interface RootPublisherOptions {
  client: IdentityKubeClient;
  /** The trust bundle (PEM, the CA's rootsPem joined). */
  bundle: string;
  /** Namespaces published whether labelled or not: the controller's own, where the shared
   * ingress runs and verifies the config channel against this bundle. */
  alwaysNamespaces?: string[];
  /** Resync period (default 60 s). */
  intervalMs?: number;
  log?: (line: string) => void;
}

export interface SyncResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  failed: string[];
}

export class RootPublisher {
  readonly name = 'root-ca-publisher';
  readonly #o: RootPublisherOptions;
  readonly #log: (line: string) => void;
  #bundle: string;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #current: Promise<unknown> = Promise.resolve();

  constructor(o: RootPublisherOptions) {
    this.#o = o;
    this.#bundle = o.bundle;
    this.#log = o.log ?? (() => undefined);
  }

  /** Publishes once, then every intervalMs; resolves after the first round (failures are logged). */
  async start(): Promise<void> {
    this.#running = true;
    await this.sync();
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#current.catch(() => undefined);
  }

  /** A new trust bundle (root rotation): published everywhere now. */
  async setBundle(bundle: string): Promise<SyncResult | undefined> {
    if (bundle === this.#bundle) return undefined;
    this.#bundle = bundle;
    return this.sync();
  }

  /** One pass over every injected namespace; rounds never overlap. */
  sync(): Promise<SyncResult> {
    const run = this.#current.catch(() => undefined).then(() => this.#syncAll());
    this.#current = run;
    return run;
  }

  /** One namespace now (it was just labelled); false when it failed (logged). */
  async syncNamespace(namespace: string): Promise<boolean> {
    const run = this.#current.catch(() => undefined).then(() => this.#syncOne(namespace));
    this.#current = run;
    return (await run) !== 'failed';
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      void this.sync().finally(() => this.#schedule());
    }, this.#o.intervalMs ?? 60_000);
    this.#timer.unref();
  }

  async #syncAll(): Promise<SyncResult> {
    const result: SyncResult = { created: [], updated: [], unchanged: [], failed: [] };
    let names: string[];
    try {
      const list = await this.#o.client.request<{ items: { metadata: { name: string } }[] }>('GET', paths.namespaces, { query: { labelSelector: `${INJECT_LABEL}=${INJECT_LABEL_ENABLED}` } });
      names = [...new Set([...list.items.map((n) => n.metadata.name), ...(this.#o.alwaysNamespaces ?? [])])].sort();
    } catch (err) {
      this.#log(`identity: listing injected namespaces to publish ${ROOT_CA_CONFIGMAP.name} failed: ${(err as Error).message}`);
      result.failed.push('*');
      return result;
    }
    for (const ns of names) result[await this.#syncOne(ns)].push(ns);
    return result;
  }

  async #syncOne(ns: string): Promise<keyof SyncResult> {
    const c = this.#o.client;
    const bundle = this.#bundle;
    try {
      let cm: ConfigMapObject | null = null;
      try {
        cm = await c.request<ConfigMapObject>('GET', paths.configMap(ns, ROOT_CA_CONFIGMAP.name));
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
      if (cm === null) {
        const body: ConfigMapObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CA_CONFIGMAP.name, namespace: ns, labels: { ...MANAGED_BY } }, data: { [ROOT_CA_CONFIGMAP.key]: bundle } };
        await c.request('POST', paths.configMap(ns), { body });
        return 'created';
      }
      if (cm.data?.[ROOT_CA_CONFIGMAP.key] === bundle) return 'unchanged';
      // resourceVersion kept: a concurrent writer makes this a 409, retried next round.
      await c.request('PUT', paths.configMap(ns, ROOT_CA_CONFIGMAP.name), { body: { ...cm, data: { ...cm.data, [ROOT_CA_CONFIGMAP.key]: bundle } } });
      return 'updated';
    } catch (err) {
      this.#log(`identity: publishing ${ns}/${ROOT_CA_CONFIGMAP.name} failed (retried in the next round): ${(err as Error).message}`);
      return 'failed';
    }
  }
}
