// The HTTP side of the fake apiserver: discovery, list/watch, get/create/update/delete, the
// status subresource and patches, answered with the same shapes and codes as kube-apiserver.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mergePatch, jsonPatch, PatchError } from './patch.ts';
import { BUILTIN_RESOURCES, resourceFromCrd, resourceKey, type ResourceInfo } from './resources.ts';
import { matchPath, type ParsedPath } from './routes.ts';
import { StoreError, type FakeObject, type FakeStore } from './store.ts';
import { statusObject, WatchStream } from './watch-stream.ts';

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  /** The Authorization header, so tests can check that credentials were sent. */
  authorization?: string;
}

export interface InjectedFailure {
  method?: string;
  /** Substring of the request path. */
  path: string;
  /** Only requests with exactly this Authorization header (one client among several). */
  authorization?: string;
  /** Status to answer with; without it the request is served normally (after delayMs). */
  code?: number;
  /** Hold the matching requests this long before answering (a slow apiserver). */
  delayMs?: number;
  /** How many matching requests fail (default 1). */
  times?: number;
}

export interface ServerState {
  store: FakeStore;
  watches: Set<WatchStream>;
  requests: RequestRecord[];
  failures: InjectedFailure[];
  bookmarkIntervalMs: number;
  accessReview: AccessReview;
  podProxy: PodProxy | undefined;
  admit: Admit | undefined;
}

/** Stands for the mutating webhooks on a create: returns the object as admitted. */
export type Admit = (obj: FakeObject) => FakeObject;

/** Answers GET /api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH (the apiserver's pod proxy). */
export type PodProxy = (namespace: string, pod: string, port: number, path: string) => { status: number; body: string };

/** The resourceAttributes of a SelfSubjectAccessReview; returns whether the caller may. */
export type AccessReview = (attributes: Record<string, string | undefined>) => boolean;

export function servedResources(store: FakeStore): ResourceInfo[] {
  const crds = store.list(resourceKey('apiextensions.k8s.io', 'customresourcedefinitions'));
  return [...BUILTIN_RESOURCES, ...crds.map(resourceFromCrd).filter((r) => r !== null)];
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function fail(res: ServerResponse, code: number, reason: string, message: string): void {
  send(res, code, statusObject(code, reason, message));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text) as unknown;
}

/** metadata.name=x,metadata.namespace=y and k=v label selectors: the forms meshlet uses. */
function selectorMatcher(query: URLSearchParams): (o: FakeObject) => boolean {
  const field = (query.get('fieldSelector') ?? '').split(',').filter(Boolean).map((s) => s.split('=') as [string, string]);
  const label = (query.get('labelSelector') ?? '').split(',').filter(Boolean).map((s) => s.split('=') as [string, string]);
  return (o) => field.every(([k, v]) => (k === 'metadata.name' ? o.metadata.name : k === 'metadata.namespace' ? o.metadata.namespace ?? '' : undefined) === v)
    && label.every(([k, v]) => o.metadata.labels?.[k] === v);
}

export async function handle(state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://fake');
  const method = req.method ?? 'GET';
  const contentType = req.headers['content-type']?.split(';')[0];
  state.requests.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), contentType, authorization: req.headers.authorization });
  const failure = state.failures.find((f) => (f.method === undefined || f.method === method) && url.pathname.includes(f.path)
    && (f.authorization === undefined || f.authorization === req.headers.authorization));
  if (failure) {
    failure.times = (failure.times ?? 1) - 1;
    if (failure.times <= 0) state.failures.splice(state.failures.indexOf(failure), 1);
    if (failure.delayMs !== undefined) await new Promise((r) => setTimeout(r, failure.delayMs));
    if (failure.code !== undefined) {
      fail(res, failure.code, failure.code === 409 ? 'Conflict' : 'InternalError', `injected failure ${failure.code}`);
      return;
    }
  }
  const proxied = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/:]+):(\d+)\/proxy(\/.*)$/.exec(url.pathname);
  if (proxied && method === 'GET') {
    const [, ns = '', pod = '', port = '0', path = '/'] = proxied;
    const r = state.podProxy?.(ns, pod, Number(port), path) ?? { status: 503, body: 'no podProxy' };
    res.writeHead(r.status, { 'content-type': 'text/plain' });
    res.end(r.body);
    return;
  }
  const m = matchPath(url.pathname, servedResources(state.store));
  if (m.type === 'notFound') return fail(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
  if (m.type === 'discovery') return send(res, 200, m.body);
  const p = m.parsed;
  const key = resourceKey(p.group, p.resource.plural);
  const apiVersion = p.group ? `${p.group}/${p.version}` : p.version;
  const out = (o: FakeObject): FakeObject => ({ ...o, apiVersion });
  try {
    if (method === 'GET' && p.name === undefined) {
      const inNs = (o: FakeObject): boolean => p.namespace === undefined || o.metadata.namespace === p.namespace;
      const sel = selectorMatcher(url.searchParams);
      const matches = (o: FakeObject): boolean => inNs(o) && sel(o);
      const watch = url.searchParams.get('watch');
      if (watch === 'true' || watch === '1') {
        const timeout = url.searchParams.get('timeoutSeconds');
        const stream: WatchStream = new WatchStream(state.store, {
          resource: key, apiVersion, kind: p.resource.kind, matches,
          resourceVersion: url.searchParams.get('resourceVersion') ?? '',
          allowBookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
          timeoutSeconds: timeout === null ? undefined : Number(timeout),
        }, res, state.bookmarkIntervalMs, () => state.watches.delete(stream));
        state.watches.add(stream);
        return;
      }
      return send(res, 200, {
        kind: `${p.resource.kind}List`, apiVersion,
        metadata: { resourceVersion: String(state.store.resourceVersion) },
        items: state.store.list(key, matches).map(out),
      });
    }
    if (method === 'GET') {
      const o = state.store.get(key, p.namespace, p.name!);
      return o ? send(res, 200, out(o)) : fail(res, 404, 'NotFound', `${p.resource.plural} "${p.name}" not found`);
    }
    const body = await readBody(req);
    if (method === 'POST' && p.resource.kind === 'SelfSubjectAccessReview') {
      const review = body as { spec?: { resourceAttributes?: Record<string, string> } };
      return send(res, 201, { ...review, apiVersion, kind: 'SelfSubjectAccessReview', status: { allowed: state.accessReview(review.spec?.resourceAttributes ?? {}) } });
    }
    if (method === 'POST' && p.name === undefined && url.searchParams.get('dryRun') === 'All') {
      // A dry run is admitted (webhooks with sideEffects None are called) but never stored.
      const obj = withPathIdentity(body, p);
      return send(res, 201, out(state.admit ? state.admit(obj) : obj));
    }
    if (method === 'POST' && p.name === undefined) return send(res, 201, out(state.store.create(key, withPathIdentity(body, p))));
    if (p.name === undefined) return fail(res, 405, 'MethodNotAllowed', `${method} needs a name`);
    const part = p.subresource === 'status' ? 'status' : p.resource.status ? 'main' : 'all';
    if (method === 'PUT') return send(res, 200, out(state.store.update(key, withPathIdentity(body, p), part)));
    if (method === 'PATCH') {
      const current = state.store.get(key, p.namespace, p.name);
      if (!current) return fail(res, 404, 'NotFound', `${p.resource.plural} "${p.name}" not found`);
      let patched: unknown;
      if (contentType === 'application/json-patch+json') patched = jsonPatch(current, body);
      else if (contentType === 'application/merge-patch+json' || contentType === 'application/strategic-merge-patch+json') patched = mergePatch(current, body);
      else return fail(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json (got ${contentType})`);
      return send(res, 200, out(state.store.update(key, withPathIdentity(patched, p), part)));
    }
    if (method === 'DELETE') return send(res, 200, out(state.store.delete(key, p.namespace, p.name)));
    return fail(res, 405, 'MethodNotAllowed', `${method} is not supported`);
  } catch (err) {
    if (err instanceof StoreError) return fail(res, err.code, err.reason, err.message);
    if (err instanceof PatchError) return fail(res, err.code, err.code === 409 ? 'Conflict' : 'Invalid', err.message);
    if (err instanceof SyntaxError || err instanceof BadRequest) return fail(res, 400, 'BadRequest', err.message);
    throw err;
  }
}

class BadRequest extends Error {}

/** The body's identity must agree with the path, as the real apiserver insists. */
function withPathIdentity(body: unknown, p: ParsedPath): FakeObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('body must be an object');
  const o = body as FakeObject;
  if (typeof o.metadata !== 'object' || o.metadata === null) throw new BadRequest('metadata is required');
  if (o.kind !== undefined && o.kind !== p.resource.kind) throw new BadRequest(`kind ${String(o.kind)} does not match ${p.resource.kind}`);
  if (p.name !== undefined && o.metadata.name !== p.name) throw new BadRequest(`the name of the object (${o.metadata.name}) does not match the name on the URL (${p.name})`);
  if (typeof o.metadata.name !== 'string' || o.metadata.name === '') throw new BadRequest('metadata.name is required');
  const namespace = p.resource.namespaced ? (p.namespace ?? o.metadata.namespace) : undefined;
  if (p.resource.namespaced && namespace === undefined) throw new BadRequest('a namespace is required');
  const metadata = { ...o.metadata };
  if (namespace === undefined) delete metadata.namespace;
  else metadata.namespace = namespace;
  return { ...o, kind: p.resource.kind, metadata };
}
