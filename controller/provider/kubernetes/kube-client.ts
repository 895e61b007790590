// A small JSON client for the Kubernetes REST API. The authentication is lean-kube-config.ts's
// (in-cluster service account, token and certificate kubeconfigs) or client-node's KubeConfig
// (exec plugins, auth providers), the watch machinery client-node's; its typed API classes are
// not used because they convert objects into model classes (Dates, dropped unknown fields) while
// translation wants the plain JSON the API returned, and because status writes need exact
// control over the subresource, patch type and resourceVersion.
// Requests share one connection pool: client-node makes a new undici Agent (pool, connections,
// TLS sessions) for every request it authenticates, and at 10 000 routes the status writes left
// ~530 pools and ~630 open sockets behind in the controller (ADR 0019).
// client-node's request context and watch come from their own modules: its package index (and
// its KubeConfig module) import its whole generated API, which the controller never calls (~30 MB
// of RSS, ADR 0019); the configuration is lean-kube-config.ts's unless it needs client-node's.
import type { KubeConfig } from '@kubernetes/client-node';
import { HttpMethod, RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js';
import { Watch } from '@kubernetes/client-node/dist/watch.js';
import { fetch, type Dispatcher } from 'undici';
import { KubeApiError } from './errors.ts';
import type { KubeAuth } from './lean-kube-config.ts';

export type PatchType = 'application/merge-patch+json' | 'application/json-patch+json';

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

export interface KubeList<T = unknown> {
  metadata?: { resourceVersion?: string };
  items: T[];
}

/**
 * How long one pool serves requests before the freshly authenticated one replaces it: TLS
 * material read from files (rotated client certificates, CA bundles) is picked up within this.
 */
export const POOL_REUSE_MS = 5 * 60_000;

export class KubeClient {
  readonly config: KubeAuth;
  readonly watcher: Watch;
  readonly timeoutMs: number;
  #pool: { dispatcher: Dispatcher; since: number } | undefined;

  constructor(config: KubeAuth, timeoutMs = 15_000) {
    this.config = config;
    // Watch reads only getCurrentCluster() and applySecurityAuthentication() of its configuration.
    this.watcher = new Watch(config as KubeConfig);
    this.timeoutMs = timeoutMs;
  }

  /** The shared pool, or the request's own one when it is due for replacement (or has none). */
  #dispatcher(ctx: RequestContext): Dispatcher | undefined {
    const fresh = ctx.getDispatcher();
    const now = Date.now();
    if (this.#pool && now - this.#pool.since < POOL_REUSE_MS) return this.#pool.dispatcher; // fresh has no connection yet: garbage
    const old = this.#pool;
    this.#pool = fresh ? { dispatcher: fresh, since: now } : undefined;
    // close() lets requests in flight on the old pool finish first
    if (old) old.dispatcher.close().catch(() => {});
    return fresh;
  }

  get server(): string {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new KubeApiError('GET', '/', 0, 'NoCluster', 'the kubeconfig has no current cluster');
    return cluster.server.replace(/\/+$/, '');
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, opts: RequestOptions = {}): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const ctx = new RequestContext(url.toString(), HttpMethod[method]);
    await this.config.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    let res;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        dispatcher: this.#dispatcher(ctx),
        signal: AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs),
      });
    } catch (err) {
      throw new KubeApiError(method, path, 0, 'Unreachable', (err as Error).message, { cause: err });
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.status >= 200 && res.status < 300) return parsed as T;
    const status = (parsed ?? {}) as { reason?: string; message?: string };
    throw new KubeApiError(method, path, res.status, status.reason ?? res.statusText, status.message ?? text.slice(0, 200));
  }

  list<T>(path: string, query?: Record<string, string | undefined>): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', path, { query });
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  create<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  replace<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }

  patch<T>(path: string, body: unknown, type: PatchType = 'application/merge-patch+json'): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType: type });
  }
}

/** `/api/v1` or `/apis/<group>/<version>`, plus the namespace segment when there is one. */
export function collectionPath(group: string, version: string, plural: string, namespace?: string): string {
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  return namespace === undefined ? `${base}/${plural}` : `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}`;
}

export function objectPath(group: string, version: string, plural: string, name: string, namespace?: string): string {
  return `${collectionPath(group, version, plural, namespace)}/${encodeURIComponent(name)}`;
}
