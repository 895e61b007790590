// test/support/fake-apiserver: a fake kube-apiserver speaking the real HTTP API on 127.0.0.1
// (plain http), so the unmodified @kubernetes/client-node and meshlet's controller can be tested
// against list/watch with resourceVersions, 410 Gone, bookmarks, the status subresource,
// merge and JSON patches, optimistic concurrency, Leases, and Gateway API CRDs present or absent
// (installed by creating CRD objects, as on a cluster). restart() keeps the store and drops
// every connection; dropWatches() ends the open watches only.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { gatewayApiCrds, resourceKey, type GatewayApiCrdOptions } from './resources.ts';
import { handle, servedResources, type AccessReview, type Admit, type InjectedFailure, type PodProxy, type RequestRecord, type ServerState } from './server.ts';
import { FakeStore, type FakeObject } from './store.ts';
import type { WatchStream } from './watch-stream.ts';

export type { FakeObject } from './store.ts';
export type { AccessReview, Admit, PodProxy, RequestRecord, InjectedFailure } from './server.ts';
export { gatewayApiCrds } from './resources.ts';

export interface FakeApiServerOptions {
  /** Install the Gateway API CRDs at start (default true); an object tunes them. */
  gatewayApi?: boolean | GatewayApiCrdOptions;
  /** Watch events kept for resuming watches (default 1000); older versions get 410 Gone. */
  historyLimit?: number;
  /** Bookmark period for watches that allow bookmarks (default 1000 ms). */
  bookmarkIntervalMs?: number;
  /** Objects created at start. */
  objects?: FakeObject[];
  /** Answers SelfSubjectAccessReviews (default: everything is allowed, a cluster admin). */
  accessReview?: AccessReview;
  /** Answers the pod proxy (e.g. a controller's /metrics); without it the proxy answers 503. */
  podProxy?: PodProxy;
  /** The mutating admission a create goes through (only dry runs use it); default: none. */
  admit?: Admit;
}

export interface FakeApiServer {
  url: string;
  port: number;
  store: FakeStore;
  /** Every request received, in order (for assertions such as "no status write happened"). */
  requests: RequestRecord[];
  writeKubeconfig(path: string): Promise<void>;
  /** Store operations by apiVersion/kind, as a cluster user (kubectl) would do them. */
  create(obj: FakeObject): FakeObject;
  update(obj: FakeObject): FakeObject;
  updateStatus(obj: FakeObject): FakeObject;
  get(apiVersion: string, kind: string, name: string, namespace?: string): FakeObject | undefined;
  list(apiVersion: string, kind: string): FakeObject[];
  delete(apiVersion: string, kind: string, name: string, namespace?: string): void;
  installGatewayApi(opts?: GatewayApiCrdOptions): void;
  uninstallGatewayApi(): void;
  /** Forgets watch history: resuming from any older resourceVersion now gets 410 Gone. */
  compact(): void;
  /** Makes the next matching request(s) fail with the given code, or answer late (delayMs), or both. */
  injectFailure(f: InjectedFailure): void;
  sendBookmarks(): void;
  openWatches(): number;
  dropWatches(): void;
  /** Stops listening and kills every connection; start() listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(downMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeApiServer(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const store = new FakeStore(opts.historyLimit);
  const state: ServerState = { store, watches: new Set<WatchStream>(), requests: [], failures: [], bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 1000, accessReview: opts.accessReview ?? (() => true), podProxy: opts.podProxy, admit: opts.admit };
  const crdKey = resourceKey('apiextensions.k8s.io', 'customresourcedefinitions');
  const keyOf = (apiVersion: string, kind: string): string => {
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
    const r = servedResources(store).find((x) => x.group === group && x.kind === kind);
    if (!r) throw new Error(`fake apiserver: ${apiVersion} ${kind} is not served`);
    return resourceKey(group, r.plural);
  };
  const installGatewayApi = (o: GatewayApiCrdOptions = {}): void => {
    for (const crd of gatewayApiCrds(o)) if (!store.get(crdKey, undefined, crd.metadata.name)) store.create(crdKey, crd);
  };
  if (opts.gatewayApi !== false) installGatewayApi(typeof opts.gatewayApi === 'object' ? opts.gatewayApi : {});
  for (const o of opts.objects ?? []) store.create(keyOf(o.apiVersion, o.kind), o);

  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    const s = createServer((req, res) => {
      handle(state, req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (!s) return;
    for (const w of state.watches) w.destroy();
    state.watches.clear();
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    s.closeAllConnections();
    await closed;
  };
  await listen();
  const url = `http://127.0.0.1:${port}`;

  return {
    url, port, store, requests: state.requests,
    async writeKubeconfig(path) {
      const config = {
        apiVersion: 'v1', kind: 'Config', 'current-context': 'fake',
        // client-node refuses plain http unless TLS verification is explicitly off.
        clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'fake', user: { token: 'fake-token' } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace: 'default' } }],
      };
      await writeFile(path, JSON.stringify(config, null, 2));
    },
    create: (o) => store.create(keyOf(o.apiVersion, o.kind), o),
    update: (o) => store.update(keyOf(o.apiVersion, o.kind), o, 'main'),
    updateStatus: (o) => store.update(keyOf(o.apiVersion, o.kind), o, 'status'),
    get: (apiVersion, kind, name, namespace) => store.get(keyOf(apiVersion, kind), namespace, name),
    list: (apiVersion, kind) => store.list(keyOf(apiVersion, kind)),
    delete: (apiVersion, kind, name, namespace) => void store.delete(keyOf(apiVersion, kind), namespace, name),
    installGatewayApi,
    uninstallGatewayApi() {
      for (const crd of gatewayApiCrds()) if (store.get(crdKey, undefined, crd.metadata.name)) store.delete(crdKey, undefined, crd.metadata.name);
    },
    compact: () => store.compact(),
    injectFailure: (f) => void state.failures.push({ ...f }),
    sendBookmarks() {
      for (const w of state.watches) w.bookmark(store.resourceVersion);
    },
    openWatches: () => state.watches.size,
    dropWatches() {
      for (const w of [...state.watches]) w.end();
    },
    stop,
    start: listen,
    async restart(downMs = 0) {
      await stop();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await listen();
    },
    close: stop,
  };
}
